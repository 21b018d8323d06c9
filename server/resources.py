"""Everything a request handler may need, built once per app and shared through app.state."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import HTTPConnection

from server.assets import AssetManifest
from server.db import Database
from server.passwords import Passwords
from server.realtime.bus import Bus, LocalBus, RedisBus
from server.security.clients import ClientHasher
from server.security.cookies import Cookies
from server.security.throttle import Limiter, MemoryLimiter, RedisLimiter
from server.settings import Settings
from server.templating import Renderer

LOGIN_WINDOW_SECONDS = 15 * 60


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
    login_per_client: Limiter
    login_per_account: Limiter
    redis: Redis | None
    bus: Bus
    visitor_limits: dict[str, Limiter]

    @classmethod
    def build(cls, settings: Settings, db: Database) -> Resources:
        assets = AssetManifest()
        redis = Redis.from_url(settings.redis_url) if settings.redis_url else None

        def limiter(name: str, limit: int, window: float = LOGIN_WINDOW_SECONDS) -> Limiter:
            if redis is None:
                return MemoryLimiter(limit, window)
            return RedisLimiter(redis, name, limit, window)

        return cls(
            settings=settings,
            engine=db.engine,
            db=db,
            passwords=Passwords(settings.password_hashing),
            assets=assets,
            renderer=Renderer(settings, assets),
            cookies=Cookies.for_settings(settings),
            client_key=ClientHasher(settings.secret_key if redis else None),
            login_per_client=limiter("login-client", settings.login_attempts_per_client),
            login_per_account=limiter("login-account", settings.login_attempts_per_account),
            redis=redis,
            bus=RedisBus(redis) if redis else LocalBus(),
            visitor_limits={
                "create": limiter("visitor-create", settings.conversations_per_client_per_hour, 3600),
                "resume": limiter("visitor-resume", 10, LOGIN_WINDOW_SECONDS),
                "book": limiter("visitor-book", settings.bookings_per_client_per_hour, 3600),
                "booking-code": limiter("visitor-booking-code", 10, LOGIN_WINDOW_SECONDS),
            },
        )

    async def close(self) -> None:
        """Release connections (at shutdown)."""
        await self.bus.stop()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.dispose()


def resources(connection: HTTPConnection) -> Resources:
    """The Resources of the app serving this request."""
    value = connection.app.state.resources
    assert isinstance(value, Resources)
    return value
