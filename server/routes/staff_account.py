"""Staff sign-in, sign-out, the staff home page, and accepting an invitation."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.access import is_admin, require_staff
from server.errors import PublicError, ThrottledError
from server.forms import field, read_form
from server.i18n import N_, is_language
from server.resources import Resources, resources
from server.security.csrf import binding_cookie, make_token, new_binding
from server.services import accounts, staff_sessions
from server.templating import request_language


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
    try:
        result = await staff_sessions.log_in(res, res.client_key(request.scope), username, password, old)
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
    response = RedirectResponse("/staff/", status_code=303)
    res.cookies.set(response, res.cookies.session, result.token)
    res.cookies.clear(response, res.cookies.csrf)
    return response


async def logout(request: Request) -> Response:
    res = resources(request)
    token = request.cookies.get(res.cookies.session)
    if token:
        await staff_sessions.log_out(res, token)
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


async def invite_page(request: Request) -> Response:
    res = resources(request)
    invite = await accounts.find_open_invite(res, request.path_params["token"])
    return _form_page(request, "staff/invite.html", {"invite": invite, "error": None, "username": ""})


async def accept_invite(request: Request) -> Response:
    res = resources(request)
    token = request.path_params["token"]
    invite = await accounts.find_open_invite(res, token)
    form = await read_form(request)
    username = field(form, "username", 256)
    password = field(form, "password", 1024)
    if password != field(form, "password_again", 1024):
        error: PublicError | None = PublicError(422, N_("The two passwords are not the same."))
    else:
        error = None
        try:
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
            {"invite": invite, "error": (error.message, {}), "username": username[:64]},
            status=error.status,
        )
    session_token = await staff_sessions.start_session(res, account)
    response = RedirectResponse("/staff/", status_code=303)
    res.cookies.set(response, res.cookies.session, session_token)
    res.cookies.clear(response, res.cookies.csrf)
    return response


routes = [
    Route("/staff/login", login_page, methods=["GET"]),
    Route("/staff/login", login, methods=["POST"]),
    Route("/staff/logout", logout, methods=["POST"]),
    Route("/staff/", home, methods=["GET"]),
    Route("/staff/language", change_language, methods=["POST"]),
    Route("/staff/invite/{token}", invite_page, methods=["GET"]),
    Route("/staff/invite/{token}", accept_invite, methods=["POST"]),
]
