"""The counsellor's live dashboard and the admin's queue-and-load page.

The dashboard is a page and a websocket: everything it shows about a conversation's
content is decrypted in the counsellor's browser.  The load page shows counts and
waiting times only, never content.
"""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.access import require_admin, require_counsellor
from server.languages import INTERPRETER_LANGUAGES
from server.models import utcnow
from server.models.conversations import OUTCOMES
from server.resources import resources
from server.services import conversations


async def chat_page(request: Request) -> Response:
    await require_counsellor(request)
    res = resources(request)
    return res.renderer.page(
        request,
        "staff/chat.html",
        {
            "max_open": res.settings.max_open_per_counsellor,
            "outcomes": OUTCOMES,
            "interpreter_languages": INTERPRETER_LANGUAGES,
        },
    )


async def load_page(request: Request) -> Response:
    await require_admin(request)
    return resources(request).renderer.page(request, "staff/admin_load.html")


async def load_figures(request: Request) -> Response:
    await require_admin(request)
    res = resources(request)
    figures = await conversations.load(res)
    waiting = await conversations.queue(res)
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
    Route("/staff/chat", chat_page, methods=["GET"]),
    Route("/staff/admin/load", load_page, methods=["GET"]),
    Route("/api/admin/load", load_figures, methods=["GET"]),
]
