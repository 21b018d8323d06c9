"""Staff accounts for admins: invitations, deactivation and reactivation, interpreters' languages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.access import require_admin
from server.centres import current_centre_of
from server.errors import PublicError
from server.forms import field, read_form
from server.languages import INTERPRETER_LANGUAGES
from server.models import Role
from server.realtime import events
from server.resources import resources
from server.services import accounts, centre_staff, credentials, rekey, staff_sessions
from server.services.network import centre_url


async def staff_page(request: Request) -> Response:
    await require_admin(request)
    return await _render_staff(request, new_invite_url=None, error=None)


async def _render_staff(
    request: Request, new_invite_url: str | None, error: PublicError | None, reset_name: str | None = None
) -> Response:
    res = resources(request)
    overview = await accounts.staff_overview(res)
    guests = await centre_staff.guests(res)
    return res.renderer.page(
        request,
        "staff/admin_staff.html",
        {
            "overview": overview,
            "guests": guests,
            "shared_roles": centre_staff.SHARED_ROLES,
            "roles": [r.value for r in Role],
            "language_names": dict(INTERPRETER_LANGUAGES),
            "new_invite_url": new_invite_url,
            "reset_name": reset_name,
            "error": (error.message, error.values) if error else None,
        },
        status_code=error.status if error else 200,
    )


async def create_invite(request: Request) -> Response:
    actor = await require_admin(request)
    res = resources(request)
    form = await read_form(request)
    try:
        created = await accounts.invite_staff(
            res,
            actor,
            field(form, "role", 32),
            field(form, "display_name", 200),
            res.settings.invite_valid_hours,
        )
    except PublicError as error:
        return await _render_staff(request, None, error)
    url = f"{centre_url(res, current_centre_of(request))}/staff/invite/{created.token}"
    return await _render_staff(request, url, None)


async def revoke_invite(request: Request) -> Response:
    actor = await require_admin(request)
    await accounts.revoke_invite(resources(request), actor, request.path_params["id"])
    return RedirectResponse("/staff/admin/staff", status_code=303)


async def deactivate(request: Request) -> Response:
    actor = await require_admin(request)
    await accounts.set_active(resources(request), actor, request.path_params["id"], False)
    await staff_sessions.announce_ended(resources(request), request.path_params["id"], "deactivated")
    await rekey.mark(resources(request), staff_ids=[request.path_params["id"]])  # they must go (§8.5)
    return RedirectResponse("/staff/admin/staff", status_code=303)


async def force_reset(request: Request) -> Response:
    """End every session of the account; the admin gets a fresh link for setting a new password."""
    actor = await require_admin(request)
    res = resources(request)
    try:
        created = await credentials.force_reset(res, actor, request.path_params["id"])
    except PublicError as error:
        if error.status == 404:
            raise
        return await _render_staff(request, None, error)
    url = f"{centre_url(res, current_centre_of(request))}/staff/invite/{created.token}"
    return await _render_staff(request, url, None, reset_name=created.invite.display_name)


async def reactivate(request: Request) -> Response:
    actor = await require_admin(request)
    await accounts.set_active(resources(request), actor, request.path_params["id"], True)
    return RedirectResponse("/staff/admin/staff", status_code=303)


async def set_languages(request: Request) -> Response:
    """The languages an interpreter covers: codes separated by spaces or commas."""
    actor = await require_admin(request)
    form = await read_form(request)
    try:
        codes = accounts.parse_languages(field(form, "languages", 400))
        await accounts.set_interpreter_languages(resources(request), actor, request.path_params["id"], codes)
    except PublicError as error:
        if error.status == 404:
            raise
        return await _render_staff(request, None, error)
    return RedirectResponse("/staff/admin/staff", status_code=303)


async def add_from_network(request: Request) -> Response:
    """Give a login of another centre of the network a role here (counsellor or interpreter)."""
    actor = await require_admin(request)
    form = await read_form(request)
    try:
        await centre_staff.add(
            resources(request), actor, field(form, "username", 64), field(form, "role", 32)
        )
    except PublicError as error:
        return await _render_staff(request, None, error)
    return RedirectResponse("/staff/admin/staff", status_code=303)


async def remove_from_centre(request: Request) -> Response:
    """End a role given here: this centre's certificate goes, and their conversations here re-key."""
    actor = await require_admin(request)
    res = resources(request)
    staff_id = request.path_params["id"]
    await centre_staff.remove(res, actor, staff_id)
    await events.session_ended(res.bus, staff_id, "role_changed")  # their sockets here re-check
    await events.presence_changed(res.bus)
    await rekey.mark(res, staff_ids=[staff_id])  # they must go (§8.5)
    return RedirectResponse("/staff/admin/staff", status_code=303)


routes = [
    Route("/staff/admin/staff", staff_page, methods=["GET"]),
    Route("/staff/admin/invites", create_invite, methods=["POST"]),
    Route("/staff/admin/invites/{id:uuid}/revoke", revoke_invite, methods=["POST"]),
    Route("/staff/admin/staff/{id:uuid}/deactivate", deactivate, methods=["POST"]),
    Route("/staff/admin/staff/{id:uuid}/reactivate", reactivate, methods=["POST"]),
    Route("/staff/admin/staff/{id:uuid}/reset", force_reset, methods=["POST"]),
    Route("/staff/admin/staff/{id:uuid}/languages", set_languages, methods=["POST"]),
    Route("/staff/admin/shared", add_from_network, methods=["POST"]),
    Route("/staff/admin/shared/{id:uuid}/remove", remove_from_centre, methods=["POST"]),
]
