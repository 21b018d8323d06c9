"""Cross-site request forgery protection for every state-changing request.

Two independent checks, both in this one middleware so no route can forget them:
1. The browser's own word: a cross-site `Sec-Fetch-Site` or a foreign `Origin` is refused.
2. A token: HMAC(secret, cookie) of the staff session cookie (or, before login,
   of a random pre-login cookie), sent as the `csrf_token` form field or the
   `X-CSRF-Token` header, compared in constant time.
Requests authenticated by a capability in a header rather than a cookie (the
visitor API, which has no ambient authority) need only check 1.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.centres import route_path
from server.errors import PublicError, error_response
from server.i18n import N_
from server.security.cookies import Cookies
from server.services.tokens import same_secret
from server.templating import Renderer

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"
EXPIRED = N_("This form has expired. Please reload the page and try again.")
CROSS_SITE = N_("Requests from other web sites are not accepted.")


def make_token(secret: bytes, binding: str) -> str:
    """The CSRF token bound to one cookie value."""
    mac = hmac.new(secret, b"trygg-csrf\x00" + binding.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def new_binding() -> str:
    return secrets.token_urlsafe(32)


def binding_cookie(connection: HTTPConnection, cookies: Cookies) -> str | None:
    """The cookie value tokens are bound to: the session if logged in, else the pre-login cookie."""
    return connection.cookies.get(cookies.session) or connection.cookies.get(cookies.csrf)


class CSRFMiddleware:
    """Checks origin and token on unsafe methods; exposes the token to templates on safe ones."""

    def __init__(
        self,
        app: ASGIApp,
        secret: bytes,
        public_origin: str,
        cookies: Cookies,
        renderer: Renderer,
        token_exempt_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.secret = secret
        self.public_origin = public_origin
        self.cookies = cookies
        self.renderer = renderer
        self.token_exempt = token_exempt_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        binding = binding_cookie(connection, self.cookies)
        scope.setdefault("state", {})["csrf_token"] = make_token(self.secret, binding) if binding else ""
        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        if not self._same_origin(connection):
            await self._refuse(scope, receive, send, CROSS_SITE)
            return
        if route_path(scope).startswith(self.token_exempt):
            await self.app(scope, receive, send)
            return
        try:
            body, replay = await _buffer(receive)
        except PublicError as error:  # the body was over the size limit
            response = error_response(Request(scope), self.renderer, error.status, error.message)
            await response(scope, receive, send)
            return
        presented = connection.headers.get(HEADER) or _form_token(connection.headers, body)
        expected = make_token(self.secret, binding) if binding else None
        if not presented or expected is None or not same_secret(presented, expected):
            await self._refuse(scope, replay, send, EXPIRED)
            return
        await self.app(scope, replay, send)

    def _same_origin(self, connection: HTTPConnection) -> bool:
        site = connection.headers.get("sec-fetch-site")
        if site is not None and site not in {"same-origin", "none"}:
            return False
        origin = connection.headers.get("origin")
        # With Referrer-Policy: no-referrer, browsers send "Origin: null" on same-site forms;
        # Sec-Fetch-Site (checked above) then tells where the request came from.
        if origin is None or origin == "null":
            return True
        own = f"{connection.url.scheme}://{connection.url.netloc}"
        return origin in {own, self.public_origin}

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, message: str) -> None:
        response = error_response(Request(scope, receive), self.renderer, 403, message)
        await response(scope, receive, send)


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    """Read the whole body (already size-limited) and give a receive that replays it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


def _form_token(headers: Headers, body: bytes) -> str | None:
    if headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        return None
    try:
        values = parse_qs(body.decode("utf-8"), max_num_fields=200).get(FORM_FIELD)
    except (UnicodeDecodeError, ValueError):
        return None
    return values[0] if values else None
