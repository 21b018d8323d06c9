"""The admin's queue-and-load page: counts and waiting times only, never content."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.access import require_admin
from server.jsonapi import ApiRoute, Operation
from server.models import utcnow
from server.resources import resources
from server.services import queue


async def load_page(request: Request) -> Response:
    await require_admin(request)
    return resources(request).renderer.page(request, "staff/admin_load.html")


async def load_figures(request: Request) -> Response:
    """Counts and waiting times of the queue (admins), never content."""
    await require_admin(request)
    res = resources(request)
    figures = await queue.load(res)
    waiting = await queue.queue(res)
    now = utcnow()
    return JSONResponse(
        {
            "queued": figures.queued,
            "active": figures.active,
            "closed_today": figures.closed_today,
            "longest_wait_minutes": figures.longest_wait_minutes,
            "on_duty": figures.on_duty,
            "waits_minutes": [_minutes_since(item.queued_at, now) for item in waiting],
            "languages": {
                language: sum(1 for item in waiting if item.language == language)
                for language in sorted({item.language for item in waiting})
            },
        }
    )


def _minutes_since(when: datetime, now: datetime) -> int:
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return max(0, int((now - aware).total_seconds() // 60))


routes = [
    Route("/staff/admin/load", load_page, methods=["GET"]),
    ApiRoute("/api/admin/load", load_figures, "GET", Operation(auth=("staff",))),
]
