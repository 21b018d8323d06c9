"""Bookings for staff: /staff/bookings and its JSON, attaching an interpreter, invites.

The page carries no booking data: its script loads GET /api/staff/bookings (docs/BOOKING.md)
and, for a counsellor, opens each sealed payload (note, contact, interpreter request) with
the counsellor's unlocked key in the browser, and lets them attach an interpreter.  An
interpreter sees the bookings they are attached to, an admin all of them: times, kinds and
statuses, never the contents.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.access import (
    is_admin,
    may_see_all_bookings,
    require_bookings_reader,
    require_counsellor,
    require_may_see_booking,
)
from server.errors import PublicError
from server.jsonapi import ApiRoute, Body, Operation, read_json
from server.languages import INTERPRETER_LANGUAGES
from server.resources import resources
from server.services.booking import bookings, invites, present, setup
from server.validators import booking_reference, optional_hex_id, reference


async def bookings_page(request: Request) -> Response:
    account = await require_bookings_reader(request)
    res = resources(request)
    return res.renderer.page(
        request,
        "staff/bookings.html",
        {
            "is_admin": is_admin(account),
            "role": account.role,
            "time_zone": res.centres.time_zone(),
            "interpreter_languages": dict(INTERPRETER_LANGUAGES),
        },
    )


async def staff_bookings(request: Request) -> Response:
    """A counsellor's own bookings with their sealed details; an interpreter's (those they are
    attached to) and an admin's (all) without them."""
    staff = await require_bookings_reader(request)
    res = resources(request)
    found = await bookings.of_counsellor(res, None if may_see_all_bookings(staff) else staff.id)
    return JSONResponse(
        {"bookings": await present.for_staff(res, found, staff), "time_zone": res.centres.time_zone()}
    )


async def set_interpreter(request: Request) -> Response:
    """Attach an interpreter to one of my bookings, or detach (`{"interpreter": null}`)."""
    staff = await require_counsellor(request)
    res = resources(request)
    fields = await read_json(request)
    booking = await bookings.set_interpreter(res, staff, booking_reference(request), fields["interpreter"])
    return JSONResponse({"booking": (await present.for_staff(res, [booking], staff))[0]})


async def staff_invite(request: Request) -> Response:
    staff = await require_bookings_reader(request)
    res = resources(request)
    booking = await bookings.by_reference(res, booking_reference(request))
    if booking is None:
        raise PublicError(404, bookings.NOT_FOUND, code="not_found")
    require_may_see_booking(staff, booking)
    body = invites.staff_invite(booking, await setup.policy(res), res.settings, staff.language)
    return present.calendar_response(body, booking)


routes = [
    Route("/staff/bookings", bookings_page, methods=["GET"]),
    ApiRoute("/api/staff/bookings", staff_bookings, "GET", Operation(auth=("staff",))),
    ApiRoute(
        "/api/staff/bookings/{reference}/interpreter",
        set_interpreter,
        "POST",
        Operation(
            auth=("staff",), path={"reference": reference}, body=Body({"interpreter": optional_hex_id})
        ),
    ),
    Route("/staff/bookings/{reference}/invite.ics", staff_invite, methods=["GET"]),
]
