"""Pages for visitors: the front page, quick exit.  No cookies, nothing stored, no-store caching."""

from __future__ import annotations

from datetime import datetime

from babel.dates import get_day_names
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.errors import PublicError
from server.i18n import N_, is_language
from server.resources import resources
from server.services.centre import is_open_at, opening_hours
from server.templating import request_language


async def front_page(request: Request) -> Response:
    """What the centre offers, when it is open, emergency numbers, and the ways to get in touch."""
    language = request.path_params.get("lang")
    if language is not None and not is_language(language):
        raise PublicError(404, N_("This page does not exist."))
    res = resources(request)
    days = await opening_hours(res.db)
    now = datetime.now(res.settings.zone)
    page_lang = language or request_language(request, res.settings)
    day_names = get_day_names("wide", locale=page_lang)
    return res.renderer.page(
        request,
        "visitor/front.html",
        {
            "days": [(day_names[d.weekday], d) for d in days],
            "open_now": is_open_at(days, now),
        },
        language=page_lang,
    )


async def quick_exit(request: Request) -> Response:
    """Leave for a neutral site at once, asking the browser to forget this site's data."""
    response = RedirectResponse(resources(request).settings.exit_url, status_code=303)
    response.headers["Clear-Site-Data"] = '"cache", "cookies", "storage"'
    return response


routes = [
    Route("/", front_page),
    Route("/exit", quick_exit),
    Route("/{lang}/", front_page),
]
