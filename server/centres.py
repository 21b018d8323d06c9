"""Which centre a request is for: the one middleware that decides, and the cached list of centres.

Resolution, in order: the request's host name (a centre with its own host), else a path prefix
`/c/<slug>/` (moved into `root_path`, so every route works unchanged under it), else the first
centre.  The chosen centre is kept in `scope["state"]["centre"]` and in the context variable
`CURRENT_CENTRE`, which every per-centre row's `centre_id` defaults to and every per-centre
query is scoped by (`current_centre`).
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from sqlalchemy import select
from starlette.datastructures import Headers
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.db import Database
from server.models import CURRENT_CENTRE, Centre
from server.settings import Settings

PREFIX = re.compile(r"^/c/([a-z0-9][a-z0-9-]{0,39})(/|$)")
CACHE_SECONDS = 30.0


@dataclass(frozen=True)
class CentreInfo:
    """A centre as pages and services see it: empty profile fields filled from the settings."""

    id: uuid.UUID
    slug: str
    host: str | None
    name: str
    time_zone: str
    exit_url: str
    phone: str
    region: str
    kind: str
    languages: tuple[str, ...]
    interpreters: bool
    is_first: bool

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def protocol_id(self) -> bytes:
        """The 16-byte centre id of the protocol (resume codes, certificates)."""
        return self.id.bytes

    @property
    def prefix(self) -> str:
        """This centre's path prefix ("" for the first centre and centres with their own host)."""
        return "" if self.is_first or self.host else f"/c/{self.slug}"

    @property
    def address(self) -> str:
        """Its pages' path on the network's own host (the first centre's too: `/` is the network's)."""
        return f"/c/{self.slug}"

    def settings(self, base: Settings) -> Settings:
        """The installation's settings with this centre's profile in place of the defaults."""
        return replace(
            base,
            centre_name=self.name,
            time_zone=self.time_zone,
            exit_url=self.exit_url,
            centre_phone=self.phone,
        )


def centre_info(row: Centre, settings: Settings, is_first: bool) -> CentreInfo:
    return CentreInfo(
        id=row.id,
        slug=row.slug,
        host=row.host,
        name=row.name or settings.centre_name,
        time_zone=row.time_zone or settings.time_zone,
        exit_url=row.exit_url or settings.exit_url,
        phone=row.emergency_numbers if row.emergency_numbers is not None else settings.centre_phone,
        region=row.region,
        kind=row.kind,
        languages=tuple(row.languages.split()),
        interpreters=row.interpreters,
        is_first=is_first,
    )


class CentreRegistry:
    """Every centre, read from the database at most every CACHE_SECONDS (and at once after a
    miss or a change made by this process): resolving a request costs no query."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._centres: tuple[CentreInfo, ...] = ()
        self._loaded_at = -CACHE_SECONDS

    async def all(self, fresh: bool = False) -> tuple[CentreInfo, ...]:
        """Every centre, the first (oldest) first."""
        if fresh or time.monotonic() - self._loaded_at >= CACHE_SECONDS or not self._centres:
            async with self.db() as db:
                rows = list(await db.scalars(select(Centre).order_by(Centre.created_at, Centre.id)))
            self._centres = tuple(centre_info(row, self.settings, i == 0) for i, row in enumerate(rows))
            self._loaded_at = time.monotonic()
        return self._centres

    def cached(self) -> tuple[CentreInfo, ...]:
        """Every centre as last read (no query: for templates; always filled during a request)."""
        return self._centres

    def invalidate(self) -> None:
        self._loaded_at = -CACHE_SECONDS

    async def first(self) -> CentreInfo:
        centres = await self.all()
        if not centres:
            raise LookupError("no centre: run the migrations first")
        return centres[0]

    async def by_id(self, centre_id: uuid.UUID) -> CentreInfo | None:
        for fresh in (False, True):
            for centre in await self.all(fresh):
                if centre.id == centre_id:
                    return centre
        return None

    async def by_slug(self, slug: str) -> CentreInfo | None:
        for fresh in (False, True):
            for centre in await self.all(fresh):
                if centre.slug == slug:
                    return centre
        return None

    async def by_host(self, host: str) -> CentreInfo | None:
        # Host names are few and set by a network admin; a miss is the common case, so no reload.
        for centre in await self.all():
            if centre.host is not None and centre.host == host:
                return centre
        return None

    def cached_current(self) -> CentreInfo | None:
        """The centre being served, from the cache only (always there during a request)."""
        chosen = CURRENT_CENTRE.get()
        for centre in self._centres:
            if centre.id == chosen or (chosen is None and centre.is_first):
                return centre
        return None

    def zone(self) -> ZoneInfo:
        """The time zone of the centre being served (the installation's if none is cached)."""
        centre = self.cached_current()
        return centre.zone if centre is not None else self.settings.zone

    def time_zone(self) -> str:
        centre = self.cached_current()
        return centre.time_zone if centre is not None else self.settings.time_zone

    async def current(self) -> CentreInfo:
        """The centre being served (outside a request: the first centre)."""
        chosen = CURRENT_CENTRE.get()
        if chosen is not None:
            found = await self.by_id(chosen)
            if found is not None:
                return found
        return await self.first()


def route_path(scope: Scope) -> str:
    """The request's path without the centre's /c/<slug> prefix (what the routes match)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def resolved_by_default(connection: HTTPConnection) -> bool:
    """Neither a host name nor a prefix chose the centre (the network's own pages may answer)."""
    return bool(connection.scope.get("state", {}).get("centre_by") == "default")


def current_centre_of(connection: HTTPConnection) -> CentreInfo:
    """The centre the middleware resolved for this request or websocket."""
    value = connection.scope.get("state", {}).get("centre")
    assert isinstance(value, CentreInfo), "CentreMiddleware did not run"
    return value


class CentreMiddleware:
    """Resolve the centre for every HTTP request and websocket (see the module's docstring)."""

    def __init__(self, app: ASGIApp, registry: CentreRegistry) -> None:
        self.app = app
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "").rsplit(":", 1)[0].strip().lower().rstrip(".")
        centre = await self.registry.by_host(host) if host else None
        if centre is None:
            root = scope.get("root_path", "")
            path: str = scope["path"]
            match = PREFIX.match(path[len(root) :] if path.startswith(root) else path)
            if match is not None:
                centre = await self.registry.by_slug(match.group(1))
                if centre is None:
                    await _not_found(scope, receive, send)
                    return
                if not match.group(2):  # "/c/slug" -> "/c/slug/"
                    scope = {**scope, "path": path + "/", "raw_path": None}
                scope = {**scope, "root_path": root + f"/c/{centre.slug}"}
                by = "prefix"
            else:
                centre = await self.registry.first()
                by = "default"
        else:
            by = "host"
        scope.setdefault("state", {})
        scope["state"]["centre"] = centre
        scope["state"]["centre_by"] = by
        if by == "prefix":
            send = _redirects_under(f"/c/{centre.slug}", send)
        token = CURRENT_CENTRE.set(centre.id)
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT_CENTRE.reset(token)


def _redirects_under(prefix: str, send: Send) -> Send:
    """A redirect to one of the site's own paths stays under the centre's prefix."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = []
            for name, value in message.get("headers", []):
                if name.lower() == b"location" and _own_path(value, prefix.encode()):
                    value = prefix.encode() + value
                headers.append((name, value))
            message = {**message, "headers": headers}
        await send(message)

    return sending


def _own_path(location: bytes, prefix: bytes) -> bool:
    if not location.startswith(b"/") or location.startswith(b"//"):
        return False  # another site (the quick exit's neutral site) or scheme-relative
    return not location.startswith((prefix + b"/", b"/static/"))


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
