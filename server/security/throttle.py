"""Sliding-window rate limits that reserve before deciding: in memory (one process) or Redis (several).

An attempt is *reserved* atomically before the work it guards (a password hash, a
booking): the reservation counts at once, so forty requests that arrive together
see one counter, and never more than `limit` of them get through.  When the
outcome shows the attempt cost nothing (a right password, a booking refused as
taken), the caller releases its ticket and the attempt counts for nothing.

Keys must already be anonymous (see server/security/clients.py); Redis keeps them
only for the length of the window.
"""

from __future__ import annotations

import math
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis


@dataclass(frozen=True)
class Verdict:
    """Whether an attempt may happen now (then `ticket` names its reservation), or how long to wait."""

    allowed: bool
    retry_after: int = 0
    ticket: str = ""


class Limiter(Protocol):
    """At most `limit` reserved attempts per `window` seconds per key."""

    limit: int
    window: float

    async def reserve(self, key: str) -> Verdict:
        """Count one attempt for `key` if there is room (atomically); else say how long to wait."""

    async def release(self, key: str, ticket: str) -> None:
        """Un-count a reserved attempt whose outcome cost nothing."""

    async def reset(self, key: str) -> None:
        """Forget every attempt for `key`."""


def _wait(oldest: float, window: float, now: float) -> int:
    return max(1, math.ceil(oldest + window - now))


class MemoryLimiter:
    """A Limiter for a single process (reservations never await, so they cannot interleave)."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[str, deque[tuple[float, str]]] = {}

    async def reserve(self, key: str) -> Verdict:
        events = self._prune(key)
        now = self._clock()
        if len(events) >= self.limit:
            return Verdict(False, _wait(events[0][0], self.window, now))
        ticket = secrets.token_hex(8)
        events.append((now, ticket))
        return Verdict(True, ticket=ticket)

    async def release(self, key: str, ticket: str) -> None:
        events = self._events.get(key)
        if events is None:
            return
        for item in events:
            if item[1] == ticket:
                events.remove(item)
                return

    async def reset(self, key: str) -> None:
        self._events.pop(key, None)

    async def check(self, key: str) -> Verdict:
        """Would one more event for `key` be allowed now?  (Records nothing; for callers that
        check and hit without awaiting anything else in between.)"""
        events = self._prune(key)
        if len(events) < self.limit:
            return Verdict(True)
        return Verdict(False, _wait(events[0][0], self.window, self._clock()))

    async def hit(self, key: str) -> None:
        """Record one event for `key` (even over the limit)."""
        self._prune(key).append((self._clock(), ""))

    def _prune(self, key: str) -> deque[tuple[float, str]]:
        now = self._clock()
        events = self._events.setdefault(key, deque())
        while events and events[0][0] <= now - self.window:
            events.popleft()
        if len(self._events) > 100_000:  # bound memory under a flood of distinct keys
            for stale in [k for k, v in self._events.items() if not v and k != key]:
                del self._events[stale]
        return events


# One round trip, atomic in Redis: drop what left the window, count, add if there is room.
# Redis's own clock (TIME) is used so processes on several hosts agree on the window.
_RESERVE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window_ms = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window_ms)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now_ms, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window_ms)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tonumber(oldest[2]) + window_ms - now_ms
"""


class RedisLimiter:
    """A Limiter shared by every process using the same Redis (a sorted set of tickets per key)."""

    def __init__(self, redis: Redis, name: str, limit: int, window: float, namespace: str = "trygg:") -> None:
        self.redis = redis
        self.prefix = f"{namespace}limit:{name}:"
        self.limit = limit
        self.window = window
        self._script = redis.register_script(_RESERVE)

    async def reserve(self, key: str) -> Verdict:
        ticket = secrets.token_hex(8)
        window_ms = math.ceil(self.window * 1000)
        wait_ms = int(await self._script(keys=[self.prefix + key], args=[window_ms, self.limit, ticket]))
        if wait_ms == 0:
            return Verdict(True, ticket=ticket)
        return Verdict(False, max(1, math.ceil(wait_ms / 1000)))

    async def release(self, key: str, ticket: str) -> None:
        await self.redis.zrem(self.prefix + key, ticket)

    async def reset(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)
