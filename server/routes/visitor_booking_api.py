"""The booking API for visitors (docs/BOOKING.md): free times, codes, booking, cancel, move, invite.

No cookies.  A visitor proves they hold a booking code (or a chat's resume code, or a
chat token) and gets a short-lived holder token; every call about bookings checks it
through `require_holder`.  The note, contact and interpreter request arrive sealed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.access import require_holder, require_visitor
from server.i18n import is_language
from server.jsonapi import ApiRoute, Body, Operation, read_json, read_query
from server.resources import Resources, resources
from server.security.limits import Bucket
from server.services import keys as key_service
from server.services import visitor_limits
from server.services.booking import bookings, invites, present, setup
from server.services.booking.slots import Slot
from server.validators import (
    any_text,
    booking_kind,
    booking_reference,
    booking_sequence,
    calendar_date,
    flag,
    instant,
    lookup_id,
    one_of,
    reference,
    sealed_booking,
    verifier,
    whole_number,
)

MAX_DAYS = 62


def language_of(request: Request) -> str:
    value = read_query(request).get("lang", "")
    return value if is_language(value) else resources(request).settings.default_language


# --- answers ---------------------------------------------------------------------------------


def slots_json(res: Resources, found: list[Slot]) -> list[dict[str, Any]]:
    days: dict[str, list[dict[str, str]]] = {}
    for slot in found:
        local = slot.start.astimezone(res.centres.zone())
        days.setdefault(local.date().isoformat(), []).append(
            {"start": present.iso(slot.start), "end": present.iso(slot.end), "time": local.strftime("%H:%M")}
        )
    return [{"date": day, "slots": items} for day, items in days.items()]


# --- handlers --------------------------------------------------------------------------------


async def options(request: Request) -> Response:
    """What can be booked: kinds, address, slot length, horizon, the centre id."""
    res = resources(request)
    current = await setup.policy(res)
    return JSONResponse(
        {
            "time_zone": res.centres.time_zone(),
            "kinds": current.kinds,
            "address": current.address,
            "phone": current.phone,
            "video": bool(current.video_link),
            "slot_minutes": current.slot_minutes,
            "horizon_days": current.horizon_days,
            "max_future_bookings": current.max_future_bookings,
            "centre_id": (await key_service.centre_id(res)).hex(),
        }
    )


async def free_times(request: Request) -> Response:
    """Free slots from a day on, per local day (with a holder token: only the chat's counsellor)."""
    res = resources(request)
    query = read_query(request)
    first = query["from"] if "from" in query else datetime.now(res.centres.zone()).date()
    days = query.get("days", 14)
    only = None
    if query.get("same_counsellor") == "1":
        only = await bookings.same_counsellor_id(res, await require_holder(request))
    start = datetime.combine(first, datetime.min.time(), res.centres.zone())
    found = await bookings.slots(res, start, days, only)
    return JSONResponse({"time_zone": res.centres.time_zone(), "days": slots_json(res, found)})


async def new_holder(request: Request) -> Response:
    """Register a new booking code; a holder token for it."""
    fields = await read_json(request)
    res = resources(request)
    async with visitor_limits.creating(res, Bucket.BOOKING_CODE, res.client_key(request.scope)):
        token = await bookings.new_holder(res, fields["lookup"], fields["verifier"])
    return JSONResponse({"token": token}, status_code=201)


async def access(request: Request) -> Response:
    """A holder token for an existing booking code or a chat's resume code."""
    fields = await read_json(request)
    res = resources(request)
    async with visitor_limits.code_attempt(res, res.client_key(request.scope), fields["lookup"]):
        token = await bookings.holder_for_code(res, fields["lookup"], fields["verifier"])
    return JSONResponse({"token": token})


async def from_chat(request: Request) -> Response:
    """A holder token for the bookings of the visitor's chat."""
    principal = await require_visitor(request)
    assert principal.conversation_id is not None
    token, name = await bookings.holder_for_chat(resources(request), principal.conversation_id)
    return JSONResponse({"token": token, "counsellor_name": name})


async def book(request: Request) -> Response:
    """Book a free slot with a sealed payload."""
    holder_id = await require_holder(request)
    fields = await read_json(request)
    res = resources(request)
    async with visitor_limits.booking_change(res, res.client_key(request.scope), holder_id):
        booking = await bookings.book(
            res,
            holder_id,
            fields["start"],
            fields["kind"],
            fields["payload"],
            fields["fuller_invite"],
            fields["same_counsellor"],
            language_of(request),
            reference=fields.get("reference"),
        )
    return JSONResponse({"booking": (await present.for_visitor(res, [booking]))[0]}, status_code=201)


async def mine(request: Request) -> Response:
    """The bookings this holder holds."""
    holder_id = await require_holder(request)
    res = resources(request)
    found = await bookings.of_holder(res, holder_id)
    current = await setup.policy(res)
    return JSONResponse(
        {
            "bookings": await present.for_visitor(res, found),
            "max_future_bookings": current.max_future_bookings,
        }
    )


async def cancel(request: Request) -> Response:
    """Cancel a booking (optionally only if it is still at the `sequence` seen)."""
    holder_id = await require_holder(request)
    seen = (await read_json(request)).get("sequence")  # optional: the version being cancelled
    res = resources(request)
    booking = await bookings.cancel(res, holder_id, booking_reference(request), seen=seen)
    return JSONResponse({"booking": (await present.for_visitor(res, [booking]))[0]})


async def reschedule(request: Request) -> Response:
    """Move a booking to another free slot."""
    holder_id = await require_holder(request)
    fields = await read_json(request)
    res = resources(request)
    async with visitor_limits.booking_change(res, res.client_key(request.scope), holder_id):
        booking = await bookings.reschedule(
            res, holder_id, booking_reference(request), fields["start"], seen=fields.get("sequence")
        )
    return JSONResponse({"booking": (await present.for_visitor(res, [booking]))[0]})


async def invite(request: Request) -> Response:
    """The booking as a calendar invite (or cancellation)."""
    holder_id = await require_holder(request)
    res = resources(request)
    booking = await bookings.owned(res, holder_id, booking_reference(request))
    body = invites.visitor_invite(booking, await setup.policy(res), res.settings, language_of(request))
    return present.calendar_response(body, booking)


CODE = Body({"lookup": lookup_id, "verifier": verifier})
HOLDER = ("holder",)
BOOKING = {"reference": reference}
LANG = {"lang": any_text}

routes = [
    ApiRoute("/api/booking/options", options, "GET"),
    ApiRoute(
        "/api/booking/slots",
        free_times,
        "GET",
        Operation(
            auth=("", *HOLDER),  # a holder token only for same_counsellor=1
            query={
                "from": calendar_date,
                "days": whole_number(1, MAX_DAYS),
                "same_counsellor": one_of("0", "1"),
            },
        ),
    ),
    ApiRoute("/api/booking/holders", new_holder, "POST", Operation(body=CODE, responses={201: "Created"})),
    ApiRoute("/api/booking/access", access, "POST", Operation(body=CODE)),
    ApiRoute("/api/booking/from-chat", from_chat, "POST", Operation(auth=("visitor",))),
    ApiRoute(
        "/api/booking/bookings",
        book,
        "POST",
        Operation(
            auth=HOLDER,
            query=LANG,
            body=Body(
                {
                    "start": instant,
                    "kind": booking_kind,
                    "payload": sealed_booking,
                    "fuller_invite": flag,
                    "same_counsellor": flag,
                },
                optional={"reference": reference},  # chosen by the browser, bound into the seal
            ),
            responses={201: "Booked", 409: "The time is taken, or the code holds enough bookings"},
        ),
    ),
    ApiRoute("/api/booking/bookings", mine, "GET", Operation(auth=HOLDER)),
    ApiRoute(
        "/api/booking/bookings/{reference}/cancel",
        cancel,
        "POST",
        Operation(
            auth=HOLDER,
            path=BOOKING,
            body=Body({}, {"sequence": booking_sequence}, may_be_empty=True),
            responses={409: "The booking changed since it was seen"},
        ),
    ),
    ApiRoute(
        "/api/booking/bookings/{reference}/reschedule",
        reschedule,
        "POST",
        Operation(
            auth=HOLDER,
            path=BOOKING,
            body=Body({"start": instant}, {"sequence": booking_sequence}),
            responses={409: "The time is taken, or the booking changed since it was seen"},
        ),
    ),
    ApiRoute(
        "/api/booking/bookings/{reference}/invite.ics",
        invite,
        "GET",
        Operation(auth=HOLDER, path=BOOKING, query=LANG, produces="text/calendar"),
    ),
]
