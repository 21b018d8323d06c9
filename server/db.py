"""Database engine, sessions and migrations.

SQLite is the zero-set-up default: WAL journal, synchronous=FULL (an acknowledged
write survives a power cut), foreign keys on, secure_delete on (freed space is
zeroed; with the WAL truncation after a deletion, server/erasure.py, deleted content
leaves the files), and every write transaction opened
with BEGIN IMMEDIATE so two writers never interleave a check and an insert.
Reads use plain (deferred) transactions on a second engine, so in WAL mode they
never hold the write lock: a reader cancelled mid-query cannot block writers.
PostgreSQL (asyncpg) is used when DATABASE_URL says so.
"""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import Engine, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import StaticPool

from server.erasure import Eraser
from server.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_DIR = PROJECT_ROOT / "alembic"
LOCK_WAIT_SECONDS = 30.0  # how long a SQLite connection waits for the write lock before giving up


def create_engine(database_url: str, immediate: bool = True) -> AsyncEngine:
    """An async engine configured for Trygg's guarantees on either backend."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database:
            Path(url.database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        database = url.database or ":memory:"
        engine = create_async_engine(url, async_creator=lambda: _connect_sqlite(database))
        _configure_sqlite(engine.sync_engine, immediate)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


class _SqliteConnection(aiosqlite.Connection):
    """aiosqlite's connection with one repair: a second request to stop waits for the first.

    When a query is cancelled halfway, SQLAlchemy closes the connection gracefully in a shielded
    task and, if cancelled again meanwhile (anyio cancels repeatedly), forces `stop()`.  The
    graceful close then calls `stop()` once more; aiosqlite queues that behind the first stop, on
    a thread that has already ended, and awaits it for ever — a task that never finishes, so the
    event loop cannot shut down (tests/test_db_cancel.py)."""

    _stop_asked = False
    _stopped: asyncio.Future[Any] | None = None

    def stop(self) -> asyncio.Future[Any] | None:
        if not self._stop_asked:
            self._stop_asked = True
            self._stopped = super().stop()
        return self._stopped


async def _connect_sqlite(database: str) -> aiosqlite.Connection:
    """What `aiosqlite.connect` does, with the repaired connection class."""
    connection = _SqliteConnection(
        lambda: sqlite3.connect(database, timeout=LOCK_WAIT_SECONDS), iter_chunk_size=64
    )
    connection._thread.daemon = True  # as SQLAlchemy does: a stuck query never holds the exit
    return await connection


def create_writer_engine(database_url: str) -> Engine | None:
    """For a SQLite file: a synchronous engine with one connection, for the message writer's own
    thread (server/services/writer.py), so a whole batch of appends is one hop to that thread.
    None for PostgreSQL and for an in-memory SQLite database (the writer uses the async engine)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    engine = create_sync_engine(
        url.set(drivername="sqlite"),
        connect_args={"timeout": LOCK_WAIT_SECONDS, "check_same_thread": False},
        poolclass=StaticPool,  # one connection, used only by the writer's one thread
    )
    _configure_sqlite(engine, immediate=True)
    return engine


def _configure_sqlite(engine: Engine, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(LOCK_WAIT_SECONDS * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """Sessions: `db()` for reading, `db.begin()` for a write transaction (committed on exit).

    Sessions keep loaded attributes after commit (no surprise lazy loads in async code).
    """

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(database_url)
        self._writer = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_engine = (
            create_engine(database_url, immediate=False)
            if self.engine.dialect.name == "sqlite"
            else self.engine
        )
        self._reader = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self.eraser = Eraser(self.engine)

    def __call__(self) -> AsyncSession:
        return self._reader()

    def begin(self) -> AbstractAsyncContextManager[AsyncSession]:
        return self._writer.begin()

    async def dispose(self) -> None:
        await self.eraser.close()
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


def alembic_config(database_url: str) -> Any:
    """An Alembic Config pointing at our migrations and the given database."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Apply pending migrations (blocking; Alembic's env runs its own event loop)."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


async def migrate(settings: Settings) -> None:
    """Apply pending migrations from async code without blocking the event loop."""
    await asyncio.to_thread(upgrade_database, settings.database_url)
