"""The only cookies Trygg sets, all for staff: a session, a pre-login CSRF binding, and a device cookie.

Visitors get no cookies at all.  All are HttpOnly, SameSite=Strict, Path=/,
and Secure with the __Host- prefix everywhere except plain-HTTP localhost.
The device cookie (server/security/devices.py) grants no access; it only tells
the login throttle that this browser has logged in to an account before.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from server.settings import Settings


@dataclass(frozen=True)
class Cookies:
    """Names and flags of Trygg's cookies for one deployment."""

    secure: bool

    @classmethod
    def for_settings(cls, settings: Settings) -> Cookies:
        return cls(secure=settings.secure_cookies)

    @property
    def session(self) -> str:
        return "__Host-trygg-session" if self.secure else "trygg-session"

    @property
    def csrf(self) -> str:
        return "__Host-trygg-csrf" if self.secure else "trygg-csrf"

    @property
    def device(self) -> str:
        return "__Host-trygg-device" if self.secure else "trygg-device"

    def set(self, response: Response, name: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )

    def clear(self, response: Response, name: str) -> None:
        response.delete_cookie(name, path="/", secure=self.secure, httponly=True, samesite="strict")
