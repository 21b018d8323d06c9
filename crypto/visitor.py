"""The visitor's side: start a conversation from the signed directory, export and resume it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from . import primitives as p
from .certificates import read_header, verify_directory
from .constants import (
    AEAD_NONCE_LEN,
    HASH_LEN,
    ID_LEN,
    KEY_LEN,
    MAX_OBJECT,
    MAX_STATE_CIPHERTEXT,
    MIN_ITERATIONS,
    SUITE,
    TAG_LEN,
    VERSION,
    ObjectType,
    Role,
)
from .conversation import Conversation, _new_genesis, _open_genesis
from .encoding import Reader, Writer, header
from .errors import ErrorCode, ProtocolError, guarded
from .identity import LocalMember, _generate_visitor, member_from_private_bytes
from .keyschedule import message_hash
from .messages import CommitMessage, parse_message
from .resume import ResumeKeys
from .trust import TrustRoot, as_trust, centre_fingerprint


@dataclass(frozen=True, repr=False)
class Created:
    """A new conversation: the client state, the genesis to send, and (optionally) the state
    export to store on the server under the resume code."""

    conversation: Conversation
    genesis: bytes
    visitor_state: bytes | None


@dataclass(frozen=True, repr=False)
class VisitorState:
    """What a resume code unlocks: the visitor's keys and what the conversation must look like.

    `pin` is the centre fingerprint the conversation was created under: the trust root given
    to `resume_conversation` must chain to it."""

    me: LocalMember
    conversation_id: bytes
    genesis_hash: bytes
    pin: bytes


def _create(
    directory: bytes,
    trust: TrustRoot | Sequence[bytes],
    now: int | None,
    resume_keys: ResumeKeys | None,
    rand: p.RandomSource,
) -> Created:
    when = int(time.time()) if now is None else now
    root = as_trust(trust)
    verified = verify_directory(directory, root.anchors, when)
    if root.centre_id is not None and root.centre_id != verified.centre_id:
        raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
    counsellors = [c for c in verified.certificates if c.role == Role.COUNSELLOR and c.valid_at(when)]
    if not counsellors:
        raise ProtocolError(ErrorCode.NO_RECIPIENTS)
    visitor = _generate_visitor(verified.centre_id, rand)
    conversation_id = rand(ID_LEN)
    genesis = _new_genesis(visitor, conversation_id, counsellors, when, p.sha256(directory), rand)
    conversation = _open_genesis(visitor, genesis, root, rand)
    state = _export(conversation, resume_keys, rand) if resume_keys is not None else None
    return Created(conversation, genesis, state)


@guarded
def create_conversation(
    directory: bytes,
    trust: TrustRoot | Sequence[bytes],
    now: int | None = None,
    resume_keys: ResumeKeys | None = None,
) -> Created:
    """Visitor starts a conversation readable by every counsellor certified in the directory,
    which must verify against the newest anchors of the centre's verified trust root."""
    if resume_keys is not None and resume_keys.iterations < MIN_ITERATIONS:
        raise ProtocolError(ErrorCode.WEAK_PARAMETERS)
    return _create(directory, trust, now, resume_keys, p.system_random)


def _state_plaintext(conversation: Conversation) -> bytes:
    me = conversation.me
    w = Writer().fixed(conversation.centre_id, ID_LEN).fixed(conversation.conversation_id, ID_LEN)
    w.fixed(me.member_id, ID_LEN)
    w.fixed(p.x25519_private_bytes(me.kem_private), KEY_LEN)
    w.fixed(p.ed25519_private_bytes(me.sig_private), KEY_LEN)
    w.fixed(conversation.genesis_hash, HASH_LEN).fixed(
        _pin_of(conversation.trust, conversation.centre_id), HASH_LEN
    )
    return w.getvalue()


def _pin_of(trust: TrustRoot, centre_id: bytes) -> bytes:
    """A verified root's pin; for a bare anchor list (old callers), its first key is the pinned one."""
    return trust.pin if trust.pin is not None else centre_fingerprint(centre_id, trust.anchors[0])


def _export(conversation: Conversation, keys: ResumeKeys, rand: p.RandomSource) -> bytes:
    if conversation.me.role != Role.VISITOR or keys.centre_id != conversation.centre_id:
        raise ProtocolError(ErrorCode.MALFORMED)
    plaintext = _state_plaintext(conversation)
    nonce = rand(AEAD_NONCE_LEN)
    head = Writer().raw(header(ObjectType.VISITOR_STATE, VERSION, SUITE)).u32(keys.iterations)
    head.fixed(nonce, AEAD_NONCE_LEN).u32(len(plaintext) + TAG_LEN)
    aad = head.getvalue()
    return aad + p.aead_seal(keys.state_key, nonce, plaintext, aad)


@guarded
def export_visitor_state(conversation: Conversation, keys: ResumeKeys) -> bytes:
    """The visitor's keys sealed under the resume code's state key (stored by the server)."""
    if keys.iterations < MIN_ITERATIONS:
        raise ProtocolError(ErrorCode.WEAK_PARAMETERS)
    return _export(conversation, keys, p.system_random)


def _import(blob: bytes, keys: ResumeKeys, min_iterations: int) -> VisitorState:
    if len(blob) > MAX_OBJECT:
        raise ProtocolError(ErrorCode.OVERSIZE)
    r = Reader(blob)
    read_header(r, ObjectType.VISITOR_STATE)
    iterations = r.u32()
    nonce = r.take(AEAD_NONCE_LEN)
    ct_len = r.u32()
    if ct_len > MAX_STATE_CIPHERTEXT:
        raise ProtocolError(ErrorCode.OVERSIZE)
    aad = r.consumed()
    ciphertext = r.take(ct_len)
    r.finish()
    if iterations < min_iterations or iterations != keys.iterations:
        raise ProtocolError(ErrorCode.WEAK_PARAMETERS)
    s = Reader(p.aead_open(keys.state_key, nonce, ciphertext, aad))
    centre_id = s.take(ID_LEN)
    conversation_id = s.take(ID_LEN)
    member_id = s.take(ID_LEN)
    kem_private = s.take(KEY_LEN)
    sig_private = s.take(KEY_LEN)
    genesis_hash = s.take(HASH_LEN)
    pin = s.take(HASH_LEN)
    s.finish()
    if not p.ct_equal(centre_id, keys.centre_id):
        raise ProtocolError(ErrorCode.WRONG_CONVERSATION)
    me = member_from_private_bytes(member_id, Role.VISITOR, centre_id, kem_private, sig_private)
    return VisitorState(me, conversation_id, genesis_hash, pin)


@guarded
def import_visitor_state(blob: bytes, keys: ResumeKeys) -> VisitorState:
    """Open a state export; BAD_TAG means the code does not match this record."""
    return _import(blob, keys, MIN_ITERATIONS)


def _pinned_issuer(state: VisitorState, genesis: bytes) -> list[bytes]:
    """Old callers give no trust root: the anchor is then the genesis certificates' issuer whose
    fingerprint is the sealed pin (BAD_ROOT if none is: after a rotation, pass the root)."""
    msg = parse_message(genesis)
    if not isinstance(msg, CommitMessage):
        raise ProtocolError(ErrorCode.MALFORMED)
    for m in msg.members:
        if m.certificate is not None:
            issuer = m.certificate.issuer
            if p.ct_equal(centre_fingerprint(state.me.centre_id, issuer), state.pin):
                return [issuer]
    raise ProtocolError(ErrorCode.BAD_ROOT)


def _resume(
    state: VisitorState, genesis: bytes, trust: TrustRoot | Sequence[bytes] | None, rand: p.RandomSource
) -> Conversation:
    root = as_trust(_pinned_issuer(state, genesis) if trust is None else trust)
    if not p.ct_equal(_pin_of(root, state.me.centre_id), state.pin):
        raise ProtocolError(ErrorCode.BAD_ROOT)
    if not p.ct_equal(message_hash(genesis), state.genesis_hash):
        raise ProtocolError(ErrorCode.FORK)
    conversation = _open_genesis(state.me, genesis, root, rand)
    if conversation.visitor_id != state.me.member_id:
        raise ProtocolError(ErrorCode.NOT_A_MEMBER)
    return conversation


@guarded
def resume_conversation(
    state: VisitorState, genesis: bytes, trust: TrustRoot | Sequence[bytes] | None = None
) -> Conversation:
    """Rebuild the visitor's conversation from its genesis under the centre's trust root, which
    must chain to the pin sealed in the state (BAD_ROOT otherwise; a bare anchor list stands for
    a root whose pinned anchor is its first key, and without one the pinned anchor must have issued
    a certificate in the genesis); feed every later message to `receive` in order (the visitor's
    key opens every epoch, so nothing needs sharing)."""
    return _resume(state, genesis, trust, p.system_random)
