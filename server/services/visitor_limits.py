"""The limits on what visitors do: each action its own bucket, keyed on the code or token where there is one.

- Starting a conversation and making a booking code count per client only when they
  succeed (a refused request cost the queue nothing).
- Bookings and moves count per booking code and per client only when accepted: a 409
  "slot taken" costs nothing.
- A code (a chat's resume code or a booking code) that exists is limited by its own
  allowance of wrong verifiers, whatever address it comes from; a code that does not
  exist spends the client's allowance of wrong codes.  So guessing from a shelter's
  shared address cannot make the right code from that address answer 429.

Visitor buckets are the ones that protect a centre's queue, so they count per centre
(`centre`, by default the centre being served): a flood at one centre of a network does
not close another's door to the same address.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select, union_all

from server.models import CURRENT_CENTRE, BookingHolder, Conversation
from server.resources import Resources
from server.security.limits import Bucket, Want


@asynccontextmanager
async def creating(
    res: Resources, bucket: Bucket, client: str, centre: uuid.UUID | None = None
) -> AsyncIterator[None]:
    """A new conversation (Bucket.CONVERSATION) or booking code (Bucket.BOOKING_CODE): counted if made."""
    async with res.limits.counting_successes(Want(bucket, client, centre or CURRENT_CENTRE.get())):
        yield


@asynccontextmanager
async def booking_change(
    res: Resources, client: str, holder_id: uuid.UUID, centre: uuid.UUID | None = None
) -> AsyncIterator[None]:
    """A booking made or moved: counted for the code and for the client if it is accepted."""
    scope = centre or CURRENT_CENTRE.get()
    async with res.limits.counting_successes(
        Want(Bucket.BOOKING_HOLDER, holder_id.hex, scope), Want(Bucket.BOOKING_CLIENT, client, scope)
    ):
        yield


@asynccontextmanager
async def code_attempt(res: Resources, client: str, lookup: str) -> AsyncIterator[None]:
    """A code presented (resume or booking access): a wrong one counts, the right one does not."""
    if await _code_exists(res, lookup):
        want = Want(Bucket.WRONG_CODE, lookup)
    else:
        want = Want(Bucket.WRONG_CODE_CLIENT, client)
    async with res.limits.counting_failures(want):
        yield


async def _code_exists(res: Resources, lookup: str) -> bool:
    """Whether a conversation or a booking code has this lookup id (an indexed read, no hashing)."""
    query = union_all(
        select(Conversation.id).where(Conversation.resume_lookup == lookup),
        select(BookingHolder.id).where(BookingHolder.lookup == lookup),
    ).limit(1)
    async with res.db() as db:
        return (await db.execute(query)).first() is not None
