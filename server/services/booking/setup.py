"""What staff set up for booking: the centre's policy, each counsellor's availability, feeds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, time

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import PublicError
from server.i18n import N_
from server.models import AvailabilityException, AvailabilityRule, BookingPolicy, CalendarFeed
from server.models.centre import in_current_centre
from server.resources import Resources
from server.services.booking.slots import Rules
from server.services.tokens import new_token, token_hash

NOT_FOUND = N_("This entry does not exist.")
TOO_MANY_RULES = N_("That is as many entries as one person may have.")
MAX_RULES = 50


@dataclass(frozen=True)
class Policy:
    slot_minutes: int = 60
    buffer_minutes: int = 15
    min_notice_hours: int = 24
    horizon_days: int = 28
    max_future_bookings: int = 2
    address: str = ""
    phone: bool = True
    video_link: str = ""

    @property
    def rules(self) -> Rules:
        return Rules(self.slot_minutes, self.buffer_minutes, self.min_notice_hours, self.horizon_days)

    @property
    def kinds(self) -> list[str]:
        """The consultation types the centre offers now."""
        offered = [("in_person", bool(self.address)), ("phone", self.phone), ("video", bool(self.video_link))]
        return [kind for kind, on in offered if on]


async def policy_in(db: AsyncSession) -> Policy:
    row = await db.scalar(select(BookingPolicy).where(in_current_centre(BookingPolicy.centre_id)))
    if row is None:
        return Policy()
    return Policy(
        row.slot_minutes,
        row.buffer_minutes,
        row.min_notice_hours,
        row.horizon_days,
        row.max_future_bookings,
        row.address,
        row.phone,
        row.video_link,
    )


async def policy(res: Resources) -> Policy:
    async with res.db() as db:
        return await policy_in(db)


async def save_policy(res: Resources, new: Policy) -> None:
    """Replace the centre's policy (values already validated by the route)."""
    async with res.db.begin() as db:
        row = await db.scalar(select(BookingPolicy).where(in_current_centre(BookingPolicy.centre_id)))
        if row is None:
            row = BookingPolicy()
            db.add(row)
        row.slot_minutes = new.slot_minutes
        row.buffer_minutes = new.buffer_minutes
        row.min_notice_hours = new.min_notice_hours
        row.horizon_days = new.horizon_days
        row.max_future_bookings = new.max_future_bookings
        row.address = new.address
        row.phone = new.phone
        row.video_link = new.video_link


# --- availability ------------------------------------------------------------------


async def rules_of(res: Resources, staff_id: uuid.UUID) -> list[AvailabilityRule]:
    async with res.db() as db:
        found = await db.scalars(
            select(AvailabilityRule)
            .where(AvailabilityRule.staff_id == staff_id, in_current_centre(AvailabilityRule.centre_id))
            .order_by(AvailabilityRule.weekday, AvailabilityRule.starts)
        )
        return list(found)


async def exceptions_of(res: Resources, staff_id: uuid.UUID) -> list[AvailabilityException]:
    async with res.db() as db:
        found = await db.scalars(
            select(AvailabilityException)
            .where(
                AvailabilityException.staff_id == staff_id,
                in_current_centre(AvailabilityException.centre_id),
            )
            .order_by(AvailabilityException.first_day)
        )
        return list(found)


async def add_rule(res: Resources, staff_id: uuid.UUID, weekday: int, starts: time, ends: time) -> None:
    async with res.db.begin() as db:
        await _room_for_one_more(db, AvailabilityRule, staff_id)
        db.add(AvailabilityRule(staff_id=staff_id, weekday=weekday, starts=starts, ends=ends))


async def add_exception(res: Resources, staff_id: uuid.UUID, first: date, last: date) -> None:
    async with res.db.begin() as db:
        await _room_for_one_more(db, AvailabilityException, staff_id)
        db.add(AvailabilityException(staff_id=staff_id, first_day=first, last_day=last))


async def remove_rule(res: Resources, staff_id: uuid.UUID, rule_id: uuid.UUID) -> None:
    await _remove(res, AvailabilityRule, staff_id, rule_id)


async def remove_exception(res: Resources, staff_id: uuid.UUID, exception_id: uuid.UUID) -> None:
    await _remove(res, AvailabilityException, staff_id, exception_id)


async def _room_for_one_more(
    db: AsyncSession, model: type[AvailabilityRule] | type[AvailabilityException], staff_id: uuid.UUID
) -> None:
    existing = await db.scalars(select(model.id).where(model.staff_id == staff_id))
    if len(list(existing)) >= MAX_RULES:
        raise PublicError(409, TOO_MANY_RULES, code="too_many")


async def _remove(
    res: Resources,
    model: type[AvailabilityRule] | type[AvailabilityException],
    staff_id: uuid.UUID,
    entry_id: uuid.UUID,
) -> None:
    async with res.db.begin() as db:
        result = await db.execute(delete(model).where(model.id == entry_id, model.staff_id == staff_id))
        if not getattr(result, "rowcount", 0):
            raise PublicError(404, NOT_FOUND, code="not_found")


# --- calendar feeds ----------------------------------------------------------------


async def has_feed(res: Resources, staff_id: uuid.UUID) -> bool:
    async with res.db() as db:
        return await db.get(CalendarFeed, staff_id) is not None


async def new_feed(res: Resources, staff_id: uuid.UUID) -> str:
    """A new secret feed token for this counsellor (the old one stops working); shown once."""
    token = new_token()
    async with res.db.begin() as db:
        await db.execute(delete(CalendarFeed).where(CalendarFeed.staff_id == staff_id))
        db.add(CalendarFeed(staff_id=staff_id, token_hash=token_hash(token)))
    return token


async def revoke_feed(res: Resources, staff_id: uuid.UUID) -> None:
    async with res.db.begin() as db:
        await db.execute(delete(CalendarFeed).where(CalendarFeed.staff_id == staff_id))


async def feed_owner(res: Resources, token: str) -> uuid.UUID | None:
    """Whose feed a token opens (looked up by hash: no timing on the token itself)."""
    async with res.db() as db:
        row = await db.scalar(
            select(CalendarFeed).where(
                CalendarFeed.token_hash == token_hash(token), in_current_centre(CalendarFeed.centre_id)
            )
        )
        return row.staff_id if row else None
