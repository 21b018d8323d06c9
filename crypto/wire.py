"""What the server may read and check without keys (PROTOCOL.md §11): routing fields, membership
lists, the sender's signature and the claimed time of commits."""

from __future__ import annotations

from dataclasses import dataclass

from . import primitives as p
from .certificates import Directory
from .constants import MAX_CLOCK_SKEW, ObjectType, Role
from .errors import ErrorCode, ProtocolError, guarded
from .keyschedule import message_hash, signature_input
from .messages import (
    ApplicationMessage,
    CommitMessage,
    HistoryMessage,
    KeyRequestMessage,
    Message,
    parse_message,
)

_SIGNATURE_KIND = {
    ObjectType.GENESIS: "genesis",
    ObjectType.COMMIT: "commit",
    ObjectType.APPLICATION: "application",
    ObjectType.HISTORY: "history",
    ObjectType.KEY_REQUEST: "request",
}


@dataclass(frozen=True)
class MemberKeys:
    """A member of the epoch a genesis or commit starts, with the keys the server may check."""

    member_id: bytes
    role: Role
    sig_public: bytes
    kem_public: bytes
    certificate: bytes | None


@dataclass(frozen=True)
class Routing:
    """Clear fields of a conversation message, for storage, ordering and delivery."""

    type: ObjectType
    conversation_id: bytes
    epoch: int
    seq: int
    sender_id: bytes
    prev_hash: bytes
    message_hash: bytes
    members: tuple[tuple[bytes, Role], ...] = ()  # genesis/commit: (member id, role)
    history_recipient: bytes | None = None
    created_at: int | None = None  # genesis/commit: the committer's claimed time
    directory_hash: bytes | None = None  # genesis: the directory it was made from
    member_keys: tuple[MemberKeys, ...] = ()  # genesis/commit: the new epoch's public keys


def _routing(msg: Message) -> Routing:
    env = msg.envelope
    members: tuple[tuple[bytes, Role], ...] = ()
    keys: tuple[MemberKeys, ...] = ()
    recipient = None
    created_at = directory_hash = None
    if isinstance(msg, CommitMessage):
        members = tuple((m.member_id, m.role) for m in msg.members)
        keys = tuple(
            MemberKeys(
                m.member_id, m.role, m.sig_public, m.kem_public, m.certificate.raw if m.certificate else None
            )
            for m in msg.members
        )
        created_at, directory_hash = msg.created_at, msg.directory_hash
    elif isinstance(msg, HistoryMessage):
        recipient = msg.recipient_id
    return Routing(
        type=env.type,
        conversation_id=env.conversation_id,
        epoch=env.epoch,
        seq=env.seq,
        sender_id=env.sender_id,
        prev_hash=env.prev_hash,
        message_hash=message_hash(msg.raw),
        members=members,
        history_recipient=recipient,
        created_at=created_at,
        directory_hash=directory_hash,
        member_keys=keys,
    )


@guarded
def peek(data: bytes) -> Routing:
    """Parse the structure (no signature or key check) and return the routing fields.

    The server accepts a message for (conversation_id, seq) only if seq is the next number and
    prev_hash is the message_hash of the message it stored at seq - 1.
    """
    return _routing(parse_message(data))


@guarded
def verify_sender_signature(data: bytes, sig_public: bytes | None = None) -> Routing:
    """Check a message's signature against its sender's Ed25519 key, as the server knows it from
    the transcript (the member lists of the genesis and commits: `Routing.member_keys`).

    For a genesis the key is the visitor entry's own and `sig_public` may be omitted (if given it
    must be that key). BAD_SIGNATURE means a forgery: refuse to store it.
    """
    msg = parse_message(data)
    signed = msg.tbs
    if isinstance(msg, CommitMessage) and msg.envelope.type == ObjectType.GENESIS:
        own = next(m.sig_public for m in msg.members if m.member_id == msg.envelope.sender_id)
        if sig_public is not None and sig_public != own:
            raise ProtocolError(ErrorCode.BAD_SIGNATURE)
        sig_public = own
    if sig_public is None:
        raise ProtocolError(ErrorCode.MALFORMED)
    assert isinstance(msg, CommitMessage | ApplicationMessage | HistoryMessage | KeyRequestMessage)
    kind = _SIGNATURE_KIND[msg.envelope.type]
    if not p.ed25519_verify(sig_public, msg.signature, signature_input(kind, signed)):
        raise ProtocolError(ErrorCode.BAD_SIGNATURE)
    return _routing(msg)


@guarded
def check_claimed_time(data: bytes, now: int, max_skew: int = MAX_CLOCK_SKEW) -> Routing:
    """Server side: refuse a genesis or commit whose created_at is more than `max_skew` seconds
    from the server's clock `now` (BAD_TIME). Other message types carry no time and pass."""
    routing = peek(data)
    if routing.created_at is not None and abs(routing.created_at - now) > max_skew:
        raise ProtocolError(ErrorCode.BAD_TIME)
    return routing


@guarded
def check_listed_members(data: bytes, directory: Directory, now: int) -> Routing:
    """Server side: refuse a commit (or genesis) that lists a staff member who is not in the
    centre's current verified `directory` byte for byte, or not valid at `now` (BAD_CERTIFICATE);
    the same rule live receivers apply (PROTOCOL.md §8.2 rule 10). Other types pass."""
    msg = parse_message(data)
    if isinstance(msg, CommitMessage):
        if not directory.issued_at <= now <= directory.expires_at:
            raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
        listed = {c.raw for c in directory.certificates}
        for m in msg.members:
            cert = m.certificate
            if cert is not None and (
                cert.raw not in listed or cert.centre_id != directory.centre_id or not cert.valid_at(now)
            ):
                raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
    return _routing(msg)
