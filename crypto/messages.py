"""Wire layouts of conversation messages: genesis, commit, application and history bundle.

Parsing here is purely structural (lengths, bounds, canonical order); signatures, membership
and keys are checked by `conversation.Conversation.receive`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .certificates import Certificate, parse_certificate
from .constants import (
    CIPHERTEXT_SIZES,
    HASH_LEN,
    ID_LEN,
    KEY_LEN,
    KEY_NONCE_LEN,
    MAX_CERTIFICATE,
    MAX_HISTORY_EPOCHS,
    MAX_MEMBERS,
    MAX_OBJECT,
    SECRET_LEN,
    SIG_LEN,
    SUITE,
    TAG_LEN,
    VERSION,
    WRAP_LEN,
    ZERO_HASH,
    ObjectType,
    Role,
)
from .encoding import Reader, Writer
from .errors import ErrorCode, ProtocolError, guarded

CONVERSATION_TYPES = (
    ObjectType.GENESIS,
    ObjectType.COMMIT,
    ObjectType.APPLICATION,
    ObjectType.HISTORY,
    ObjectType.KEY_REQUEST,
)
REQUEST_REASONS = (1, 2)  # 1: I hold no secret for this epoch; 2: a history bundle for me failed
MAX_CIPHERTEXT = max(CIPHERTEXT_SIZES)


@dataclass(frozen=True)
class MemberEntry:
    """One member of an epoch as listed in a genesis or commit; `raw` is its encoding."""

    member_id: bytes
    role: Role
    kem_public: bytes
    sig_public: bytes
    certificate: Certificate | None
    raw: bytes


@dataclass(frozen=True)
class Envelope:
    """The clear routing fields every conversation message starts with."""

    type: ObjectType
    conversation_id: bytes
    epoch: int
    seq: int
    sender_id: bytes
    prev_hash: bytes


@dataclass(frozen=True)
class CommitMessage:
    """A genesis (epoch 0) or a commit starting a new epoch."""

    envelope: Envelope
    created_at: int
    directory_hash: bytes | None  # genesis only: SHA-256 of the directory it was made from
    members: tuple[MemberEntry, ...]
    wraps: tuple[bytes, ...]
    confirmation: bytes
    confirm_input: bytes
    tbs: bytes
    signature: bytes
    raw: bytes


@dataclass(frozen=True)
class ApplicationMessage:
    envelope: Envelope
    key_nonce: bytes
    ciphertext: bytes
    aad: bytes
    tbs: bytes
    signature: bytes
    raw: bytes


@dataclass(frozen=True)
class HistoryMessage:
    envelope: Envelope
    recipient_id: bytes
    epochs: tuple[int, ...]
    enc: bytes
    ciphertext: bytes
    info_context: bytes
    tbs: bytes
    signature: bytes
    raw: bytes


@dataclass(frozen=True)
class KeyRequestMessage:
    """A member asks for a re-key (or a history bundle again) without needing any key."""

    envelope: Envelope
    reason: int
    ref_seq: int
    tbs: bytes
    signature: bytes
    raw: bytes


Message = CommitMessage | ApplicationMessage | HistoryMessage | KeyRequestMessage


def encode_visitor_entry(member_id: bytes, kem_public: bytes, sig_public: bytes) -> bytes:
    return (
        Writer()
        .u8(Role.VISITOR)
        .fixed(member_id, ID_LEN)
        .fixed(kem_public, KEY_LEN)
        .fixed(sig_public, KEY_LEN)
        .getvalue()
    )


def encode_staff_entry(cert: Certificate) -> bytes:
    return Writer().u8(cert.role).opaque(cert.raw, 2).getvalue()


def encode_envelope(env: Envelope) -> bytes:
    w = Writer().u8(VERSION).u8(SUITE).u8(env.type)
    w.fixed(env.conversation_id, ID_LEN).u32(env.epoch).u32(env.seq)
    w.fixed(env.sender_id, ID_LEN).fixed(env.prev_hash, HASH_LEN)
    return w.getvalue()


def _read_entry(r: Reader) -> MemberEntry:
    start = r.position
    role_byte = r.u8()
    if role_byte == Role.VISITOR:
        member_id = r.take(ID_LEN)
        kem_public = r.take(KEY_LEN)
        sig_public = r.take(KEY_LEN)
        return MemberEntry(member_id, Role.VISITOR, kem_public, sig_public, None, r.consumed(start))
    if role_byte not in (Role.COUNSELLOR, Role.INTERPRETER):
        raise ProtocolError(ErrorCode.MALFORMED)
    cert = parse_certificate(r.opaque(2, MAX_CERTIFICATE))
    if cert.role != role_byte:
        raise ProtocolError(ErrorCode.MALFORMED)
    return MemberEntry(cert.staff_id, cert.role, cert.kem_public, cert.sig_public, cert, r.consumed(start))


def read_envelope(r: Reader) -> Envelope:
    """Header fields in wire order; version before suite before type."""
    if r.u8() != VERSION:
        raise ProtocolError(ErrorCode.UNSUPPORTED_VERSION)
    if r.u8() != SUITE:
        raise ProtocolError(ErrorCode.UNSUPPORTED_SUITE)
    type_byte = r.u8()
    if type_byte not in CONVERSATION_TYPES:
        raise ProtocolError(ErrorCode.MALFORMED)
    return Envelope(
        type=ObjectType(type_byte),
        conversation_id=r.take(ID_LEN),
        epoch=r.u32(),
        seq=r.u32(),
        sender_id=r.take(ID_LEN),
        prev_hash=r.take(HASH_LEN),
    )


def _parse_commit(r: Reader, env: Envelope, data: bytes) -> CommitMessage:
    created_at = r.u64()
    directory_hash = r.take(HASH_LEN) if env.type == ObjectType.GENESIS else None
    count = r.u16()
    if count > MAX_MEMBERS:
        raise ProtocolError(ErrorCode.OVERSIZE)
    if count == 0:
        raise ProtocolError(ErrorCode.MALFORMED)
    members = tuple(_read_entry(r) for _ in range(count))
    wraps = tuple(r.take(WRAP_LEN) for _ in range(count))
    confirm_input = r.consumed()
    confirmation = r.take(HASH_LEN)
    tbs = r.consumed()
    signature = r.take(SIG_LEN)
    r.finish()
    ids = [m.member_id for m in members]
    if ids != sorted(set(ids)) or sum(m.role == Role.VISITOR for m in members) != 1:
        raise ProtocolError(ErrorCode.MALFORMED)
    if env.type == ObjectType.GENESIS:
        visitor = next(m for m in members if m.role == Role.VISITOR)
        staff_roles = {m.role for m in members if m.role != Role.VISITOR}
        if (
            env.epoch != 0
            or env.seq != 0
            or env.prev_hash != ZERO_HASH
            or env.sender_id != visitor.member_id
            or staff_roles != {Role.COUNSELLOR}
        ):
            raise ProtocolError(ErrorCode.MALFORMED)
    return CommitMessage(
        env, created_at, directory_hash, members, wraps, confirmation, confirm_input, tbs, signature, data
    )


def _parse_application(r: Reader, env: Envelope, data: bytes) -> ApplicationMessage:
    key_nonce = r.take(KEY_NONCE_LEN)
    ct_len = r.u32()
    if ct_len > MAX_CIPHERTEXT:
        raise ProtocolError(ErrorCode.OVERSIZE)
    if ct_len not in CIPHERTEXT_SIZES:
        raise ProtocolError(ErrorCode.MALFORMED)
    aad = r.consumed()
    ciphertext = r.take(ct_len)
    tbs = r.consumed()
    signature = r.take(SIG_LEN)
    r.finish()
    return ApplicationMessage(env, key_nonce, ciphertext, aad, tbs, signature, data)


def _parse_history(r: Reader, env: Envelope, data: bytes) -> HistoryMessage:
    recipient_id = r.take(ID_LEN)
    count = r.u16()
    if count > MAX_HISTORY_EPOCHS:
        raise ProtocolError(ErrorCode.OVERSIZE)
    if count == 0:
        raise ProtocolError(ErrorCode.MALFORMED)
    epochs = tuple(r.u32() for _ in range(count))
    info_context = r.consumed()
    enc = r.take(KEY_LEN)
    ciphertext = r.take(count * SECRET_LEN + TAG_LEN)
    tbs = r.consumed()
    signature = r.take(SIG_LEN)
    r.finish()
    if list(epochs) != sorted(set(epochs)) or recipient_id == env.sender_id:
        raise ProtocolError(ErrorCode.MALFORMED)
    return HistoryMessage(env, recipient_id, epochs, enc, ciphertext, info_context, tbs, signature, data)


def _parse_request(r: Reader, env: Envelope, data: bytes) -> KeyRequestMessage:
    reason = r.u8()
    ref_seq = r.u32()
    tbs = r.consumed()
    signature = r.take(SIG_LEN)
    r.finish()
    if reason not in REQUEST_REASONS or ref_seq >= env.seq:
        raise ProtocolError(ErrorCode.MALFORMED)
    return KeyRequestMessage(env, reason, ref_seq, tbs, signature, data)


def parse_message(data: bytes) -> Message:
    """Structural parse of any conversation message (bounds first, then fields in order)."""
    if len(data) > MAX_OBJECT:
        raise ProtocolError(ErrorCode.OVERSIZE)
    data = bytes(data)
    r = Reader(data)
    env = read_envelope(r)
    if env.type in (ObjectType.GENESIS, ObjectType.COMMIT):
        return _parse_commit(r, env, data)
    if env.type == ObjectType.APPLICATION:
        return _parse_application(r, env, data)
    if env.type == ObjectType.KEY_REQUEST:
        return _parse_request(r, env, data)
    return _parse_history(r, env, data)


@guarded
def parse_proposal(body: bytes) -> tuple[int, bytes]:
    """Body of a PROPOSAL application payload: (1, certificate) to add or (2, member id) to remove."""
    r = Reader(body)
    action = r.u8()
    if action == 1:
        value = r.opaque(2, MAX_CERTIFICATE)
        parse_certificate(value)
    elif action == 2:
        value = r.take(ID_LEN)
    else:
        raise ProtocolError(ErrorCode.MALFORMED)
    r.finish()
    return action, value


@guarded
def encode_add_proposal(certificate: bytes) -> bytes:
    parse_certificate(certificate)
    return Writer().u8(1).opaque(certificate, 2).getvalue()


@guarded
def encode_remove_proposal(member_id: bytes) -> bytes:
    return Writer().u8(2).fixed(member_id, ID_LEN).getvalue()
