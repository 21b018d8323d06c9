"""Everything a request handler may need, built once per app and shared through app.state."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection

from server.assets import AssetManifest
from server.centres import CentreRegistry
from server.db import Database, create_writer_engine
from server.models.centre import CURRENT_CENTRE
from server.passwords import Passwords
from server.realtime.bus import Bus, LocalBus, RedisBus
from server.realtime.hub import Hub
from server.security.clients import ClientHasher
from server.security.cookies import Cookies
from server.security.devices import DeviceCookies
from server.security.limits import Limits
from server.services.trust_files import TrustFiles
from server.services.writer import Writer
from server.settings import Settings
from server.templating import Renderer


def _served_centre() -> bytes | None:
    """The protocol id of the centre a page is rendered for (None: the first centre)."""
    current = CURRENT_CENTRE.get()
    return current.bytes if current is not None else None


def _network_pins(centres: CentreRegistry, trust: TrustFiles) -> str:
    """The pins of the network's other centres, as a page carries its own ("slug:hex ..."): a
    visitor's client verifies the centre a conversation may move to against that centre's pin
    (PROTOCOL.md §8.6), never against anything the server says at the time."""
    served = _served_centre()
    found = []
    for centre in centres.cached():
        pin = trust.page_pin(centre.protocol_id) if centre.protocol_id != served else ""
        if pin and not (served is None and centre.is_first):
            found.append(f"{centre.slug}:{pin}")
    return " ".join(found)


@dataclass
class Resources:
    """The app's shared resources (no globals: tests build as many apps as they like)."""

    settings: Settings
    engine: AsyncEngine
    db: Database
    passwords: Passwords
    assets: AssetManifest
    renderer: Renderer
    cookies: Cookies
    client_key: ClientHasher
    limits: Limits
    devices: DeviceCookies
    redis: Redis | None
    bus: Bus
    trust: TrustFiles  # the pins and the log key, outside the database
    centres: CentreRegistry
    hub: Hub = field(init=False)  # every websocket of this process (caps, sessions, allowances)
    writer: Writer = field(init=False)  # every append to a conversation's log (group commit)

    def __post_init__(self) -> None:
        self.hub = Hub(self)
        sync_engine = create_writer_engine(self.settings.database_url)
        self.writer = Writer(self.db.engine, sync_engine, self.bus, self.settings.writer_queue)

    @classmethod
    def build(cls, settings: Settings, db: Database) -> Resources:
        assets = AssetManifest()
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
        trust = TrustFiles(settings)
        renderer = Renderer(settings, assets)
        renderer.env.globals["trust_pin"] = lambda: trust.page_pin(_served_centre())
        centres = CentreRegistry(db, settings)
        renderer.env.globals["network_pins"] = lambda: _network_pins(centres, trust)
        return cls(
            settings=settings,
            engine=db.engine,
            db=db,
            passwords=Passwords(settings.password_hashing),
            assets=assets,
            renderer=renderer,
            cookies=Cookies.for_settings(settings),
            client_key=ClientHasher(settings.secret_key if redis else None),
            limits=Limits(settings, redis),
            devices=DeviceCookies(settings.secret_key, settings.device_cookie_days),
            redis=redis,
            bus=RedisBus(redis, settings.redis_prefix) if redis else LocalBus(),
            trust=trust,
            centres=centres,
        )

    async def close(self) -> None:
        """Release connections (at shutdown)."""
        await self.hub.stop()
        await self.writer.stop()
        await self.bus.stop()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()


def resources(connection: HTTPConnection) -> Resources:
    """The Resources of the app serving this request."""
    value = connection.app.state.resources
    assert isinstance(value, Resources)
    return value
