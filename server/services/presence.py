"""Who is connected: one row per open staff websocket, on every server process.

A socket writes its row when it opens and deletes it when it closes; while open, its
process's heartbeat (one for all its staff sockets, server/realtime/hub.py) keeps the row
fresh.  A row whose heartbeat lapsed belongs to a socket whose process died without closing
it; every heartbeat sweeps such rows away.  Each of these changes publishes a `presence` event
after commit, and every listener reads who is on duty again (services/queue.py) and tells its
client only if that changed.  Publishing on every open and close, not only on a counsellor's
first or last socket, keeps this right when two processes open and close one person's sockets
at the same moment.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.models import StaffAccount, StaffPresence, utcnow
from server.realtime import events

if TYPE_CHECKING:
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


async def beat(res: Resources, sockets: Mapping[uuid.UUID, uuid.UUID]) -> None:
    """These sockets (connection id: staff id) are still open; sockets of processes that died
    are swept.  One transaction for every staff socket of a process (server/realtime/hub.py).

    `sockets` is the process's live map: a row missing after the update comes back only if its
    socket is still in it (swept while this process was too busy to beat).  A socket leaves the
    map before its row is deleted, so a socket closing meanwhile is not brought back."""
    now = utcnow()
    ids = list(sockets)
    async with res.db.begin() as db:
        swept = await _sweep(db)
        await db.execute(
            update(StaffPresence).where(StaffPresence.connection_id.in_(ids)).values(last_seen_at=now)
        )
        found = set(
            await db.scalars(select(StaffPresence.connection_id).where(StaffPresence.connection_id.in_(ids)))
        )
        back = [i for i in ids if i not in found and i in sockets]
        for connection_id in back:
            db.add(
                StaffPresence(connection_id=connection_id, staff_id=sockets[connection_id], last_seen_at=now)
            )
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
