"""Who is connected: one row per open staff websocket, on every server process.

A socket writes its row when it opens and deletes it when it closes; while open, a
heartbeat keeps the row fresh.  A row whose heartbeat lapsed belongs to a socket whose
process died without closing it; every heartbeat sweeps such rows away.  Each of these
changes publishes a `presence` event after commit, and every listener reads who is on
duty again (services/queue.py) and tells its client only if that changed.  Publishing on
every open and close, not only on a counsellor's first or last socket, keeps this right
when two processes open and close one person's sockets at the same moment.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import ColumnElement, delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.models import StaffAccount, StaffPresence, utcnow
from server.realtime import events
from server.resources import Resources

HEARTBEAT_SECONDS = 30.0
LAPSE = timedelta(seconds=75)  # two and a half heartbeats


def is_live() -> ColumnElement[bool]:
    """The SQL condition for a row whose socket is still open (its heartbeat has not lapsed)."""
    return StaffPresence.last_seen_at > utcnow() - LAPSE


async def opened(res: Resources, staff: StaffAccount, connection_id: uuid.UUID) -> None:
    """A staff websocket is open."""
    async with res.db.begin() as db:
        await _sweep(db)
        db.add(StaffPresence(connection_id=connection_id, staff_id=staff.id))
    await events.presence_changed(res.bus)


async def beat(res: Resources, staff: StaffAccount, connection_id: uuid.UUID) -> None:
    """This socket is still open; sockets of processes that died are swept."""
    now = utcnow()
    async with res.db.begin() as db:
        swept = await _sweep(db)
        result = await db.execute(
            update(StaffPresence).where(StaffPresence.connection_id == connection_id).values(last_seen_at=now)
        )
        back = not getattr(result, "rowcount", 0)
        if back:  # swept while this process was too busy to beat: it is here after all
            db.add(StaffPresence(connection_id=connection_id, staff_id=staff.id, last_seen_at=now))
    if back or swept:
        await events.presence_changed(res.bus)


async def closed(res: Resources, connection_id: uuid.UUID) -> None:
    """A staff websocket has closed."""
    async with res.db.begin() as db:
        await db.execute(delete(StaffPresence).where(StaffPresence.connection_id == connection_id))
    await events.presence_changed(res.bus)


async def _sweep(db: AsyncSession) -> int:
    """Remove the rows of sockets whose heartbeat lapsed; how many there were.

    Each write here sweeps before it touches its own row, so two heartbeats on PostgreSQL
    never hold their own rows while each waits to sweep the other's.
    """
    result = await db.execute(delete(StaffPresence).where(~is_live()))
    return int(getattr(result, "rowcount", 0) or 0)
