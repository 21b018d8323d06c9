"""The network's own pages: visitors choosing a centre, and the network admin's page.

The choice page answers at `/` (and `/<lang>/`) of the network's own address once there are
two centres or more; with one centre those addresses stay that centre's front page.  It keeps
nothing in the browser: the filters are plain query parameters of a GET form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from babel.dates import format_datetime
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.access import require_network_admin
from server.centres import CentreInfo
from server.errors import PublicError
from server.forms import field, read_form
from server.i18n import N_
from server.models import CENTRE_KINDS, CURRENT_CENTRE
from server.resources import Resources, resources
from server.services import network
from server.services.booking import bookings
from server.services.centre import is_open_at, opening_hours
from server.templating import request_language

KIND_NAMES = {
    "victim_support": N_("Support centre for crime victims"),
    "sexual_abuse": N_("Centre against incest and sexual abuse"),
    "other": N_("Other support"),
}


@dataclass(frozen=True)
class Listed:
    centre: CentreInfo
    open_now: bool
    next_free: datetime | None


async def _listed(res: Resources, centre: CentreInfo) -> Listed:
    """Whether a centre is open now and its next free booking time (read as that centre)."""
    token = CURRENT_CENTRE.set(centre.id)
    try:
        now = datetime.now(centre.zone)
        open_now = is_open_at(await opening_hours(res), now)
        free = await bookings.slots(res, now, 14, None)
    finally:
        CURRENT_CENTRE.reset(token)
    return Listed(centre, open_now, min((slot.start for slot in free), default=None))


async def choice_page(request: Request, lang: str) -> Response:
    """Every centre (filtered by region and kind), open now or not, its next free time."""
    res = resources(request)
    centres = await res.centres.all()
    region = request.query_params.get("region", "")
    kind = request.query_params.get("kind", "")
    regions = sorted({c.region for c in centres if c.region})
    shown = [
        c
        for c in centres
        if (not region or c.region == region) and (kind not in CENTRE_KINDS or c.kind == kind)
    ]
    listed = [await _listed(res, centre) for centre in shown]
    return res.renderer.page(
        request,
        "visitor/network.html",
        {
            "listed": listed,
            "regions": regions,
            "region": region if region in regions else "",
            "kind": kind if kind in CENTRE_KINDS else "",
            "kinds": [(k, KIND_NAMES[k]) for k in CENTRE_KINDS],
            "kind_names": KIND_NAMES,
            "when": lambda moment: format_datetime(
                moment, "EEEE d MMMM HH:mm", tzinfo=res.centres.zone(), locale=lang
            ),
            "any_open": any(item.open_now for item in listed),
        },
        language=lang,
    )


async def open_now(request: Request) -> Response:
    """To the chat of the first centre (in the network's order) that is open now."""
    res = resources(request)
    lang = request.query_params.get("lang", "")
    lang = lang if lang in ("nb", "sv", "en") else request_language(request, res.settings)
    for centre in await res.centres.all():
        if (await _listed(res, centre)).open_now:
            return RedirectResponse(f"{centre.address}/{lang}/chat", status_code=303)
    return RedirectResponse(f"/{lang}/?closed=1", status_code=303)


# --- the network admin ------------------------------------------------------------------------


async def admin_page(request: Request) -> Response:
    await require_network_admin(request)
    return await _render_admin(request, None, None)


async def _render_admin(
    request: Request, message: tuple[str, dict[str, str]] | None, link: str | None
) -> Response:
    res = resources(request)
    return res.renderer.page(
        request,
        "staff/network.html",
        {
            "counts": await network.counts(res),
            "kinds": [(k, KIND_NAMES[k]) for k in CENTRE_KINDS],
            "message": message,
            "invite_link": link,
        },
    )


async def create_centre(request: Request) -> Response:
    actor = await require_network_admin(request)
    res = resources(request)
    form = await read_form(request)
    new = network.NewCentre(
        slug=field(form, "slug", 40),
        name=field(form, "name", 80),
        region=field(form, "region", 80),
        kind=field(form, "kind", 20) or "victim_support",
        host=field(form, "host", 253) or None,
    )
    made = await network.create_centre(res, new, actor)
    return await _render_admin(request, (N_("Centre %(name)s was created."), {"name": made.name}), None)


async def appoint_admin(request: Request) -> Response:
    actor = await require_network_admin(request)
    res = resources(request)
    form = await read_form(request)
    centre = await res.centres.by_slug(request.path_params["slug"])
    if centre is None:
        raise PublicError(404, network.NO_CENTRE)
    link = await network.appoint_first_admin(res, centre.id, field(form, "display_name", 80), actor)
    return await _render_admin(request, None, link)


routes = [
    Route("/network/", admin_page),
    Route("/network/centres", create_centre, methods=["POST"]),
    Route("/network/centres/{slug}/admin", appoint_admin, methods=["POST"]),
    Route("/network/open-now", open_now),
]
