"""Security headers on every HTTP response.

A strict Content-Security-Policy (no inline script or style; the import map is
allowed by its hash), Trusted Types so the DOM cannot be fed HTML strings,
no referrer, no framing, no powerful features, SRI required for scripts, and
`Cache-Control: no-store` on every page so nothing a person saw stays in the
browser cache.  HSTS is sent whenever the public URL is https (whether or not the
proxy in front says so; browsers ignore it over plain HTTP), and on any request that
came over HTTPS.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.assets import STATIC_PREFIX

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
        "browsing-topics",
    )
)


def content_security_policy(import_map_hash: str) -> str:
    """The one CSP every response carries."""
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' {import_map_hash}",
            "style-src 'self'",
            "img-src 'self'",
            "font-src 'self'",
            "connect-src 'self'",
            "media-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "frame-src 'none'",
            "worker-src 'self'",
            "manifest-src 'self'",
            "require-trusted-types-for 'script'",
            "trusted-types 'none'",
            "report-uri /csp-report",
        )
    )


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response that does not already set them."""

    def __init__(self, app: ASGIApp, import_map_hash: str, hsts: bool = False) -> None:
        self.app = app
        self.csp = content_security_policy(import_map_hash)
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_asset = scope["path"].startswith(STATIC_PREFIX)
        send_hsts = self.hsts or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", self.csp)
                headers.setdefault("Integrity-Policy", "blocked-destinations=(script)")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
                headers.setdefault("X-Robots-Tag", "noindex, nofollow")
                if not is_asset:
                    headers.setdefault("Cache-Control", "no-store")
                if send_hsts:
                    headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
            await send(message)

        await self.app(scope, receive, send_with_headers)
