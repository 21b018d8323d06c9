"""The message writer: one per process; every append to a conversation's log goes through it.

An append used to open its own session and hold SQLite's write lock across five awaited
statements (~65 hops to aiosqlite's threads, one fdatasync each).  Now:

- Appends wait in one bounded queue (`TRYGG_WRITER_QUEUE`).  When it is full the sender is
  answered `busy` at once (backpressure: its page sends again after `retry_after`); memory
  never grows with the load.
- The writer takes everything waiting (up to `BATCH_LIMIT`) and stores it in ONE
  transaction (group commit).  On a SQLite file that transaction runs in the writer's own
  thread on its own connection: one hop for lock, checks, inserts, updates and commit, and
  one fdatasync for the whole batch.  On PostgreSQL it runs on one pooled connection, the
  batch's conversation rows locked first, in id order (`FOR UPDATE`), so two processes'
  batches cannot deadlock.
- Each append is acknowledged (its future resolved) only after that commit, and the bus
  event published after it carries what was stored (seq, hash, body), so the conversation's
  followers do not read it again (server/realtime/socket.py).  A batch's events get
  PUBLISH_SECONDS in all: a bus (Redis) that stops answering does not hold the acks or the writer.

A job does every check and then records its writes in the batch (`Batch`); they are made at
the end, all message rows in one INSERT and each conversation's new head in one UPDATE, so a
refused append (`PublicError`) leaves the rest of its batch intact.  Any other error rolls the
batch back, and each job is then tried alone in its own transaction: a batch never fails a job
that would have succeeded alone.  Unless the database itself failed (`OperationalError`: the
write lock not had in time, the connection lost): then every sender is told `busy` and sends again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Engine, Table, bindparam, insert, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.errors import PublicError
from server.i18n import N_
from server.models import Conversation, ConversationMessage
from server.realtime import events
from server.realtime.bus import Bus

log = logging.getLogger("trygg.writer")
BATCH_LIMIT = 256  # appends committed together at most
BUSY = N_("Many messages are being sent just now; yours will be sent again in a moment.")
RETRY_AFTER = 1  # seconds a sender told `busy` waits before sending again
PUBLISH_SECONDS = 2.0  # a stalled bus (Redis not answering) holds a batch's acks this long at most


class Busy(PublicError):
    """The writer's queue is full: the sender is to send again after `retry_after` seconds."""

    def __init__(self) -> None:
        super().__init__(503, BUSY, code="busy")
        self.retry_after = RETRY_AFTER


@dataclass(frozen=True)
class Stored:
    """The result of storing an object in a conversation's log."""

    conversation_id: uuid.UUID
    seq: int
    duplicate: bool = False


@dataclass(frozen=True)
class Written(Stored):
    """A new object stored by the writer: what its bus event carries to the followers."""

    message_hash: bytes = b""
    body: bytes = b""
    created_at: datetime | None = None


_MESSAGES = cast(Table, ConversationMessage.__table__)
_CONVERSATIONS = cast(Table, Conversation.__table__)
_INSERT_MESSAGES = insert(_MESSAGES)
_ADVANCE = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("cid"))
    .values(last_seq=bindparam("new_seq"), last_hash=bindparam("new_hash"))
)


class Batch:
    """The writes of one transaction's appends, made at its end (`write`): every message row in
    one INSERT and each conversation's new head in one UPDATE.  An append later in the same batch
    sees the head and the client ids as they will be (`head`, `earlier`)."""

    def __init__(self) -> None:
        self._rows: list[dict[str, object]] = []
        self._heads: dict[uuid.UUID, tuple[int, bytes]] = {}
        self._client_ids: dict[tuple[uuid.UUID, str], int] = {}

    def head(self, conversation_id: uuid.UUID) -> tuple[int, bytes] | None:
        """The conversation's last seq and hash as this batch leaves them, if it appends to it."""
        return self._heads.get(conversation_id)

    def earlier(self, conversation_id: uuid.UUID, client_id: str) -> int | None:
        """The seq this batch gives an object with that client id, if any."""
        return self._client_ids.get((conversation_id, client_id))

    def add(self, row: dict[str, object]) -> None:
        """One message row (every column of conversation_messages), appended at its head."""
        conversation_id = cast(uuid.UUID, row["conversation_id"])
        seq, message_hash = cast(int, row["seq"]), cast(bytes, row["message_hash"])
        self._rows.append(row)
        self._heads[conversation_id] = (seq, message_hash)
        self._client_ids[(conversation_id, cast(str, row["client_id"]))] = seq

    def write(self, connection: Connection) -> None:
        if not self._rows:
            return
        connection.execute(_INSERT_MESSAGES, self._rows)
        connection.execute(
            _ADVANCE,
            [{"cid": cid, "new_seq": seq, "new_hash": last} for cid, (seq, last) in self._heads.items()],
        )


Work = Callable[[Connection, Batch], Stored]


@dataclass(eq=False)
class _Job:
    conversation_id: uuid.UUID
    work: Work
    future: asyncio.Future[Stored] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class Writer:
    """Group commit of appends, for one process (built with its Resources)."""

    def __init__(self, engine: AsyncEngine, sync_engine: Engine | None, bus: Bus, limit: int) -> None:
        self._engine = engine
        self._sync_engine = sync_engine
        self._bus = bus
        self._queue: asyncio.Queue[_Job] | None = None
        self._limit = limit
        self._task: asyncio.Task[None] | None = None
        self._thread: ThreadPoolExecutor | None = None
        self.batches = 0  # batches committed (for tests and the benchmark)
        self.largest_batch = 0
        self.in_flight = 0  # appends in the batch handed to the database just now

    @property
    def waiting(self) -> int:
        """Appends queued behind the batch under way."""
        return self._queue.qsize() if self._queue is not None else 0

    async def append(self, conversation_id: uuid.UUID, work: Work) -> Stored:
        """Run `work` in the next group transaction; its result once that has committed.

        Raises `Busy` at once if the queue is full, or what `work` raised."""
        if self._queue is None:
            self._queue = asyncio.Queue(self._limit)
            self._task = asyncio.create_task(self._run(), name="trygg-message-writer")
        job = _Job(conversation_id, work)
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            raise Busy() from None
        return await asyncio.shield(job.future)  # a sender that goes away does not cancel the write

    async def stop(self) -> None:
        """At shutdown: finish the batch under way; appends still queued are refused (`busy`)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._queue is not None:
            while not self._queue.empty():
                job = self._queue.get_nowait()
                if not job.future.done():
                    job.future.set_exception(Busy())
        if self._thread is not None:
            self._thread.shutdown(wait=True)
            self._thread = None
        if self._sync_engine is not None:
            self._sync_engine.dispose()

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH_LIMIT and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            # Shielded: a batch handed to the database finishes, and its senders hear of it.
            self.in_flight = len(batch)
            try:
                await asyncio.shield(self._commit(batch))
            finally:
                self.in_flight = 0

    async def _commit(self, batch: list[_Job]) -> None:
        try:
            outcomes = await self._transaction(batch)
        except OperationalError as error:  # the database's state, not a job: locked too long, gone
            log.warning("group commit failed; the senders send again", extra={"error": type(error).__name__})
            outcomes = [Busy() for _ in batch]  # (tried singly, each would wait as long again)
        except Exception as error:  # not one job's refusal: try each alone
            log.warning("group commit failed; retrying singly", extra={"error": type(error).__name__})
            outcomes = []
            for job in batch:
                try:
                    outcomes.extend(await self._transaction([job]))
                except Exception as single:
                    outcomes.append(single)
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(batch))
        try:
            async with asyncio.timeout(PUBLISH_SECONDS):
                for outcome in outcomes:  # after the commit, in log order: what was stored
                    if isinstance(outcome, Written):
                        await self._publish(outcome)
        except TimeoutError:  # stored and committed: followers catch up on a later event
            log.warning("append events not published: the bus did not answer", extra={"error": "timeout"})
        for job, outcome in zip(batch, outcomes, strict=True):
            if job.future.done():
                continue
            if isinstance(outcome, BaseException):
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)

    async def _publish(self, written: Written) -> None:
        try:
            await events.appended(
                self._bus,
                written.conversation_id,
                written.seq,
                written.message_hash,
                written.body,
                written.created_at,
            )
        except Exception as error:  # stored and committed: followers catch up on the next event
            log.warning("append event not published", extra={"error": type(error).__name__})

    async def _transaction(self, batch: Sequence[_Job]) -> list[Stored | BaseException]:
        if self._sync_engine is not None:
            if self._thread is None:
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="trygg-writer")
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._thread, self._in_thread, batch)
        async with self._engine.connect() as connection, connection.begin():
            return await connection.run_sync(_run_jobs, batch)

    def _in_thread(self, batch: Sequence[_Job]) -> list[Stored | BaseException]:
        assert self._sync_engine is not None
        with self._sync_engine.connect() as connection, connection.begin():
            return _run_jobs(connection, batch)


def _run_jobs(connection: Connection, batch: Sequence[_Job]) -> list[Stored | BaseException]:
    """Every job of a batch in the caller's transaction; a job's refusal is its outcome."""
    if connection.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE already locks
        ids = sorted({job.conversation_id for job in batch})
        connection.execute(
            select(Conversation.id)
            .where(Conversation.id.in_(ids))
            .order_by(Conversation.id)
            .with_for_update()
        ).all()
    outcomes: list[Stored | BaseException] = []
    writes = Batch()
    for job in batch:
        try:
            outcomes.append(job.work(connection, writes))
        except PublicError as refused:
            outcomes.append(refused)
    writes.write(connection)
    return outcomes
