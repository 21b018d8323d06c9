"""Bookings: who holds them, making one (never twice for a slot), cancelling, moving, listing.

Every change runs in one transaction that first locks the counsellors it may touch
(`SELECT … FOR UPDATE` on PostgreSQL; SQLite's write transactions are already one at a
time), recomputes the free slots from the database and only then writes.  The partial
unique index on confirmed (counsellor, start) is the last line: if two writers still
meet, the database refuses the second and the visitor is told the time is taken.

A change to an existing booking (move, cancel, interpreter) first locks the booking's
row, then decides from what it reads under that lock; a move then locks the counsellors
as above.  The caller may say which SEQUENCE it saw (`seen`): if the booking has changed
since, the change is refused with 409 `changed`, so of two simultaneous changes made
from one version exactly one wins.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server import access
from server.errors import PublicError
from server.i18n import N_
from server.models import (
    AvailabilityException,
    AvailabilityRule,
    Booking,
    BookingHolder,
    BookingStatus,
    Conversation,
    Role,
    StaffAccount,
    Status,
    staff_of_current_centre,
)
from server.models.centre import in_current_centre
from server.resources import Resources
from server.services import conversations
from server.services.booking.setup import Policy, policy_in
from server.services.booking.slots import Busy, Slot, Weekly, days_from, free_slots, window
from server.services.tokens import holder_token

SLOT_TAKEN = N_("This time is no longer available. Please choose another.")
NOT_A_SLOT = N_("This time cannot be booked. Please choose one of the times shown.")
IN_THE_PAST = N_("This time has already passed.")
TOO_SOON = N_("This time is too soon to book. Please choose a later one.")
TOO_FAR = N_("This time is too far ahead to book yet.")
KIND_NOT_OFFERED = N_("This kind of consultation is not offered.")
TOO_MANY_BOOKINGS = N_("You already have as many upcoming bookings as allowed. Cancel one first.")
ALREADY_CANCELLED = N_("This booking has already been cancelled.")
NOT_FOUND = N_("No booking with this reference was found for your code.")
WRONG_CODE = N_("The code is not right. Check it and try again.")
CODE_TAKEN = N_("This code is already in use.")
NO_COUNSELLOR = N_("Your conversation has no counsellor yet, so you cannot book with the same one.")
PAST_BOOKING = N_("This booking has already taken place.")
NO_SUCH_BOOKING = N_("There is no booking with this reference.")
NOT_AN_INTERPRETER = N_("Choose an active interpreter.")
REFERENCE_TAKEN = N_("This booking reference is already in use. Please try again.")
CHANGED = N_("This booking was changed in the meantime. Look at it again and try again.")

_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32


# --- holders and their tokens ------------------------------------------------------------


async def new_holder(res: Resources, lookup: str, verifier: str) -> str:
    """Register a new booking code (its lookup id and a slow hash of its verifier)."""
    verifier_hash = await res.passwords.hash(verifier)
    holder_id = uuid.uuid4()
    try:
        async with res.db.begin() as db:
            if await db.scalar(select(Conversation.id).where(Conversation.resume_lookup == lookup)):
                raise PublicError(409, CODE_TAKEN, code="taken")
            db.add(BookingHolder(id=holder_id, lookup=lookup, verifier_hash=verifier_hash))
    except IntegrityError:
        raise PublicError(409, CODE_TAKEN, code="taken") from None
    return holder_token(res.settings.secret_key, holder_id)


async def holder_for_code(res: Resources, lookup: str, verifier: str) -> str:
    """A booking code, or a chat's resume code, opens its bookings."""
    async with res.db() as db:
        holder = await db.scalar(select(BookingHolder).where(BookingHolder.lookup == lookup))
    if holder is not None:
        if not await res.passwords.verify(holder.verifier_hash, verifier):
            raise PublicError(401, WRONG_CODE, code="wrong_code")
        return holder_token(res.settings.secret_key, holder.id)
    try:
        conversation_id, _state, _token = await conversations.resume(res, lookup, verifier)
    except PublicError:
        raise PublicError(401, WRONG_CODE, code="wrong_code") from None
    return holder_token(res.settings.secret_key, await _holder_for_conversation(res, conversation_id))


async def holder_for_chat(res: Resources, conversation_id: uuid.UUID) -> tuple[str, str | None]:
    """A visitor in a chat books as that conversation; also who their counsellor is, if any."""
    holder_id = await _holder_for_conversation(res, conversation_id)
    return holder_token(res.settings.secret_key, holder_id), await _chat_counsellor_name(res, conversation_id)


async def _holder_for_conversation(res: Resources, conversation_id: uuid.UUID) -> uuid.UUID:
    async with res.db.begin() as db:
        # Shares the row lock a deletion takes: no holder is linked to a conversation being deleted.
        status = await db.scalar(
            select(Conversation.status).where(Conversation.id == conversation_id).with_for_update(read=True)
        )
        if status is None or status == Status.DELETED:
            raise PublicError(401, WRONG_CODE, code="wrong_code")
        holder = await db.scalar(
            select(BookingHolder).where(BookingHolder.conversation_id == conversation_id)
        )
        if holder is None:
            holder = BookingHolder(id=uuid.uuid4(), conversation_id=conversation_id)
            db.add(holder)
        return holder.id


async def _chat_counsellor_name(res: Resources, conversation_id: uuid.UUID) -> str | None:
    async with res.db() as db:
        counsellor = await _chat_counsellor(db, conversation_id)
        return counsellor.display_name if counsellor else None


async def _chat_counsellor(db: AsyncSession, conversation_id: uuid.UUID | None) -> StaffAccount | None:
    if conversation_id is None:
        return None
    conversation = await db.get(Conversation, conversation_id)
    if conversation is None or conversation.status != Status.ACTIVE or conversation.counsellor_id is None:
        return None
    return await db.get(StaffAccount, conversation.counsellor_id)


# --- free slots --------------------------------------------------------------------------


async def slots(
    res: Resources, first: datetime, days: int, only: uuid.UUID | None = None, now: datetime | None = None
) -> list[Slot]:
    """Free slots on `days` local days from `first`'s date (only one counsellor's, if given)."""
    async with res.db() as db:
        current = await policy_in(db)
        return await _free(db, res, current, first, days, only, now or datetime.now(UTC))


async def same_counsellor_id(res: Resources, holder_id: uuid.UUID) -> uuid.UUID:
    """The counsellor of the holder's chat (for "book with the same counsellor")."""
    async with res.db() as db:
        row = await db.get(BookingHolder, holder_id)
        counsellor = await _chat_counsellor(db, row.conversation_id if row else None)
    if counsellor is None:
        raise PublicError(409, NO_COUNSELLOR, code="no_counsellor")
    return counsellor.id


async def _free(
    db: AsyncSession,
    res: Resources,
    current: Policy,
    first: datetime,
    days: int,
    only: uuid.UUID | None,
    now: datetime,
    ignore: uuid.UUID | None = None,
    count_bookings: bool = True,
) -> list[Slot]:
    zone = (await res.centres.current()).zone
    local_days = days_from(first.astimezone(zone).date(), days)
    counsellors = await _bookable(db, only)
    weekly: dict[uuid.UUID, list[Weekly]] = {c: [] for c in counsellors}
    weekly_times = select(AvailabilityRule).where(
        AvailabilityRule.staff_id.in_(counsellors), in_current_centre(AvailabilityRule.centre_id)
    )
    for rule in await db.scalars(weekly_times):
        weekly[rule.staff_id].append(Weekly(rule.weekday, rule.starts, rule.ends))
    days_off: dict[uuid.UUID, list[tuple[object, object]]] = {}
    exceptions = await db.scalars(
        select(AvailabilityException).where(
            AvailabilityException.staff_id.in_(counsellors),
            in_current_centre(AvailabilityException.centre_id),
        )
    )
    for off in exceptions:
        days_off.setdefault(off.staff_id, []).append((off.first_day, off.last_day))
    busy: dict[uuid.UUID, list[Busy]] = {}
    span_start = datetime.combine(local_days[0], datetime.min.time(), zone) - timedelta(days=1)
    span_end = datetime.combine(local_days[-1], datetime.min.time(), zone) + timedelta(days=2)
    booked = await db.scalars(
        select(Booking).where(
            Booking.counsellor_id.in_(counsellors),
            Booking.status == BookingStatus.CONFIRMED,
            Booking.starts_at < span_end,
            Booking.ends_at > span_start,
        )
    )
    for b in booked if count_bookings else ():
        if b.id != ignore:
            busy.setdefault(b.counsellor_id, []).append(Busy(b.starts_at, b.ends_at))
    return free_slots(current.rules, weekly, days_off, busy, local_days, zone, now)  # type: ignore[arg-type]


async def _bookable(db: AsyncSession, only: uuid.UUID | None) -> list[uuid.UUID]:
    """Active counsellors (just one, if `only`)."""
    query = select(StaffAccount.id).where(
        StaffAccount.is_active.is_(True), StaffAccount.id.in_(staff_of_current_centre(Role.COUNSELLOR))
    )
    if only is not None:
        query = query.where(StaffAccount.id == only)
    return list(await db.scalars(query))


# --- booking, cancelling, moving ---------------------------------------------------------


async def book(
    res: Resources,
    holder_id: uuid.UUID,
    start: datetime,
    kind: str,
    payload: bytes,
    fuller_invite: bool,
    same_counsellor: bool,
    language: str,
    now: datetime | None = None,
    reference: str | None = None,
) -> Booking:
    """Book `start` for this holder with a free counsellor; exactly one booking per slot, ever.

    `reference`: the one the visitor's browser chose and bound into the sealed details
    (docs/BOOKING.md); a new one is made when none is given."""
    now = now or datetime.now(UTC)
    only = await same_counsellor_id(res, holder_id) if same_counsellor else None
    try:
        async with res.db.begin() as db:
            current = await policy_in(db)
            if kind not in current.kinds:
                raise PublicError(422, KIND_NOT_OFFERED, code="kind_not_offered")
            await _lock_counsellors(db, res, only)
            future = await db.scalar(
                select(func.count())
                .select_from(Booking)
                .where(
                    Booking.holder_id == holder_id,
                    Booking.status == BookingStatus.CONFIRMED,
                    Booking.starts_at > now,
                )
            )
            if int(future or 0) >= current.max_future_bookings:
                raise PublicError(409, TOO_MANY_BOOKINGS, code="too_many_bookings")
            slot = await _the_slot(db, res, current, start, only, now)
            taken = select(Booking.id).where(Booking.reference == reference)
            if reference is not None and await db.scalar(taken):
                raise PublicError(409, REFERENCE_TAKEN, code="reference_taken")
            booking = Booking(
                id=uuid.uuid4(),
                reference=reference or _reference(),
                holder_id=holder_id,
                counsellor_id=await _least_busy(db, slot.counsellors, slot.start),
                starts_at=slot.start,
                ends_at=slot.end,
                kind=kind,
                status=BookingStatus.CONFIRMED.value,
                sequence=0,
                same_counsellor=same_counsellor,
                fuller_invite=fuller_invite,
                language=language,
                payload=payload,
                created_at=now,
                updated_at=now,
            )
            db.add(booking)
            await db.flush()
    except IntegrityError:
        raise PublicError(409, SLOT_TAKEN, code="slot_taken") from None
    return booking


async def cancel(
    res: Resources,
    holder_id: uuid.UUID,
    reference: str,
    now: datetime | None = None,
    *,
    seen: int | None = None,
) -> Booking:
    """Cancel a confirmed booking (SEQUENCE goes up so calendars replace the event)."""
    now = now or datetime.now(UTC)
    async with res.db.begin() as db:
        booking = await _owned(db, holder_id, reference, lock=True)
        _unchanged(booking, seen)
        if booking.status == BookingStatus.CANCELLED:
            raise PublicError(409, ALREADY_CANCELLED, code="already_cancelled")
        if booking.ends_at <= now:
            raise PublicError(409, PAST_BOOKING, code="past")
        booking.status = BookingStatus.CANCELLED.value
        booking.sequence += 1
        booking.updated_at = now
    return booking


async def reschedule(
    res: Resources,
    holder_id: uuid.UUID,
    reference: str,
    start: datetime,
    now: datetime | None = None,
    *,
    seen: int | None = None,
) -> Booking:
    """Move a confirmed booking to another free slot: same reference and UID, SEQUENCE + 1."""
    now = now or datetime.now(UTC)
    try:
        async with res.db.begin() as db:
            booking = await _owned(db, holder_id, reference, lock=True)
            _unchanged(booking, seen)
            if booking.status == BookingStatus.CANCELLED:
                raise PublicError(409, ALREADY_CANCELLED, code="already_cancelled")
            if booking.ends_at <= now:
                raise PublicError(409, PAST_BOOKING, code="past")
            only = booking.counsellor_id if booking.same_counsellor else None
            await _lock_counsellors(db, res, only)
            current = await policy_in(db)
            slot = await _the_slot(db, res, current, start, only, now, ignore=booking.id)
            counsellor = (
                booking.counsellor_id
                if booking.counsellor_id in slot.counsellors
                else await _least_busy(db, slot.counsellors, slot.start)
            )
            booking.counsellor_id = counsellor
            booking.starts_at, booking.ends_at = slot.start, slot.end
            booking.sequence += 1
            booking.updated_at = now
            await db.flush()
    except IntegrityError:
        raise PublicError(409, SLOT_TAKEN, code="slot_taken") from None
    return booking


async def of_holder(res: Resources, holder_id: uuid.UUID) -> list[Booking]:
    async with res.db() as db:
        found = await db.scalars(
            select(Booking)
            .where(Booking.holder_id == holder_id, in_current_centre(Booking.centre_id))
            .order_by(Booking.starts_at.desc())
        )
        return list(found)


async def owned(res: Resources, holder_id: uuid.UUID, reference: str) -> Booking:
    async with res.db() as db:
        return await _owned(db, holder_id, reference)


async def of_counsellor(
    res: Resources, staff_id: uuid.UUID | None, now: datetime | None = None
) -> list[Booking]:
    """A counsellor's bookings from 30 days ago on (everyone's when `staff_id` is None).

    For an interpreter: the bookings they are attached to (a staff account is one or the other).
    """
    since = (now or datetime.now(UTC)) - timedelta(days=30)
    query = (
        select(Booking)
        .where(Booking.ends_at > since, in_current_centre(Booking.centre_id))
        .order_by(Booking.starts_at)
    )
    if staff_id is not None:
        query = query.where(or_(Booking.counsellor_id == staff_id, Booking.interpreter_id == staff_id))
    async with res.db() as db:
        return list(await db.scalars(query))


async def set_interpreter(
    res: Resources,
    staff: StaffAccount,
    reference: str,
    interpreter_id: uuid.UUID | None,
    now: datetime | None = None,
    *,
    seen: int | None = None,
) -> Booking:
    """The booking's counsellor attaches an interpreter to a confirmed future booking (or detaches).

    SEQUENCE goes up on a change, so every calendar replaces the event.
    """
    now = now or datetime.now(UTC)
    async with res.db.begin() as db:
        booking = await db.scalar(
            select(Booking)
            .where(Booking.reference == reference, in_current_centre(Booking.centre_id))
            .with_for_update()
        )
        if booking is None:
            raise PublicError(404, NO_SUCH_BOOKING, code="not_found")
        access.require_booking_counsellor(staff, booking)
        _unchanged(booking, seen)
        if booking.status == BookingStatus.CANCELLED:
            raise PublicError(409, ALREADY_CANCELLED, code="already_cancelled")
        if booking.ends_at <= now:
            raise PublicError(409, PAST_BOOKING, code="past")
        if interpreter_id is not None:
            interpreter = await db.get(StaffAccount, interpreter_id)
            here = await db.scalar(
                select(StaffAccount.id).where(
                    StaffAccount.id == interpreter_id,
                    StaffAccount.id.in_(staff_of_current_centre(Role.INTERPRETER)),
                )
            )
            if interpreter is None or here is None or not interpreter.is_active:  # an interpreter *here*
                raise PublicError(422, NOT_AN_INTERPRETER, code="not_an_interpreter")
        if booking.interpreter_id != interpreter_id:
            booking.interpreter_id = interpreter_id
            booking.sequence += 1
            booking.updated_at = now
    return booking


async def from_chat(res: Resources, holder_id: uuid.UUID) -> bool:
    async with res.db() as db:
        row = await db.get(BookingHolder, holder_id)
        return bool(row and row.conversation_id)


async def by_reference(res: Resources, reference: str) -> Booking | None:
    async with res.db() as db:
        return await db.scalar(
            select(Booking).where(Booking.reference == reference, in_current_centre(Booking.centre_id))
        )


async def staff_names(res: Resources, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str]:
    async with res.db() as db:
        rows = await db.execute(
            select(StaffAccount.id, StaffAccount.display_name).where(StaffAccount.id.in_(ids))
        )
        return {row[0]: row[1] for row in rows}


async def _owned(db: AsyncSession, holder_id: uuid.UUID, reference: str, lock: bool = False) -> Booking:
    """The holder's booking; with `lock`, its row stays locked until the transaction ends."""
    query = select(Booking).where(
        Booking.reference == reference, Booking.holder_id == holder_id, in_current_centre(Booking.centre_id)
    )
    booking = await db.scalar(query.with_for_update() if lock else query)
    if booking is None:
        raise PublicError(404, NOT_FOUND, code="not_found")
    return booking


def _unchanged(booking: Booking, seen: int | None) -> None:
    """Refuse a change made from an older version of the booking than the one now stored."""
    if seen is not None and booking.sequence != seen:
        raise PublicError(409, CHANGED, code="changed")


async def _lock_counsellors(db: AsyncSession, res: Resources, only: uuid.UUID | None) -> None:
    """Serialise bookings per counsellor on PostgreSQL (SQLite writers are already serial)."""
    if res.settings.is_sqlite:
        return
    query = (
        select(StaffAccount.id)
        .where(StaffAccount.id.in_(staff_of_current_centre(Role.COUNSELLOR)))
        .order_by(StaffAccount.id)
    )
    if only is not None:
        query = query.where(StaffAccount.id == only)
    await db.execute(query.with_for_update())


async def _the_slot(
    db: AsyncSession,
    res: Resources,
    current: Policy,
    start: datetime,
    only: uuid.UUID | None,
    now: datetime,
    ignore: uuid.UUID | None = None,
) -> Slot:
    """The free slot starting at `start`, or the precise reason there is none."""
    if start <= now:
        raise PublicError(422, IN_THE_PAST, code="in_the_past")
    earliest, latest = window(current.rules, now)
    if start < earliest:
        raise PublicError(422, TOO_SOON, code="too_soon")
    if start > latest:
        raise PublicError(422, TOO_FAR, code="too_far")
    found = [s for s in await _free(db, res, current, start, 1, only, now, ignore) if s.start == start]
    if found:
        return found[0]
    # Not free: was it a slot (then someone took it), or never one?
    unbooked = await _free(db, res, current, start, 1, only, now, count_bookings=False)
    if any(s.start == start for s in unbooked):
        raise PublicError(409, SLOT_TAKEN, code="slot_taken")
    raise PublicError(422, NOT_A_SLOT, code="not_a_slot")


async def _least_busy(db: AsyncSession, candidates: Sequence[uuid.UUID], start: datetime) -> uuid.UUID:
    """Of the free counsellors, the one with the fewest bookings that week (then by id)."""
    if len(candidates) == 1:
        return candidates[0]
    week = (start - timedelta(days=3), start + timedelta(days=4))
    rows = await db.execute(
        select(Booking.counsellor_id, func.count())
        .where(
            Booking.counsellor_id.in_(candidates),
            Booking.status == BookingStatus.CONFIRMED,
            Booking.starts_at >= week[0],
            Booking.starts_at < week[1],
        )
        .group_by(Booking.counsellor_id)
    )
    counts: dict[uuid.UUID, int] = {row[0]: int(row[1]) for row in rows}
    return min(candidates, key=lambda c: (counts.get(c, 0), c.hex))


def _reference() -> str:
    return "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))
