"""The booking API for visitors (docs/BOOKING.md): free times, codes, booking, cancel, move, invite.

No cookies.  A visitor proves they hold a booking code (or a chat's resume code, or a
chat token) and gets a short-lived holder token; every call about bookings checks it
through `require_holder`.  The note, contact and interpreter request arrive sealed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from server.access import require_visitor
from server.errors import PublicError
from server.i18n import N_, is_language
from server.jsonapi import read_json
from server.models import KINDS, Booking
from server.realtime.frames import FrameError, b64u
from server.resources import Resources, resources
from server.routes.api_visitor import lookup_id, verifier
from server.security.limits import Bucket
from server.services import keys as key_service
from server.services import visitor_limits
from server.services.booking import bookings, invites, setup
from server.services.booking.slots import Slot

UNAUTHORIZED = N_("Enter your code again to see your bookings.")
BAD_QUERY = N_("The request could not be understood.")
MAX_DAYS = 62
MAX_PAYLOAD = 16 * 1024
REFERENCE_CHARS = set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")


# --- validation ----------------------------------------------------------------------------


def instant(value: Any) -> datetime:
    """An ISO 8601 UTC instant such as 2027-03-29T07:00:00Z."""
    if not isinstance(value, str) or len(value) > 40:
        raise FrameError("bad_frame", "expected an ISO 8601 time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise FrameError("bad_frame", "expected an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise FrameError("bad_frame", "the time needs a zone (Z)")
    return parsed.astimezone(UTC)


def kind(value: Any) -> str:
    if value not in KINDS:
        raise FrameError("bad_frame", "kind must be in_person, phone or video")
    return str(value)


def sequence(value: Any) -> int:
    """A booking's SEQUENCE as the client last saw it (a change is refused if it has moved on)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
        raise FrameError("bad_frame", "sequence must be a whole number")
    return value


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise FrameError("bad_frame", "expected true or false")
    return value


def sealed_payload(value: Any) -> bytes:
    """The sealed box's structure (docs/BOOKING.md); its contents are not ours to read."""
    data = b64u(value, MAX_PAYLOAD)
    if len(data) < 2 or data[0] != 1 or not 1 <= data[1] <= 64:
        raise FrameError("bad_frame", "not a sealed booking payload")
    if len(data) < 2 + data[1] * 96 + 12 + 16:
        raise FrameError("bad_frame", "sealed booking payload too short")
    return data


def reference(request: Request) -> str:
    raw = str(request.path_params["reference"]).upper().replace("-", "")
    if len(raw) != 8 or not set(raw) <= REFERENCE_CHARS:
        raise PublicError(404, bookings.NOT_FOUND, code="not_found")
    return raw


def language_of(request: Request) -> str:
    value = request.query_params.get("lang", "")
    return value if is_language(value) else resources(request).settings.default_language


async def require_holder(request: Request) -> uuid.UUID:
    """The one access check for a visitor's bookings: a valid, unexpired holder token."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    holder_id = bookings.holder_from_token(resources(request), token) if scheme.lower() == "bearer" else None
    if holder_id is None or await bookings.holder(resources(request), holder_id) is None:
        raise PublicError(401, UNAUTHORIZED, code="unauthorized")
    return holder_id


# --- answers ---------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def booking_json(res: Resources, booking: Booking, counsellor_name: str | None) -> dict[str, Any]:
    local = booking.starts_at.astimezone(res.settings.zone)
    return {
        "reference": invites.display_reference(booking.reference),
        "start": iso(booking.starts_at),
        "end": iso(booking.ends_at),
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "kind": booking.kind,
        "status": booking.status,
        "sequence": booking.sequence,
        "fuller_invite": booking.fuller_invite,
        "counsellor_name": counsellor_name if booking.same_counsellor else None,
    }


async def with_names(res: Resources, found: list[Booking]) -> list[dict[str, Any]]:
    names = await bookings.staff_names(res, [b.counsellor_id for b in found if b.same_counsellor])
    return [booking_json(res, b, names.get(b.counsellor_id)) for b in found]


def slots_json(res: Resources, found: list[Slot]) -> list[dict[str, Any]]:
    days: dict[str, list[dict[str, str]]] = {}
    for slot in found:
        local = slot.start.astimezone(res.settings.zone)
        days.setdefault(local.date().isoformat(), []).append(
            {"start": iso(slot.start), "end": iso(slot.end), "time": local.strftime("%H:%M")}
        )
    return [{"date": day, "slots": items} for day, items in days.items()]


# --- handlers --------------------------------------------------------------------------------


async def options(request: Request) -> Response:
    res = resources(request)
    current = await setup.policy(res.db)
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
            "kind": kind,
            "payload": sealed_payload,
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
    return JSONResponse({"booking": (await with_names(res, [booking]))[0]}, status_code=201)


async def mine(request: Request) -> Response:
    holder_id = await require_holder(request)
    res = resources(request)
    found = await bookings.of_holder(res, holder_id)
    current = await setup.policy(res.db)
    return JSONResponse(
        {"bookings": await with_names(res, found), "max_future_bookings": current.max_future_bookings}
    )


async def cancel(request: Request) -> Response:
    holder_id = await require_holder(request)
    seen = None
    if await request.body():  # optional: {"sequence": n}, the version the visitor is cancelling
        seen = (await read_json(request, {}, optional={"sequence": sequence})).get("sequence")
    res = resources(request)
    booking = await bookings.cancel(res, holder_id, reference(request), seen=seen)
    return JSONResponse({"booking": (await with_names(res, [booking]))[0]})


async def reschedule(request: Request) -> Response:
    holder_id = await require_holder(request)
    fields = await read_json(request, {"start": instant}, optional={"sequence": sequence})
    res = resources(request)
    async with visitor_limits.booking_change(res, res.client_key(request.scope), holder_id):
        booking = await bookings.reschedule(
            res, holder_id, reference(request), fields["start"], seen=fields.get("sequence")
        )
    return JSONResponse({"booking": (await with_names(res, [booking]))[0]})


async def invite(request: Request) -> Response:
    holder_id = await require_holder(request)
    res = resources(request)
    booking = await bookings.owned(res, holder_id, reference(request))
    body = invites.visitor_invite(booking, await setup.policy(res.db), res.settings, language_of(request))
    return calendar_response(body, booking.status == "cancelled")


def calendar_response(body: bytes, cancelled: bool) -> Response:
    method = "CANCEL" if cancelled else "REQUEST"
    return Response(
        body,
        media_type=f"text/calendar; charset=utf-8; method={method}",
        headers={"Content-Disposition": 'attachment; filename="invite.ics"'},
    )


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
