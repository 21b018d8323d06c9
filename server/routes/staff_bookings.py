"""/staff/bookings: a counsellor's bookings, opened on their own device; an interpreter's; an admin's list.

The page carries no booking data: its script loads GET /api/staff/bookings (docs/BOOKING.md)
and, for a counsellor, opens each sealed payload (note, contact, interpreter request) with
the counsellor's unlocked key in the browser, and lets them attach an interpreter.  An
interpreter sees the bookings they are attached to, an admin all of them: times, kinds and
statuses, never the contents.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.access import require_staff
from server.languages import INTERPRETER_LANGUAGES
from server.models import Role
from server.resources import resources


async def bookings_page(request: Request) -> Response:
    account = await require_staff(request, Role.COUNSELLOR, Role.ADMIN, Role.INTERPRETER)
    res = resources(request)
    return res.renderer.page(
        request,
        "staff/bookings.html",
        {
            "is_admin": Role(account.role) == Role.ADMIN,
            "role": Role(account.role).value,
            "time_zone": res.settings.time_zone,
            "interpreter_languages": dict(INTERPRETER_LANGUAGES),
        },
    )


routes = [
    Route("/staff/bookings", bookings_page, methods=["GET"]),
]
