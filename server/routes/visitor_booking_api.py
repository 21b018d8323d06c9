"""The booking API for visitors (docs/BOOKING.md): free times, codes, booking, cancel, move, invite.

No cookies.  A visitor proves they hold a booking code (or a chat's resume code, or a
chat token) and gets a short-lived holder token; every call about bookings checks it
through `require_holder`.  The note, contact and interpreter request arrive sealed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.access import require_holder, require_visitor
from server.errors import PublicError
from server.i18n import N_, is_language
from server.jsonapi import read_json
from server.resources import Resources, resources
from server.security.limits import Bucket
from server.services import keys as key_service
from server.services import visitor_limits
from server.services.booking import bookings, invites, present, setup
from server.services.booking.slots import Slot
from server.validators import (
    booking_kind,
    booking_reference,
    booking_sequence,
    flag,
    instant,
    lookup_id,
    sealed_booking,
    verifier,
)

BAD_QUERY = N_("The request could not be understood.")
MAX_DAYS = 62


def language_of(request: Request) -> str:
    value = request.query_params.get("lang", "")
    return value if is_language(value) else resources(request).settings.default_language


# --- answers ---------------------------------------------------------------------------------


def slots_json(res: Resources, found: list[Slot]) -> list[dict[str, Any]]:
    days: dict[str, list[dict[str, str]]] = {}
    for slot in found:
        local = slot.start.astimezone(res.settings.zone)
        days.setdefault(local.date().isoformat(), []).append(
            {"start": present.iso(slot.start), "end": present.iso(slot.end), "time": local.strftime("%H:%M")}
        )
    return [{"date": day, "slots": items} for day, items in days.items()]


# --- handlers --------------------------------------------------------------------------------


async def options(request: Request) -> Response:
    res = resources(request)
    current = await setup.policy(res)
    return JSONResponse(
        {
            "time_zone": res.settings.time_zone,
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
    res = resources(request)
    query = request.query_params
    if set(query) - {"from", "days", "same_counsellor"}:
        raise PublicError(422, BAD_QUERY, code="bad_query")
    try:
        first = (
            date.fromisoformat(query["from"]) if "from" in query else datetime.now(res.settings.zone).date()
        )
        days = int(query.get("days", "14"))
    except ValueError:
        raise PublicError(422, BAD_QUERY, code="bad_query") from None
    if not 1 <= days <= MAX_DAYS or query.get("same_counsellor", "0") not in ("0", "1"):
        raise PublicError(422, BAD_QUERY, code="bad_query")
    only = None
    if query.get("same_counsellor") == "1":
        only = await bookings.same_counsellor_id(res, await require_holder(request))
    start = datetime.combine(first, datetime.min.time(), res.settings.zone)
    found = await bookings.slots(res, start, days, only)
    return JSONResponse({"time_zone": res.settings.time_zone, "days": slots_json(res, found)})


async def new_holder(request: Request) -> Response:
    fields = await read_json(request, {"lookup": lookup_id, "verifier": verifier})
    res = resources(request)
    async with visitor_limits.creating(res, Bucket.BOOKING_CODE, res.client_key(request.scope)):
        token = await bookings.new_holder(res, fields["lookup"], fields["verifier"])
    return JSONResponse({"token": token}, status_code=201)


async def access(request: Request) -> Response:
    fields = await read_json(request, {"lookup": lookup_id, "verifier": verifier})
    res = resources(request)
    async with visitor_limits.code_attempt(res, res.client_key(request.scope), fields["lookup"]):
        token = await bookings.holder_for_code(res, fields["lookup"], fields["verifier"])
    return JSONResponse({"token": token})


async def from_chat(request: Request) -> Response:
    principal = await require_visitor(request)
    assert principal.conversation_id is not None
    token, name = await bookings.holder_for_chat(resources(request), principal.conversation_id)
    return JSONResponse({"token": token, "counsellor_name": name})


async def book(request: Request) -> Response:
    holder_id = await require_holder(request)
    fields = await read_json(
        request,
        {
            "start": instant,
            "kind": booking_kind,
            "payload": sealed_booking,
            "fuller_invite": flag,
            "same_counsellor": flag,
        },
    )
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
        )
    return JSONResponse({"booking": (await present.for_visitor(res, [booking]))[0]}, status_code=201)


async def mine(request: Request) -> Response:
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
    holder_id = await require_holder(request)
    seen = None
    if await request.body():  # optional: {"sequence": n}, the version the visitor is cancelling
        seen = (await read_json(request, {}, optional={"sequence": booking_sequence})).get("sequence")
    res = resources(request)
    booking = await bookings.cancel(res, holder_id, booking_reference(request), seen=seen)
    return JSONResponse({"booking": (await present.for_visitor(res, [booking]))[0]})


async def reschedule(request: Request) -> Response:
    holder_id = await require_holder(request)
    fields = await read_json(request, {"start": instant}, optional={"sequence": booking_sequence})
    res = resources(request)
    async with visitor_limits.booking_change(res, res.client_key(request.scope), holder_id):
        booking = await bookings.reschedule(
            res, holder_id, booking_reference(request), fields["start"], seen=fields.get("sequence")
        )
    return JSONResponse({"booking": (await present.for_visitor(res, [booking]))[0]})


async def invite(request: Request) -> Response:
    holder_id = await require_holder(request)
    res = resources(request)
    booking = await bookings.owned(res, holder_id, booking_reference(request))
    body = invites.visitor_invite(booking, await setup.policy(res), res.settings, language_of(request))
    return present.calendar_response(body, booking)


routes = [
    Route("/api/booking/options", options, methods=["GET"]),
    Route("/api/booking/slots", free_times, methods=["GET"]),
    Route("/api/booking/holders", new_holder, methods=["POST"]),
    Route("/api/booking/access", access, methods=["POST"]),
    Route("/api/booking/from-chat", from_chat, methods=["POST"]),
    Route("/api/booking/bookings", book, methods=["POST"]),
    Route("/api/booking/bookings", mine, methods=["GET"]),
    Route("/api/booking/bookings/{reference}/cancel", cancel, methods=["POST"]),
    Route("/api/booking/bookings/{reference}/reschedule", reschedule, methods=["POST"]),
    Route("/api/booking/bookings/{reference}/invite.ics", invite, methods=["GET"]),
]
