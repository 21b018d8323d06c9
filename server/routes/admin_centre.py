"""The centre's settings, for admins: opening hours and the booking rules."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from babel.dates import get_day_names
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.access import require_admin
from server.errors import PublicError
from server.forms import field, read_form
from server.i18n import N_
from server.resources import resources
from server.services import centre
from server.services.booking import setup
from server.templating import request_language
from server.validators import ascii_int

BAD_NUMBER = N_("%(field)s must be a whole number from %(low)s to %(high)s.")
BAD_LINK = N_("The video link must be an https:// address.")

NUMBERS = {
    "slot_minutes": (N_("Slot length (minutes)"), 15, 240),
    "buffer_minutes": (N_("Buffer between meetings (minutes)"), 0, 120),
    "min_notice_hours": (N_("Minimum notice (hours)"), 0, 336),
    "horizon_days": (N_("Booking horizon (days)"), 1, 400),
    "max_future_bookings": (N_("Upcoming bookings one code may hold"), 1, 20),
}


# --- opening hours -----------------------------------------------------------------------------


async def hours_page(request: Request) -> Response:
    await require_admin(request)
    return await _render_hours(request, None, None)


async def _render_hours(
    request: Request, days: list[centre.DayHours] | None, error: PublicError | None
) -> Response:
    res = resources(request)
    days = days or await centre.opening_hours(res)
    names = get_day_names("wide", locale=request_language(request, res.settings))
    return res.renderer.page(
        request,
        "staff/admin_hours.html",
        {"days": [(names[d.weekday], d) for d in days], "error": (error.message, {}) if error else None},
        status_code=error.status if error else 200,
    )


async def save_hours(request: Request) -> Response:
    actor = await require_admin(request)
    res = resources(request)
    form = await read_form(request)
    try:
        days = [
            centre.parse_day(day, field(form, f"opens_{day}", 8), field(form, f"closes_{day}", 8))
            for day in range(7)
        ]
    except PublicError as error:
        return await _render_hours(request, None, error)
    await centre.set_opening_hours(res, actor, days)
    return RedirectResponse("/staff/admin/hours", status_code=303)


# --- booking rules -----------------------------------------------------------------------------


async def policy_page(request: Request) -> Response:
    await require_admin(request)
    return await _render_policy(request, None, None)


async def _render_policy(
    request: Request, values: dict[str, Any] | None, error: PublicError | None
) -> Response:
    res = resources(request)
    current = values or (await setup.policy(res)).__dict__
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
            number = ascii_int(values[name], low, high)
            if number is None:
                raise FieldError(BAD_NUMBER, field=label, low=low, high=high)
            values[name] = number
        link = values["video_link"]
        if link and (urlsplit(link).scheme != "https" or not urlsplit(link).hostname):
            raise FieldError(BAD_LINK)
    except FieldError as error:
        return await _render_policy(request, values, error)
    await setup.save_policy(resources(request), setup.Policy(**values))
    return RedirectResponse("/staff/admin/booking", status_code=303)


routes = [
    Route("/staff/admin/hours", hours_page, methods=["GET"]),
    Route("/staff/admin/hours", save_hours, methods=["POST"]),
    Route("/staff/admin/booking", policy_page, methods=["GET"]),
    Route("/staff/admin/booking", save_policy, methods=["POST"]),
]
