"""Sliding-window rate limiting: in memory for one process, in Redis for several.

Used for login attempts (per client and per account name) and, later, for
websocket frames and bookings.  Keys must already be anonymous (see
server/security/clients.py); Redis keeps them only for the length of the window.
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
    """Whether an action may happen now, and if not, for how many seconds to wait."""

    allowed: bool
    retry_after: int = 0


class Limiter(Protocol):
    """At most `limit` events per `window` seconds per key."""

    limit: int
    window: float

    async def check(self, key: str) -> Verdict:
        """Would one more event for `key` be allowed now?  (Records nothing.)"""

    async def hit(self, key: str) -> None:
        """Record one event for `key`."""

    async def reset(self, key: str) -> None:
        """Forget every event for `key`."""


class MemoryLimiter:
    """A Limiter for a single process."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}

    async def check(self, key: str) -> Verdict:
        events = self._prune(key)
        if len(events) < self.limit:
            return Verdict(True)
        return Verdict(False, max(1, math.ceil(events[0] + self.window - self._clock())))

    async def hit(self, key: str) -> None:
        self._prune(key).append(self._clock())

    async def reset(self, key: str) -> None:
        self._events.pop(key, None)

    def _prune(self, key: str) -> deque[float]:
        now = self._clock()
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - self.window:
            events.popleft()
        if len(self._events) > 100_000:  # bound memory under a flood of distinct keys
            for stale in [k for k, v in self._events.items() if not v and k != key]:
                del self._events[stale]
        return events


class RedisLimiter:
    """A Limiter shared by every process using the same Redis (a sorted set per key)."""

    def __init__(self, redis: Redis, name: str, limit: int, window: float) -> None:
        self.redis = redis
        self.prefix = f"trygg:limit:{name}:"
        self.limit = limit
        self.window = window

    async def check(self, key: str) -> Verdict:
        now = time.time()
        name = self.prefix + key
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(name, 0, now - self.window)
            pipe.zcard(name)
            pipe.zrange(name, 0, 0, withscores=True)
            _, count, oldest = await pipe.execute()
        if int(count) < self.limit:
            return Verdict(True)
        first = float(oldest[0][1]) if oldest else now
        return Verdict(False, max(1, math.ceil(first + self.window - now)))

    async def hit(self, key: str) -> None:
        name = self.prefix + key
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(name, {secrets.token_hex(8): time.time()})
            pipe.expire(name, math.ceil(self.window))
            await pipe.execute()

    async def reset(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)
