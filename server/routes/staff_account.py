"""Staff sign-in, sign-out, the staff home page, changing one's password, and accepting an invitation."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.access import is_admin, require_staff
from server.errors import PublicError, ThrottledError
from server.forms import field, read_form
from server.i18n import N_, is_language
from server.models import StaffInvite
from server.resources import Resources, resources
from server.security.csrf import binding_cookie, make_token, new_binding
from server.services import accounts, credentials, staff_sessions
from server.templating import request_language

PASSWORDS_DIFFER = N_("The two passwords are not the same.")


def _with_prelogin_csrf(request: Request, res: Resources) -> str | None:
    """Make sure a pre-login form has a CSRF token; returns a new cookie value to set, if any."""
    if binding_cookie(request, res.cookies):
        return None
    binding = new_binding()
    request.state.csrf_token = make_token(res.settings.secret_key, binding)
    return binding


def _form_page(request: Request, template: str, context: dict[str, object], status: int = 200) -> Response:
    res = resources(request)
    new_cookie = _with_prelogin_csrf(request, res)
    response = res.renderer.page(request, template, context, status_code=status)
    if new_cookie:
        res.cookies.set(response, res.cookies.csrf, new_cookie)
    return response


async def login_page(request: Request) -> Response:
    return _form_page(request, "staff/login.html", {"error": None, "username": ""})


async def login(request: Request) -> Response:
    res = resources(request)
    form = await read_form(request)
    username = field(form, "username", 256)
    password = field(form, "password", 1024)
    old = request.cookies.get(res.cookies.session)
    device = request.cookies.get(res.cookies.device)
    try:
        result = await staff_sessions.log_in(
            res, res.client_key(request.scope), username, password, old, device
        )
    except PublicError as error:
        message = error.message
        values = {"minutes": error.minutes} if isinstance(error, ThrottledError) else {}
        response = _form_page(
            request,
            "staff/login.html",
            {"error": (message, values), "username": username[:64]},
            status=error.status,
        )
        response.headers.update(error.headers or {})
        return response
    return _logged_in(res, result)


def _logged_in(res: Resources, result: staff_sessions.LoginResult, to: str = "/staff/") -> Response:
    response = RedirectResponse(to, status_code=303)
    res.cookies.set(response, res.cookies.session, result.token)
    res.cookies.set(response, res.cookies.device, result.device, max_age=res.devices.max_age)
    res.cookies.clear(response, res.cookies.csrf)
    return response


async def logout(request: Request) -> Response:
    res = resources(request)
    token = request.cookies.get(res.cookies.session)
    if token:
        staff_id = await staff_sessions.log_out(res, token)
        if staff_id is not None:
            await staff_sessions.announce_ended(res, staff_id, "logout")
    response = RedirectResponse("/staff/login", status_code=303)
    res.cookies.clear(response, res.cookies.session)
    return response


async def logout_everywhere(request: Request) -> Response:
    """End every session of this account, on every device (their open pages are closed too)."""
    account = await require_staff(request)
    res = resources(request)
    await staff_sessions.log_out_everywhere(res, account.id)
    response = RedirectResponse("/staff/login", status_code=303)
    res.cookies.clear(response, res.cookies.session)
    return response


async def home(request: Request) -> Response:
    account = await require_staff(request)
    return resources(request).renderer.page(request, "staff/home.html", {"is_admin": is_admin(account)})


async def change_language(request: Request) -> Response:
    account = await require_staff(request)
    form = await read_form(request)
    language = field(form, "language", 8)
    if not is_language(language):
        raise PublicError(422, N_("Choose a language."))
    await accounts.set_language(resources(request), account, language)
    return RedirectResponse("/staff/", status_code=303)


async def password_page(request: Request) -> Response:
    await require_staff(request)
    done = request.query_params.get("changed") == "1"
    return resources(request).renderer.page(request, "staff/password.html", {"error": None, "done": done})


async def change_password(request: Request) -> Response:
    """Current password, new password twice; every other session of the account ends."""
    account = await require_staff(request)
    res = resources(request)
    form = await read_form(request)
    new = field(form, "new_password", 1024)
    try:
        if new != field(form, "new_password_again", 1024):
            raise PublicError(422, PASSWORDS_DIFFER)
        result = await credentials.change_password(
            res,
            account.id,
            field(form, "current_password", 1024),
            new,
            request.cookies.get(res.cookies.device),
        )
    except PublicError as error:
        if error.status == 404:
            raise
        response = res.renderer.page(
            request,
            "staff/password.html",
            {"error": (error.message, error.values), "done": False},
            status_code=error.status,
        )
        response.headers.update(error.headers or {})
        return response
    return _logged_in(res, result, "/staff/password?changed=1")


async def invite_page(request: Request) -> Response:
    res = resources(request)
    invite = await accounts.find_open_invite(res, request.path_params["token"])
    return _form_page(request, "staff/invite.html", await _invite_context(res, invite, None, ""))


async def _invite_context(
    res: Resources, invite: StaffInvite, error: PublicError | None, username: str
) -> dict[str, object]:
    """An invitation asks for a user name; a reset link shows the account's own."""
    reset = await credentials.reset_account(res, invite) if credentials.is_reset(invite) else None
    return {
        "invite": invite,
        "reset_username": reset.username if reset else None,
        "error": (error.message, {}) if error else None,
        "username": username[:64],
    }


async def accept_invite(request: Request) -> Response:
    res = resources(request)
    token = request.path_params["token"]
    invite = await accounts.find_open_invite(res, token)
    form = await read_form(request)
    username = field(form, "username", 256)
    password = field(form, "password", 1024)
    if password != field(form, "password_again", 1024):
        error: PublicError | None = PublicError(422, PASSWORDS_DIFFER)
    else:
        error = None
        try:
            if credentials.is_reset(invite):
                account = await credentials.complete_reset(res, token, password)
            else:
                account = await accounts.accept_invite(
                    res,
                    token,
                    username,
                    password,
                    request_language(request, res.settings),
                )
        except PublicError as failure:
            if failure.status == 404:
                raise
            error = failure
    if error is not None:
        return _form_page(
            request,
            "staff/invite.html",
            await _invite_context(res, invite, error, username),
            status=error.status,
        )
    session_token = await staff_sessions.start_session(res, account)
    device = res.devices.issue(request.cookies.get(res.cookies.device), account.id, account.password_hash)
    return _logged_in(res, staff_sessions.LoginResult(account, session_token, device))


routes = [
    Route("/staff/login", login_page, methods=["GET"]),
    Route("/staff/login", login, methods=["POST"]),
    Route("/staff/logout", logout, methods=["POST"]),
    Route("/staff/logout-everywhere", logout_everywhere, methods=["POST"]),
    Route("/staff/", home, methods=["GET"]),
    Route("/staff/language", change_language, methods=["POST"]),
    Route("/staff/password", password_page, methods=["GET"]),
    Route("/staff/password", change_password, methods=["POST"]),
    Route("/staff/invite/{token}", invite_page, methods=["GET"]),
    Route("/staff/invite/{token}", accept_invite, methods=["POST"]),
]
