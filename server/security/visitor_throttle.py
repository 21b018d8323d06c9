"""Limits on what one client may do as a visitor (new chats, resume attempts, bookings, codes)."""

from __future__ import annotations

from starlette.requests import Request

from server.errors import ThrottledError
from server.i18n import N_
from server.resources import resources

TOO_MANY = N_("Too many attempts from this device. Try again in %(minutes)s minutes.")


async def throttle_visitor(request: Request, name: str) -> None:
    """Count one attempt of kind `name` (a key of `Resources.visitor_limits`) for this client,
    or refuse with 429 once it has had its share."""
    res = resources(request)
    limiter = res.visitor_limits[name]
    key = res.client_key(request.scope)
    verdict = await limiter.check(key)
    if not verdict.allowed:
        raise ThrottledError(TOO_MANY, verdict.retry_after)
    await limiter.hit(key)
