"""Sliding-window rate limiting, in memory.

Used for login attempts (per client and per account name) and, later, for
websocket frames and bookings.  Keys must already be anonymous (see
server/security/clients.py).  A Redis implementation with the same interface
serves deployments with several processes.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """Whether an action may happen now, and if not, for how many seconds to wait."""

    allowed: bool
    retry_after: int = 0


class RateLimiter:
    """At most `limit` events per `window` seconds per key."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic):
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[str, deque[float]] = {}

    def check(self, key: str) -> Verdict:
        """Would one more event for `key` be allowed now?  (Records nothing.)"""
        events = self._prune(key)
        if len(events) < self.limit:
            return Verdict(True)
        wait = events[0] + self.window - self._clock()
        return Verdict(False, max(1, math.ceil(wait)))

    def hit(self, key: str) -> None:
        """Record one event for `key`."""
        self._prune(key).append(self._clock())

    def reset(self, key: str) -> None:
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
