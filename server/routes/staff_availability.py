"""A counsellor's weekly times and days off, and the private calendar link of counsellors
and interpreters (interpreters have no weekly times: they are never booked directly).

Forms are plain HTML with CSRF tokens; the calendar feed is opened by its secret token
alone (calendar apps send no cookies).
"""

from __future__ import annotations

import re

from babel.dates import get_day_names
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.access import has_weekly_times, require_calendar_user, require_counsellor
from server.centres import current_centre_of
from server.errors import PublicError
from server.forms import field, read_form
from server.i18n import N_
from server.models import StaffAccount
from server.resources import resources
from server.services.booking import bookings, invites, setup
from server.services.network import centre_url
from server.templating import request_language
from server.validators import BAD_TIME, Invalid, calendar_date, clock_time

BAD_DAY = N_("Choose a weekday.")
BAD_DATES = N_("Enter dates as YYYY-MM-DD, the first on or before the last.")
_FEED_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")


async def availability_page(request: Request) -> Response:
    staff = await require_calendar_user(request)
    return await _render_availability(request, staff, None, feed_url=None)


async def _render_availability(
    request: Request, staff: StaffAccount, error: PublicError | None, feed_url: str | None
) -> Response:
    res = resources(request)
    names = get_day_names("wide", locale=request_language(request, res.settings))
    bookable = has_weekly_times(staff)
    return res.renderer.page(
        request,
        "staff/availability.html",
        {
            "bookable": bookable,
            "rules": await setup.rules_of(res, staff.id) if bookable else [],
            "exceptions": await setup.exceptions_of(res, staff.id) if bookable else [],
            "day_names": names,
            "has_feed": await setup.has_feed(res, staff.id),
            "feed_url": feed_url,
            "error": (error.message, {}) if error else None,
        },
        status_code=error.status if error else 200,
    )


async def add_rule(request: Request) -> Response:
    staff = await require_counsellor(request)
    form = await read_form(request)
    try:
        day = field(form, "weekday", 2)
        if day not in {str(n) for n in range(7)}:
            raise PublicError(422, BAD_DAY)
        starts, ends = clock_time(field(form, "starts", 5)), clock_time(field(form, "ends", 5))
        if starts >= ends:
            raise PublicError(422, BAD_TIME)
        await setup.add_rule(resources(request), staff.id, int(day), starts, ends)
    except PublicError as error:
        return await _render_availability(request, staff, error, None)
    return RedirectResponse("/staff/availability", status_code=303)


async def add_exception(request: Request) -> Response:
    staff = await require_counsellor(request)
    form = await read_form(request)
    try:
        try:
            first = calendar_date(field(form, "first", 10))
            last = calendar_date(field(form, "last", 10) or field(form, "first", 10))
        except Invalid:
            raise PublicError(422, BAD_DATES) from None
        if first > last:
            raise PublicError(422, BAD_DATES)
        await setup.add_exception(resources(request), staff.id, first, last)
    except PublicError as error:
        return await _render_availability(request, staff, error, None)
    return RedirectResponse("/staff/availability", status_code=303)


async def remove_rule(request: Request) -> Response:
    staff = await require_counsellor(request)
    await read_form(request)
    await setup.remove_rule(resources(request), staff.id, request.path_params["id"])
    return RedirectResponse("/staff/availability", status_code=303)


async def remove_exception(request: Request) -> Response:
    staff = await require_counsellor(request)
    await read_form(request)
    await setup.remove_exception(resources(request), staff.id, request.path_params["id"])
    return RedirectResponse("/staff/availability", status_code=303)


async def new_feed(request: Request) -> Response:
    """Make (or remake) the feed link; it is shown this once — only its hash is kept."""
    staff = await require_calendar_user(request)
    await read_form(request)
    res = resources(request)
    token = await setup.new_feed(res, staff.id)
    return await _render_availability(
        request, staff, None, f"{centre_url(res, current_centre_of(request))}/calendar/{token}.ics"
    )


async def revoke_feed(request: Request) -> Response:
    staff = await require_calendar_user(request)
    await read_form(request)
    await setup.revoke_feed(resources(request), staff.id)
    return RedirectResponse("/staff/availability", status_code=303)


async def feed(request: Request) -> Response:
    """A counsellor's or interpreter's subscribed calendar; the unguessable token in the URL is the key."""
    token = str(request.path_params["token"])
    res = resources(request)
    owner = await setup.feed_owner(res, token) if _FEED_TOKEN.fullmatch(token) else None
    if owner is None:
        raise PublicError(404, N_("This calendar link does not exist or has been turned off."))
    async with res.db() as db:
        account = await db.get(StaffAccount, owner)
    language = account.language if account else res.settings.default_language
    body = invites.feed(
        await bookings.of_counsellor(res, owner), await setup.policy(res), res.settings, language
    )
    return Response(body, media_type="text/calendar; charset=utf-8", headers={"Cache-Control": "no-store"})


routes = [
    Route("/staff/availability", availability_page, methods=["GET"]),
    Route("/staff/availability/rules", add_rule, methods=["POST"]),
    Route("/staff/availability/rules/{id:uuid}/remove", remove_rule, methods=["POST"]),
    Route("/staff/availability/exceptions", add_exception, methods=["POST"]),
    Route("/staff/availability/exceptions/{id:uuid}/remove", remove_exception, methods=["POST"]),
    Route("/staff/availability/feed", new_feed, methods=["POST"]),
    Route("/staff/availability/feed/revoke", revoke_feed, methods=["POST"]),
    Route("/calendar/{token}.ics", feed, methods=["GET"]),
]
