"""A tiny publish/subscribe bus for wake-up signals between connections and processes.

The database is the source of truth: an event says "something changed in
channel X"; an append's event also carries the object that was stored, which a
connection sends on only if it is the very next one it owes (server/realtime/socket.py),
and otherwise reads what it has not delivered yet from the database.  So a lost,
duplicated or reordered event can delay a delivery but never lose or duplicate a message.

`LocalBus` serves one process.  `RedisBus` relays through Redis pub/sub so
several server processes see each other's events; locally it fans out the
same way.  (Not PostgreSQL NOTIFY: it serialises every committing transaction.)
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from redis.asyncio import Redis

log = logging.getLogger("trygg.bus")
QUEUE_LIMIT = 1000  # events waiting for one slow subscriber before it is told to resynchronise
OVERFLOW: dict[str, Any] = {"type": "overflow"}
ALL_CHANNELS = "*"  # the channel an overflow of one subscriber's own queue arrives on


class Subscription:
    """Events for the channels one connection listens to, in arrival order.

    Small while idle: the queue is created with the first event (and dropped when emptied),
    and instead of a task waiting on it, `notify` (set by the connection) is called when an
    event arrives: synchronously, in the task that publishes or relays it, so whatever it
    starts must not run in that task's context (server/realtime/socket.py, `_kick`).
    """

    __slots__ = ("_bus", "_queue", "_waiter", "channels", "notify")

    def __init__(self, bus: LocalBus, notify: Callable[[], None] | None = None) -> None:
        self._bus = bus
        self._queue: collections.deque[tuple[str, dict[str, Any]]] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.notify = notify
        self.channels: set[str] = set()

    def add(self, channel: str) -> None:
        self.channels.add(channel)
        self._bus._listen(channel, self)

    def remove(self, channel: str) -> None:
        self.channels.discard(channel)
        self._bus._unlisten(channel, self)

    def close(self) -> None:
        for channel in list(self.channels):
            self.remove(channel)

    def pop(self) -> tuple[str, dict[str, Any]] | None:
        """The next (channel, event), or None if none is waiting."""
        if not self._queue:
            self._queue = None  # an emptied queue is not kept
            return None
        return self._queue.popleft()

    async def get(self) -> tuple[str, dict[str, Any]]:
        """The next (channel, event); waits until there is one (for code without `notify`)."""
        while True:
            item = self.pop()
            if item is not None:
                return item
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def _deliver(self, channel: str, event: dict[str, Any]) -> None:
        if self._queue is None:
            self._queue = collections.deque()
        if len(self._queue) >= QUEUE_LIMIT:
            # Too slow to keep up: drop the backlog and ask it to re-read everything.
            self._queue.clear()
            self._queue.append((ALL_CHANNELS, OVERFLOW))
        else:
            self._queue.append((channel, event))
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        if self.notify is not None:
            self.notify()


Tap = Callable[[str, dict[str, Any]], None]


class Bus(Protocol):
    async def publish(self, channel: str, event: dict[str, Any]) -> None: ...

    def subscription(self, notify: Callable[[], None] | None = None) -> Subscription: ...

    def tap(self, callback: Tap) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class LocalBus:
    """In-process fan-out: the default for a single server process."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[Subscription]] = {}
        self._taps: list[Tap] = []

    async def start(self) -> None:
        pass

    def tap(self, callback: Tap) -> None:
        """Call `callback(channel, event)` for every event this process receives, as it arrives
        (synchronously, before any subscriber sees it; server/realtime/hub.py acts on some at once)."""
        self._taps.append(callback)

    async def stop(self) -> None:
        self._listeners.clear()

    def subscription(self, notify: Callable[[], None] | None = None) -> Subscription:
        return Subscription(self, notify)

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        self._fan_out(channel, event)

    def _fan_out(self, channel: str, event: dict[str, Any]) -> None:
        for callback in self._taps:
            callback(channel, event)
        for subscription in list(self._listeners.get(channel, ())):
            subscription._deliver(channel, event)

    def _listen(self, channel: str, subscription: Subscription) -> None:
        self._listeners.setdefault(channel, set()).add(subscription)

    def _unlisten(self, channel: str, subscription: Subscription) -> None:
        listeners = self._listeners.get(channel)
        if listeners is not None:
            listeners.discard(subscription)
            if not listeners:
                del self._listeners[channel]


class RedisBus(LocalBus):
    """Events relayed through Redis so every process (including this one) receives them."""

    def __init__(self, redis: Redis, namespace: str) -> None:
        super().__init__()
        self._redis = redis
        self.PREFIX = namespace + "bus:"
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._relay(), name="trygg-redis-bus")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await super().stop()

    async def publish(self, channel: str, event: dict[str, Any]) -> None:
        await self._redis.publish(self.PREFIX + channel, json.dumps(event, separators=(",", ":")))

    async def _relay(self) -> None:
        """Receive every bus event from Redis and fan it out locally; reconnect on failure."""
        while True:
            try:
                async with self._redis.pubsub() as pubsub:
                    await pubsub.psubscribe(self.PREFIX + "*")
                    self._ready.set()
                    async for message in self._messages(pubsub):
                        channel = message["channel"].decode()[len(self.PREFIX) :]
                        self._fan_out(channel, json.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a Redis outage must not kill the process
                log.warning("redis bus disconnected", extra={"error": type(error).__name__})
                # Events may have been missed while disconnected: every listener re-reads.
                for channel in list(self._listeners):
                    self._fan_out(channel, OVERFLOW)
                await asyncio.sleep(1)

    @staticmethod
    async def _messages(pubsub: Any) -> AsyncIterator[dict[str, Any]]:
        async for message in pubsub.listen():
            if message.get("type") == "pmessage":
                yield message
