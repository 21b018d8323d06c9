"""What the desk, the waiting room and the load page show: read models, never content.

The shared queue, a visitor's standing in it, who is on duty, a staff member's open
conversations, and the supervisor's counts.  Nothing here writes; the writes that change
these are in services/conversations.py and services/presence.py, which publish the events
(realtime/events.py) after which connections read these again.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.models import Conversation, ConversationMember, Role, StaffAccount, StaffPresence, Status, utcnow
from server.models.centre import in_current_centre
from server.resources import Resources
from server.services import centre, presence

ESTIMATE_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class QueueItem:
    conversation_id: uuid.UUID
    started_at: datetime
    queued_at: datetime
    language: str
    position: int


async def queue(res: Resources) -> list[QueueItem]:
    """Waiting conversations, oldest first."""
    async with res.db() as db:
        rows = (
            await db.scalars(
                select(Conversation)
                .where(Conversation.status == Status.QUEUED, in_current_centre(Conversation.centre_id))
                .order_by(Conversation.queued_at)
            )
        ).all()
    return [
        QueueItem(row.id, row.created_at, row.queued_at or row.created_at, row.language, index + 1)
        for index, row in enumerate(rows)
    ]


@dataclass(frozen=True)
class Standing:
    """A visitor's place in the queue (`GET /api/visitor/queue` and the `standing` frame)."""

    status: str
    position: int | None
    estimated_wait_minutes: int | None
    open_now: bool


async def standing(res: Resources, conversation_id: uuid.UUID) -> Standing:
    """A visitor's place in the queue and an honest estimate from recent claim times.

    A conversation that is gone has the status `deleted`.  One database session (a `hello`
    asks for this, and every queued visitor's connection on every change of the queue).
    """
    zone = (await res.centres.current()).zone
    async with res.db() as db:
        open_now = centre.is_open_at(await centre.opening_hours_in(db), datetime.now(zone))
        conversation = await db.scalar(
            select(Conversation).where(
                Conversation.id == conversation_id, in_current_centre(Conversation.centre_id)
            )
        )
        if conversation is None or conversation.status == Status.DELETED:
            return Standing(Status.DELETED.value, None, None, open_now)
        if conversation.status != Status.QUEUED:
            return Standing(conversation.status, None, None, open_now)
        ahead = await db.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(
                Conversation.status == Status.QUEUED,
                Conversation.queued_at < conversation.queued_at,
                in_current_centre(Conversation.centre_id),
            )
        )
        since = utcnow() - ESTIMATE_WINDOW
        waits = [
            (claimed - queued).total_seconds()
            for queued, claimed in await db.execute(
                select(Conversation.queued_at, Conversation.claimed_at)
                .where(
                    Conversation.claimed_at.is_not(None),
                    Conversation.claimed_at > since,
                    in_current_centre(Conversation.centre_id),
                )
                .order_by(Conversation.claimed_at.desc())
                .limit(50)
            )
            if queued is not None and claimed is not None
        ]
        on_duty = await _on_duty_count(db)
    position = int(ahead or 0) + 1
    if len(waits) < 3 or on_duty == 0:
        return Standing(Status.QUEUED.value, position, None, open_now)
    per_person = statistics.median(waits) / 60
    estimate = max(1, round(per_person * position / max(1, on_duty)))
    return Standing(Status.QUEUED.value, position, estimate, open_now)


async def on_duty(res: Resources) -> list[StaffAccount]:
    """Active counsellors with a staff websocket open (on any server process), by name."""
    async with res.db() as db:
        return list((await db.scalars(_on_duty().order_by(StaffAccount.display_name, StaffAccount.id))).all())


async def assignments(res: Resources, staff: StaffAccount) -> Sequence[Conversation]:
    """The active conversations a counsellor (or interpreter) is a member of."""
    async with res.db() as db:
        member_of = select(ConversationMember.conversation_id).where(ConversationMember.staff_id == staff.id)
        return (
            await db.scalars(
                select(Conversation)
                .where(Conversation.id.in_(member_of), Conversation.status == Status.ACTIVE)
                .order_by(Conversation.claimed_at)
            )
        ).all()


@dataclass(frozen=True)
class Load:
    """What a supervisor sees: counts and waiting times, never content."""

    queued: int
    active: int
    closed_today: int
    longest_wait_minutes: int | None
    on_duty: int


async def load(res: Resources) -> Load:
    now = utcnow()
    async with res.db() as db:
        counts = dict(
            (
                await db.execute(
                    select(Conversation.status, func.count())
                    .where(in_current_centre(Conversation.centre_id))
                    .group_by(Conversation.status)
                )
            ).all()
        )
        oldest = await db.scalar(
            select(func.min(Conversation.queued_at)).where(
                Conversation.status == Status.QUEUED, in_current_centre(Conversation.centre_id)
            )
        )
        midnight = now.astimezone(res.centres.zone()).replace(hour=0, minute=0, second=0, microsecond=0)
        closed_today = await db.scalar(
            select(func.count())
            .select_from(Conversation)
            .where(Conversation.closed_at >= midnight, in_current_centre(Conversation.centre_id))
        )
        duty = await _on_duty_count(db)
    longest = None
    if oldest is not None:
        oldest_aware = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
        longest = int((now - oldest_aware).total_seconds() // 60)
    return Load(
        int(counts.get(Status.QUEUED, 0)),
        int(counts.get(Status.ACTIVE, 0)),
        int(closed_today or 0),
        longest,
        duty,
    )


def _on_duty() -> Select[StaffAccount]:
    """The one definition of "on duty", for the list and for the count."""
    live = select(StaffPresence.staff_id).where(presence.is_live())
    return select(StaffAccount).where(
        in_current_centre(StaffAccount.centre_id),
        StaffAccount.id.in_(live),
        StaffAccount.is_active.is_(True),
        StaffAccount.role == Role.COUNSELLOR,
    )


async def _on_duty_count(db: AsyncSession) -> int:
    return int(await db.scalar(select(func.count()).select_from(_on_duty().subquery())) or 0)
