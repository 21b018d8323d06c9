"""The only two cookies Trygg sets, both for staff: a session and a pre-login CSRF binding.

Visitors get no cookies at all.  Both are HttpOnly, SameSite=Strict, Path=/,
and Secure with the __Host- prefix everywhere except plain-HTTP localhost.
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
