"""Which bucket each action spends, and reserving attempts in them before the work is done.

One bucket per kind of action, so that one action cannot use up another's allowance
(creating booking codes is not guessing them; booking is not failing to book), each
keyed on the most specific thing the request carries: the account, the browser's
device cookie, the booking code, and only failing those the client's (anonymous)
address, so that twenty people behind one shelter's Wi-Fi do not lock each other out.
Every limit is a setting (README, "Configuration"; docs/API.md, "Limits").

`Limits.reserve` counts an attempt in every bucket it names before the slow work
(server/security/throttle.py); `counting_failures` and `counting_successes` then keep
or release it after the outcome.  Buckets that protect a centre's queue take the
centre's id as part of their key (`Want.centre`), so a network of centres in one
installation gets a bucket per centre without a change here.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from redis.asyncio import Redis

from server.errors import PublicError, ThrottledError
from server.i18n import N_
from server.security.throttle import Limiter, MemoryLimiter, RedisLimiter
from server.settings import Settings

HOUR = 3600.0


class Bucket(enum.StrEnum):
    """One allowance per kind of action (the value names the Redis key prefix)."""

    LOGIN_CLIENT = "login-client"  # wrong staff logins from one client without a device cookie
    LOGIN_ACCOUNT = "login-account"  # wrong logins for one user name from clients without its device cookie
    LOGIN_DEVICE = "login-device"  # wrong logins from one browser holding the account's device cookie
    # wrong current passwords when changing one's password, per account
    PASSWORD_CHECK = "password-check"  # noqa: S105 (a bucket's name, not a password)
    CONVERSATION = "conversation"  # new conversations per client (only those created)
    BOOKING_CODE = "booking-code"  # new booking codes per client (only those created)
    WRONG_CODE_CLIENT = "wrong-code-client"  # codes no conversation or booking has, per client
    WRONG_CODE = "wrong-code"  # wrong verifiers for one existing code
    BOOKING_CLIENT = "booking-client"  # bookings made and moved, per client
    BOOKING_HOLDER = "booking-holder"  # bookings made and moved, per booking code


TOO_MANY_FROM_CLIENT = N_("Too many login attempts from this device. Try again in %(minutes)s minutes.")
TOO_MANY_FOR_ACCOUNT = N_("Too many failed attempts for this user name. Try again in %(minutes)s minutes.")
TOO_MANY_FROM_BROWSER = N_("Too many failed attempts from this browser. Try again in %(minutes)s minutes.")
TOO_MANY_PASSWORDS = N_("Too many wrong passwords. Try again in %(minutes)s minutes.")
TOO_MANY_FROM_DEVICE = N_("Too many attempts from this device. Try again in %(minutes)s minutes.")
TOO_MANY_FOR_CODE = N_("Too many attempts with this code. Try again in %(minutes)s minutes.")
TOO_MANY_CHANGES = N_(
    "You have booked or moved as many times as allowed for now. Try again in %(minutes)s minutes."
)

MESSAGES = {
    Bucket.LOGIN_CLIENT: TOO_MANY_FROM_CLIENT,
    Bucket.LOGIN_ACCOUNT: TOO_MANY_FOR_ACCOUNT,
    Bucket.LOGIN_DEVICE: TOO_MANY_FROM_BROWSER,
    Bucket.PASSWORD_CHECK: TOO_MANY_PASSWORDS,
    Bucket.CONVERSATION: TOO_MANY_FROM_DEVICE,
    Bucket.BOOKING_CODE: TOO_MANY_FROM_DEVICE,
    Bucket.WRONG_CODE_CLIENT: TOO_MANY_FROM_DEVICE,
    Bucket.WRONG_CODE: TOO_MANY_FOR_CODE,
    Bucket.BOOKING_CLIENT: TOO_MANY_FROM_DEVICE,
    Bucket.BOOKING_HOLDER: TOO_MANY_CHANGES,
}


def allowances(settings: Settings) -> dict[Bucket, tuple[int, float]]:
    """Each bucket's (limit, window in seconds), from the settings."""
    login_window = settings.login_window_minutes * 60.0
    return {
        Bucket.LOGIN_CLIENT: (settings.login_attempts_per_client, login_window),
        Bucket.LOGIN_ACCOUNT: (settings.login_attempts_per_account, login_window),
        Bucket.LOGIN_DEVICE: (settings.login_attempts_per_device, login_window),
        Bucket.PASSWORD_CHECK: (settings.login_attempts_per_account, login_window),
        Bucket.CONVERSATION: (settings.conversations_per_client_per_hour, HOUR),
        Bucket.BOOKING_CODE: (settings.booking_codes_per_client_per_hour, HOUR),
        Bucket.WRONG_CODE_CLIENT: (settings.wrong_codes_per_client_per_hour, HOUR),
        Bucket.WRONG_CODE: (settings.wrong_codes_per_code_per_hour, HOUR),
        Bucket.BOOKING_CLIENT: (settings.bookings_per_client_per_hour, HOUR),
        Bucket.BOOKING_HOLDER: (settings.bookings_per_code_per_hour, HOUR),
    }


@dataclass(frozen=True)
class Want:
    """One attempt to count: in `bucket`, for `subject` (already anonymous), in a centre's scope if any."""

    bucket: Bucket
    subject: str
    centre: uuid.UUID | None = None

    @property
    def key(self) -> str:
        return f"{self.centre.hex if self.centre else '-'}:{self.subject}"


@dataclass
class Reservation:
    """Attempts counted in one or more buckets; they stay counted unless released."""

    held: list[tuple[Limiter, str, str]] = field(default_factory=list)

    async def release(self) -> None:
        """The outcome cost nothing: un-count every attempt of this reservation (once)."""
        held, self.held = self.held, []
        for limiter, key, ticket in held:
            await limiter.release(key, ticket)


class Limits:
    """Every bucket of one app, in memory (one process) or in Redis (shared by several)."""

    def __init__(self, settings: Settings, redis: Redis | None) -> None:
        self._limiters: dict[Bucket, Limiter] = {}
        for bucket, (limit, window) in allowances(settings).items():
            self._limiters[bucket] = (
                MemoryLimiter(limit, window)
                if redis is None
                else RedisLimiter(redis, bucket.value, limit, window, settings.redis_prefix)
            )

    def limiter(self, bucket: Bucket) -> Limiter:
        return self._limiters[bucket]

    async def reserve(self, *wants: Want) -> Reservation:
        """Count one attempt in every bucket named, or none of them: ThrottledError if one is full."""
        reservation = Reservation()
        for want in wants:
            limiter = self._limiters[want.bucket]
            verdict = await limiter.reserve(want.key)
            if not verdict.allowed:
                await reservation.release()
                raise ThrottledError(MESSAGES[want.bucket], verdict.retry_after)
            reservation.held.append((limiter, want.key, verdict.ticket))
        return reservation

    @asynccontextmanager
    async def counting_failures(self, *wants: Want) -> AsyncIterator[Reservation]:
        """Reserve, then forget the attempt if the block succeeds; an error (a failure) keeps it."""
        reservation = await self.reserve(*wants)
        yield reservation
        await reservation.release()

    @asynccontextmanager
    async def counting_successes(self, *wants: Want) -> AsyncIterator[Reservation]:
        """Reserve, then forget the attempt if the block is refused with a 4xx (it cost nothing)."""
        reservation = await self.reserve(*wants)
        try:
            yield reservation
        except PublicError as refusal:
            if refusal.status < 500:
                await reservation.release()
            raise
