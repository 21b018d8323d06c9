"""Conversations: creation by a visitor, the encrypted log, claim/transfer/release/close, deletion.

The log of a conversation is a gap-free sequence from 0 (the genesis).  A
protocol object is stored only if its `seq` is the next number and its
`prev_hash` is the hash of the object stored before it; otherwise the sender
is told `conflict` and re-encrypts at the new head.  Every write happens in one
transaction that first locks the conversation row, so two writers (or two
claiming counsellors) are serialised on SQLite and PostgreSQL alike.  Events
are published only after commit; they say "look again", except an append's, which
carries what was stored (appends go through the process's message writer, writer.py).
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.constants import ZERO_HASH, ObjectType
from crypto.constants import Role as MemberRole
from crypto.errors import ProtocolError
from crypto.wire import Routing, peek
from server import access
from server.access import Principal
from server.errors import PublicError
from server.i18n import N_
from server.models import (
    OUTCOMES,
    Conversation,
    ConversationMember,
    ConversationMessage,
    Role,
    StaffAccount,
    StaffCertificate,
    Status,
    VisitorToken,
    staff_of_current_centre,
    utcnow,
)
from server.models.centre import in_current_centre
from server.models.staff import roles_at_current_centre
from server.realtime import events
from server.resources import Resources
from server.services import rekey
from server.services.booking import holders
from server.services.tokens import new_token, token_hash
from server.services.writer import Batch, Written
from server.services.writer import Stored as Stored

NOT_FOUND = N_("This conversation does not exist or has been deleted.")
BAD_MESSAGE = N_("The message could not be read.")
CONFLICT = N_("Someone else wrote at the same time; the message will be sent again.")
ALREADY_CLAIMED = N_("Another counsellor has already taken this conversation.")
NOT_ALLOWED = N_("You cannot do that in this conversation.")
TOO_MANY_OPEN = N_("You already have as many open conversations as allowed.")
BAD_OUTCOME = N_("Choose an outcome.")
TAKEN_ID = N_("That conversation id is already in use.")
PAGE_SIZE = 200  # stored objects read at once for one connection's catch-up
TYPING_SECONDS = 5
# Tables a visitor's deletion leaves dead rows in (for PostgreSQL's VACUUM; SQLite truncates its WAL).
ERASED_BY_DELETION = (
    "conversation_messages",
    "conversation_members",
    "visitor_tokens",
    "conversations",
    "booking_holders",
    "bookings",
)


# --- parsing -------------------------------------------------------------------


def route(message: bytes) -> Routing:
    """The clear routing fields of a protocol object; 400 if it is not one."""
    try:
        return peek(message)
    except ProtocolError:
        raise PublicError(400, BAD_MESSAGE, code="bad_message") from None


def member_uuid(member_id: bytes) -> uuid.UUID:
    """Staff member ids in the protocol are the 16 bytes of the staff account id."""
    return uuid.UUID(bytes=member_id)


# --- visitor: create, resume, delete --------------------------------------------


async def create(
    res: Resources,
    conversation_id: uuid.UUID,
    lookup: str,
    verifier: str,
    state: bytes,
    genesis: bytes,
    language: str,
) -> str:
    """Store a visitor's new conversation (queued); returns the visitor's token."""
    routing = route(genesis)
    if routing.type == ObjectType.GENESIS:
        rekey.check_genesis(genesis)  # signed by the visitor's own key, dated near our clock
    if (
        routing.type != ObjectType.GENESIS
        or routing.conversation_id != conversation_id.bytes
        or routing.seq != 0
        or routing.prev_hash != ZERO_HASH
        or _lists_interpreters(routing)
    ):
        raise PublicError(400, BAD_MESSAGE, code="bad_message")
    verifier_hash = await res.passwords.hash(verifier)
    token = new_token()
    try:
        async with res.db.begin() as db:
            staff_ids = await _staff_members(db, routing)
            db.add(
                Conversation(
                    id=conversation_id,
                    language=language,
                    resume_lookup=lookup,
                    verifier_hash=verifier_hash,
                    visitor_state=state,
                    last_seq=0,
                    last_hash=routing.message_hash,
                )
            )
            await db.flush()
            db.add(_entry(conversation_id, routing, genesis, client_id=str(uuid.uuid4())))
            _set_members(db, conversation_id, routing, staff_ids)
            db.add(VisitorToken(token_hash=token_hash(token), conversation_id=conversation_id))
    except IntegrityError:
        raise PublicError(409, TAKEN_ID, code="taken") from None
    await events.queue_changed(res.bus)
    return token


async def resume(res: Resources, lookup: str, verifier: str) -> tuple[uuid.UUID, bytes, str]:
    """Check a resume code's verifier; returns the conversation, its key state and a new token."""
    async with res.db() as db:
        conversation = await db.scalar(
            select(Conversation).where(
                Conversation.resume_lookup == lookup, in_current_centre(Conversation.centre_id)
            )
        )
    stored = conversation.verifier_hash if conversation else None
    if not await res.passwords.verify(stored, verifier) or conversation is None:
        raise PublicError(404, NOT_FOUND, code="not_found")
    if conversation.visitor_state is None or conversation.status == Status.DELETED:
        raise PublicError(404, NOT_FOUND, code="not_found")
    token = new_token()
    async with res.db.begin() as db:
        db.add(VisitorToken(token_hash=token_hash(token), conversation_id=conversation.id))
    return conversation.id, conversation.visitor_state, token


async def delete_by_visitor(res: Resources, conversation_id: uuid.UUID, bookings: str = holders.KEEP) -> None:
    """Crypto-shredding: every message, the key state, the members and the tokens go for good.

    A tombstone row (status `deleted`, no content, no code) stays so the counsellor
    sees what happened.  Bookings made from the chat are unlinked from it (`keep`) or
    cancelled and unlinked (`cancel`), see booking/holders.py.  Once committed, the
    deleted bytes are made to leave the database files too (server/erasure.py).
    """
    async with res.db.begin() as db:
        conversation = await _lock(db, conversation_id)
        await holders.release_conversation(db, conversation_id, bookings, utcnow())
        staff_ids = await _staff_of(db, conversation_id)
        await db.execute(
            delete(ConversationMessage).where(ConversationMessage.conversation_id == conversation_id)
        )
        await db.execute(
            delete(ConversationMember).where(ConversationMember.conversation_id == conversation_id)
        )
        await db.execute(delete(VisitorToken).where(VisitorToken.conversation_id == conversation_id))
        conversation.status = Status.DELETED.value
        conversation.resume_lookup = None
        conversation.verifier_hash = None
        conversation.visitor_state = None
        conversation.last_hash = None
        conversation.closed_at = conversation.closed_at or utcnow()
    res.db.eraser.erase(ERASED_BY_DELETION)
    await events.conversation_changed(res.bus, conversation_id, queue=True, staff=staff_ids)


# --- the log ---------------------------------------------------------------------


async def append(
    res: Resources, principal: Principal, conversation_id: uuid.UUID, client_id: str, message: bytes
) -> Stored:
    """Store an application message, history bundle or key request sent by a member
    (idempotent by client_id).

    A key request (PROTOCOL.md §6.7) is how a member whose wrap of the current epoch failed asks
    the others to re-key; it needs no key, so any current member may send one (an interpreter
    too: interpreters cannot commit, so asking is all they can do).

    Through the process's message writer (writer.py): one transaction for everything that
    arrives together, acknowledged after its commit, the event published after it carrying
    what was stored.  Raises `writer.Busy` when the writer's queue is full.
    """
    routing = route(message)
    if routing.type not in (ObjectType.APPLICATION, ObjectType.HISTORY, ObjectType.KEY_REQUEST):
        raise PublicError(400, BAD_MESSAGE, code="bad_message")
    if principal.staff is None and principal.conversation_id != conversation_id:
        raise PublicError(403, NOT_ALLOWED, code="not_allowed")
    staff_id = principal.staff.id if principal.staff is not None else None
    if principal.staff is not None:  # not deactivated, unlisted or expired (`revoked`)
        async with res.db() as db:
            await rekey.require_current_staff(db, principal.staff)

    def work(connection: Connection, batch: Batch) -> Stored:
        return _append_in(connection, batch, conversation_id, staff_id, client_id, routing, message)

    return await res.writer.append(conversation_id, work)


# The append's statements, built once: every message a person writes runs them.  One read gives
# the log's head (locked), the sender's membership and an earlier copy of the same client id.
_CONVERSATIONS = cast(Table, Conversation.__table__)
_MEMBERS = cast(Table, ConversationMember.__table__)
_MESSAGES = cast(Table, ConversationMessage.__table__)
_EARLIER_COPY = (
    select(_MESSAGES.c.seq)
    .where(_MESSAGES.c.conversation_id == bindparam("cid"), _MESSAGES.c.client_id == bindparam("client_id"))
    .scalar_subquery()
)
# The epoch of the log's last object: every object continuing the log must carry it (a commit
# starts its epoch, PROTOCOL.md), as each client checks (WRONG_EPOCH).
_HEAD_EPOCH = (
    select(_MESSAGES.c.epoch)
    .where(_MESSAGES.c.conversation_id == _CONVERSATIONS.c.id, _MESSAGES.c.seq == _CONVERSATIONS.c.last_seq)
    .scalar_subquery()
)


def _head_and_sender(sender_is: ColumnElement[bool]) -> Select[Any]:
    members = and_(_MEMBERS.c.conversation_id == _CONVERSATIONS.c.id, sender_is)
    return (
        select(
            _CONVERSATIONS.c.status,
            _CONVERSATIONS.c.last_seq,
            _CONVERSATIONS.c.last_hash,
            _MEMBERS.c.member_id,
            _MEMBERS.c.role,
            _MEMBERS.c.sig_public,
            _EARLIER_COPY.label("earlier_seq"),
            _HEAD_EPOCH.label("head_epoch"),
        )
        .select_from(_CONVERSATIONS.outerjoin(_MEMBERS, members))
        .where(_CONVERSATIONS.c.id == bindparam("cid"))
        .with_for_update(of=_CONVERSATIONS)
    )


_STAFF_HEAD = _head_and_sender(_MEMBERS.c.staff_id == bindparam("staff_id"))
_VISITOR_HEAD = _head_and_sender(_MEMBERS.c.role == int(MemberRole.VISITOR))


def _append_in(
    connection: Connection,
    batch: Batch,
    conversation_id: uuid.UUID,
    staff_id: uuid.UUID | None,
    client_id: str,
    routing: Routing,
    message: bytes,
) -> Stored:
    """The append itself, in the writer's transaction: every check, then its writes recorded in
    the batch (made at the batch's end, server/services/writer.py).

    The same rules as the other writes below (lock, idempotency, status, sender, head), with
    one read built once; the head and client ids as the batch leaves them come first.
    """
    params = {"cid": conversation_id, "client_id": client_id}
    if staff_id is not None:
        head = connection.execute(_STAFF_HEAD, {**params, "staff_id": staff_id}).first()
    else:
        head = connection.execute(_VISITOR_HEAD, params).first()
    if head is None or head.status == Status.DELETED:
        raise PublicError(404, NOT_FOUND, code="not_found")
    earlier = head.earlier_seq if head.earlier_seq is not None else batch.earlier(conversation_id, client_id)
    if earlier is not None:
        return Stored(conversation_id, earlier, duplicate=True)
    if head.status not in (Status.QUEUED, Status.ACTIVE):
        raise PublicError(409, NOT_ALLOWED, code="not_allowed")
    if head.member_id is None or head.member_id != routing.sender_id:
        raise PublicError(403, NOT_ALLOWED, code="not_allowed")
    key = head.sig_public or rekey.key_in_membership(
        connection.scalar(rekey.latest_membership_query(conversation_id)), head.member_id
    )
    rekey.verify_signed(key, message)  # signed by its sender's key (PROTOCOL.md §11)
    if routing.type == ObjectType.HISTORY:
        recipient = connection.scalar(
            select(ConversationMember.role).where(
                ConversationMember.conversation_id == conversation_id,
                ConversationMember.member_id == routing.history_recipient,
            )
        )
        _check_history_roles(head.role, recipient)
    last_seq, last_hash = batch.head(conversation_id) or (head.last_seq, head.last_hash)
    seq = _check_head(_HeadRow(conversation_id, last_seq, last_hash), routing)
    if routing.epoch != head.head_epoch:  # no reader could take it (nor PostgreSQL, beyond 2**31)
        raise PublicError(400, BAD_MESSAGE, code="bad_message")
    now = utcnow()
    batch.add({**_entry_values(conversation_id, routing, message, client_id), "created_at": now})
    return Written(conversation_id, seq, message_hash=routing.message_hash, body=message, created_at=now)


async def claim(
    res: Resources, staff: StaffAccount, conversation_id: uuid.UUID, client_id: str, commit: bytes
) -> Stored:
    """Take a queued conversation: exactly one of several simultaneous claims wins."""
    routing = route(commit)
    async with res.db.begin() as db:
        conversation, existing = await _open_for_write(db, conversation_id, client_id)
        if existing is not None:
            return existing
        if conversation.status != Status.QUEUED:
            raise PublicError(409, ALREADY_CLAIMED, code="already_claimed")
        if not access.is_counsellor(staff):
            raise PublicError(403, NOT_ALLOWED, code="not_allowed")
        await _check_open_limit(db, res, staff)
        await _checked(db, Principal(staff=staff), conversation_id, routing, commit)
        _expect_commit(routing, {staff.id})
        await rekey.check_commit(db, commit, routing)
        seq = await _store(db, conversation, routing, commit, client_id)
        await db.execute(
            delete(ConversationMember).where(ConversationMember.conversation_id == conversation_id)
        )
        _set_members(db, conversation_id, routing, {staff.id})
        conversation.status = Status.ACTIVE.value
        conversation.counsellor_id = staff.id
        conversation.claimed_at = utcnow()
        conversation.move_to_id = None  # an offer of a move was the previous counsellor's
    await events.conversation_changed(res.bus, conversation_id, queue=True, staff=[staff.id])
    return Stored(conversation_id, seq)


async def transfer(
    res: Resources,
    staff: StaffAccount,
    conversation_id: uuid.UUID,
    to: uuid.UUID,
    client_id: str,
    commit: bytes,
) -> Stored:
    """Hand an active conversation to a colleague.

    The commit lists the visitor, the current counsellor and the colleague (the protocol
    wants the committer in the new epoch); the colleague then owns the conversation and
    removes the previous counsellor with a `commit` of their own (or keeps them: a team).
    """
    routing = route(commit)
    async with res.db.begin() as db:
        conversation, existing = await _open_for_write(db, conversation_id, client_id)
        if existing is not None:
            return existing
        if conversation.status != Status.ACTIVE or conversation.counsellor_id != staff.id or to == staff.id:
            raise PublicError(409, NOT_ALLOWED, code="not_allowed")
        colleague = await db.scalar(
            select(StaffAccount).where(
                StaffAccount.id == to, StaffAccount.id.in_(staff_of_current_centre(Role.COUNSELLOR))
            )
        )
        if colleague is None or not access.may_take_over(colleague):
            raise PublicError(409, NOT_ALLOWED, code="not_allowed")
        await _checked(db, Principal(staff=staff), conversation_id, routing, commit)
        interpreters = frozenset(
            m.staff_id
            for m in await _members(db, conversation_id)
            if m.role == MemberRole.INTERPRETER and m.staff_id is not None
        )
        _expect_commit(routing, {staff.id, to}, may_keep=interpreters)
        staff_ids = await _staff_members(db, routing)
        await rekey.check_commit(db, commit, routing)
        seq = await _store(db, conversation, routing, commit, client_id)
        await _replace_members(db, conversation_id, routing, staff_ids)
        conversation.counsellor_id = to
        conversation.move_to_id = None  # an offer of a move was the previous counsellor's
    await events.conversation_changed(
        res.bus, conversation_id, queue=True, staff=sorted({staff.id, to} | interpreters)
    )
    return Stored(conversation_id, seq)


async def recommit(
    res: Resources, principal: Principal, conversation_id: uuid.UUID, client_id: str, commit: bytes
) -> Stored:
    """A membership change by a member: remove someone, re-key, (visitor only) let someone in.

    The server mirrors the protocol's rules where they decide access (PROTOCOL.md §8.2):
    interpreters never commit, the visitor stays, only the visitor adds an interpreter,
    and the conversation's counsellor stays in it.  A queued conversation's epoch may be
    re-wrapped (`requeue`, §8.5): to exactly the counsellors the directory certifies now.
    """
    routing = route(commit)
    if routing.type != ObjectType.COMMIT:
        raise PublicError(400, BAD_MESSAGE, code="bad_message")
    async with res.db.begin() as db:
        conversation, existing = await _open_for_write(db, conversation_id, client_id)
        if existing is not None:
            return existing
        if conversation.status not in (Status.ACTIVE, Status.QUEUED):
            raise PublicError(409, NOT_ALLOWED, code="not_allowed")
        sender = await _checked(db, principal, conversation_id, routing, commit)
        if sender.role == MemberRole.INTERPRETER:
            raise PublicError(403, NOT_ALLOWED, code="not_allowed")
        staff_ids = await _staff_members(db, routing)
        old = await _members(db, conversation_id)
        before = {m.member_id: m.role for m in old}
        after = dict(routing.members)
        added = {m for m in after if m not in before}
        visitors_before = {m for m, role in before.items() if role == MemberRole.VISITOR}
        visitors_after = {m for m, role in after.items() if role == MemberRole.VISITOR}
        if len(visitors_after) != 1 or visitors_after != visitors_before:
            raise PublicError(400, BAD_MESSAGE, code="bad_message")
        if principal.staff is not None and any(after[m] == MemberRole.INTERPRETER for m in added):
            raise PublicError(403, NOT_ALLOWED, code="not_allowed")
        await rekey.check_commit(db, commit, routing)
        # Re-wrapping the queue epoch: a queued conversation, or one whose counsellor must go.
        queued = conversation.status == Status.QUEUED or (
            conversation.counsellor_id not in staff_ids and await rekey.owner_must_go(db, conversation)
        )
        if queued and (_lists_interpreters(routing) or staff_ids != await rekey.queue_counsellors(db)):
            raise PublicError(409, NOT_ALLOWED, code="not_allowed")
        if not queued and (conversation.counsellor_id is None or conversation.counsellor_id not in staff_ids):
            raise PublicError(409, NOT_ALLOWED, code="not_allowed")
        seq = await _store(db, conversation, routing, commit, client_id)
        await _replace_members(db, conversation_id, routing, staff_ids)
        if queued and conversation.status == Status.ACTIVE:  # back in the queue, for anyone to claim
            conversation.status = Status.QUEUED.value
            conversation.counsellor_id = None
            conversation.queued_at = utcnow()
            conversation.claimed_at = None
    # Everyone before and after hears of it: a removed interpreter's page drops the conversation.
    affected = staff_ids | {m.staff_id for m in old if m.staff_id is not None}
    await events.conversation_changed(res.bus, conversation_id, queue=queued, staff=sorted(affected))
    return Stored(conversation_id, seq)


async def release(
    res: Resources, staff: StaffAccount, conversation_id: uuid.UUID, client_id: str, commit: bytes
) -> Stored:
    """Return an active conversation to the shared queue (re-keyed to every certified counsellor)."""
    routing = route(commit)
    async with res.db.begin() as db:
        conversation, existing = await _open_for_write(db, conversation_id, client_id)
        if existing is not None:
            return existing
        if conversation.status != Status.ACTIVE or conversation.counsellor_id != staff.id:
            raise PublicError(409, NOT_ALLOWED, code="not_allowed")
        await _checked(db, Principal(staff=staff), conversation_id, routing, commit)
        staff_ids = await _staff_members(db, routing)
        if routing.type != ObjectType.COMMIT or not staff_ids or _lists_interpreters(routing):
            raise PublicError(400, BAD_MESSAGE, code="bad_message")
        await rekey.check_commit(db, commit, routing)
        seq = await _store(db, conversation, routing, commit, client_id)
        await db.execute(
            delete(ConversationMember).where(ConversationMember.conversation_id == conversation_id)
        )
        old = {m.staff_id for m in await _members(db, conversation_id) if m.staff_id is not None}
        _set_members(db, conversation_id, routing, staff_ids)
        conversation.status = Status.QUEUED.value
        conversation.counsellor_id = None
        conversation.queued_at = utcnow()
        conversation.claimed_at = None
    await events.conversation_changed(res.bus, conversation_id, queue=True, staff=sorted(old | {staff.id}))
    return Stored(conversation_id, seq)


async def close(
    res: Resources, principal: Principal, conversation_id: uuid.UUID, outcome: str | None
) -> None:
    """End a conversation: by its counsellor (with an outcome tag) or by the visitor."""
    if principal.staff is not None and outcome not in OUTCOMES:
        raise PublicError(422, BAD_OUTCOME, code="bad_outcome")
    if principal.staff is not None:  # one who must go cannot end the visitor's chat (`revoked`)
        await rekey.require_current(res, principal.staff)
    async with res.db.begin() as db:
        conversation = await _lock(db, conversation_id)
        if conversation.status not in (Status.QUEUED, Status.ACTIVE):
            raise PublicError(409, NOT_ALLOWED, code="not_allowed")
        if principal.staff is not None:
            if conversation.counsellor_id != principal.staff.id:
                raise PublicError(409, NOT_ALLOWED, code="not_allowed")
            conversation.outcome = outcome
        conversation.status = Status.CLOSED.value
        conversation.closed_at = utcnow()
        staff_ids = await _staff_of(db, conversation_id)
    await events.conversation_changed(res.bus, conversation_id, queue=True, staff=staff_ids)


async def record_receipt(
    res: Resources,
    principal: Principal,
    conversation_id: uuid.UUID,
    delivered: int,
    read: int,
    origin: str,
) -> None:
    """Remember how far a member has received and read; if it moved, tell the others.

    `origin` is the sending connection, which does not hear its own receipt back.
    """
    async with res.db.begin() as db:
        member = await access.membership(db, principal, conversation_id)
        if member is None:
            return
        conversation = await db.get(Conversation, conversation_id)
        top = conversation.last_seq if conversation else -1
        delivered, read = min(delivered, top), min(read, top)
        if delivered <= member.delivered_seq and read <= member.read_seq:
            return
        member.delivered_seq = max(member.delivered_seq, delivered)
        member.read_seq = max(member.read_seq, read)
        member_id = member.member_id
    await events.receipt(res.bus, conversation_id, member_id, delivered, read, origin)


async def typing(res: Resources, principal: Principal, conversation_id: uuid.UUID, origin: str) -> None:
    """Tell the conversation's other connections that this member is writing (nothing is stored)."""
    member = principal.staff.id.hex if principal.staff is not None else "visitor"
    await events.typing(res.bus, conversation_id, member, TYPING_SECONDS, origin)


async def receipts(res: Resources, conversation_id: uuid.UUID) -> list[tuple[bytes, int, int]]:
    """How far each current member has received and read: (member id, delivered, read)."""
    async with res.db() as db:
        rows = await db.execute(
            select(
                ConversationMember.member_id, ConversationMember.delivered_seq, ConversationMember.read_seq
            ).where(ConversationMember.conversation_id == conversation_id)
        )
        return [(member_id, delivered, read) for member_id, delivered, read in rows]


async def messages_after(
    res: Resources, conversation_id: uuid.UUID, after: int
) -> Sequence[ConversationMessage]:
    """Stored objects with seq > after, oldest first, at most PAGE_SIZE of them."""
    async with res.db() as db:
        return (
            await db.scalars(
                select(ConversationMessage)
                .where(
                    ConversationMessage.conversation_id == conversation_id, ConversationMessage.seq > after
                )
                .order_by(ConversationMessage.seq)
                .limit(PAGE_SIZE)
            )
        ).all()


async def get(res: Resources, conversation_id: uuid.UUID) -> Conversation | None:
    """A conversation of the centre being served."""
    async with res.db() as db:
        return await db.scalar(
            select(Conversation).where(
                Conversation.id == conversation_id, in_current_centre(Conversation.centre_id)
            )
        )


# --- internals -----------------------------------------------------------------------


async def _lock(db: AsyncSession, conversation_id: uuid.UUID) -> Conversation:
    """Load the conversation for writing; PostgreSQL locks the row, SQLite holds the write lock already."""
    conversation = await db.scalar(
        select(Conversation)
        .where(Conversation.id == conversation_id, in_current_centre(Conversation.centre_id))
        .with_for_update()
    )
    if conversation is None or conversation.status == Status.DELETED:
        raise PublicError(404, NOT_FOUND, code="not_found")
    return conversation


async def _existing(db: AsyncSession, conversation_id: uuid.UUID, client_id: str) -> int | None:
    return await db.scalar(
        select(ConversationMessage.seq).where(
            ConversationMessage.conversation_id == conversation_id, ConversationMessage.client_id == client_id
        )
    )


async def _open_for_write(
    db: AsyncSession, conversation_id: uuid.UUID, client_id: str
) -> tuple[Conversation, Stored | None]:
    """Lock the conversation; if `client_id` is already stored, the earlier result (idempotency)."""
    conversation = await _lock(db, conversation_id)
    seq = await _existing(db, conversation_id, client_id)
    return conversation, (Stored(conversation_id, seq, duplicate=True) if seq is not None else None)


async def _store(
    db: AsyncSession, conversation: Conversation, routing: Routing, body: bytes, client_id: str
) -> int:
    """Append a commit that continues the log exactly (and starts the next epoch); returns its
    sequence number."""
    seq = _check_head(conversation, routing)
    head_epoch = await db.scalar(
        select(ConversationMessage.epoch).where(
            ConversationMessage.conversation_id == conversation.id,
            ConversationMessage.seq == conversation.last_seq,
        )
    )
    if head_epoch is None or routing.epoch != head_epoch + 1:  # no reader could take it
        raise PublicError(400, BAD_MESSAGE, code="bad_message")
    db.add(_entry(conversation.id, routing, body, client_id))
    _advance(conversation, routing)
    rekey.cleared_by(conversation, routing)
    return seq


class _Head(Protocol):
    """What the head check needs: a Conversation, or a row of the same columns."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def last_seq(self) -> int: ...
    @property
    def last_hash(self) -> bytes | None: ...


class _HeadRow(NamedTuple):
    id: uuid.UUID
    last_seq: int
    last_hash: bytes | None


def _check_head(conversation: _Head, routing: Routing) -> int:
    """The object must continue the log exactly: next seq, and a link to the last object."""
    if routing.conversation_id != conversation.id.bytes:
        raise PublicError(400, BAD_MESSAGE, code="bad_message")
    expected = conversation.last_seq + 1
    last_hash = conversation.last_hash or b""
    if routing.seq != expected or not hmac.compare_digest(routing.prev_hash, last_hash):
        raise PublicError(409, CONFLICT, code="conflict")
    return expected


def _advance(conversation: Conversation, routing: Routing) -> None:
    conversation.last_seq = routing.seq
    conversation.last_hash = routing.message_hash


def _entry(conversation_id: uuid.UUID, routing: Routing, body: bytes, client_id: str) -> ConversationMessage:
    return ConversationMessage(**_entry_values(conversation_id, routing, body, client_id))


def _entry_values(
    conversation_id: uuid.UUID, routing: Routing, body: bytes, client_id: str
) -> dict[str, object]:
    """A stored object's columns (all but created_at)."""
    return {
        "conversation_id": conversation_id,
        "seq": routing.seq,
        "client_id": client_id,
        "kind": int(routing.type),
        "epoch": routing.epoch,
        "sender_id": routing.sender_id,
        "message_hash": routing.message_hash,
        "body": body,
    }


async def _check_sender(
    db: AsyncSession, principal: Principal, conversation_id: uuid.UUID, routing: Routing
) -> ConversationMember:
    """The object's sender id must be the acting person's own member id in this conversation."""
    member = await access.membership(db, principal, conversation_id)
    if member is None or member.member_id != routing.sender_id:
        raise PublicError(403, NOT_ALLOWED, code="not_allowed")
    return member


async def _checked(
    db: AsyncSession, principal: Principal, conversation_id: uuid.UUID, routing: Routing, message: bytes
) -> ConversationMember:
    """Before storing (PROTOCOL.md §11): the sender is the acting member, still a current member
    of the centre if staff, and the object is signed with their key in the current epoch."""
    member = await _check_sender(db, principal, conversation_id, routing)
    if principal.staff is not None:
        await rekey.require_current_staff(db, principal.staff)
    await rekey.check_signed(db, conversation_id, member, message)
    return member


def _check_history_roles(sender: int, recipient: int | None) -> None:
    """PROTOCOL.md §8.3: interpreters never share history; only the visitor shares with one."""
    if sender == MemberRole.INTERPRETER:
        raise PublicError(403, NOT_ALLOWED, code="not_allowed")
    if recipient is None:
        raise PublicError(400, BAD_MESSAGE, code="bad_message")
    if recipient == MemberRole.INTERPRETER and sender != MemberRole.VISITOR:
        raise PublicError(403, NOT_ALLOWED, code="not_allowed")


def _lists_interpreters(routing: Routing) -> bool:
    return any(role == MemberRole.INTERPRETER for _, role in routing.members)


def _expect_commit(
    routing: Routing, staff: set[uuid.UUID], may_keep: frozenset[uuid.UUID] = frozenset()
) -> None:
    """A claim or transfer commit lists exactly the visitor and the given staff members
    (and, for a transfer, may keep interpreters who are already in the conversation)."""
    if routing.type != ObjectType.COMMIT:
        raise PublicError(400, BAD_MESSAGE, code="bad_message")
    listed = {member_uuid(m) for m, role in routing.members if role != MemberRole.VISITOR}
    visitors = [m for m, role in routing.members if role == MemberRole.VISITOR]
    if not staff <= listed or listed - staff - may_keep or len(visitors) != 1:
        raise PublicError(400, BAD_MESSAGE, code="bad_message")


async def _staff_members(db: AsyncSession, routing: Routing) -> set[uuid.UUID]:
    """The staff listed in a genesis/commit; each must have a certified key.

    Each is listed in their role at this centre (a login of another centre: the role given
    here, not their home role): interpreters as interpreters and nobody
    else as one, so the rule "only the visitor adds an interpreter" cannot be dodged.
    Deactivated accounts may still be listed (the visitor's directory can be older than the
    deactivation); they cannot log in, so they can never fetch what was wrapped to them.
    """
    listed = {member_uuid(m): role for m, role in routing.members if role != MemberRole.VISITOR}
    if not listed:
        return set()
    here = roles_at_current_centre().subquery()  # the role at this centre, not the home role
    rows = await db.execute(
        select(here.c.staff_id, here.c.role)
        .join(StaffCertificate, StaffCertificate.staff_id == here.c.staff_id)
        .where(
            here.c.staff_id.in_(listed),
            in_current_centre(StaffCertificate.centre_id),  # certified by this centre
        )
    )
    known: dict[uuid.UUID, str] = {staff_id: role for staff_id, role in rows}
    if set(known) != set(listed):
        raise PublicError(400, BAD_MESSAGE, code="bad_message")
    for staff_id, role in listed.items():
        if (role == MemberRole.INTERPRETER) != (known[staff_id] == Role.INTERPRETER):
            raise PublicError(400, BAD_MESSAGE, code="bad_message")
    return set(listed)


async def _members(db: AsyncSession, conversation_id: uuid.UUID) -> Sequence[ConversationMember]:
    return (
        await db.scalars(
            select(ConversationMember).where(ConversationMember.conversation_id == conversation_id)
        )
    ).all()


async def _staff_of(db: AsyncSession, conversation_id: uuid.UUID) -> list[uuid.UUID]:
    """The staff in the current roster (to refresh their lists of open conversations)."""
    return sorted(m.staff_id for m in await _members(db, conversation_id) if m.staff_id is not None)


async def _replace_members(
    db: AsyncSession, conversation_id: uuid.UUID, routing: Routing, staff_ids: set[uuid.UUID]
) -> None:
    """The roster becomes the commit's; read positions of members who stay are kept."""
    kept = {m.member_id: m for m in await _members(db, conversation_id)}
    await db.execute(delete(ConversationMember).where(ConversationMember.conversation_id == conversation_id))
    await db.flush()
    _set_members(db, conversation_id, routing, staff_ids)
    for member in db.new:
        if isinstance(member, ConversationMember) and member.member_id in kept:
            member.delivered_seq = kept[member.member_id].delivered_seq
            member.read_seq = kept[member.member_id].read_seq


def _set_members(
    db: AsyncSession, conversation_id: uuid.UUID, routing: Routing, staff_ids: set[uuid.UUID]
) -> None:
    keys = {k.member_id: k.sig_public for k in routing.member_keys}
    for member_id, role in routing.members:
        staff_id = None if role == MemberRole.VISITOR else member_uuid(member_id)
        if staff_id is not None and staff_id not in staff_ids:
            raise PublicError(400, BAD_MESSAGE, code="bad_message")
        db.add(
            ConversationMember(
                conversation_id=conversation_id,
                member_id=member_id,
                role=int(role),
                staff_id=staff_id,
                sig_public=keys.get(member_id),
            )
        )


async def _check_open_limit(db: AsyncSession, res: Resources, staff: StaffAccount) -> None:
    count = await db.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.counsellor_id == staff.id, Conversation.status == Status.ACTIVE)
    )
    if int(count or 0) >= res.settings.max_open_per_counsellor:
        raise PublicError(409, TOO_MANY_OPEN, code="limit_reached")
