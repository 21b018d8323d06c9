"""Moving a conversation to another centre of the network (issue 16, PROTOCOL.md §8.6).

The conversation's counsellor offers a move to another centre (`offer`); the visitor sees
which centre and consents or declines (`decline`).  Consent is the visitor's own commit
(`move`): a new epoch wrapped to exactly the receiving centre's counsellors, checked against
that centre's directory.  Storing it puts the conversation in the receiving centre's queue:
from that epoch on the sending centre's staff are in no roster there (the server refuses
their frames) and hold no wrap of it (cryptography keeps them out).
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete

from crypto.constants import ObjectType
from crypto.constants import Role as MemberRole
from server import access
from server.access import Principal
from server.centres import CentreInfo
from server.errors import PublicError
from server.i18n import N_
from server.models import Conversation, ConversationMember, StaffAccount, Status
from server.models.base import utcnow
from server.models.centre import CURRENT_CENTRE
from server.realtime import events
from server.resources import Resources
from server.services import rekey
from server.services.conversations import (
    BAD_MESSAGE,
    NOT_ALLOWED,
    Stored,
    _checked,
    _lists_interpreters,
    _lock,
    _members,
    _open_for_write,
    _set_members,
    _staff_members,
    _store,
    route,
)

NO_SUCH_CENTRE = N_("That centre cannot take this conversation.")


async def _receiving(res: Resources, slug: str) -> CentreInfo:
    """Another centre of the network that has counsellors certified now."""
    target = await res.centres.by_slug(slug)
    current = await res.centres.current()
    if target is None or target.id == current.id:
        raise PublicError(404, NO_SUCH_CENTRE, code="unknown_centre")
    async with res.db() as db:
        scope = CURRENT_CENTRE.set(target.id)
        try:
            counsellors = await rekey.queue_counsellors(db)
        finally:
            CURRENT_CENTRE.reset(scope)
    if not counsellors:
        raise PublicError(409, NO_SUCH_CENTRE, code="unknown_centre")
    return target


async def offer(res: Resources, staff: StaffAccount, conversation_id: uuid.UUID, slug: str) -> CentreInfo:
    """The conversation's counsellor offers to move it to another centre (replaces any offer)."""
    if not access.is_counsellor(staff):
        raise PublicError(403, NOT_ALLOWED, code="not_allowed")
    await rekey.require_current(res, staff)  # not one who must go (`revoked`)
    target = await _receiving(res, slug)
    async with res.db.begin() as db:
        conversation = await _lock(db, conversation_id)
        if conversation.status != Status.ACTIVE or conversation.counsellor_id != staff.id:
            raise PublicError(409, NOT_ALLOWED, code="not_allowed")
        conversation.move_to_id = target.id
    await events.conversation_changed(res.bus, conversation_id)
    return target


async def decline(res: Resources, principal: Principal, conversation_id: uuid.UUID) -> None:
    """The visitor declines an open offer (or its counsellor withdraws it): nothing else changes."""
    async with res.db.begin() as db:
        conversation = await _lock(db, conversation_id)
        mine = principal.staff is None or conversation.counsellor_id == principal.staff.id
        if conversation.move_to_id is None or not mine:
            raise PublicError(409, NOT_ALLOWED, code="not_allowed")
        conversation.move_to_id = None
    await events.conversation_changed(res.bus, conversation_id)


async def move(
    res: Resources, principal: Principal, conversation_id: uuid.UUID, client_id: str, commit: bytes
) -> Stored:
    """The visitor's consent: her commit to the receiving centre's counsellors (§8.6)."""
    routing = route(commit)
    if routing.type != ObjectType.COMMIT:
        raise PublicError(400, BAD_MESSAGE, code="bad_message")
    if principal.staff is not None:
        raise PublicError(403, NOT_ALLOWED, code="not_allowed")
    async with res.db.begin() as db:
        conversation, existing = await _open_for_write(db, conversation_id, client_id)
        if existing is not None:
            return existing
        target = conversation.move_to_id
        if target is None or conversation.status != Status.ACTIVE:
            raise PublicError(409, NOT_ALLOWED, code="not_allowed")
        sender = await _checked(db, principal, conversation_id, routing, commit)
        visitors = [m for m, role in routing.members if role == MemberRole.VISITOR]
        if visitors != [sender.member_id]:
            raise PublicError(400, BAD_MESSAGE, code="bad_message")
        old = {m.staff_id for m in await _members(db, conversation_id) if m.staff_id is not None}
        # Checked as the receiving centre: its staff, its directory, its queue.
        scope = CURRENT_CENTRE.set(target)
        try:
            staff_ids = await _staff_members(db, routing)
            if (
                _lists_interpreters(routing)
                or not staff_ids
                or staff_ids != await rekey.queue_counsellors(db)
            ):
                raise PublicError(409, NOT_ALLOWED, code="not_allowed")
            await rekey.check_commit(db, commit, routing)
        finally:
            CURRENT_CENTRE.reset(scope)
        seq = await _store(db, conversation, routing, commit, client_id)
        await db.execute(
            delete(ConversationMember).where(ConversationMember.conversation_id == conversation_id)
        )
        _set_members(db, conversation_id, routing, staff_ids)
        conversation.centre_id = target
        conversation.move_to_id = None
        conversation.status = Status.QUEUED.value
        conversation.counsellor_id = None
        conversation.queued_at = utcnow()
        conversation.claimed_at = None
    await events.conversation_changed(res.bus, conversation_id, queue=True, staff=sorted(old))
    return Stored(conversation_id, seq)


async def offered(res: Resources, conversation: Conversation) -> dict[str, str] | None:
    """The open offer as the status frame shows it: which centre, and where its pages are."""
    if conversation.move_to_id is None or conversation.status != Status.ACTIVE:
        return None
    target = await res.centres.by_id(conversation.move_to_id)
    if target is None:
        return None
    return {"centre": target.slug, "name": target.name, "address": target.address}


async def moved_to(res: Resources, conversation_id: uuid.UUID) -> dict[str, str] | None:
    """Where a conversation that is not at the centre being served now is (for its visitor,
    whose page moves with it: her token works at the receiving centre's address)."""
    async with res.db() as db:
        conversation = await db.get(Conversation, conversation_id)
    if conversation is None or conversation.status == Status.DELETED:
        return None
    centre = await res.centres.by_id(conversation.centre_id)
    if centre is None:
        return None
    return {"centre": centre.slug, "name": centre.name, "address": centre.address}
