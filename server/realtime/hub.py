"""Every websocket of this process, counted and indexed in one place, and one task that watches them.

Per process rather than per connection, so that a connection stays small:

- **Caps**, checked when a socket opens: in total (`max_websockets`) and per client address
  (`websockets_per_client`, counted under the anonymous client key of
  server/security/clients.py, in memory only); per staff session when it opens and per
  visitor token when its `hello` names the token (`websockets_per_session`,
  `websockets_per_token`).  A socket over a cap is closed with the cap's code (closes.py).
- **Frame allowances per token**: besides each socket's own allowance, the frames of every
  socket of one visitor token or one staff session draw on one shared allowance
  (`websocket_frames_per_10s_per_token`), which outlives the sockets: reconnecting does not
  refill it.  (Each process keeps its own; several processes behind a proxy that spreads one
  client over them give it one allowance on each.)
- **Catch-up bytes per token**: what `sync` makes a socket send from the database (stored
  messages after the client's cursor) is charged, in bytes, to a second allowance shared the
  same way (`websocket_catch_up_bytes_per_10s_per_token`).  A sync is a small frame that can
  ask for a whole history again; without this, a few tokens' frame allowances could make the
  server send hundreds of megabytes.  While less than a tenth of the allowance is left, a
  `sync` is refused (`rate_limited`, the page asks again); once it is spent, a catch-up under
  way pauses where it is and goes on, in order, when it has refilled: nothing is skipped.
- **Sessions on live sockets.**  Each staff socket belongs to its session.  A `session_ended`
  bus event (from any process) holds every socket of that person in this process at once,
  synchronously as the event is fanned out, so none of their frames is handled and nothing
  is sent to them; one database read then decides for all of them: sockets whose session is
  gone, whose account is deactivated or whose role changed close with the cause's code, the
  others carry on.  One sweeper task per process closes sockets whose session reached its
  maximum age or went idle, writes the sessions' socket activity to the database (at most
  once a minute each, like requests), and reads every session held here again every
  `REVALIDATE_SECONDS` and after the Redis bus reconnects, in case an event was lost.
- **Presence heartbeat.**  The same task keeps the presence rows of this process's open staff
  sockets fresh (server/services/presence.py), in one transaction every `HEARTBEAT_SECONDS`,
  instead of a task per staff socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from server.models import StaffSession
from server.services import presence, staff_sessions
from server.services.staff_sessions import SessionState

from . import events
from .admission import Admission
from .closes import FOR_REASON, Close

if TYPE_CHECKING:
    from server.resources import Resources

log = logging.getLogger("trygg.ws")
SWEEP_SECONDS = 0.5  # how often expiry by the clock is checked (so sockets close within a second)
REVALIDATE_SECONDS = 30.0  # every session held here is read again this often (lost events)
TOUCH_SECONDS = 60.0  # socket activity is written to the session at most this often
WINDOW_SECONDS = 10.0  # frame allowances: so many frames per this many seconds


class Live(Protocol):
    """What the hub asks of a connection (server/realtime/socket.py)."""

    def hold(self) -> None:
        """Handle no frame and send nothing until `release`."""

    def release(self) -> None: ...

    def end(self, code: Close) -> None:
        """Refuse everything from now on and close with `code`."""


@dataclass(eq=False)
class LiveSession:
    """A staff session with sockets in this process (times in seconds since the epoch)."""

    key: str  # the session's token hash
    staff_id: uuid.UUID
    role: str  # the role the sockets were opened with
    started: float
    seen: float  # the last activity the database knows of
    acted: float = 0.0  # the last action on a socket here
    missing: bool = False  # the sweeper found no row: closed on its next round unless an event says why
    sockets: set[Live] = field(default_factory=set)


def take(bucket: list[float], capacity: int, now: float) -> bool:
    """Spend one frame from a token bucket [frames left, when], refilled at `capacity` per window."""
    left = min(float(capacity), bucket[0] + (now - bucket[1]) * capacity / WINDOW_SECONDS)
    bucket[1] = now
    if left < 1.0:
        bucket[0] = left
        return False
    bucket[0] = left - 1.0
    return True


def full_bucket(capacity: int) -> list[float]:
    return [float(capacity), time.monotonic()]


class Hub:
    """The websockets of one process (one per app: see server/resources.py)."""

    def __init__(self, res: Resources) -> None:
        self.res = res
        self.admission = Admission()  # turns for the sockets' database reads (admission.py)
        self.sockets = 0
        self._per_client: dict[str, int] = {}
        self._per_token: dict[str, int] = {}
        self._sessions: dict[str, LiveSession] = {}
        self._by_staff: dict[uuid.UUID, set[LiveSession]] = {}
        self._allowances: dict[str, list[float]] = {}
        self._catch_up: dict[str, list[float]] = {}  # bytes left (may be below 0), when
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._revalidate_at = 0.0
        self._prune_at = 0.0
        self._present: dict[uuid.UUID, uuid.UUID] = {}  # open staff sockets: connection id, staff id
        self._beat_at = 0.0
        self.clock: Callable[[], float] = time.time  # session times (tests move it forward)
        res.bus.tap(self._on_event)

    # --- caps -------------------------------------------------------------------------------

    def open(self, client: str) -> Close | None:
        """Count a new socket from `client`, or say which cap it is over (then it is not counted)."""
        settings = self.res.settings
        if self.sockets >= settings.max_websockets:
            log.warning("websocket refused", extra={"throttle": "websockets_full"})
            return Close.BUSY
        if self._per_client.get(client, 0) >= settings.websockets_per_client:
            log.warning("websocket refused", extra={"throttle": "websockets_per_client"})
            return Close.TOO_MANY_FROM_CLIENT
        self.sockets += 1
        self._per_client[client] = self._per_client.get(client, 0) + 1
        self._start()
        return None

    def close(self, client: str) -> None:
        self.sockets -= 1
        _decrement(self._per_client, client)

    def join_visitor(self, token_key: str) -> bool:
        """Count a socket for a visitor token; False if the token has as many as it may."""
        if self._per_token.get(token_key, 0) >= self.res.settings.websockets_per_token:
            log.warning("websocket refused", extra={"throttle": "websockets_per_token"})
            return False
        self._per_token[token_key] = self._per_token.get(token_key, 0) + 1
        return True

    def leave_visitor(self, token_key: str) -> None:
        _decrement(self._per_token, token_key)

    def join_staff(self, socket: Live, row: StaffSession) -> LiveSession | None:
        """Put a staff socket under its session; None if the session has as many sockets as it may."""
        session = self._sessions.get(row.token_hash)
        if session is None:
            session = LiveSession(
                key=row.token_hash,
                staff_id=row.account_id,
                role=str(row.account.role),
                started=row.created_at.timestamp(),
                seen=row.last_seen_at.timestamp(),
            )
            self._sessions[session.key] = session
            self._by_staff.setdefault(session.staff_id, set()).add(session)
        elif len(session.sockets) >= self.res.settings.websockets_per_session:
            log.warning("websocket refused", extra={"throttle": "websockets_per_session"})
            return None
        session.sockets.add(socket)
        return session

    def leave_staff(self, socket: Live, session: LiveSession) -> None:
        session.sockets.discard(socket)
        if session.sockets:
            return
        self._sessions.pop(session.key, None)
        mine = self._by_staff.get(session.staff_id)
        if mine is not None:
            mine.discard(session)
            if not mine:
                del self._by_staff[session.staff_id]

    def present(self, connection_id: uuid.UUID, staff_id: uuid.UUID) -> None:
        """A staff socket's presence row is written: the heartbeat keeps it fresh from now on."""
        if not self._present:
            self._beat_at = time.monotonic() + presence.HEARTBEAT_SECONDS
        self._present[connection_id] = staff_id

    def absent(self, connection_id: uuid.UUID) -> None:
        """The socket is closing (called before its row is deleted, see presence.beat)."""
        self._present.pop(connection_id, None)

    # --- frames ---------------------------------------------------------------------------------

    def spend(self, token_key: str) -> bool:
        """One frame from the allowance shared by every socket of a visitor token or staff session."""
        capacity = self.res.settings.websocket_frames_per_10s_per_token
        bucket = self._allowances.get(token_key)
        if bucket is None:
            bucket = self._allowances[token_key] = full_bucket(capacity)
        return take(bucket, capacity, time.monotonic())

    def catch_up_wait(self, token_key: str, reserve: float = 0.0) -> float:
        """Seconds until the token's catch-up allowance has more than `reserve` of its capacity
        left (a fraction; 0.0: any bytes at all); 0.0 if it has now."""
        bucket = self._catch_up.get(token_key)
        if bucket is None:
            return 0.0
        capacity = self.res.settings.websocket_catch_up_bytes_per_10s_per_token
        now = time.monotonic()
        left = min(float(capacity), bucket[0] + (now - bucket[1]) * capacity / WINDOW_SECONDS)
        bucket[0], bucket[1] = left, now
        want = reserve * capacity
        return 0.0 if left > want else (want + 1.0 - left) * WINDOW_SECONDS / capacity

    def charge_catch_up(self, token_key: str, size: int) -> None:
        """Charge bytes a catch-up sent (the allowance may go below zero: a debt, paid by waiting)."""
        self.catch_up_wait(token_key)  # brings the bucket up to now
        bucket = self._catch_up.get(token_key)
        if bucket is None:
            capacity = self.res.settings.websocket_catch_up_bytes_per_10s_per_token
            bucket = self._catch_up[token_key] = full_bucket(capacity)
        bucket[0] -= size

    def acted(self, session: LiveSession) -> None:
        """The person did something on a socket of this session (it is not idle)."""
        session.acted = self.clock()

    # --- sessions ended elsewhere -----------------------------------------------------------

    def _on_event(self, channel: str, event: dict[str, Any]) -> None:
        """Called for every bus event as it is fanned out in this process (synchronously)."""
        if event.get("type") == "overflow":
            self._revalidate_at = 0.0  # events may have been lost: read every session again
            return
        if event.get("kind") != events.SESSION_ENDED:
            return
        try:
            staff_id = uuid.UUID(hex=str(event.get("staff_id")))
        except ValueError:
            return
        sessions = list(self._by_staff.get(staff_id, ()))
        if not sessions:
            return
        held = [socket for session in sessions for socket in session.sockets]
        for socket in held:
            socket.hold()
        self.spawn(self._review(sessions, str(event.get("reason", "")), held))

    async def _review(self, sessions: list[LiveSession], reason: str, held: list[Live]) -> None:
        try:
            states = await self._states(sessions)
            now = datetime.fromtimestamp(self.clock(), UTC)
            for session in sessions:
                code = self._verdict(session, states.get(session.key), reason, now)
                if code is not None:
                    self._end(session, code)
        finally:
            for socket in held:
                socket.release()

    async def _states(self, sessions: list[LiveSession]) -> dict[str, SessionState]:
        """The sessions' rows after a `session_ended` event; if the database cannot be read, none
        (they close: something ended, and it cannot be checked which)."""
        try:
            return await staff_sessions.session_states(self.res, [s.key for s in sessions])
        except Exception as error:
            log.warning(
                "sessions could not be checked",
                extra={"throttle": "session_check_failed", "error": type(error).__name__},
            )
            return {}

    def _verdict(
        self, session: LiveSession, state: SessionState | None, reason: str, now: datetime
    ) -> Close | None:
        """The code to close this session's sockets with, or None if they may stay."""
        if state is None:
            return FOR_REASON.get(reason, Close.LOGGED_OUT)
        if not state.active:
            return Close.DEACTIVATED
        if state.role != session.role:
            return Close.ROLE_CHANGED
        session.seen = max(session.seen, state.last_seen_at.timestamp())
        last_seen = datetime.fromtimestamp(max(session.seen, session.acted), UTC)
        ended = staff_sessions.expiry(self.res.settings, state.created_at, last_seen, now)
        return FOR_REASON[ended] if ended else None

    def _end(self, session: LiveSession, code: Close) -> None:
        for socket in list(session.sockets):
            socket.end(code)

    # --- the sweeper -----------------------------------------------------------------------------

    def _start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="trygg-websocket-sweeper")

    async def stop(self) -> None:
        """Stop the sweeper and any session checks under way (at shutdown)."""
        tasks = [*self._tasks, *([self._sweeper] if self._sweeper else [])]
        self._sweeper = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run short work (a session check, sending a close) as a task the hub keeps until done."""
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                await self.sweep()
            except Exception as error:
                failed = {"throttle": "sweep_failed", "error": type(error).__name__}
                log.warning("websocket sweep failed", extra=failed)
            try:
                await self._beat()
            except Exception as error:
                failed = {"throttle": "heartbeat_failed", "error": type(error).__name__}
                log.warning("presence heartbeat failed", extra=failed)

    async def _beat(self) -> None:
        """Every `HEARTBEAT_SECONDS` while staff sockets are open: their presence rows are fresh.
        (A failed beat is tried again at the next: rows lapse only after two and a half.)"""
        if not self._present or time.monotonic() < self._beat_at:
            return
        self._beat_at = time.monotonic() + presence.HEARTBEAT_SECONDS
        await presence.beat(self.res, self._present)

    async def sweep(self) -> None:
        """Close sockets of sessions that ended by the clock; write activity; re-check when due."""
        settings = self.res.settings
        now = self.clock()
        max_age = settings.session_max_hours * 3600
        idle = settings.session_idle_minutes * 60
        idle_soon: list[LiveSession] = []
        touch: list[LiveSession] = []
        for session in list(self._sessions.values()):
            if now - session.started > max_age:
                self._end(session, Close.SESSION_EXPIRED)
                continue
            if session.acted - session.seen >= TOUCH_SECONDS:
                touch.append(session)
            if now - max(session.seen, session.acted) > idle:
                idle_soon.append(session)  # unless a request elsewhere kept the session alive
        if touch:
            when = max(session.acted for session in touch)
            await staff_sessions.touch_sessions(
                self.res, [s.key for s in touch], datetime.fromtimestamp(when, UTC)
            )
            for session in touch:
                session.seen = max(session.seen, session.acted)
        check = [*idle_soon, *(s for s in self._sessions.values() if s.missing)]
        if time.monotonic() >= self._revalidate_at:
            self._revalidate_at = time.monotonic() + REVALIDATE_SECONDS
            check = list(self._sessions.values())
        if check:  # a database error here skips this round (logged): no one is logged out for it
            states = await staff_sessions.session_states(self.res, [s.key for s in check])
            moment = datetime.fromtimestamp(now, UTC)
            for session in dict.fromkeys(check):
                state = states.get(session.key)
                if state is None and not session.missing:
                    # Ended a moment ago: the event that says why (and so the close code) is
                    # normally on its way.  If it never comes, the next round closes (4401).
                    session.missing = True
                    continue
                code = self._verdict(session, state, "", moment)
                if code is not None:
                    self._end(session, code)
        self._prune_allowances()

    def _prune_allowances(self) -> None:
        """Forget allowances that have filled up again (they are the same as new ones)."""
        now = time.monotonic()
        if now < self._prune_at:
            return
        self._prune_at = now + WINDOW_SECONDS
        settings = self.res.settings
        _prune(self._allowances, settings.websocket_frames_per_10s_per_token, now)
        _prune(self._catch_up, settings.websocket_catch_up_bytes_per_10s_per_token, now)


def _prune(buckets: dict[str, list[float]], capacity: int, now: float) -> None:
    refill = capacity / WINDOW_SECONDS
    full = [key for key, (left, when) in buckets.items() if left + (now - when) * refill >= capacity]
    for key in full:
        del buckets[key]


def _decrement(counts: dict[str, int], key: str) -> None:
    count = counts.get(key, 0) - 1
    if count > 0:
        counts[key] = count
    else:
        counts.pop(key, None)
