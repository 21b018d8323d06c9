"""The centre's opening hours, shown to visitors and edited by an administrator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import PublicError
from server.i18n import N_
from server.models import AuditEvent, OpeningHours, StaffAccount
from server.models.centre import in_current_centre
from server.resources import Resources
from server.validators import clock_time

BAD_HOURS = N_("Opening hours must be given as HH:MM, and opening must come before closing.")


@dataclass(frozen=True)
class DayHours:
    weekday: int
    opens_at: time | None
    closes_at: time | None

    @property
    def is_open(self) -> bool:
        return self.opens_at is not None


async def opening_hours(res: Resources) -> list[DayHours]:
    """Seven entries, Monday first; closed days have no times."""
    async with res.db() as session:
        return await opening_hours_in(session)


async def opening_hours_in(session: AsyncSession) -> list[DayHours]:
    """`opening_hours`, read in a session the caller has open (one database session, not two)."""
    query = select(OpeningHours).where(in_current_centre(OpeningHours.centre_id))
    rows = {row.weekday: row for row in await session.scalars(query)}
    return [
        DayHours(day, rows[day].opens_at, rows[day].closes_at) if day in rows else DayHours(day, None, None)
        for day in range(7)
    ]


def parse_day(weekday: int, opens: str, closes: str) -> DayHours:
    """One weekday from form fields; both empty means closed."""
    if not opens.strip() and not closes.strip():
        return DayHours(weekday, None, None)
    try:
        opens_at = clock_time(opens.strip())
        closes_at = clock_time(closes.strip())
    except PublicError:
        raise PublicError(422, BAD_HOURS) from None
    if opens_at >= closes_at:
        raise PublicError(422, BAD_HOURS)
    return DayHours(weekday, opens_at, closes_at)


async def set_opening_hours(res: Resources, actor: StaffAccount, days: list[DayHours]) -> None:
    async with res.db.begin() as session:
        await session.execute(delete(OpeningHours).where(in_current_centre(OpeningHours.centre_id)))
        for day in days:
            if day.opens_at is not None and day.closes_at is not None:
                session.add(OpeningHours(weekday=day.weekday, opens_at=day.opens_at, closes_at=day.closes_at))
        session.add(AuditEvent(actor_id=actor.id, action="centre.opening_hours"))


def is_open_at(days: list[DayHours], moment: datetime) -> bool:
    """Whether the centre is open at `moment` (an aware datetime in the centre's zone)."""
    day = days[moment.weekday()]
    return bool(day.opens_at and day.closes_at and day.opens_at <= moment.time() < day.closes_at)
