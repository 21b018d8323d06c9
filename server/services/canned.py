"""Canned replies: each counsellor's own saved answers, stored as ciphertext.

The browser seals every reply to its owner's own key (web/static/js/staff/canned.js), so
the server keeps opaque bytes.  A staff member only ever lists, adds or deletes their own:
every query below is filtered by the owner's id, and another person's reply id is answered
exactly like one that does not exist.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from server.errors import PublicError
from server.i18n import N_
from server.models import CannedReply, StaffAccount
from server.models.centre import in_current_centre
from server.resources import Resources

MAX_BODY_BYTES = 8192
MAX_REPLIES = 200
NOT_FOUND = N_("This saved reply does not exist.")
TOO_MANY = N_("You have saved as many replies as allowed. Delete one first.")
BAD_BODY = N_("The saved reply could not be read.")


async def list_replies(res: Resources, staff: StaffAccount) -> list[CannedReply]:
    async with res.db() as db:
        rows = await db.scalars(
            select(CannedReply)
            .where(CannedReply.staff_id == staff.id, in_current_centre(CannedReply.centre_id))
            .order_by(CannedReply.created_at, CannedReply.id)
        )
        return list(rows)


async def add_reply(res: Resources, staff: StaffAccount, body: bytes) -> CannedReply:
    if not 0 < len(body) <= MAX_BODY_BYTES:
        raise PublicError(422, BAD_BODY, code="bad_body")
    async with res.db.begin() as db:
        count = await db.scalar(
            select(func.count()).select_from(CannedReply).where(CannedReply.staff_id == staff.id)
        )
        if int(count or 0) >= MAX_REPLIES:
            raise PublicError(409, TOO_MANY, code="too_many")
        reply = CannedReply(id=uuid.uuid4(), staff_id=staff.id, body=body)
        db.add(reply)
    return reply


async def delete_reply(res: Resources, staff: StaffAccount, reply_id: uuid.UUID) -> None:
    async with res.db.begin() as db:
        reply = await db.scalar(
            select(CannedReply).where(
                CannedReply.id == reply_id,
                CannedReply.staff_id == staff.id,
                in_current_centre(CannedReply.centre_id),
            )
        )
        if reply is None:
            raise PublicError(404, NOT_FOUND, code="not_found")
        await db.delete(reply)
