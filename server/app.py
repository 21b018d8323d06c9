"""The application factory: create_app(settings) -> Starlette."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp

from server.access import LoginRequired
from server.centres import CentreMiddleware
from server.db import Database, migrate
from server.errors import exception_handlers, wants_json
from server.logs import RequestLogMiddleware
from server.realtime.socket import websocket_endpoint
from server.resources import Resources
from server.routes import (
    admin_centre,
    admin_load,
    admin_staff,
    network,
    staff_account,
    staff_availability,
    staff_bookings,
    staff_chat,
    staff_keys,
    system,
    trust_api,
    visitor_booking_api,
    visitor_chat_api,
    visitor_pages,
)
from server.security.body_limit import BodyLimitMiddleware
from server.security.csrf import CSRFMiddleware
from server.security.headers import SecurityHeadersMiddleware
from server.services import keys, rekey
from server.settings import Settings

# Paths whose unsafe requests carry no cookie authority (origin-checked, no token needed).
TOKEN_EXEMPT = ("/csp-report", "/api/visitor/", "/api/booking/")


class TryggApp(Starlette):
    """Starlette with logging and security headers outside everything, 500 pages included."""

    def build_middleware_stack(self) -> ASGIApp:
        res: Resources = self.state.resources
        inner = super().build_middleware_stack()
        with_headers = SecurityHeadersMiddleware(
            inner, res.assets.import_map_csp_hash, hsts=res.settings.https
        )
        return RequestLogMiddleware(with_headers)


def create_app(settings: Settings) -> Starlette:
    """Build the whole service for one configuration."""
    res = Resources.build(settings, Database(settings.database_url))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await migrate(settings)
        await keys.centre_id(res)  # pages carry the centre's pin from the first request on
        await res.bus.start()
        sweeper = asyncio.create_task(rekey.sweep(res))  # expired certificates re-key unasked
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await res.close()

    async def login_required(request: Request, exc: Exception) -> Response:
        if wants_json(request):
            return JSONResponse({"error": "login_required", "message": "Log in first."}, 401)
        return RedirectResponse("/staff/login", status_code=303)

    handlers = exception_handlers(res.renderer)
    handlers[LoginRequired] = login_required
    app = TryggApp(
        routes=[
            *system.routes,
            *visitor_chat_api.routes,
            *visitor_booking_api.routes,
            *staff_account.routes,
            *staff_keys.routes,
            *trust_api.routes,
            *staff_chat.routes,
            *staff_bookings.routes,
            *staff_availability.routes,
            *admin_staff.routes,
            *admin_centre.routes,
            *admin_load.routes,
            *network.routes,
            WebSocketRoute("/ws", websocket_endpoint),
            *visitor_pages.routes,  # last: its /{lang}/… patterns
        ],
        middleware=[
            Middleware(CentreMiddleware, registry=res.centres),
            Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, renderer=res.renderer),
            Middleware(
                CSRFMiddleware,
                secret=settings.secret_key,
                public_origin=settings.public_url,
                cookies=res.cookies,
                renderer=res.renderer,
                token_exempt_prefixes=TOKEN_EXEMPT,
            ),
        ],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.state.resources = res  # read by build_middleware_stack, which runs on the first call
    return app
