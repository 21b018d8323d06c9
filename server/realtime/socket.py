"""The websocket endpoint: one connection per browser tab, for visitors and staff alike.

Delivery: for every conversation a connection has asked to `sync`, it remembers
the last sequence number it sent.  An append's bus event carries what was stored
(server/services/writer.py); when its seq is the next one, the pump sends it as it
is, without reading the database.  Only to fill a gap (a missed or reordered event, an
overflow, a new `sync`) does the pump read everything after that number from the
database, checking again that the connection may read.  Only the pump sends messages,
and only the next seq, so nothing is sent twice or out of order, and a reconnecting
client that asks for "after N" gets exactly what it misses.

Whether the connection may read a conversation is remembered (only a yes), and
forgotten on every event of that conversation that is not an append (a claim,
transfer, commit, release, close or deletion), on every event on the person's staff
channel, on an overflow, and when the pump sends a commit read from the database.
A `conversation` status frame goes out for those events, not for appends (an append
changes no status).

What the pump reads from the database for a connection is charged, in bytes, to its token's
catch-up allowance (hub.py): while less than a tenth of it is left a `sync` is answered
`rate_limited`; once it is spent a catch-up under way stops after the message it has sent and
goes on from there when the allowance has refilled.  Delayed, in order, never skipped.

The queue, who is on duty (`presence`) and a visitor's place in the queue
(`standing`) are read again when the bus says they may have changed, and sent
when they did.

Tasks: an idle connection has one, the endpoint's, which reads the client's frames (each
frame is handled in a task of its own that a cancelled endpoint lets finish).  Bus events
and the pump are handled by the connection's worker, a task started by the first event or
`sync` and ended when there is nothing left to do; it runs in the endpoint's context (the
centre being served, CURRENT_CENTRE), not in that of the task that published the event.  A
staff socket's presence row is kept fresh by the hub's heartbeat, one for the process.  The
subscription's queue, the Event a closing connection waits on and the one a held connection
waits on exist only while needed.  When the connection ends, no new work starts, work under
way finishes (a few seconds at most), then the worker is cancelled.

Each socket is counted by the process's hub (hub.py: caps, shared frame allowances, and the
staff session the socket belongs to).  Once the hub decides a socket must close
(`end`), nothing more is handled or sent on it, not even a frame already read; while
the hub is checking its session (`hold`), nothing is handled or sent yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import anyio
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from crypto.constants import ObjectType
from server import access
from server.access import Principal
from server.errors import PublicError
from server.i18n import Translator
from server.models import Conversation, StaffSession, Status
from server.resources import Resources, resources
from server.services import conversations, moves, presence, queue, rekey
from server.services.tokens import token_hash
from server.services.writer import Busy
from server.templating import request_language
from server.validators import to_b64u

from . import events
from .admission import Overloaded
from .bus import ALL_CHANNELS, OVERFLOW, Subscription
from .closes import Close
from .frames import Frame, FrameError, parse, parse_binary, receive_frame
from .hub import LiveSession, full_bucket, take

log = logging.getLogger("trygg.ws")
STRIKES_BEFORE_CLOSE = 3
HELLO_TIMEOUT = 10.0
SYNC_RESERVE = 0.1  # a `sync` is refused while less than this part of the catch-up allowance is left
SETTLE_SECONDS = 5.0  # how long a closing connection lets its database work finish
INTERNAL_ERROR = 1011  # the websocket's own code for a server error
# Frames a person's own action sends: they keep a staff session from going idle.  What a page
# sends by itself (ping, sync, queue, assignments, receipt) does not.
ACTIONS = frozenset(
    {"send", "typing", "claim", "transfer", "release", "commit", "close", "offer_move", "decline_move"}
)


async def websocket_endpoint(websocket: WebSocket) -> None:
    """Authenticate (staff by cookie, visitors by a `hello` frame), then serve frames."""
    res = resources(websocket)
    if not access.same_origin_websocket(websocket, res.settings.public_url):
        await websocket.close(code=1008)
        return
    client = res.client_key(websocket.scope)
    refused = res.hub.open(client)
    if refused is not None:
        await websocket.accept()
        await websocket.close(code=refused)
        return
    connection: Connection | None = None
    try:
        session = None
        try:
            if res.cookies.session in websocket.cookies:  # staff: their session is read
                async with res.hub.admission.turn():
                    session = await access.staff_session_for_websocket(websocket)
        except Overloaded:
            await websocket.accept()
            await websocket.close(code=Close.BUSY)  # come back later (the page backs off)
            return
        await websocket.accept()
        connection = Connection(websocket, res, session)
        if session is not None:
            await access.take_centre_role(websocket, session.account)
        if session is not None and connection.session is None:
            await websocket.close(code=Close.TOO_MANY_FOR_TOKEN)
            return
        stale_cookie = session is None and res.cookies.session in websocket.cookies
        await connection.run(stale_cookie)
    except WebSocketDisconnect:
        pass
    except Overloaded:  # no turn for its database reads (admission.py): come back later
        with contextlib.suppress(Exception):
            await websocket.close(code=Close.BUSY)
    except (PoolTimeout, OperationalError) as error:  # the database is overloaded (or locked)
        log.warning(
            "websocket closed: database busy", extra={"error": type(error).__name__, "throttle": "db_busy"}
        )
        with contextlib.suppress(Exception):  # already gone: nothing to tell
            await websocket.close(code=Close.BUSY)
    finally:
        if connection is not None:
            connection.close()
        res.hub.close(client)


class Connection:
    """State and tasks of one websocket."""

    # Slots, not a dict per instance: with more than 30 attributes an instance's dict keeps its
    # own keys (~1.3 KB more per connection).
    __slots__ = (
        "access_epoch",
        "allowance",
        "busy",
        "close_sent",
        "closing",
        "connection_id",
        "context",
        "cursors",
        "deferred",
        "dirty",
        "failure",
        "fresh",
        "held",
        "holds",
        "hub",
        "idle",
        "live",
        "on_duty_sent",
        "principal",
        "pushed",
        "readable",
        "res",
        "resume",
        "send_lock",
        "session",
        "standing_sent",
        "strikes",
        "subscription",
        "token_key",
        "translate",
        "visitor_key",
        "websocket",
        "worker",
    )

    def __init__(self, websocket: WebSocket, res: Resources, session: StaffSession | None) -> None:
        self.websocket = websocket
        self.res = res
        self.hub = res.hub
        self.principal = Principal(staff=session.account) if session else None
        self.session: LiveSession | None = self.hub.join_staff(self, session) if session else None
        self.token_key = f"s:{session.token_hash}" if session else None  # whose frame allowance
        self.translate = Translator(request_language(websocket, res.settings))
        self.subscription: Subscription = res.bus.subscription(self._kick)
        self.cursors: dict[uuid.UUID, int] = {}
        self.dirty: set[uuid.UUID] = set()
        self.worker: asyncio.Task[None] | None = None  # handles events and pumps; only while there is work
        self.failure: BaseException | None = None  # what ended the worker
        self.live = False  # from after hello until the connection ends: the worker may run
        self.context: contextvars.Context | None = None  # the endpoint's (its centre), for the worker
        self.send_lock = asyncio.Lock()
        self.allowance = full_bucket(res.settings.websocket_frames_per_10s)  # this socket's own
        self.strikes = 0
        self.closing: Close | None = None  # decided: refuse everything, close with this code
        self.holds = 0  # session checks under way (see hold)
        self.held: asyncio.Event | None = None
        self.close_sent = False
        self.visitor_key: str | None = None  # the visitor token this socket is counted under
        self.connection_id = uuid.uuid4()
        self.busy = 0  # units of database work under way (see _working)
        self.idle: asyncio.Event | None = None  # set when busy drops to 0, while someone waits
        self.on_duty_sent: list[dict[str, str]] | None = None  # as last told to this client
        self.pushed: dict[uuid.UUID, dict[int, dict[str, Any]]] = {}  # appends from events, by seq
        self.readable: set[uuid.UUID] = set()  # conversations this connection may read (cached)
        self.access_epoch = 0  # bumped whenever cached access is forgotten (see _may_read)
        self.fresh: set[uuid.UUID] = set()  # access read for a `sync`, not yet used by the pump
        self.standing_sent: dict[str, Any] | None = None
        self.deferred: set[uuid.UUID] | None = None  # catch-ups waiting for the token's allowance
        self.resume: asyncio.TimerHandle | None = None  # when they go on

    async def run(self, stale_cookie: bool = False) -> None:
        """Serve the connection: `hello` first for a visitor, then every frame until it ends.

        Frames are read in this (the endpoint's) task; bus events and the pump are handled by
        the worker, which runs only while there is something to do (see `_kick`)."""
        self.context = contextvars.copy_context()
        if self.principal is None:
            self.principal = await self._hello(stale_cookie)
            if self.principal is None:
                return
        staff = self.principal.staff
        if staff is not None:
            self.subscription.add(events.staff_channel(staff.id))
            await self._settled(presence.opened(self.res, staff, self.connection_id))
            self.hub.present(self.connection_id, staff.id)  # the hub's heartbeat keeps the row fresh
        self.live = True
        self._kick()  # events that came during hello
        try:
            await self._serve()
        finally:
            await self._stop_working()
            if staff is not None:
                self.hub.absent(self.connection_id)  # before the row goes: no heartbeat brings it back
                await self._settled(presence.closed(self.res, self.connection_id))
            if self.closing is not None:
                await self._close(self.closing)  # sent before the endpoint returns

    async def _serve(self) -> None:
        """Read frames until the socket ends; then re-raise what ended the worker, if anything."""
        try:
            await self._read()
        except WebSocketDisconnect:
            if self.failure is None:
                raise
        if self.failure is not None:
            raise self.failure  # the worker failed (the socket was closed for it)

    async def _stop_working(self) -> None:
        """No new work from now on; let work under way finish, then cancel what is left."""
        self.live = False
        await self._let_work_finish()
        worker = self.worker
        if worker is not None:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, Exception):
                await worker

    def close(self) -> None:
        self.subscription.close()
        if self.resume is not None:
            self.resume.cancel()
        if self.session is not None:
            self.hub.leave_staff(self, self.session)
        if self.visitor_key is not None:
            self.hub.leave_visitor(self.visitor_key)

    # --- what the hub decides (hub.Live) ----------------------------------------------------

    def hold(self) -> None:
        self.holds += 1
        if self.held is None:
            self.held = asyncio.Event()

    def release(self) -> None:
        self.holds -= 1
        if self.holds <= 0 and self.held is not None:
            self.holds = 0
            self.held.set()
            self.held = None

    def end(self, code: Close) -> None:
        if self.closing is not None:
            return
        self.closing = code
        closed = {"code": int(code), "throttle": f"closed_{int(code)}"}  # at most a line per 10 s
        log.info("websocket closed by the server", extra=closed)
        self.hub.spawn(self._close(code))

    async def _close(self, code: int) -> None:
        async with self.send_lock:
            if self.close_sent:
                return
            self.close_sent = True
            with contextlib.suppress(Exception):  # already gone: nothing to tell
                await self.websocket.close(code=code)

    async def _cleared(self) -> bool:
        """Wait while a session check is under way; True if the connection may go on."""
        while self.held is not None:
            await self.held.wait()
        return self.closing is None

    @contextlib.contextmanager
    def _working(self) -> Iterator[None]:
        """Mark a unit of database work: the connection does not cancel it halfway."""
        self.busy += 1
        try:
            yield
        finally:
            self.busy -= 1
            if not self.busy and self.idle is not None:
                self.idle.set()

    async def _let_work_finish(self) -> None:
        """Before the tasks are cancelled, let database work under way finish (a few seconds at
        most).  A database call cancelled halfway makes SQLAlchemy terminate its aiosqlite
        connection behind our back, leaving a close that never completes, so the event loop
        cannot shut down.  Shielded: the server (or a test client) closing this websocket
        cancels us, and that must not cut the work short."""
        if not self.busy:
            return
        if self.idle is None or self.idle.is_set():
            self.idle = asyncio.Event()
        with anyio.CancelScope(shield=True), anyio.move_on_after(SETTLE_SECONDS):
            await self.idle.wait()

    async def _settled(self, work: Awaitable[None]) -> None:
        """Database work at opening and closing, shielded from the closing websocket likewise."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(SETTLE_SECONDS):
            await work

    # --- sending ------------------------------------------------------------------

    async def send(self, frame: dict[str, Any]) -> None:
        if not await self._cleared():
            return
        async with self.send_lock:
            if self.closing is None:
                # Gone already (an earlier send found the client away, or the close was sent):
                # nothing to tell; the reader ends the connection.
                with contextlib.suppress(WebSocketDisconnected):
                    await self.websocket.send_json(frame)

    async def error(self, code: str, ref: str | None, message: str = "", **extra: Any) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "message": message or code}
        if ref is not None:
            frame["ref"] = ref
        frame.update(extra)
        await self.send(frame)

    async def reply(self, frame: dict[str, Any], ref: str | None) -> None:
        """Send a frame that may also be pushed unasked: with a `ref` only when it answers one."""
        await self.send({**frame, "ref": ref} if ref is not None else frame)

    # --- the loops --------------------------------------------------------------------

    async def _hello(self, stale_cookie: bool) -> Principal | None:
        """A visitor's first frame must be `hello` with their token.

        A staff page whose session has ended sends something else first: it is told so (4401).
        """
        try:
            raw = await asyncio.wait_for(self.websocket.receive_text(), HELLO_TIMEOUT)
            frame = parse(raw)
        except (TimeoutError, FrameError, KeyError):
            await self.websocket.close(code=Close.LOGGED_OUT if stale_cookie else 1008)
            return None
        if frame.type != "hello" and stale_cookie:
            await self.websocket.close(code=Close.LOGGED_OUT)
            return None
        principal = None
        try:
            if frame.type == "hello":
                async with self.hub.admission.turn():  # a storm of hellos takes turns (admission.py)
                    principal = await access.visitor_for_token(self.res, frame.fields["token"])
        except Overloaded:
            await self.websocket.close(code=Close.BUSY)
            return None
        if principal is None or principal.conversation_id is None:
            await self.error(
                "unauthorized",
                frame.ref,
                self.translate("This conversation does not exist or has been deleted."),
            )
            await self.websocket.close(code=1008)
            return None
        visitor_key = f"v:{token_hash(frame.fields['token'])}"
        if not self.hub.join_visitor(visitor_key):
            await self.websocket.close(code=Close.TOO_MANY_FOR_TOKEN)
            return None
        self.visitor_key = self.token_key = visitor_key
        self.principal = principal
        self.subscription.add(events.conversation_channel(principal.conversation_id))
        await self.send({"type": "welcome", "conversation": principal.conversation_id.hex, "ref": frame.ref})
        await self._send_standing()
        return principal

    async def _read(self) -> None:
        """The client's frames, one at a time, until the socket ends or a close is decided."""
        while True:
            try:
                raw = await receive_frame(self.websocket)  # None for a binary frame (answered below)
            except WebSocketDisconnected:  # closed by the server (end) while waiting
                return
            if not await self._take(raw):
                return
            del raw  # an idle socket keeps nothing of the last frame (a message may be large)

    async def _take(self, raw: str | None) -> bool:
        """One frame read from the client, handled; False if this and every later frame are
        refused (a close is decided)."""
        if not await self._cleared():
            return False
        if not self._allowed():
            self.strikes += 1
            if self.strikes >= STRIKES_BEFORE_CLOSE:
                self.end(Close.RATE_LIMITED)
                return False
            await self.error("rate_limited", None, retry_after=1)
            return True
        try:
            frame = parse(raw) if raw is not None else parse_binary()
        except FrameError as error:
            await self.error(error.code, error.ref, error.detail)
            return True
        if self.session is not None and frame.type in ACTIONS:
            self.hub.acted(self.session)
        await self._handle_to_the_end(frame)
        return True

    async def _handle_to_the_end(self, frame: Frame) -> None:
        """Handle the frame in a task of its own, which a cancelled connection lets finish (see
        _let_work_finish): the reader runs in the endpoint's task, which the server cancels when
        it shuts down, and a database call must not be cut halfway."""
        handling = asyncio.ensure_future(self._handle(frame))
        try:
            await asyncio.shield(handling)
        except asyncio.CancelledError:
            await self._let_work_finish()
            handling.cancel()
            raise

    async def _handle(self, frame: Frame) -> None:
        """Handle one client frame; a refusal is answered with an error frame."""
        try:
            with self._working():
                await HANDLERS[frame.type](self, frame)
        except FrameError as error:
            await self.error(error.code, frame.ref, error.detail)
        except Overloaded:
            self.end(Close.BUSY)  # no turn for its database reads: come back later
        except PublicError as error:
            message = self.translate(error.message, **error.values)
            extra = {"retry_after": error.retry_after} if isinstance(error, Busy) else {}
            await self.error(error.code or "error", frame.ref, message, **extra)
            if error.code == "revoked" and self.principal and self.principal.staff:
                # E.g. a certificate that expired: the others re-key without them (§8.5).
                with self._working():
                    await rekey.mark(self.res, staff_ids=[self.principal.staff.id])

    def _allowed(self) -> bool:
        """One more frame within this socket's allowance and its token's (shared, see hub.py)."""
        if not take(self.allowance, self.res.settings.websocket_frames_per_10s, time.monotonic()):
            return False
        return self.token_key is None or self.hub.spend(self.token_key)

    def _kick(self) -> None:
        """There is work (a bus event, messages to send): start the worker unless it is running.

        Called by the bus as it fans an event out, so in the publisher's task: the worker runs
        in the endpoint's context instead (its centre, CURRENT_CENTRE), never the publisher's."""
        if self.worker is None and self.live and self.failure is None:
            self.worker = asyncio.get_running_loop().create_task(self._work(), context=self.context)
            self.worker.add_done_callback(self._stopped)

    async def _work(self) -> None:
        """Bus events first, in order, then the pump's next step; ends when there is nothing
        left (the next event or `sync` starts it again) or the connection is ending (no new
        work once `_stop_working` waits for the work under way)."""
        try:
            while self.live:
                item = self.subscription.pop()
                if item is not None:
                    with self._working():
                        await self._on_event(*item)
                elif self.dirty or self.pushed:
                    with self._working():
                        await self._pump_once()
                else:
                    break
        except Overloaded:
            self.end(Close.BUSY)  # no turn for a catch-up read: come back later
        self.worker = None

    def _stopped(self, task: asyncio.Task[None]) -> None:
        """The worker ended: if by an error, the connection ends with it."""
        if task is self.worker:
            self.worker = None
        if task.cancelled() or task.exception() is None or self.failure is not None:
            return
        self.failure = task.exception()
        self.hub.spawn(self._close(INTERNAL_ERROR))

    async def _on_event(self, channel: str, event: dict[str, Any]) -> None:
        if self.closing is not None:
            return
        if event is OVERFLOW or event.get("type") == "overflow":
            await self._resynchronise(channel)
            return
        kind = event.get("kind")
        conversation_id = events.conversation_of(channel)
        if conversation_id is not None:
            if kind == "changed" and "seq" in event:
                self._appended(conversation_id, event)
            elif kind == "changed":
                await self._conversation_changed(conversation_id)
            elif (
                kind in ("typing", "receipt")
                and event.get("connection") != self.connection_id.hex
                and self._follows(conversation_id)
            ):
                frame = {k: v for k, v in event.items() if k not in {"kind", "connection"}}
                await self.send({"type": kind, "conversation": conversation_id.hex, **frame})
            elif kind == "rekey_needed" and self._follows(conversation_id):
                needed = {k: event[k] for k in ("members", "renewed", "action")}
                await self.send({"type": "rekey_needed", "conversation": conversation_id.hex, **needed})
        elif channel == events.queue_channel():
            await self._queue_changed(kind)
        elif events.is_staff_channel(channel) and kind != events.SESSION_ENDED:
            self._forget_access()
            await self._send_assignments()  # (an ended session is the hub's to judge)

    def _appended(self, conversation_id: uuid.UUID, event: dict[str, Any]) -> None:
        """One new object, carried by the event: for the pump to send if it is the next one."""
        after = self.cursors.get(conversation_id)
        seq = event.get("seq")
        if after is None or not isinstance(seq, int) or seq <= after:
            return
        pushed = self.pushed.setdefault(conversation_id, {})
        if len(pushed) < conversations.PAGE_SIZE:  # beyond that the pump reads a page instead
            pushed[seq] = event
        else:
            self.dirty.add(conversation_id)
        self._kick()

    async def _conversation_changed(self, conversation_id: uuid.UUID) -> None:
        self._forget_access(conversation_id)
        if self._follows(conversation_id):
            conversation = await self._status(conversation_id)
            status = conversation.status if conversation else Status.DELETED.value
            if self.standing_sent is not None and status != self.standing_sent["status"]:
                await self._send_standing()  # e.g. a visitor's conversation back in the queue
        if conversation_id in self.cursors:
            self.dirty.add(conversation_id)
            self._kick()

    async def _queue_changed(self, kind: Any) -> None:
        assert self.principal is not None
        if self.principal.staff is None:
            await self._send_standing()  # the queue or who is on duty: either may move the estimate
        elif kind == "presence":
            await self._send_presence()
        else:
            await self._send_queue()

    async def _resynchronise(self, channel: str) -> None:
        """Events for `channel` (or, for ALL_CHANNELS, every channel) were dropped: read again."""
        assert self.principal is not None
        self._forget_access()
        self.dirty.update(self.cursors)
        self._kick()
        staff = self.principal.staff
        if channel in (ALL_CHANNELS, events.queue_channel()):
            await (self._send_standing() if staff is None else self._send_queue())  # with on_duty
        if staff is not None and (channel == ALL_CHANNELS or events.is_staff_channel(channel)):
            await self._send_assignments()

    async def _pump_once(self) -> None:
        """The only sender of stored messages: everything after each cursor, in order, once.
        One step: a page of one conversation, or the appends events carried for one."""
        if self.dirty:
            conversation_id = self.dirty.pop()
            self.pushed.pop(conversation_id, None)  # the page read covers them
            await self._read_after(conversation_id)
            return
        conversation_id, pushed = self.pushed.popitem()
        if not await self._send_pushed(conversation_id, pushed):
            await self._read_after(conversation_id)  # a gap: fill it from the database

    async def _send_pushed(self, conversation_id: uuid.UUID, pushed: dict[int, dict[str, Any]]) -> bool:
        """Send the objects events carried, from the next seq on; False if one is missing."""
        after = self.cursors.get(conversation_id)
        if after is None:
            return True
        waiting = sorted(seq for seq in pushed if seq > after)
        if not waiting:
            return True
        if waiting[0] != after + 1 or not await self._may_read(conversation_id):
            return False
        for seq in waiting:
            if seq != self.cursors.get(conversation_id, -2) + 1:
                return False
            event = pushed[seq]
            await self._send_message(conversation_id, seq, event["message"], event["at"])
        return True

    async def _read_after(self, conversation_id: uuid.UUID) -> None:
        """Everything after the cursor from the database (a page), access checked afresh.

        The reads take a turn (admission.py: a storm of catch-ups takes turns); the sends,
        which a slow client can hold up, do not."""
        after = self.cursors.get(conversation_id)
        if after is None:
            return
        wait = self._catch_up_wait()
        if wait > 0:
            self._defer(conversation_id, wait)
            return
        if conversation_id in self.fresh:
            self.fresh.discard(conversation_id)  # just read by the `sync` that asked for this
        else:
            self._forget_access(conversation_id)
        async with self.hub.admission.turn(urgent=True):
            readable = await self._may_read(conversation_id)
            rows = await conversations.messages_after(self.res, conversation_id, after) if readable else []
        if not readable:
            self.cursors.pop(conversation_id, None)  # removed: no more messages, typing, receipts
            return
        for row in rows:
            if self.cursors.get(conversation_id) != after:
                self.dirty.add(conversation_id)  # a new `sync` moved the cursor meanwhile: read again
                return
            wait = self._catch_up_wait()
            if wait > 0:  # the token's allowance is spent: the rest later, from here
                self._defer(conversation_id, wait)
                return
            if row.kind == ObjectType.COMMIT:  # the roster may change with it: check again
                self._forget_access(conversation_id)
            message = to_b64u(row.body)
            await self._send_message(conversation_id, row.seq, message, row.created_at.isoformat())
            after = row.seq
            if self.token_key is not None:
                self.hub.charge_catch_up(self.token_key, len(message))
        if len(rows) == conversations.PAGE_SIZE:  # a full page: there may be more
            self.dirty.add(conversation_id)

    def _catch_up_wait(self, reserve: float = 0.0) -> float:
        if self.token_key is None:
            return 0.0
        return self.hub.catch_up_wait(self.token_key, reserve)

    def _defer(self, conversation_id: uuid.UUID, wait: float) -> None:
        """Read this conversation again once the token's catch-up allowance has refilled."""
        if self.deferred is None:
            self.deferred = set()
        self.deferred.add(conversation_id)
        if self.resume is None:
            self.resume = asyncio.get_running_loop().call_later(wait, self._resume)

    def _resume(self) -> None:
        self.resume = None
        if self.deferred:
            self.dirty.update(self.deferred)
            self.deferred = None
            self._kick()

    async def _send_message(self, conversation_id: uuid.UUID, seq: int, message: str, at: str | None) -> None:
        frame = {
            "type": "message",
            "conversation": conversation_id.hex,
            "seq": seq,
            "message": message,
            "at": at,
        }
        before = self.cursors.get(conversation_id)
        await self.send(frame)
        if self.cursors.get(conversation_id) == before:  # else a `sync` moved it meanwhile: it wins
            self.cursors[conversation_id] = seq
        # A page goes out without waiting while the socket's buffers take it: let the event loop
        # see a connection lost meanwhile, so the next send ends the catch-up (WebSocketDisconnect).
        await asyncio.sleep(0)

    # --- frames from the client (one handler per type in frames.SCHEMAS) -------------------

    async def _handle_ping(self, frame: Frame) -> None:
        await self.send({"type": "pong", "ref": frame.ref})

    async def _handle_hello(self, frame: Frame) -> None:
        raise FrameError("bad_frame", "already authenticated")

    async def _handle_queue(self, frame: Frame) -> None:
        access.require_counsellor_frame(self._principal())
        self.subscription.add(events.queue_channel())
        await self._send_queue(frame.ref)
        await self._send_assignments()

    async def _handle_assignments(self, frame: Frame) -> None:
        access.require_participant_frame(self._principal())
        await self._send_assignments(frame.ref)

    async def _handle_claim(self, frame: Frame) -> None:
        staff = access.require_counsellor_frame(self._principal())
        fields = frame.fields
        stored = await conversations.claim(
            self.res, staff, fields["conversation"], fields["client_id"], fields["message"]
        )
        await self._ack(frame, stored)

    async def _handle_sync(self, frame: Frame) -> None:
        wait = self._catch_up_wait(SYNC_RESERVE)
        if wait > 0:  # this token's catch-ups have sent what they may for now: ask again later
            await self.error("rate_limited", frame.ref, retry_after=max(1, math.ceil(wait)))
            return
        self._forget_access(frame.fields["conversation"])  # asked afresh, once for sync and pump
        staff = self._principal().staff
        async with self.hub.admission.turn(urgent=True):  # served before new connections (admission.py)
            conversation_id = await self._readable(frame)
            if staff is not None:  # a member who must go reads nothing more (`revoked`)
                await rekey.require_current(self.res, staff)
        if conversation_id in self.readable:
            self.fresh.add(conversation_id)
        self.subscription.add(events.conversation_channel(conversation_id))
        self.cursors[conversation_id] = frame.fields["after"]
        self.dirty.add(conversation_id)
        self._kick()
        await self.send({"type": "synced", "conversation": conversation_id.hex, "ref": frame.ref})
        async with self.hub.admission.turn(urgent=True):
            receipts = await conversations.receipts(self.res, conversation_id)
            # Someone must go and nobody has re-keyed yet: this client may be the one to do it.
            needed = await rekey.needed(self.res, conversation_id)
        # Where the others have got to, so a reloaded page shows delivered/read at once.
        for other, delivered, read in receipts:
            await self.send(
                {
                    "type": "receipt",
                    "conversation": conversation_id.hex,
                    "member": other.hex(),
                    "delivered": delivered,
                    "read": read,
                }
            )
        if needed is not None:
            await self.send(
                {
                    "type": "rekey_needed",
                    "conversation": conversation_id.hex,
                    "members": [m.hex() for m in needed.members],
                    "renewed": [m.hex() for m in needed.renewed],
                    "action": needed.action,
                }
            )

    async def _handle_send(self, frame: Frame) -> None:
        conversation_id = await self._readable(frame)
        fields = frame.fields
        stored = await conversations.append(
            self.res, self._principal(), conversation_id, fields["client_id"], fields["message"]
        )
        await self._ack(frame, stored)

    async def _handle_typing(self, frame: Frame) -> None:
        conversation_id = await self._readable(frame)
        await conversations.typing(self.res, self._principal(), conversation_id, self.connection_id.hex)

    async def _handle_receipt(self, frame: Frame) -> None:
        conversation_id = await self._readable(frame)
        await conversations.record_receipt(
            self.res,
            self._principal(),
            conversation_id,
            frame.fields["delivered"],
            frame.fields["read"],
            self.connection_id.hex,
        )

    async def _handle_transfer(self, frame: Frame) -> None:
        conversation_id = await self._readable(frame)
        staff = access.require_counsellor_frame(self._principal())
        fields = frame.fields
        stored = await conversations.transfer(
            self.res, staff, conversation_id, fields["to"], fields["client_id"], fields["message"]
        )
        await self._ack(frame, stored)

    async def _handle_release(self, frame: Frame) -> None:
        conversation_id = await self._readable(frame)
        staff = access.require_counsellor_frame(self._principal())
        fields = frame.fields
        stored = await conversations.release(
            self.res, staff, conversation_id, fields["client_id"], fields["message"]
        )
        await self._ack(frame, stored)

    async def _handle_commit(self, frame: Frame) -> None:
        conversation_id = await self._readable(frame)
        principal = self._principal()
        access.require_committer(principal)
        fields = frame.fields
        stored = await conversations.recommit(
            self.res, principal, conversation_id, fields["client_id"], fields["message"]
        )
        await self._ack(frame, stored)

    async def _handle_offer_move(self, frame: Frame) -> None:
        conversation_id = await self._readable(frame)
        staff = access.require_counsellor_frame(self._principal())
        target = await moves.offer(self.res, staff, conversation_id, frame.fields["centre"])
        await self.send(
            {
                "type": "move_offered",
                "conversation": conversation_id.hex,
                "centre": target.slug,
                "ref": frame.ref,
            }
        )

    async def _handle_decline_move(self, frame: Frame) -> None:
        conversation_id = await self._readable(frame)
        await moves.decline(self.res, self._principal(), conversation_id)
        await self.send({"type": "move_declined", "conversation": conversation_id.hex, "ref": frame.ref})

    async def _handle_move(self, frame: Frame) -> None:
        conversation_id = await self._readable(frame)
        fields = frame.fields
        stored = await moves.move(
            self.res, self._principal(), conversation_id, fields["client_id"], fields["message"]
        )
        await self._ack(frame, stored)

    async def _handle_close(self, frame: Frame) -> None:
        conversation_id = await self._readable(frame)
        principal = self._principal()
        access.require_committer(principal)
        outcome = frame.fields["outcome"] if principal.staff else None
        await conversations.close(self.res, principal, conversation_id, outcome)
        await self.send({"type": "closed", "conversation": conversation_id.hex, "ref": frame.ref})

    async def _ack(self, frame: Frame, stored: conversations.Stored) -> None:
        await self.send(
            {
                "type": "ack",
                "ref": frame.ref,
                "client_id": frame.fields["client_id"],
                "conversation": stored.conversation_id.hex,
                "seq": stored.seq,
            }
        )

    # --- helpers -------------------------------------------------------------------------

    def _principal(self) -> Principal:
        assert self.principal is not None
        return self.principal

    async def _readable(self, frame: Frame) -> uuid.UUID:
        """The frame's conversation, which this connection must be allowed to read."""
        conversation_id: uuid.UUID = frame.fields["conversation"]
        if not await self._may_read(conversation_id):
            raise FrameError("forbidden")
        return conversation_id

    def _follows(self, conversation_id: uuid.UUID) -> bool:
        """Status, typing and receipts go to the visitor, and to staff only while they may read.

        The pump drops a staff cursor once its owner is no longer a member; the status change
        that removed them still reaches them (it is sent before the pump runs), nothing after.
        """
        return self._principal().staff is None or conversation_id in self.cursors

    async def _may_read(self, conversation_id: uuid.UUID) -> bool:
        """Asked of the database once, then remembered until an event may have changed it (a
        yes only: no may become yes by an event on a channel this connection does not hear)."""
        if conversation_id in self.readable:
            return True
        epoch = self.access_epoch
        allowed = await access.may_read_conversation(self.res, self._principal(), conversation_id)
        if allowed and epoch == self.access_epoch:  # nothing was forgotten while we asked
            self.readable.add(conversation_id)
        return allowed

    def _forget_access(self, conversation_id: uuid.UUID | None = None) -> None:
        self.access_epoch += 1
        if conversation_id is None:
            self.readable.clear()
            self.fresh.clear()
        else:
            self.readable.discard(conversation_id)
            self.fresh.discard(conversation_id)

    async def _status(self, conversation_id: uuid.UUID) -> Conversation | None:
        conversation = await conversations.get(self.res, conversation_id)
        if conversation is None:
            moved = (
                await moves.moved_to(self.res, conversation_id) if self._principal().staff is None else None
            )
            if moved is not None:  # the visitor's own conversation, now at another centre (§8.6)
                await self.send({"type": "moved", "conversation": conversation_id.hex, **moved})
            return None
        await self.send(
            {
                "type": "conversation",
                "conversation": conversation_id.hex,
                "status": conversation.status,
                "counsellor": conversation.counsellor_id.hex if conversation.counsellor_id else None,
                "last_seq": conversation.last_seq,
                "move_to": await moves.offered(self.res, conversation),
            }
        )
        return conversation

    async def _send_queue(self, ref: str | None = None) -> None:
        staff = self._principal().staff
        if staff is None or events.queue_channel() not in self.subscription.channels:
            return
        items = await queue.queue(self.res)
        on_duty = await self._on_duty()
        frame: dict[str, Any] = {
            "type": "queue",
            "items": [
                {
                    "conversation": item.conversation_id.hex,
                    "started_at": item.started_at.isoformat(),
                    "queued_at": item.queued_at.isoformat(),
                    "language": item.language,
                    "position": item.position,
                }
                for item in items
            ],
            "on_duty": on_duty,
        }
        await self.reply(frame, ref)
        self.on_duty_sent = on_duty

    async def _send_presence(self) -> None:
        """Who is on duty, if that changed since this client was last told."""
        if events.queue_channel() not in self.subscription.channels:
            return
        on_duty = await self._on_duty()
        if on_duty == self.on_duty_sent:
            return
        await self.send({"type": "presence", "on_duty": on_duty})
        self.on_duty_sent = on_duty

    async def _on_duty(self) -> list[dict[str, str]]:
        return [
            {"staff_id": person.id.hex, "display_name": person.display_name}
            for person in await queue.on_duty(self.res)
        ]

    async def _send_standing(self) -> None:
        """A visitor's place in the queue, if it changed since they were last told.

        While their conversation is queued the connection listens to the queue; it listens
        before reading, so no change can slip between the reading and the listening.
        """
        conversation_id = self._principal().conversation_id
        assert conversation_id is not None
        self.subscription.add(events.queue_channel())
        async with self.hub.admission.turn(urgent=True):  # every queued visitor asks at once when it moves
            found = await queue.standing(self.res, conversation_id)
        if found.status != Status.QUEUED:
            self.subscription.remove(events.queue_channel())
        frame = {
            "type": "standing",
            "conversation": conversation_id.hex,
            "status": found.status,
            "position": found.position,
            "estimated_wait_minutes": found.estimated_wait_minutes,
            "open_now": found.open_now,
        }
        if frame == self.standing_sent:
            return
        await self.send(frame)
        self.standing_sent = frame

    async def _send_assignments(self, ref: str | None = None) -> None:
        """The active conversations this staff member is in: a counsellor's own, an interpreter's."""
        staff = self._principal().staff
        assert staff is not None
        mine = await queue.assignments(self.res, staff)
        items = [
            {
                "conversation": c.id.hex,
                "started_at": c.created_at.isoformat(),
                "status": c.status,
                "last_seq": c.last_seq,
            }
            for c in mine
        ]
        await self.reply({"type": "assignments", "items": items}, ref)


Handler = Callable[[Connection, Frame], Awaitable[None]]

# One handler per client frame type, keyed like frames.SCHEMAS (a test checks they agree).
HANDLERS: dict[str, Handler] = {
    "hello": Connection._handle_hello,
    "sync": Connection._handle_sync,
    "send": Connection._handle_send,
    "typing": Connection._handle_typing,
    "receipt": Connection._handle_receipt,
    "queue": Connection._handle_queue,
    "assignments": Connection._handle_assignments,
    "claim": Connection._handle_claim,
    "transfer": Connection._handle_transfer,
    "release": Connection._handle_release,
    "commit": Connection._handle_commit,
    "offer_move": Connection._handle_offer_move,
    "decline_move": Connection._handle_decline_move,
    "move": Connection._handle_move,
    "close": Connection._handle_close,
    "ping": Connection._handle_ping,
}
