"""How much database work this process's websockets may start at once.

A restart brings every tab back at the same moment (a reconnect storm): thousands of `hello`s
and `sync`s, each wanting a few database reads.  Let loose on the connection pool they queue
inside it, time out after its 30 s and fail, and the tabs come straight back: the work done for
them so far is wasted, and the pool is not left to the pages and the message writer either.
Here they take turns instead: at most `SLOTS` at once (fewer than the pool holds), in the order
they came, each waiting at most `WAIT_SECONDS`.  One that would wait longer is told to come back
later (the socket closes with 4503, `Close.BUSY`, and the page backs off), never failed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

SLOTS = 8  # the pool holds 15 (SQLite) or 20 (PostgreSQL) connections
WAIT_SECONDS = 30.0


class Overloaded(Exception):
    """Waited `WAIT_SECONDS` for a turn: the socket is to close with 4503 and come back later."""


class Admission:
    """Turns for the websockets' database reads (`hello`, `sync`, catch-up), one per process."""

    def __init__(self, slots: int = SLOTS, wait_seconds: float = WAIT_SECONDS) -> None:
        self._free = asyncio.Semaphore(slots)
        self._wait = wait_seconds
        self.waiting = 0  # for tests and the benchmark

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Wait for a turn (FIFO) and hold it for the block; `Overloaded` after too long."""
        self.waiting += 1
        try:
            async with asyncio.timeout(self._wait):
                await self._free.acquire()
        except TimeoutError:
            raise Overloaded() from None
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._free.release()
