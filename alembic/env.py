"""Alembic environment (async): migrations for SQLite and PostgreSQL.

The database URL comes from the Config (set by server.db when the service
migrates itself on start) or else from the environment, exactly as the
service reads it, so `alembic upgrade head` works by hand.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alembic import context
from server.db import create_engine
from server.models import Base
from server.settings import settings_from_environment

config = context.config
target_metadata = Base.metadata

# A constant key for pg_advisory_lock: several processes starting at once migrate one at a time.
MIGRATION_LOCK_KEY = 0x7472_7967_67


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return url or settings_from_environment().database_url


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    is_postgres = connection.dialect.name == "postgresql"
    if connection.dialect.name == "sqlite":
        # Batch migrations re-create tables; with foreign keys on, dropping a parent table would
        # cascade into its children.  Off outside the transaction (a no-op inside one), checked after.
        connection.connection.cursor().execute("PRAGMA foreign_keys=OFF")
    if is_postgres:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if not is_postgres:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left rows that break foreign keys: {broken[:5]}")
    finally:
        if is_postgres:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            connection.commit()


async def run_async_migrations() -> None:
    engine = create_engine(database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(run_async_migrations())
        return
    # Called from code that already runs an event loop in this thread: use a fresh thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run_async_migrations()).result()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
