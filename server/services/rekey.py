"""Revocation that re-keys, and what the server checks on everything a member stores
(PROTOCOL.md §8.5, §9.7, §11).

Before a protocol object is stored:

- its signature must verify under the key the transcript gives its sender (the member's
  entry in the latest genesis or commit; the visitor's own entry for a genesis) —
  `bad_signature`;
- a genesis or commit must claim a time within MAX_CLOCK_SKEW of the server's clock —
  `bad_time` — and a commit may list only staff whose accounts are active and whose
  certificates the current directory lists, byte for byte, valid now — `bad_certificate`;
- a staff member may store nothing once they are no longer a current member of the centre
  (deactivated, not in the current directory, certificate expired) — `revoked`.

A member who must go (the same three causes) is taken out of every conversation they are in
by the conversation's own members: the server marks the conversation (`rekey_needed_at`),
tells its online members (`rekey_needed` frame, with who must go), and the next online client
of a remaining visitor or counsellor commits a re-key without them (or re-wraps the queue
epoch, if the conversation is still queued).  The first commit stored clears the mark: the
server refuses commits that keep someone who must go, so any stored commit has done it.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Select, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.certificates import Directory, parse_directory
from crypto.constants import ObjectType
from crypto.constants import Role as MemberRole
from crypto.errors import ProtocolError
from crypto.wire import Routing, check_claimed_time, check_listed_members, peek, verify_sender_signature
from server import access
from server.errors import PublicError
from server.i18n import N_
from server.models import (
    CentreDirectory,
    CentreStaff,
    Conversation,
    ConversationMember,
    ConversationMessage,
    StaffAccount,
    Status,
    staff_of_current_centre,
    utcnow,
)
from server.models.centre import in_current_centre
from server.realtime import events
from server.resources import Resources

log = logging.getLogger("trygg.rekey")

BAD_SIGNATURE = N_("The message is not signed by its sender.")
BAD_TIME = N_("The time on this change is too far from the server's clock. Check this device's clock.")
BAD_CERTIFICATE = N_("This change lists someone who is no longer a member of the centre.")
REVOKED = N_("You are no longer a member of the centre's staff directory.")
MEMBERSHIP_TYPES = (int(ObjectType.GENESIS), int(ObjectType.COMMIT))


# --- the current directory ---------------------------------------------------------------------


@lru_cache(maxsize=8)
def _parsed(signed: bytes) -> Directory | None:
    """A published directory (verified against the anchors when it was published)."""
    try:
        return parse_directory(signed)
    except ProtocolError:
        return None


async def current_directory(db: AsyncSession, centre: uuid.UUID | None = None) -> Directory | None:
    """The newest directory of `centre` (default: the centre being served)."""
    scope = (
        in_current_centre(CentreDirectory.centre_id)
        if centre is None
        else CentreDirectory.centre_id == centre
    )
    signed = await db.scalar(
        select(CentreDirectory.signed).where(scope).order_by(CentreDirectory.serial.desc()).limit(1)
    )
    return _parsed(signed) if signed is not None else None


def listed_now(directory: Directory | None, staff_id: uuid.UUID, now: int) -> bool:
    """The newest published directory lists a certificate for this person valid now.

    The edition's own expiry is not held against its members: a directory the admin has not
    re-signed in time (the admin pages warn before it lapses) must not end every conversation.
    Commits still need an edition valid now (`check_commit`, PROTOCOL.md §8.2 rule 10).
    """
    if directory is None:
        return False
    return any(c.staff_id == staff_id.bytes and c.valid_at(now) for c in directory.certificates)


def acceptable_now(directory: Directory | None, certificate: bytes, now: int) -> bool:
    """This exact certificate is listed in the newest published directory and valid now (§8.5)."""
    if directory is None:
        return False
    return any(c.raw == certificate and c.valid_at(now) for c in directory.certificates)


# --- checks before storing ---------------------------------------------------------------------


async def require_current_staff(db: AsyncSession, staff: StaffAccount, now: int | None = None) -> None:
    """A staff member stores nothing once deactivated, unlisted or expired (`revoked`)."""
    when = int(time.time()) if now is None else now
    account = await db.get(StaffAccount, staff.id)
    listed = listed_now(await current_directory(db), staff.id, when)
    if account is None or not access.may_write_as_staff(account, listed):
        raise PublicError(403, REVOKED, code="revoked")


async def require_current(res: Resources, staff: StaffAccount) -> None:
    """`require_current_staff` in a session of its own: for frames that read a conversation
    (`sync`) or change it without storing an object (`close`, `offer_move`)."""
    async with res.db() as db:
        await require_current_staff(db, staff)


def check_genesis(message: bytes, now: int | None = None) -> Routing:
    """A visitor's genesis: signed by the visitor entry's own key, dated near the server's clock."""
    try:
        verify_sender_signature(message)
    except ProtocolError:
        raise PublicError(400, BAD_SIGNATURE, code="bad_signature") from None
    return _check_time(message, now)


async def check_signed(
    db: AsyncSession, conversation_id: uuid.UUID, member: ConversationMember, message: bytes
) -> None:
    """The object is signed by its sender's key in the current epoch (`bad_signature`)."""
    key = member.sig_public or await _key_from_transcript(db, conversation_id, member.member_id)
    verify_signed(key, message)


def verify_signed(key: bytes, message: bytes) -> None:
    """`message` carries a valid signature by `key` (`bad_signature`)."""
    try:
        verify_sender_signature(message, key)
    except ProtocolError:
        raise PublicError(400, BAD_SIGNATURE, code="bad_signature") from None


async def check_commit(db: AsyncSession, message: bytes, routing: Routing, now: int | None = None) -> None:
    """A commit: its claimed time near the server's clock, and nobody listed who must go."""
    when = int(time.time()) if now is None else now
    _check_time(message, when)
    staff = [uuid.UUID(bytes=m) for m, role in routing.members if role != MemberRole.VISITOR]
    if not staff:
        return
    directory = await current_directory(db)
    if directory is None:
        raise PublicError(400, BAD_CERTIFICATE, code="bad_certificate")
    try:
        check_listed_members(message, directory, when)
    except ProtocolError:
        raise PublicError(400, BAD_CERTIFICATE, code="bad_certificate") from None
    active = set(
        await db.scalars(
            select(StaffAccount.id).where(StaffAccount.id.in_(staff), StaffAccount.is_active.is_(True))
        )
    )
    if active != set(staff):
        raise PublicError(400, BAD_CERTIFICATE, code="bad_certificate")


def _check_time(message: bytes, now: int | None) -> Routing:
    try:
        return check_claimed_time(message, int(time.time()) if now is None else now)
    except ProtocolError:
        raise PublicError(400, BAD_TIME, code="bad_time") from None


def latest_membership_query(conversation_id: uuid.UUID) -> Select[bytes]:
    """The body of the conversation's newest genesis or commit."""
    return (
        select(ConversationMessage.body)
        .where(
            ConversationMessage.conversation_id == conversation_id,
            ConversationMessage.kind.in_(MEMBERSHIP_TYPES),
        )
        .order_by(ConversationMessage.seq.desc())
        .limit(1)
    )


def _membership(body: bytes | None) -> Routing | None:
    if body is None:
        return None
    try:
        return peek(body)
    except ProtocolError:  # stored after it was checked; belt and braces
        return None


async def _latest_membership(db: AsyncSession, conversation_id: uuid.UUID) -> Routing | None:
    return _membership(await db.scalar(latest_membership_query(conversation_id)))


def key_in_membership(body: bytes | None, member_id: bytes) -> bytes:
    """A member's signing key as the newest genesis or commit lists it (`bad_signature` if not)."""
    routing = _membership(body)
    keys = {k.member_id: k.sig_public for k in routing.member_keys} if routing else {}
    if member_id not in keys:
        raise PublicError(400, BAD_SIGNATURE, code="bad_signature")
    return keys[member_id]


async def _key_from_transcript(db: AsyncSession, conversation_id: uuid.UUID, member_id: bytes) -> bytes:
    """For rows stored before the server kept each member's key: read it from the transcript."""
    return key_in_membership(await db.scalar(latest_membership_query(conversation_id)), member_id)


# --- who must go, and the mark -----------------------------------------------------------------


@dataclass(frozen=True)
class Needed:
    """A conversation that must re-key without `members` (member ids): by a re-key that keeps
    everyone else (`rekey`), or, when it is queued or its own counsellor must go, by
    re-wrapping the queue epoch to the counsellors certified now (`requeue`)."""

    conversation_id: uuid.UUID
    action: str
    members: tuple[bytes, ...]
    renewed: tuple[bytes, ...] = ()  # of `members`: the directory lists a new certificate for them


async def must_go(
    db: AsyncSession,
    conversation_id: uuid.UUID,
    directory: Directory | None,
    now: int,
    centre: uuid.UUID | None = None,
) -> tuple[bytes, ...]:
    """Staff of the current epoch who must go (§8.5), and those whose accounts are deactivated
    (or, given the conversation's centre, who no longer work there)."""
    gone, _ = await _leaving(db, conversation_id, directory, now, centre)
    return gone


async def _leaving(
    db: AsyncSession,
    conversation_id: uuid.UUID,
    directory: Directory | None,
    now: int,
    centre: uuid.UUID | None = None,
) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """Who must go, and which of them the directory certifies anew (same person and role, a new
    certificate valid now: a re-key renews them instead of removing them).  With the
    conversation's centre, whoever no longer works there (their role removed) goes too."""
    routing = await _latest_membership(db, conversation_id)
    if routing is None:
        return (), ()
    staff = [k for k in routing.member_keys if k.certificate is not None]
    if not staff:
        return (), ()
    ids = [uuid.UUID(bytes=k.member_id) for k in staff]
    still = select(StaffAccount.id).where(StaffAccount.id.in_(ids), StaffAccount.is_active.is_(True))
    if centre is not None:
        still = still.where(
            StaffAccount.id.in_(
                union(
                    select(StaffAccount.id).where(StaffAccount.centre_id == centre),
                    select(CentreStaff.staff_id).where(CentreStaff.centre_id == centre),
                )
            )
        )
    active = set(await db.scalars(still))
    gone = tuple(
        k.member_id
        for k in staff
        if uuid.UUID(bytes=k.member_id) not in active
        or not acceptable_now(directory, k.certificate or b"", now)
    )
    renewed = tuple(
        k.member_id
        for k in staff
        if k.member_id in gone
        and uuid.UUID(bytes=k.member_id) in active
        and directory is not None
        and any(
            c.staff_id == k.member_id and c.role == k.role and acceptable_now(directory, c.raw, now)
            for c in directory.certificates
        )
    )
    return gone, renewed


async def needed(res: Resources, conversation_id: uuid.UUID) -> Needed | None:
    """Whether this conversation must re-key now (marked if so): for a client that syncs.

    Checked in a read transaction first: the write lock (`mark`, which checks again) is taken
    only when the conversation must re-key, not on every `sync`."""
    async with res.db() as db:
        query = _open_conversations(None, [conversation_id])
        if not await _needing(db, (await db.scalars(query)).all(), int(time.time())):
            return None
    found = await mark(res, conversation_ids=[conversation_id], publish=False)
    return found[0] if found else None


async def mark(
    res: Resources,
    staff_ids: Iterable[uuid.UUID] | None = None,
    conversation_ids: Sequence[uuid.UUID] | None = None,
    publish: bool = True,
    only_new: bool = False,
) -> list[Needed]:
    """Mark the open conversations (of these staff, or these, or all) that must re-key, and tell
    their online members (after the commit)."""
    found: list[Needed] = []
    async with res.db.begin() as db:
        conversations = (await db.scalars(_open_conversations(staff_ids, conversation_ids))).all()
        for conversation, item in await _needing(db, conversations, int(time.time())):
            if conversation.rekey_needed_at is not None and only_new:
                continue  # already marked (and told) before
            if conversation.rekey_needed_at is None:
                conversation.rekey_needed_at = utcnow()
            found.append(item)
    if publish:
        for item in found:
            gone_hex, renewed_hex = [m.hex() for m in item.members], [m.hex() for m in item.renewed]
            await events.rekey_needed(res.bus, item.conversation_id, gone_hex, renewed_hex, item.action)
    return found


def _open_conversations(
    staff_ids: Iterable[uuid.UUID] | None, conversation_ids: Sequence[uuid.UUID] | None
) -> Select[Conversation]:
    """The open conversations (of these staff, or these, or all)."""
    query = select(Conversation).where(Conversation.status.in_((Status.QUEUED.value, Status.ACTIVE.value)))
    if conversation_ids is not None:
        query = query.where(Conversation.id.in_(conversation_ids))
    if staff_ids is not None:
        members = select(ConversationMember.conversation_id).where(
            ConversationMember.staff_id.in_(list(staff_ids))
        )
        query = query.where(Conversation.id.in_(members))
    return query


async def _needing(
    db: AsyncSession, conversations: Sequence[Conversation], now: int
) -> list[tuple[Conversation, Needed]]:
    """Those of `conversations` someone must leave now, each with what its members must do."""
    directories: dict[uuid.UUID, Directory | None] = {}  # each conversation's own centre's
    found = []
    for conversation in conversations:
        centre = conversation.centre_id
        if centre not in directories:
            directories[centre] = await current_directory(db, centre)
        gone, renewed = await _leaving(db, conversation.id, directories[centre], now, centre)
        if gone:
            removed = [m for m in gone if m not in renewed]
            found.append(
                (conversation, Needed(conversation.id, action_for(conversation, removed), gone, renewed))
            )
    return found


async def sweep(res: Resources) -> None:
    """Certificates expire while nobody acts: every `rekey_sweep_seconds`, mark the open
    conversations someone must now leave and tell their online members (each process sweeps;
    marking is idempotent, and a conversation already marked is not announced again)."""
    while True:
        await asyncio.sleep(res.settings.rekey_sweep_seconds)
        try:
            await mark(res, only_new=True)
        except Exception:  # the next sweep tries again; the log line names no conversation
            log.exception("the re-key sweep failed")


def action_for(conversation: Conversation, removed: Sequence[bytes]) -> str:
    owner = conversation.counsellor_id
    if conversation.status == Status.QUEUED or (owner is not None and owner.bytes in removed):
        return "requeue"
    return "rekey"


async def owner_must_go(db: AsyncSession, conversation: Conversation) -> bool:
    """The conversation's own counsellor is deactivated or no longer a current member."""
    if conversation.counsellor_id is None:
        return False
    gone = await must_go(
        db, conversation.id, await current_directory(db), int(time.time()), conversation.centre_id
    )
    return conversation.counsellor_id.bytes in gone


def cleared_by(conversation: Conversation, routing: Routing) -> None:
    """A stored commit starts an epoch without anyone who must go (check_commit saw to it)."""
    if routing.type == ObjectType.COMMIT:
        conversation.rekey_needed_at = None


async def queue_counsellors(db: AsyncSession, now: int | None = None) -> set[uuid.UUID]:
    """Who a re-wrapped queue epoch must list (`requeue`, §8.5): every counsellor the current
    directory lists and certifies now, whose account is active and who still works here."""
    when = int(time.time()) if now is None else now
    directory = await current_directory(db)
    if directory is None or not directory.issued_at <= when <= directory.expires_at:
        return set()
    listed = {
        uuid.UUID(bytes=c.staff_id)
        for c in directory.certificates
        if c.role == MemberRole.COUNSELLOR and c.valid_at(when)
    }
    if not listed:
        return set()
    return set(
        await db.scalars(
            select(StaffAccount.id).where(
                StaffAccount.id.in_(listed),
                StaffAccount.is_active.is_(True),
                StaffAccount.id.in_(staff_of_current_centre()),  # not one whose role here was removed
            )
        )
    )
