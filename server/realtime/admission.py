"""How much database work this process's websockets may do at once, and in what order.

A restart brings every tab back at the same moment (a reconnect storm): thousands of `hello`s
and `sync`s, each wanting a few database reads.  Let loose on the connection pool they queue
inside it, time out after its 30 s and fail, and the tabs come straight back: the work done for
them so far is wasted, and the pool is not left to the pages and the message writer either.
Here they take turns instead: at most `SLOTS` reads at once (fewer than the pool holds).

In what order matters as much.  A tab needs several reads one after another (its token, its
place in the queue, its `sync`, its catch-up); served in plain arrival order, each of them
waits behind every tab that arrived meanwhile, so with thousands waiting no tab ever finishes
and all of them time out (measured: 283 of 10,000 tabs caught up in 400 s).  So a connection
that has had a turn already is served before any that has not (`urgent`): tabs finish one
after another, and a new one waits at the door, where waiting costs nothing.  One that waits
`WAIT_SECONDS` is told to come back later (its socket closes with 4503, `Close.BUSY`, and the
page backs off), never failed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

SLOTS = 8  # the pool holds 15 (SQLite) or 20 (PostgreSQL) connections
WAIT_SECONDS = 30.0


class Overloaded(Exception):
    """Waited `WAIT_SECONDS` for a turn: the socket is to close with 4503 and come back later."""


class Admission:
    """Turns for the websockets' database reads (`hello`, `sync`, catch-up), one per process."""

    def __init__(self, slots: int = SLOTS, wait_seconds: float = WAIT_SECONDS) -> None:
        self._free = slots
        self._wait = wait_seconds
        self._urgent: deque[asyncio.Future[None]] = deque()  # connections served before
        self._new: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        """Reads waiting for a turn (for tests and the benchmark)."""
        return sum(not f.done() for f in self._urgent) + sum(not f.done() for f in self._new)

    @contextlib.asynccontextmanager
    async def turn(self, urgent: bool = False) -> AsyncIterator[None]:
        """Wait for a turn and hold it for the block; `Overloaded` after too long."""
        try:
            async with asyncio.timeout(self._wait):
                await self._acquire(urgent)
        except TimeoutError:
            raise Overloaded() from None
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, urgent: bool) -> None:
        if self._free > 0:  # then nobody waits: a turn given back goes to a waiter first
            self._free -= 1
            return
        granted = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._new).append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release()  # granted just as it was given up: the next one has it
            raise

    def _release(self) -> None:
        """Hand the turn to the next waiter (urgent ones first), or free it."""
        for waiters in (self._urgent, self._new):
            while waiters:
                granted = waiters.popleft()
                if not granted.done():
                    granted.set_result(None)
                    return
        self._free += 1
