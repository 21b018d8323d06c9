"""Health check, static assets and browser CSP reports."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Match, Route

from server import openapi
from server.errors import PublicError
from server.jsonapi import ApiRoute, Operation, loads
from server.resources import resources

csp_log = logging.getLogger("trygg.csp")
UNKNOWN_PAGE = "(unknown)"
BAD_DIRECTIVE = "(invalid)"
_DIRECTIVE = re.compile(r"^[a-z][a-z-]{0,39}$")


async def health(request: Request) -> Response:
    """200 when the database answers; for load balancers and the test harness."""
    async with resources(request).engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
    return JSONResponse({"status": "ok"})


async def static_asset(request: Request) -> Response:
    """A static file by its content-hash URL: cacheable for a year, since the URL changes with it."""
    asset = resources(request).assets.by_url(request.url.path)
    if asset is None:
        raise PublicError(404, "This page does not exist.")
    return FileResponse(
        asset.path,
        media_type=asset.content_type,
        headers={"Cache-Control": "public, max-age=31536000, immutable"},
    )


async def csp_report(request: Request) -> Response:
    """Log a browser's report of a blocked resource: the directive and the page's route template.

    Nothing else of the report is kept: the page URL may hold a secret (an invitation
    token in `/staff/invite/<token>`), the blocked URL may name anything, and anyone can
    post a report, so the directive must look like one and the page is reduced to the
    template of the route it matches.
    """
    try:
        report = loads(await request.body()).get("csp-report", {})
        directive = report.get("effective-directive") or report.get("violated-directive")
        page = report.get("document-uri")
    except (ValueError, AttributeError):
        raise PublicError(400, "The request could not be understood.") from None
    csp_log.warning(
        "csp violation",
        extra={
            "directive": directive_name(directive),
            "route": route_template(request.app.routes, page),
        },
    )
    return Response(status_code=204)


def directive_name(value: object) -> str:
    """A CSP directive such as `script-src-elem` (a policy may list several; the first counts)."""
    first = value.split(" ", 1)[0] if isinstance(value, str) else ""
    return first if _DIRECTIVE.fullmatch(first) else BAD_DIRECTIVE


def route_template(routes: Iterable[BaseRoute], url: object) -> str:
    """The template of the route a page URL's path matches (`/staff/invite/{token}`), never the path."""
    try:
        path = unquote(urlsplit(url).path) if isinstance(url, str) else ""
    except ValueError:
        return UNKNOWN_PAGE
    if not path.startswith("/"):
        return UNKNOWN_PAGE
    scope = {"type": "http", "path": path, "root_path": "", "method": "GET"}
    for route in routes:
        if isinstance(route, Route) and route.matches(scope)[0] is not Match.NONE:
            return route.path
    return UNKNOWN_PAGE


async def openapi_document(request: Request) -> Response:
    """The OpenAPI 3.1 description of this JSON API (generated from the routes' declarations)."""
    return JSONResponse(openapi.document(request.app.routes))


routes = [
    ApiRoute("/healthz", health, "GET"),
    ApiRoute("/api/openapi.json", openapi_document, "GET"),
    Route("/static/{path:path}", static_asset, methods=["GET"]),
    ApiRoute(
        "/csp-report",
        csp_report,
        "POST",
        Operation(
            content_types=("application/csp-report", "application/json"),
            free_body={"type": "object", "properties": {"csp-report": {"type": "object"}}},
            responses={204: "Noted"},
        ),
    ),
]
