"""A conversation as one member's client sees it: the receiver state machine and outgoing messages.

State changes only through `receive`: a client encrypts or commits against its current state,
sends the bytes, and applies them when the server echoes them back in order. A message the
server refused (another one took that sequence number) is simply built again after catching up.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from . import hpke
from . import primitives as p
from .certificates import Certificate, check_anchors, check_certificate, parse_certificate
from .constants import (
    ID_LEN,
    MAX_HISTORY_EPOCHS,
    MAX_MEMBERS,
    SECRET_LEN,
    ZERO_HASH,
    ObjectType,
    Role,
)
from .encoding import Writer
from .errors import ErrorCode, ProtocolError, guarded
from .identity import LocalMember
from .keyschedule import (
    confirmation,
    history_info,
    message_hash,
    message_key,
    signature_input,
    wrap_info,
)
from .messages import (
    ApplicationMessage,
    CommitMessage,
    Envelope,
    HistoryMessage,
    MemberEntry,
    encode_envelope,
    encode_staff_entry,
    encode_visitor_entry,
    parse_message,
)
from .padding import pad, unpad


class MessageKind(enum.StrEnum):
    GENESIS = "genesis"
    COMMIT = "commit"
    APPLICATION = "application"
    HISTORY = "history"


_KIND = {
    ObjectType.GENESIS: MessageKind.GENESIS,
    ObjectType.COMMIT: MessageKind.COMMIT,
    ObjectType.APPLICATION: MessageKind.APPLICATION,
    ObjectType.HISTORY: MessageKind.HISTORY,
}


@dataclass(frozen=True)
class MemberInfo:
    """A member of an epoch, for display (name, role, fingerprint input)."""

    member_id: bytes
    role: Role
    display_name: str
    kem_public: bytes
    sig_public: bytes
    certificate: bytes | None


@dataclass(frozen=True)
class Received:
    """An accepted message. `readable` is False when this client holds no key for its epoch."""

    kind: MessageKind
    seq: int
    epoch: int
    sender_id: bytes
    sender_role: Role
    message_hash: bytes
    readable: bool = True
    content_type: int | None = None
    body: bytes | None = field(default=None, repr=False)
    members: tuple[MemberInfo, ...] = ()
    added: tuple[bytes, ...] = ()
    removed: tuple[bytes, ...] = ()
    history_recipient: bytes | None = None
    history_epochs: tuple[int, ...] = ()


@dataclass(repr=False)
class _Epoch:
    number: int
    members: dict[bytes, MemberEntry]
    confirm_hash: bytes
    confirmation: bytes
    secret: bytes | None = None


@dataclass
class _Update:
    """What accepting a message changes, computed before anything is changed."""

    message_hash: bytes
    new_epoch: _Epoch | None = None
    secrets: dict[int, bytes] = field(default_factory=dict)
    unread_epoch: int | None = None


def _info(entry: MemberEntry) -> MemberInfo:
    cert = entry.certificate
    return MemberInfo(
        member_id=entry.member_id,
        role=entry.role,
        display_name=cert.display_name if cert else "",
        kem_public=entry.kem_public,
        sig_public=entry.sig_public,
        certificate=cert.raw if cert else None,
    )


def _unwrap(me: LocalMember, msg: CommitMessage, members: dict[bytes, MemberEntry]) -> bytes | None:
    """Open this client's wrap of the epoch secret and check the confirmation; None if not ours."""
    mine = members.get(me.member_id)
    if mine is None or mine.kem_public != me.kem_public or mine.sig_public != me.sig_public:
        return None
    index = list(members).index(me.member_id)
    wrap = msg.wraps[index]
    env = msg.envelope
    info = wrap_info(env.conversation_id, env.epoch, env.sender_id, me.member_id)
    secret = hpke.open_(wrap[:32], me.kem_private, info, b"", wrap[32:])
    if not p.ct_equal(confirmation(secret, p.sha256(msg.confirm_input)), msg.confirmation):
        raise ProtocolError(ErrorCode.BAD_CONFIRMATION)
    return secret


def _application(env: Envelope, sender: MemberEntry, h: bytes, opened: tuple[int, bytes] | None) -> Received:
    return Received(
        kind=MessageKind.APPLICATION,
        seq=env.seq,
        epoch=env.epoch,
        sender_id=env.sender_id,
        sender_role=sender.role,
        message_hash=h,
        readable=opened is not None,
        content_type=opened[0] if opened else None,
        body=opened[1] if opened else None,
    )


def _build_commit(
    object_type: ObjectType,
    env: Envelope,
    created_at: int,
    entries: Sequence[MemberEntry],
    me: LocalMember,
    rand: p.RandomSource,
) -> bytes:
    """Fresh epoch secret, wrapped by HPKE to every listed member (the committer included)."""
    secret = rand(SECRET_LEN)
    w = Writer().raw(encode_envelope(env)).u64(created_at).u16(len(entries))
    for entry in entries:
        w.raw(entry.raw)
    for entry in entries:
        info = wrap_info(env.conversation_id, env.epoch, env.sender_id, entry.member_id)
        enc, ct = hpke.seal(entry.kem_public, info, b"", secret, rand)
        w.raw(enc + ct)
    confirm_input = w.getvalue()
    tbs = confirm_input + confirmation(secret, p.sha256(confirm_input))
    kind = "genesis" if object_type == ObjectType.GENESIS else "commit"
    return tbs + p.ed25519_sign(me.sig_private, signature_input(kind, tbs))


def _staff_entry(cert: Certificate | bytes) -> MemberEntry:
    parsed = cert if isinstance(cert, Certificate) else parse_certificate(cert)
    raw = encode_staff_entry(parsed)
    return MemberEntry(parsed.staff_id, parsed.role, parsed.kem_public, parsed.sig_public, parsed, raw)


def _visitor_entry(me: LocalMember) -> MemberEntry:
    raw = encode_visitor_entry(me.member_id, me.kem_public, me.sig_public)
    return MemberEntry(me.member_id, Role.VISITOR, me.kem_public, me.sig_public, None, raw)


class Conversation:
    """One client's view of one conversation; build with `open_conversation` or `create_conversation`."""

    def __init__(
        self,
        me: LocalMember,
        anchors: tuple[bytes, ...],
        genesis: CommitMessage,
        centre_id: bytes,
        secret: bytes | None,
        rand: p.RandomSource,
    ) -> None:
        env = genesis.envelope
        members = {m.member_id: m for m in genesis.members}
        self._me = me
        self._anchors = anchors
        self._rand = rand
        self._conversation_id = env.conversation_id
        self._centre_id = centre_id
        self._visitor_id = env.sender_id
        self._genesis_hash = message_hash(genesis.raw)
        self._next_seq = 1
        self._last_hash = self._genesis_hash
        self._epoch = 0
        self._epochs = {0: _Epoch(0, members, p.sha256(genesis.confirm_input), genesis.confirmation, secret)}
        self._unread: dict[int, tuple[bytes, int]] = {}

    def __repr__(self) -> str:
        return (
            f"Conversation(id={self._conversation_id.hex()}, me={self._me.member_id.hex()}, "
            f"epoch={self._epoch}, next_seq={self._next_seq})"
        )

    # -- read-only views ---------------------------------------------------------------

    @property
    def conversation_id(self) -> bytes:
        return self._conversation_id

    @property
    def centre_id(self) -> bytes:
        return self._centre_id

    @property
    def visitor_id(self) -> bytes:
        return self._visitor_id

    @property
    def me(self) -> LocalMember:
        return self._me

    @property
    def anchors(self) -> tuple[bytes, ...]:
        return self._anchors

    @property
    def genesis_hash(self) -> bytes:
        return self._genesis_hash

    @property
    def epoch(self) -> int:
        return self._epoch

    @property
    def next_seq(self) -> int:
        return self._next_seq

    @property
    def last_hash(self) -> bytes:
        return self._last_hash

    @property
    def members(self) -> tuple[MemberInfo, ...]:
        return tuple(_info(m) for m in self._epochs[self._epoch].members.values())

    @property
    def is_member(self) -> bool:
        return self._me.member_id in self._epochs[self._epoch].members

    @property
    def can_read(self) -> bool:
        """True when this client holds the current epoch's secret."""
        return self._epochs[self._epoch].secret is not None

    def known_epochs(self) -> tuple[int, ...]:
        """Epochs whose secret this client holds (what it could share as history)."""
        return tuple(n for n, e in self._epochs.items() if e.secret is not None)

    # -- receiving ---------------------------------------------------------------------

    @guarded
    def receive(self, data: bytes) -> Received:
        """Verify the next transcript message and apply it; on any error the state is unchanged."""
        received, update = self._evaluate(data)
        self._apply(received, update)
        return received

    def _evaluate(self, data: bytes) -> tuple[Received, _Update]:
        msg = parse_message(data)
        env = msg.envelope
        if env.conversation_id != self._conversation_id:
            raise ProtocolError(ErrorCode.WRONG_CONVERSATION)
        if env.seq < self._next_seq:
            raise ProtocolError(ErrorCode.REPLAY)
        if env.seq > self._next_seq:
            raise ProtocolError(ErrorCode.GAP)
        if env.prev_hash != self._last_hash:
            raise ProtocolError(ErrorCode.FORK)
        if isinstance(msg, CommitMessage):
            if env.type == ObjectType.GENESIS:  # unreachable: a genesis always has seq 0
                raise ProtocolError(ErrorCode.MALFORMED)
            return self._evaluate_commit(msg)
        if isinstance(msg, ApplicationMessage):
            return self._evaluate_application(msg)
        return self._evaluate_history(msg)

    def _sender(self, env: Envelope, expected_epoch: int) -> MemberEntry:
        if env.epoch != expected_epoch:
            raise ProtocolError(ErrorCode.WRONG_EPOCH)
        sender = self._epochs[self._epoch].members.get(env.sender_id)
        if sender is None:
            raise ProtocolError(ErrorCode.NOT_A_MEMBER)
        return sender

    @staticmethod
    def _verify(sender: MemberEntry, kind: str, tbs: bytes, signature: bytes) -> None:
        if not p.ed25519_verify(sender.sig_public, signature, signature_input(kind, tbs)):
            raise ProtocolError(ErrorCode.BAD_SIGNATURE)

    def _evaluate_commit(self, msg: CommitMessage) -> tuple[Received, _Update]:
        env = msg.envelope
        committer = self._sender(env, self._epoch + 1)
        self._verify(committer, "commit", msg.tbs, msg.signature)
        old = self._epochs[self._epoch].members
        new = {m.member_id: m for m in msg.members}
        self._check_commit_rules(committer, old, new, msg.created_at)
        secret = _unwrap(self._me, msg, new)
        old_raw = {m.raw for m in old.values()}
        new_raw = {m.raw for m in new.values()}
        epoch = _Epoch(env.epoch, new, p.sha256(msg.confirm_input), msg.confirmation, secret)
        received = Received(
            kind=MessageKind.COMMIT,
            seq=env.seq,
            epoch=env.epoch,
            sender_id=env.sender_id,
            sender_role=committer.role,
            message_hash=message_hash(msg.raw),
            readable=secret is not None,
            members=tuple(_info(m) for m in msg.members),
            added=tuple(m.member_id for m in msg.members if m.raw not in old_raw),
            removed=tuple(m.member_id for m in old.values() if m.raw not in new_raw),
        )
        return received, _Update(received.message_hash, new_epoch=epoch)

    def _check_commit_rules(
        self,
        committer: MemberEntry,
        old: dict[bytes, MemberEntry],
        new: dict[bytes, MemberEntry],
        created_at: int,
    ) -> None:
        """Who may change membership how; every condition on its own line (PROTOCOL.md §8)."""
        if committer.role not in (Role.VISITOR, Role.COUNSELLOR):
            raise ProtocolError(ErrorCode.FORBIDDEN)
        if committer.member_id not in new or new[committer.member_id].raw != committer.raw:
            raise ProtocolError(ErrorCode.FORBIDDEN)
        if self._visitor_id not in new or new[self._visitor_id].raw != old[self._visitor_id].raw:
            raise ProtocolError(ErrorCode.FORBIDDEN)
        old_raw = {m.raw for m in old.values()}
        added = [m for m in new.values() if m.raw not in old_raw]
        for entry in added:
            if entry.role == Role.INTERPRETER and committer.role != Role.VISITOR:
                raise ProtocolError(ErrorCode.FORBIDDEN)
        for entry in added:
            cert = entry.certificate
            if cert is None or cert.centre_id != self._centre_id:
                raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
            check_certificate(cert, self._anchors, created_at)

    def _evaluate_application(self, msg: ApplicationMessage) -> tuple[Received, _Update]:
        env = msg.envelope
        sender = self._sender(env, self._epoch)
        self._verify(sender, "application", msg.tbs, msg.signature)
        h = message_hash(msg.raw)
        secret = self._epochs[self._epoch].secret
        if secret is None:
            return _application(env, sender, h, None), _Update(h, unread_epoch=env.epoch)
        return _application(env, sender, h, self._open(msg, secret)), _Update(h)

    @staticmethod
    def _open(msg: ApplicationMessage, secret: bytes) -> tuple[int, bytes]:
        key, nonce = message_key(secret, msg.key_nonce, msg.aad)
        return unpad(p.aead_open(key, nonce, msg.ciphertext, msg.aad))

    def _evaluate_history(self, msg: HistoryMessage) -> tuple[Received, _Update]:
        env = msg.envelope
        sender = self._sender(env, self._epoch)
        self._verify(sender, "history", msg.tbs, msg.signature)
        members = self._epochs[self._epoch].members
        recipient = members.get(msg.recipient_id)
        if sender.role not in (Role.VISITOR, Role.COUNSELLOR):
            raise ProtocolError(ErrorCode.FORBIDDEN)
        if recipient is None:
            raise ProtocolError(ErrorCode.NOT_A_MEMBER)
        if recipient.role == Role.INTERPRETER and sender.role != Role.VISITOR:
            raise ProtocolError(ErrorCode.FORBIDDEN)
        if msg.epochs[-1] >= self._epoch:
            raise ProtocolError(ErrorCode.WRONG_EPOCH)
        h = message_hash(msg.raw)
        secrets: dict[int, bytes] = {}
        is_mine = msg.recipient_id == self._me.member_id and recipient.kem_public == self._me.kem_public
        if is_mine:
            plain = hpke.open_(
                msg.enc, self._me.kem_private, history_info(msg.info_context), b"", msg.ciphertext
            )
            for i, number in enumerate(msg.epochs):
                secret = plain[i * SECRET_LEN : (i + 1) * SECRET_LEN]
                epoch = self._epochs[number]
                if not p.ct_equal(confirmation(secret, epoch.confirm_hash), epoch.confirmation):
                    raise ProtocolError(ErrorCode.BAD_CONFIRMATION)
                secrets[number] = secret
        received = Received(
            kind=MessageKind.HISTORY,
            seq=env.seq,
            epoch=env.epoch,
            sender_id=env.sender_id,
            sender_role=sender.role,
            message_hash=h,
            readable=is_mine,
            history_recipient=msg.recipient_id,
            history_epochs=msg.epochs,
        )
        return received, _Update(h, secrets=secrets)

    def _apply(self, received: Received, update: _Update) -> None:
        self._next_seq += 1
        self._last_hash = update.message_hash
        if update.new_epoch is not None:
            self._epochs[update.new_epoch.number] = update.new_epoch
            self._epoch = update.new_epoch.number
        for number, secret in update.secrets.items():
            self._epochs[number].secret = secret
        if update.unread_epoch is not None:
            self._unread[received.seq] = (update.message_hash, update.unread_epoch)

    @guarded
    def decrypt_past(self, data: bytes) -> Received:
        """Open a message that `receive` accepted earlier with readable=False (after history)."""
        msg = parse_message(data)
        env = msg.envelope
        if env.conversation_id != self._conversation_id:
            raise ProtocolError(ErrorCode.WRONG_CONVERSATION)
        if env.seq >= self._next_seq:
            raise ProtocolError(ErrorCode.GAP)
        held = self._unread.get(env.seq)
        if not isinstance(msg, ApplicationMessage) or held is None:
            raise ProtocolError(ErrorCode.FORK)
        if held[0] != message_hash(msg.raw):
            raise ProtocolError(ErrorCode.FORK)
        epoch = self._epochs[held[1]]
        if epoch.secret is None:
            raise ProtocolError(ErrorCode.NO_KEY)
        sender = epoch.members[env.sender_id]
        return _application(env, sender, held[0], self._open(msg, epoch.secret))

    # -- sending -----------------------------------------------------------------------

    def _envelope(self, object_type: ObjectType, epoch: int) -> Envelope:
        return Envelope(
            object_type,
            self._conversation_id,
            epoch,
            self._next_seq,
            self._me.member_id,
            self._last_hash,
        )

    @guarded
    def encrypt(self, content_type: int, body: bytes) -> bytes:
        """Seal and sign the next application message; raises rather than ever sending plaintext."""
        current = self._epochs[self._epoch]
        if self._me.member_id not in current.members:
            raise ProtocolError(ErrorCode.NOT_A_MEMBER)
        if current.secret is None:
            raise ProtocolError(ErrorCode.NO_KEY)
        padded = pad(content_type, body)
        env = self._envelope(ObjectType.APPLICATION, self._epoch)
        key_nonce = self._rand(16)
        aad = encode_envelope(env) + key_nonce + (len(padded) + 16).to_bytes(4, "big")
        key, nonce = message_key(current.secret, key_nonce, aad)
        tbs = aad + p.aead_seal(key, nonce, padded, aad)
        return tbs + p.ed25519_sign(self._me.sig_private, signature_input("application", tbs))

    @guarded
    def commit(self, staff: Sequence[Certificate | bytes], now: int | None = None) -> bytes:
        """Start a new epoch whose members are the visitor plus `staff` (which must include me
        unless I am the visitor). Fails with the error a receiver would give if not allowed."""
        current = self._epochs[self._epoch]
        if self._me.member_id not in current.members:
            raise ProtocolError(ErrorCode.NOT_A_MEMBER)
        entries = [current.members[self._visitor_id], *(_staff_entry(c) for c in staff)]
        entries.sort(key=lambda e: e.member_id)
        ids = [e.member_id for e in entries]
        if len(set(ids)) != len(ids):
            raise ProtocolError(ErrorCode.MALFORMED)
        if len(entries) > MAX_MEMBERS:
            raise ProtocolError(ErrorCode.OVERSIZE)
        created_at = int(time.time()) if now is None else now
        env = self._envelope(ObjectType.COMMIT, self._epoch + 1)
        data = _build_commit(ObjectType.COMMIT, env, created_at, entries, self._me, self._rand)
        self._evaluate(data)  # the same checks every receiver will make
        return data

    def _staff_certificates(self) -> list[Certificate]:
        members = self._epochs[self._epoch].members.values()
        return [m.certificate for m in members if m.certificate is not None]

    def claim(self, now: int | None = None) -> bytes:
        """Counsellor takes a queued conversation: new epoch with only the visitor and me."""
        mine = self._epochs[self._epoch].members.get(self._me.member_id)
        if mine is None or mine.certificate is None:
            raise ProtocolError(ErrorCode.NOT_A_MEMBER)
        return self.commit([mine.certificate], now)

    def add_member(self, certificate: Certificate | bytes, now: int | None = None) -> bytes:
        """New epoch adding one staff member (an interpreter only if I am the visitor)."""
        return self.commit([*self._staff_certificates(), certificate], now)

    def remove_member(self, member_id: bytes, now: int | None = None) -> bytes:
        """New epoch without `member_id`; they cannot read anything sent after it."""
        keep = [c for c in self._staff_certificates() if c.staff_id != member_id]
        return self.commit(keep, now)

    @guarded
    def share_history(self, recipient_id: bytes, epochs: Sequence[int]) -> bytes:
        """Hand earlier epoch secrets to a current member, signed and visible to everyone."""
        current = self._epochs[self._epoch]
        recipient = current.members.get(recipient_id)
        if self._me.member_id not in current.members or recipient is None:
            raise ProtocolError(ErrorCode.NOT_A_MEMBER)
        numbers = sorted(set(epochs))
        if not 1 <= len(numbers) <= MAX_HISTORY_EPOCHS:
            raise ProtocolError(ErrorCode.MALFORMED)
        secrets = []
        for number in numbers:
            epoch = self._epochs.get(number)
            if number >= self._epoch or epoch is None:
                raise ProtocolError(ErrorCode.WRONG_EPOCH)
            if epoch.secret is None:
                raise ProtocolError(ErrorCode.NO_KEY)
            secrets.append(epoch.secret)
        env = self._envelope(ObjectType.HISTORY, self._epoch)
        w = Writer().raw(encode_envelope(env)).fixed(recipient_id, ID_LEN).u16(len(numbers))
        for number in numbers:
            w.u32(number)
        info_context = w.getvalue()
        enc, ct = hpke.seal(
            recipient.kem_public, history_info(info_context), b"", b"".join(secrets), self._rand
        )
        tbs = info_context + enc + ct
        data = tbs + p.ed25519_sign(self._me.sig_private, signature_input("history", tbs))
        self._evaluate(data)
        return data


def _open_genesis(
    me: LocalMember, genesis: bytes, anchors: Sequence[bytes], rand: p.RandomSource
) -> Conversation:
    anchor_set = check_anchors(anchors)
    msg = parse_message(genesis)
    if not isinstance(msg, CommitMessage) or msg.envelope.type != ObjectType.GENESIS:
        raise ProtocolError(ErrorCode.MALFORMED)
    members = {m.member_id: m for m in msg.members}
    visitor = members[msg.envelope.sender_id]
    if not p.ed25519_verify(visitor.sig_public, msg.signature, signature_input("genesis", msg.tbs)):
        raise ProtocolError(ErrorCode.BAD_SIGNATURE)
    certs = [m.certificate for m in msg.members if m.certificate is not None]
    centre_id = certs[0].centre_id
    for cert in certs:
        if cert.centre_id != centre_id:
            raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
        check_certificate(cert, anchor_set, msg.created_at)
    secret = _unwrap(me, msg, members)
    return Conversation(me, anchor_set, msg, centre_id, secret, rand)


@guarded
def open_conversation(me: LocalMember, genesis: bytes, anchors: Sequence[bytes]) -> Conversation:
    """Start following a conversation from its genesis (staff, or a visitor resuming)."""
    return _open_genesis(me, genesis, anchors, p.system_random)


def _new_genesis(
    visitor: LocalMember,
    conversation_id: bytes,
    counsellors: Sequence[Certificate],
    created_at: int,
    rand: p.RandomSource,
) -> bytes:
    entries = [_visitor_entry(visitor), *(_staff_entry(c) for c in counsellors)]
    entries.sort(key=lambda e: e.member_id)
    env = Envelope(ObjectType.GENESIS, conversation_id, 0, 0, visitor.member_id, ZERO_HASH)
    return _build_commit(ObjectType.GENESIS, env, created_at, entries, visitor, rand)
