"""What becomes of a chat's bookings when the visitor deletes the conversation.

A booking made from a chat belongs to a holder row linked to the conversation; its holder
tokens and the chat's resume code reach it through that link.  Deleting the conversation
must not leave that way in, so the holder row goes: its bookings move to a new holder that
no token, code or conversation names.  The counsellor keeps the appointment (the visitor
can still come, or call about it with the reference); if the visitor chose so, the
bookings that have not yet ended are cancelled first, as the visitor's own cancel would.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.models import Booking, BookingHolder

KEEP = "keep"
CANCEL = "cancel"
CHOICES = (KEEP, CANCEL)


async def release_conversation(
    db: AsyncSession, conversation_id: uuid.UUID, choice: str, now: datetime
) -> list[Booking]:
    """Inside the deletion's transaction: unlink (and with `cancel`, cancel) the chat's bookings.

    Returns the bookings this cancelled.
    """
    assert choice in CHOICES
    holder = await db.scalar(
        select(BookingHolder).where(BookingHolder.conversation_id == conversation_id).with_for_update()
    )
    if holder is None:
        return []
    held = list(await db.scalars(select(Booking).where(Booking.holder_id == holder.id).with_for_update()))
    cancelled = []
    if choice == CANCEL:
        for booking in held:
            if booking.status == "confirmed" and booking.ends_at > now:
                booking.status = "cancelled"
                booking.sequence += 1
                booking.updated_at = now
                cancelled.append(booking)
    if held:
        nobody = BookingHolder(id=uuid.uuid4())
        db.add(nobody)
        await db.flush()
        await db.execute(
            update(Booking)
            .where(Booking.holder_id == holder.id)
            .values(holder_id=nobody.id)
            .execution_options(synchronize_session=False)
        )
    await db.delete(holder)
    await db.flush()
    return cancelled
