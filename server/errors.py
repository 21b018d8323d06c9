"""Error responses in the person's language: an HTML page, or JSON for API calls.

Never a stack trace: unexpected exceptions are logged (without request data)
and answered with a plain 500 page.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from server.centres import route_path
from server.i18n import N_, Plural, Translator
from server.templating import Renderer, request_language

log = logging.getLogger("trygg.errors")

# English message ids for each status; the catalogs translate them.
MESSAGES = {
    400: N_("The request could not be understood."),
    403: N_("You do not have access to this page."),
    404: N_("This page does not exist."),
    405: N_("This address cannot be used that way."),
    413: N_("What you sent is too large."),
    415: N_("This kind of content is not accepted here."),
    422: N_("Some of what you entered is not valid."),
    429: N_("Too many attempts. Please wait a moment and try again."),
    500: N_("Something went wrong on our side. Please try again."),
}


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return route_path(request.scope).startswith("/api/") or (
        "application/json" in accept and "text/html" not in accept
    )


def error_response(
    request: Request,
    renderer: Renderer,
    status: int,
    detail: str | Plural | None = None,
    headers: dict[str, str] | None = None,
    code: str | None = None,
    values: dict[str, object] | None = None,
) -> Response:
    """The error page (or JSON) for `status`; `detail` is an English message id to translate
    (with `values` for its placeholders)."""
    language = request_language(request, renderer.settings)
    translate = Translator(language)
    message = translate(detail or MESSAGES.get(status, HTTPStatus(status).phrase), **(values or {}))
    if wants_json(request):
        code = code or HTTPStatus(status).phrase.lower().replace(" ", "_")
        return JSONResponse({"error": code, "message": message}, status_code=status, headers=headers)
    response = renderer.page(
        request,
        "error.html",
        {"status": status, "message": message},
        status_code=status,
        language=language,
    )
    if headers:
        response.headers.update(headers)
    return response


class PublicError(Exception):
    """An error whose message (an English message id) is safe to show the person, translated."""

    def __init__(
        self,
        status: int,
        message: str | Plural,
        headers: dict[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message if isinstance(message, str) else message.plural)
        self.status = status
        self.message = message
        self.headers = headers
        self.code = code or HTTPStatus(status).phrase.lower().replace(" ", "_")
        self.values: dict[str, object] = {}  # the message's placeholders, if it has any


class ThrottledError(PublicError):
    """Too many attempts (logins, new chats, bookings); says how long to wait."""

    def __init__(self, message: str | Plural, retry_after: int) -> None:
        super().__init__(429, message, {"Retry-After": str(retry_after)})
        self.minutes = max(1, (retry_after + 59) // 60)
        self.values = {"minutes": self.minutes}


def exception_handlers(renderer: Renderer) -> dict[int | type[Exception], Any]:
    """Exception handlers for the Starlette app: every error becomes a proper 4xx/5xx answer."""

    async def public_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PublicError)
        return error_response(request, renderer, exc.status, exc.message, exc.headers, exc.code, exc.values)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        status = exc.status_code if 400 <= exc.status_code < 600 else 500
        return error_response(request, renderer, status, headers=dict(exc.headers or {}))

    async def server_error(request: Request, exc: Exception) -> Response:
        log.error("unhandled error", extra={"error": type(exc).__name__})
        try:
            return error_response(request, renderer, 500)
        except Exception:  # the error page itself failed: answer plainly rather than not at all
            return PlainTextResponse("Internal Server Error", status_code=500)

    async def client_gone(request: Request, exc: Exception) -> Response:
        # The client closed the connection before its body had all arrived: nobody is left to
        # answer, and it is not the server's fault (it was logged as a 500 with two error lines,
        # which anyone could repeat to fill the log and set off alarms).
        return PlainTextResponse("", status_code=400)

    return {
        PublicError: public_error,
        HTTPException: http_error,
        ClientDisconnect: client_gone,
        500: server_error,
    }
