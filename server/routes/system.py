"""Health check, static assets and browser CSP reports."""

from __future__ import annotations

import json
import logging

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from server.errors import PublicError
from server.resources import resources

csp_log = logging.getLogger("trygg.csp")
MAX_REPORT_FIELD = 200


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
    """Log a browser's report of a blocked resource (directive and blocked URL origin only)."""
    try:
        report = json.loads(await request.body()).get("csp-report", {})
        directive = str(report.get("effective-directive") or report.get("violated-directive"))
        blocked = str(report.get("blocked-uri", "")).split("?", 1)[0]
        page = str(report.get("document-uri", "")).split("?", 1)[0]
    except (ValueError, AttributeError):
        raise PublicError(400, "The request could not be understood.") from None
    csp_log.warning(
        "csp violation",
        extra={
            "directive": directive[:MAX_REPORT_FIELD],
            "blocked": blocked[:MAX_REPORT_FIELD],
            "page": page[:MAX_REPORT_FIELD],
        },
    )
    return Response(status_code=204)


routes = [
    Route("/healthz", health, methods=["GET"]),
    Route("/static/{path:path}", static_asset, methods=["GET"]),
    Route("/csp-report", csp_report, methods=["POST"]),
]
