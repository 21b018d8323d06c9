"""Booking for staff: availability and feed (counsellors), booking rules (admins), bookings, invites.

Interpreters have a calendar link too (no weekly times: they are never booked directly) and
see the bookings a counsellor attached them to, without the sealed details.

Forms are plain HTML with CSRF tokens; the calendar feed is opened by its secret token
alone (calendar apps send no cookies).
"""

from __future__ import annotations

import re
import uuid
from datetime import date, time
from typing import Any
from urllib.parse import urlsplit

from babel.dates import get_day_names
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from server.access import (
    may_see_booking,
    require_admin,
    require_calendar_user,
    require_counsellor,
    require_staff,
)
from server.errors import PublicError
from server.forms import field, read_form
from server.i18n import N_
from server.jsonapi import read_json
from server.models import Booking, Role, StaffAccount
from server.realtime.frames import encode as b64
from server.realtime.frames import staff_id
from server.resources import Resources, resources
from server.routes.api_booking import booking_json, calendar_response, reference
from server.services.booking import bookings, invites, setup
from server.templating import request_language

BAD_TIME = N_("Enter times as HH:MM, the start before the end.")
BAD_DAY = N_("Choose a weekday.")
BAD_DATES = N_("Enter dates as YYYY-MM-DD, the first on or before the last.")
BAD_NUMBER = N_("%(field)s must be a whole number from %(low)s to %(high)s.")
BAD_LINK = N_("The video link must be an https:// address.")
NOT_YOURS = N_("This booking is not yours.")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_FEED_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")

NUMBERS = {
    "slot_minutes": (N_("Slot length (minutes)"), 15, 240),
    "buffer_minutes": (N_("Buffer between meetings (minutes)"), 0, 120),
    "min_notice_hours": (N_("Minimum notice (hours)"), 0, 336),
    "horizon_days": (N_("Booking horizon (days)"), 1, 400),
    "max_future_bookings": (N_("Upcoming bookings one code may hold"), 1, 20),
}


# --- a counsellor's availability and feed ---------------------------------------------------


async def availability_page(request: Request) -> Response:
    staff = await require_calendar_user(request)
    return await _render_availability(request, staff, None, feed_url=None)


async def _render_availability(
    request: Request, staff: StaffAccount, error: PublicError | None, feed_url: str | None
) -> Response:
    res = resources(request)
    names = get_day_names("wide", locale=request_language(request, res.settings))
    bookable = staff.role == Role.COUNSELLOR
    return res.renderer.page(
        request,
        "staff/availability.html",
        {
            "bookable": bookable,
            "rules": await setup.rules_of(res.db, staff.id) if bookable else [],
            "exceptions": await setup.exceptions_of(res.db, staff.id) if bookable else [],
            "day_names": names,
            "has_feed": await setup.has_feed(res.db, staff.id),
            "feed_url": feed_url,
            "error": (error.message, {}) if error else None,
        },
        status_code=error.status if error else 200,
    )


def parse_time(raw: str) -> time:
    if not _TIME.fullmatch(raw):
        raise PublicError(422, BAD_TIME)
    return time.fromisoformat(raw)


async def add_rule(request: Request) -> Response:
    staff = await require_counsellor(request)
    form = await read_form(request)
    try:
        day = field(form, "weekday", 2)
        if day not in {str(n) for n in range(7)}:
            raise PublicError(422, BAD_DAY)
        starts, ends = parse_time(field(form, "starts", 5)), parse_time(field(form, "ends", 5))
        if starts >= ends:
            raise PublicError(422, BAD_TIME)
        await setup.add_rule(resources(request).db, staff.id, int(day), starts, ends)
    except PublicError as error:
        return await _render_availability(request, staff, error, None)
    return RedirectResponse("/staff/availability", status_code=303)


async def add_exception(request: Request) -> Response:
    staff = await require_counsellor(request)
    form = await read_form(request)
    try:
        try:
            first = date.fromisoformat(field(form, "first", 10))
            last = date.fromisoformat(field(form, "last", 10) or field(form, "first", 10))
        except ValueError:
            raise PublicError(422, BAD_DATES) from None
        if first > last:
            raise PublicError(422, BAD_DATES)
        await setup.add_exception(resources(request).db, staff.id, first, last)
    except PublicError as error:
        return await _render_availability(request, staff, error, None)
    return RedirectResponse("/staff/availability", status_code=303)


async def remove_rule(request: Request) -> Response:
    staff = await require_counsellor(request)
    await read_form(request)
    await setup.remove_rule(resources(request).db, staff.id, request.path_params["id"])
    return RedirectResponse("/staff/availability", status_code=303)


async def remove_exception(request: Request) -> Response:
    staff = await require_counsellor(request)
    await read_form(request)
    await setup.remove_exception(resources(request).db, staff.id, request.path_params["id"])
    return RedirectResponse("/staff/availability", status_code=303)


async def new_feed(request: Request) -> Response:
    """Make (or remake) the feed link; it is shown this once — only its hash is kept."""
    staff = await require_calendar_user(request)
    await read_form(request)
    res = resources(request)
    token = await setup.new_feed(res.db, staff.id)
    return await _render_availability(request, staff, None, f"{res.settings.public_url}/calendar/{token}.ics")


async def revoke_feed(request: Request) -> Response:
    staff = await require_calendar_user(request)
    await read_form(request)
    await setup.revoke_feed(resources(request).db, staff.id)
    return RedirectResponse("/staff/availability", status_code=303)


async def feed(request: Request) -> Response:
    """A counsellor's or interpreter's subscribed calendar; the unguessable token in the URL is the key."""
    token = str(request.path_params["token"])
    res = resources(request)
    owner = await setup.feed_owner(res.db, token) if _FEED_TOKEN.fullmatch(token) else None
    if owner is None:
        raise PublicError(404, N_("This calendar link does not exist or has been turned off."))
    async with res.db() as db:
        account = await db.get(StaffAccount, owner)
    language = account.language if account else res.settings.default_language
    body = invites.feed(
        await bookings.of_counsellor(res, owner), await setup.policy(res.db), res.settings, language
    )
    return Response(body, media_type="text/calendar; charset=utf-8", headers={"Cache-Control": "no-store"})


# --- the centre's booking rules (admins) -----------------------------------------------------


async def policy_page(request: Request) -> Response:
    await require_admin(request)
    return await _render_policy(request, None, None)


async def _render_policy(
    request: Request, values: dict[str, Any] | None, error: PublicError | None
) -> Response:
    res = resources(request)
    current = values or (await setup.policy(res.db)).__dict__
    return res.renderer.page(
        request,
        "staff/admin_booking.html",
        {
            "policy": current,
            "numbers": NUMBERS,
            "error": (error.message, getattr(error, "values", {})) if error else None,
        },
        status_code=error.status if error else 200,
    )


class FieldError(PublicError):
    def __init__(self, message: str, **values: object) -> None:
        super().__init__(422, message)
        self.values = values


async def save_policy(request: Request) -> Response:
    await require_admin(request)
    form = await read_form(request)
    values: dict[str, Any] = {
        "address": field(form, "address", 300).strip(),
        "video_link": field(form, "video_link", 300).strip(),
        "phone": field(form, "phone", 2) == "on",
    }
    for name in NUMBERS:  # every field first: the form is shown again with all of them on an error
        values[name] = field(form, name, 6).strip()
    try:
        for name, (label, low, high) in NUMBERS.items():
            raw = values[name]
            if not raw.isdigit() or not low <= int(raw) <= high:
                raise FieldError(BAD_NUMBER, field=label, low=low, high=high)
            values[name] = int(raw)
        link = values["video_link"]
        if link and (urlsplit(link).scheme != "https" or not urlsplit(link).hostname):
            raise FieldError(BAD_LINK)
    except FieldError as error:
        return await _render_policy(request, values, error)
    await setup.save_policy(resources(request).db, setup.Policy(**values))
    return RedirectResponse("/staff/admin/booking", status_code=303)


# --- bookings for staff ------------------------------------------------------------------------


async def staff_bookings(request: Request) -> Response:
    """A counsellor's own bookings with their sealed details; an interpreter's (those they are
    attached to) and an admin's (all) without them."""
    staff = await require_staff(request, Role.COUNSELLOR, Role.INTERPRETER, Role.ADMIN)
    res = resources(request)
    found = await bookings.of_counsellor(res, None if staff.role == Role.ADMIN else staff.id)
    return JSONResponse(
        {"bookings": await staff_bookings_json(res, found, staff), "time_zone": res.settings.time_zone}
    )


async def staff_bookings_json(
    res: Resources, found: list[Booking], staff: StaffAccount
) -> list[dict[str, Any]]:
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
        item["payload"] = b64(booking.payload) if booking.counsellor_id == staff.id else None
        items.append(item)
    return items


def interpreter_choice(value: Any) -> uuid.UUID | None:
    return None if value is None else staff_id(value)


async def set_interpreter(request: Request) -> Response:
    """Attach an interpreter to one of my bookings, or detach (`{"interpreter": null}`)."""
    staff = await require_counsellor(request)
    res = resources(request)
    fields = await read_json(request, {"interpreter": interpreter_choice})
    booking = await bookings.set_interpreter(res, staff, reference(request), fields["interpreter"])
    return JSONResponse({"booking": (await staff_bookings_json(res, [booking], staff))[0]})


async def staff_invite(request: Request) -> Response:
    staff = await require_staff(request, Role.COUNSELLOR, Role.INTERPRETER, Role.ADMIN)
    res = resources(request)
    booking = await bookings.by_reference(res, reference(request))
    if booking is None:
        raise PublicError(404, bookings.NOT_FOUND, code="not_found")
    if not may_see_booking(staff, booking):
        raise PublicError(403, NOT_YOURS, code="forbidden")
    body = invites.staff_invite(booking, await setup.policy(res.db), res.settings, staff.language)
    return calendar_response(body, booking.status == "cancelled")


routes = [
    Route("/staff/availability", availability_page, methods=["GET"]),
    Route("/staff/availability/rules", add_rule, methods=["POST"]),
    Route("/staff/availability/rules/{id:uuid}/remove", remove_rule, methods=["POST"]),
    Route("/staff/availability/exceptions", add_exception, methods=["POST"]),
    Route("/staff/availability/exceptions/{id:uuid}/remove", remove_exception, methods=["POST"]),
    Route("/staff/availability/feed", new_feed, methods=["POST"]),
    Route("/staff/availability/feed/revoke", revoke_feed, methods=["POST"]),
    Route("/calendar/{token}.ics", feed, methods=["GET"]),
    Route("/staff/admin/booking", policy_page, methods=["GET"]),
    Route("/staff/admin/booking", save_policy, methods=["POST"]),
    Route("/api/staff/bookings", staff_bookings, methods=["GET"]),
    Route("/api/staff/bookings/{reference}/interpreter", set_interpreter, methods=["POST"]),
    Route("/staff/bookings/{reference}/invite.ics", staff_invite, methods=["GET"]),
]
