"""Refuse request bodies over the configured size, before and while they arrive."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import PublicError, error_response
from server.i18n import N_
from server.templating import Renderer

TOO_LARGE = N_("What you sent is too large.")


class BodyLimitMiddleware:
    """413 for bodies over `max_bytes`, whether announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int, renderer: Renderer) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.renderer = renderer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            status = 413 if declared.isdigit() else 400
            response = error_response(Request(scope), self.renderer, status)
            # The body is not read, so the connection cannot carry another request: whatever the
            # client sends next would be taken for the rest of this body (up to its declared size).
            response.headers["connection"] = "close"
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise PublicError(413, TOO_LARGE)
            return message

        await self.app(scope, limited_receive, send)
