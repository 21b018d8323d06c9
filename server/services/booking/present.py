"""How a booking is described over the API (docs/BOOKING.md): to its visitor, and to staff."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.responses import Response

from server import access
from server.models import Booking, BookingStatus, StaffAccount
from server.resources import Resources
from server.services.booking import bookings, invites
from server.validators import to_b64u


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def booking_json(res: Resources, booking: Booking, counsellor_name: str | None) -> dict[str, Any]:
    """What a visitor sees of one of their bookings (the counsellor's name only if they chose them)."""
    local = booking.starts_at.astimezone(res.centres.zone())
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


async def for_visitor(res: Resources, found: list[Booking]) -> list[dict[str, Any]]:
    names = await bookings.staff_names(res, [b.counsellor_id for b in found if b.same_counsellor])
    return [booking_json(res, b, names.get(b.counsellor_id)) for b in found]


async def for_staff(res: Resources, found: list[Booking], staff: StaffAccount) -> list[dict[str, Any]]:
    """Bookings as staff see them; the sealed payload only for the booking's own counsellor."""
    people = {b.counsellor_id for b in found} | {b.interpreter_id for b in found if b.interpreter_id}
    names = await bookings.staff_names(res, list(people))
    items = []
    for booking in found:
        item = booking_json(res, booking, names.get(booking.counsellor_id))
        item["counsellor_name"] = names.get(booking.counsellor_id)
        item["counsellor_id"] = booking.counsellor_id.hex
        item["interpreter_id"] = booking.interpreter_id.hex if booking.interpreter_id else None
        item["interpreter_name"] = names.get(booking.interpreter_id) if booking.interpreter_id else None
        item["from_chat"] = await bookings.from_chat(res, booking.holder_id)
        opens = access.may_open_booking_payload(staff, booking)
        item["payload"] = to_b64u(booking.payload) if opens else None
        items.append(item)
    return items


def calendar_response(body: bytes, booking: Booking) -> Response:
    """An invite to download: a REQUEST, or a CANCEL once the booking is cancelled."""
    method = "CANCEL" if booking.status == BookingStatus.CANCELLED else "REQUEST"
    return Response(
        body,
        media_type=f"text/calendar; charset=utf-8; method={method}",
        headers={"Content-Disposition": 'attachment; filename="invite.ics"'},
    )
