"""A database call cancelled halfway, again and again, must not leave a task that never ends.

anyio cancels a task repeatedly until it leaves its cancel scope; SQLAlchemy meets the second
cancellation during its graceful close of the connection by forcing aiosqlite to stop, and the
graceful close then asked aiosqlite to stop once more and waited for ever.  The event loop could
then not shut down (the CI run of stop 17 hung at a test client's teardown).  server/db.py's
connection repairs that; this test cancels real queries on a real SQLite file the same way.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from sqlalchemy import text

from server.db import create_engine

SLOW = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) SELECT count(*) FROM n"
)


async def _cancel_queries_repeatedly(url: str) -> int:
    engine = create_engine(url, immediate=False)
    cancelled = 0
    for round_ in range(12):

        async def query() -> None:
            async with engine.connect() as connection:
                await connection.execute(text(SLOW))

        task = asyncio.create_task(query())
        await asyncio.sleep(0.005 * round_)
        for _ in range(6):  # as anyio does: cancel again on each turn of the loop
            task.cancel()
            await asyncio.sleep(0)
        try:
            await task
        except asyncio.CancelledError:
            cancelled += 1
    await engine.dispose()
    return cancelled


def test_a_query_cancelled_again_and_again_lets_the_event_loop_shut_down(tmp_path: Path) -> None:
    outcome: list[int] = []
    url = f"sqlite+aiosqlite:///{tmp_path / 'cancel.db'}"
    runner = threading.Thread(
        target=lambda: outcome.append(asyncio.run(_cancel_queries_repeatedly(url))), daemon=True
    )
    runner.start()
    runner.join(timeout=60)
    assert not runner.is_alive(), "the event loop never shut down: a task waits for ever"
    assert outcome, "the run ended without its result"
    assert outcome[0] >= 1  # the queries really were cancelled halfway
