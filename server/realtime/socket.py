"""The websocket endpoint: one connection per browser tab, for visitors and staff alike.

Delivery is driven by the database.  For every conversation a connection has
asked to `sync`, it remembers the last sequence number it sent; whenever the
bus says a conversation changed (or the connection asks), one pump task reads
everything after that number from the database and sends it, in order.  Only
the pump sends messages, so nothing is sent twice or out of order, and a
reconnecting client that asks for "after N" gets exactly what it misses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import anyio
from starlette.websockets import WebSocket, WebSocketDisconnect

from server import access
from server.errors import PublicError
from server.i18n import Translator
from server.resources import Resources, resources
from server.security.throttle import MemoryLimiter
from server.services import conversations
from server.services.conversations import Principal
from server.templating import request_language

from .bus import OVERFLOW, Subscription
from .frames import Frame, FrameError, encode, parse

log = logging.getLogger("trygg.ws")
WINDOW_SECONDS = 10.0
STRIKES_BEFORE_CLOSE = 3
HELLO_TIMEOUT = 10.0
PRESENCE_INTERVAL = 30.0
SETTLE_SECONDS = 5.0  # how long a closing connection lets its database work finish
TYPING_SECONDS = 5


async def websocket_endpoint(websocket: WebSocket) -> None:
    """Authenticate (staff by cookie, visitors by a `hello` frame), then serve frames."""
    res = resources(websocket)
    if not access.same_origin_websocket(websocket, res.settings.public_url):
        await websocket.close(code=1008)
        return
    staff = await access.staff_for_websocket(websocket)
    await websocket.accept()
    connection = Connection(websocket, res, Principal(staff=staff) if staff else None)
    try:
        await connection.run()
    except WebSocketDisconnect:
        pass
    finally:
        connection.close()


class Connection:
    """State and tasks of one websocket."""

    def __init__(self, websocket: WebSocket, res: Resources, principal: Principal | None) -> None:
        self.websocket = websocket
        self.res = res
        self.principal = principal
        self.translate = Translator(request_language(websocket, res.settings))
        self.subscription: Subscription = res.bus.subscription()
        self.cursors: dict[uuid.UUID, int] = {}
        self.dirty: set[uuid.UUID] = set()
        self.wake = asyncio.Event()
        self.send_lock = asyncio.Lock()
        self.limiter = MemoryLimiter(res.settings.websocket_frames_per_10s, WINDOW_SECONDS)
        self.strikes = 0
        self.connection_id = uuid.uuid4().hex
        self.busy = 0  # units of database work under way (see _working)
        self.idle = asyncio.Event()
        self.idle.set()

    async def run(self) -> None:
        if self.principal is None:
            self.principal = await self._hello()
            if self.principal is None:
                return
        if self.principal.staff is not None:
            self.subscription.add(f"staff:{self.principal.staff.id.hex}")
        tasks = [
            asyncio.create_task(self._read()),
            asyncio.create_task(self._listen()),
            asyncio.create_task(self._pump()),
        ]
        if self.principal.staff is not None:
            tasks.append(asyncio.create_task(self._presence()))
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # re-raise a disconnect or an error
        finally:
            await self._let_work_finish()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, Exception):
                    await task

    def close(self) -> None:
        self.subscription.close()

    @contextlib.contextmanager
    def _working(self) -> Iterator[None]:
        """Mark a unit of database work: the connection does not cancel it halfway."""
        self.busy += 1
        self.idle.clear()
        try:
            yield
        finally:
            self.busy -= 1
            if not self.busy:
                self.idle.set()

    async def _let_work_finish(self) -> None:
        """Before the tasks are cancelled, let database work under way finish (a few seconds at
        most).  A database call cancelled halfway makes SQLAlchemy terminate its aiosqlite
        connection behind our back, leaving a close that never completes, so the event loop
        cannot shut down.  Shielded: the server (or a test client) closing this websocket
        cancels us, and that must not cut the work short."""
        with anyio.CancelScope(shield=True), anyio.move_on_after(SETTLE_SECONDS):
            await self.idle.wait()

    # --- sending ------------------------------------------------------------------

    async def send(self, frame: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.websocket.send_json(frame)

    async def error(self, code: str, ref: str | None, message: str = "", **extra: Any) -> None:
        frame: dict[str, Any] = {"type": "error", "code": code, "message": message or code}
        if ref is not None:
            frame["ref"] = ref
        frame.update(extra)
        await self.send(frame)

    # --- the three loops ------------------------------------------------------------

    async def _hello(self) -> Principal | None:
        """A visitor's first frame must be `hello` with their token."""
        try:
            raw = await asyncio.wait_for(self.websocket.receive_text(), HELLO_TIMEOUT)
            frame = parse(raw)
        except (TimeoutError, FrameError, KeyError):
            await self.websocket.close(code=1008)
            return None
        conversation_id = None
        if frame.type == "hello":
            conversation_id = await conversations.conversation_for_token(self.res, frame.fields["token"])
        if conversation_id is None:
            await self.error(
                "unauthorized",
                frame.ref,
                self.translate("This conversation does not exist or has been deleted."),
            )
            await self.websocket.close(code=1008)
            return None
        self.subscription.add(f"conversation:{conversation_id.hex}")
        await self.send({"type": "welcome", "conversation": conversation_id.hex, "ref": frame.ref})
        return Principal(conversation_id=conversation_id)

    async def _read(self) -> None:
        while True:
            raw = await self.websocket.receive_text()
            verdict = await self.limiter.check("frames")
            await self.limiter.hit("frames")
            if not verdict.allowed:
                self.strikes += 1
                if self.strikes >= STRIKES_BEFORE_CLOSE:
                    await self.websocket.close(code=1008)
                    return
                await self.error("rate_limited", None, retry_after=verdict.retry_after)
                continue
            try:
                frame = parse(raw)
            except FrameError as error:
                await self.error(error.code, None, error.detail)
                continue
            try:
                with self._working():
                    await self._handle(frame)
            except FrameError as error:
                await self.error(error.code, frame.ref, error.detail)
            except PublicError as error:
                await self.error(error.code or "error", frame.ref, self.translate(error.message))

    async def _listen(self) -> None:
        """Turn bus events into work for the pump (or direct relays for ephemeral events)."""
        while True:
            channel, event = await self.subscription.get()
            with self._working():
                await self._on_event(channel, event)

    async def _on_event(self, channel: str, event: Any) -> None:
        if event is OVERFLOW or event.get("type") == "overflow":
            self.dirty.update(self.cursors)
            self.wake.set()
            return
        kind = event.get("kind")
        if channel.startswith("conversation:"):
            conversation_id = uuid.UUID(hex=channel.split(":", 1)[1])
            if kind == "changed":
                if self._follows(conversation_id):
                    await self._status(conversation_id)
                if conversation_id in self.cursors:
                    self.dirty.add(conversation_id)
                    self.wake.set()
            elif (
                kind in ("typing", "receipt")
                and event.get("connection") != self.connection_id
                and self._follows(conversation_id)
            ):
                frame = {k: v for k, v in event.items() if k not in {"kind", "connection"}}
                await self.send({"type": kind, "conversation": conversation_id.hex, **frame})
        elif channel == "queue":
            await self._send_queue()
        elif channel.startswith("staff:"):
            await self._send_assignments()

    async def _pump(self) -> None:
        """The only sender of stored messages: everything after each cursor, in order, once."""
        while True:
            await self.wake.wait()
            self.wake.clear()
            with self._working():
                await self._drain()

    async def _drain(self) -> None:
        while self.dirty:
            conversation_id = self.dirty.pop()
            after = self.cursors.get(conversation_id)
            if after is None:
                continue
            if not await self._may_read(conversation_id):
                self.cursors.pop(conversation_id, None)  # removed: no more messages, typing, receipts
                continue
            rows = await conversations.messages_after(self.res, conversation_id, after)
            for row in rows:
                await self.send(
                    {
                        "type": "message",
                        "conversation": conversation_id.hex,
                        "seq": row.seq,
                        "message": encode(row.body),
                        "at": row.created_at.isoformat(),
                    }
                )
                self.cursors[conversation_id] = row.seq
            if len(rows) == 200:  # more to come
                self.dirty.add(conversation_id)

    async def _presence(self) -> None:
        assert self.principal is not None
        assert self.principal.staff is not None
        while True:
            with self._working():
                await conversations.touch_presence(self.res, self.principal.staff)
            await asyncio.sleep(PRESENCE_INTERVAL)

    # --- frames ------------------------------------------------------------------------

    async def _handle(self, frame: Frame) -> None:
        principal = self.principal
        assert principal is not None
        kind, fields, ref = frame.type, frame.fields, frame.ref
        if kind == "ping":
            await self.send({"type": "pong", "ref": ref})
            return
        if kind == "hello":
            raise FrameError("bad_frame", "already authenticated")
        if kind == "queue":
            access.require_counsellor_frame(principal)
            self.subscription.add("queue")
            await self._send_queue(ref)
            await self._send_assignments()
            return
        if kind == "assignments":
            access.require_participant_frame(principal)
            await self._send_assignments(ref)
            return
        conversation_id: uuid.UUID = fields["conversation"]
        if kind == "claim":
            staff = access.require_counsellor_frame(principal)
            stored = await conversations.claim(
                self.res, staff, conversation_id, fields["client_id"], fields["message"]
            )
            await self._ack(ref, fields["client_id"], stored)
            return
        if not await self._may_read(conversation_id):
            raise FrameError("forbidden")
        if kind == "sync":
            self.subscription.add(f"conversation:{conversation_id.hex}")
            self.cursors[conversation_id] = fields["after"]
            self.dirty.add(conversation_id)
            self.wake.set()
            await self.send({"type": "synced", "conversation": conversation_id.hex, "ref": ref})
            # Where the others have got to, so a reloaded page shows delivered/read at once.
            for other, delivered, read in await conversations.receipts(self.res, conversation_id):
                await self.send(
                    {
                        "type": "receipt",
                        "conversation": conversation_id.hex,
                        "member": other.hex(),
                        "delivered": delivered,
                        "read": read,
                    }
                )
        elif kind == "send":
            stored = await conversations.append(
                self.res, principal, conversation_id, fields["client_id"], fields["message"]
            )
            await self._ack(ref, fields["client_id"], stored)
        elif kind == "typing":
            member = await self._member_hex(conversation_id)
            await self.res.bus.publish(
                f"conversation:{conversation_id.hex}",
                {
                    "kind": "typing",
                    "member": member,
                    "seconds": TYPING_SECONDS,
                    "connection": self.connection_id,
                },
            )
        elif kind == "receipt":
            member_id = await conversations.record_receipt(
                self.res, principal, conversation_id, fields["delivered"], fields["read"]
            )
            if member_id is not None:
                await self.res.bus.publish(
                    f"conversation:{conversation_id.hex}",
                    {
                        "kind": "receipt",
                        "member": member_id.hex(),
                        "delivered": fields["delivered"],
                        "read": fields["read"],
                        "connection": self.connection_id,
                    },
                )
        elif kind == "transfer":
            staff = access.require_counsellor_frame(principal)
            stored = await conversations.transfer(
                self.res, staff, conversation_id, fields["to"], fields["client_id"], fields["message"]
            )
            await self._ack(ref, fields["client_id"], stored)
        elif kind == "release":
            staff = access.require_counsellor_frame(principal)
            stored = await conversations.release(
                self.res, staff, conversation_id, fields["client_id"], fields["message"]
            )
            await self._ack(ref, fields["client_id"], stored)
        elif kind == "commit":
            access.require_committer(principal)
            stored = await conversations.recommit(
                self.res, principal, conversation_id, fields["client_id"], fields["message"]
            )
            await self._ack(ref, fields["client_id"], stored)
        elif kind == "close":
            access.require_committer(principal)
            await conversations.close(
                self.res, principal, conversation_id, fields["outcome"] if principal.staff else None
            )
            await self.send({"type": "closed", "conversation": conversation_id.hex, "ref": ref})

    async def _ack(self, ref: str | None, client_id: str, stored: conversations.Stored) -> None:
        await self.send(
            {
                "type": "ack",
                "ref": ref,
                "client_id": client_id,
                "conversation": stored.conversation_id.hex,
                "seq": stored.seq,
            }
        )

    def _follows(self, conversation_id: uuid.UUID) -> bool:
        """Status, typing and receipts go to the visitor, and to staff only while they may read.

        The pump drops a staff cursor once its owner is no longer a member; the status change
        that removed them still reaches them (it is sent before the pump runs), nothing after.
        """
        assert self.principal is not None
        return self.principal.staff is None or conversation_id in self.cursors

    async def _may_read(self, conversation_id: uuid.UUID) -> bool:
        assert self.principal is not None
        return await access.may_read_conversation(self.res, self.principal, conversation_id)

    async def _member_hex(self, conversation_id: uuid.UUID) -> str:
        assert self.principal is not None
        if self.principal.staff is not None:
            return self.principal.staff.id.hex
        return "visitor"

    async def _status(self, conversation_id: uuid.UUID) -> None:
        conversation = await conversations.get(self.res, conversation_id)
        if conversation is None:
            return
        await self.send(
            {
                "type": "conversation",
                "conversation": conversation_id.hex,
                "status": conversation.status,
                "counsellor": conversation.counsellor_id.hex if conversation.counsellor_id else None,
                "last_seq": conversation.last_seq,
            }
        )

    async def _send_queue(self, ref: str | None = None) -> None:
        assert self.principal is not None
        if self.principal.staff is None or "queue" not in self.subscription.channels:
            return
        items = await conversations.queue(self.res)
        frame: dict[str, Any] = {
            "type": "queue",
            "items": [
                {
                    "conversation": item.conversation_id.hex,
                    "queued_at": item.queued_at.isoformat(),
                    "language": item.language,
                    "position": item.position,
                }
                for item in items
            ],
            "on_duty": [
                {"staff_id": person.id.hex, "display_name": person.display_name}
                for person in await conversations.on_duty(self.res)
            ],
        }
        if ref is not None:
            frame["ref"] = ref
        await self.send(frame)

    async def _send_assignments(self, ref: str | None = None) -> None:
        """The active conversations this staff member is in: a counsellor's own, an interpreter's."""
        assert self.principal is not None
        assert self.principal.staff is not None
        mine = await conversations.open_conversations(self.res, self.principal.staff)
        frame: dict[str, Any] = {
            "type": "assignments",
            "items": [{"conversation": c.id.hex, "status": c.status, "last_seq": c.last_seq} for c in mine],
        }
        if ref is not None:
            frame["ref"] = ref
        await self.send(frame)
