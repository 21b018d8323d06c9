"""After a deletion commits, make the deleted bytes leave the database's files as far as the engine allows.

Deleting rows does not remove their bytes.  SQLite (with `secure_delete=ON`, set on every
connection in db.py) zeroes freed space in the main file, but every page written since the
last checkpoint — the message ciphertext, the key state, the code's lookup and verifier hash,
the token hashes — stays in `<db>-wal` until the WAL is checkpointed *and* truncated, which
SQLite on its own never does.  So after a deletion we run `PRAGMA wal_checkpoint(TRUNCATE)`.
It cannot finish while another connection reads an older snapshot or writes, so each attempt
waits at most `BUSY_MS` (a writer is held up no longer than that) and is retried with backoff,
in a thread, until it succeeds.  All of it runs in the background, right after the commit.

PostgreSQL keeps deleted rows as dead tuples until VACUUM, and VACUUM does not overwrite all of
their bytes (docs/THREAT-MODEL.md says exactly what remains where).  We run
`VACUUM (INDEX_CLEANUP ON)` on the tables a deletion touched, in the background, one at a time:
no tuple, index entry or TOAST chunk refers to the deleted data afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Iterable

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("trygg.erasure")
BUSY_MS = 200
FIRST_DELAY = 0.05
MAX_DELAY = 5.0
GIVE_UP_SECONDS = 600.0


class Eraser:
    """Runs the engine's erasure after deletions: coalesced, retried, never two at once."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        url = make_url(engine.url)
        self.is_sqlite = url.get_backend_name() == "sqlite"
        self.sqlite_path = (
            url.database if self.is_sqlite and url.database not in (None, "", ":memory:") else None
        )
        self._wanted = 0  # erasures asked for
        self._done = 0  # the last one of them that a successful pass covered
        self._tables: set[str] = set()
        self._task: asyncio.Task[None] | None = None

    def erase(self, tables: Iterable[str]) -> None:
        """A deletion in `tables` has just committed: erase its bytes now, in the background.

        The request that deleted is not held up (nor is the event loop: SQLite's checkpoint
        runs in a thread, PostgreSQL's VACUUM on the server); `settled()` waits for it.
        """
        self._wanted += 1
        self._tables.update(tables)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="trygg-erasure")

    async def settled(self) -> None:
        """Wait until every erasure asked for so far has run (or been given up)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def close(self, wait: float = 5.0) -> None:
        """Let a pass under way finish (briefly), then stop."""
        task = self._task
        if task is None or task.done():
            return
        finished, _ = await asyncio.wait({task}, timeout=wait)
        if not finished:
            task.cancel()
            await asyncio.wait({task})

    async def _run(self) -> None:
        delay, started = FIRST_DELAY, time.monotonic()
        while self._done < self._wanted:
            target, tables = self._wanted, sorted(self._tables)
            self._tables.clear()
            if await self._pass(tables):
                self._done = target
                delay, started = FIRST_DELAY, time.monotonic()
                continue
            self._tables.update(tables)
            if time.monotonic() - started > GIVE_UP_SECONDS:
                log.warning("erasure gave up for now; the next deletion tries again")
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)

    async def _pass(self, tables: list[str]) -> bool:
        try:
            if self.is_sqlite:  # an in-memory database has no files to clean
                return self.sqlite_path is None or await asyncio.to_thread(truncate_wal, self.sqlite_path)
            await self._vacuum(tables)
            return True
        except Exception as error:  # retried; a failed erasure must not break the deletion
            log.warning("erasure pass failed", extra={"error": type(error).__name__})
            return False

    async def _vacuum(self, tables: list[str]) -> None:
        if not tables:
            return
        async with self.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            quote = self.engine.dialect.identifier_preparer.quote
            names = ", ".join(quote(name) for name in tables)
            await autocommit.exec_driver_sql(f"VACUUM (INDEX_CLEANUP ON) {names}")


def truncate_wal(path: str) -> bool:
    """One checkpoint that copies every WAL frame into the main file and truncates the WAL to 0 bytes.

    True when it did; False when a reader or writer kept it from finishing within BUSY_MS.
    """
    connection = sqlite3.connect(path, timeout=BUSY_MS / 1000, isolation_level=None)
    try:
        busy, _frames, _copied = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError:  # "database is locked": the busy timeout ran out
        return False
    finally:
        connection.close()
    return bool(busy == 0)
