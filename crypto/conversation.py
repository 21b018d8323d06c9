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
from .certificates import Certificate, Directory, check_certificate, parse_certificate, verify_directory
from .constants import (
    ID_LEN,
    LIVE_SKEW,
    MAX_HISTORY_EPOCHS,
    MAX_MEMBERS,
    SECRET_LEN,
    ZERO_HASH,
    ObjectType,
    Role,
)
from .encoding import Writer
from .errors import ErrorCode, ProtocolError, guarded
from .fingerprint import conversation_code
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
    REQUEST_REASONS,
    ApplicationMessage,
    CommitMessage,
    Envelope,
    HistoryMessage,
    KeyRequestMessage,
    MemberEntry,
    encode_envelope,
    encode_staff_entry,
    encode_visitor_entry,
    parse_message,
)
from .padding import pad, unpad
from .trust import TrustRoot, as_trust


class MessageKind(enum.StrEnum):
    GENESIS = "genesis"
    COMMIT = "commit"
    APPLICATION = "application"
    HISTORY = "history"
    KEY_REQUEST = "key_request"


STAFF_WHO_COMMIT = (Role.VISITOR, Role.COUNSELLOR)


@dataclass(frozen=True)
class Live:
    """The receiver is receiving in real time: its own clock and its current verified directory.

    Commits are then also judged by time the committer cannot choose (PROTOCOL.md §9.3): the
    claimed time must be within LIVE_SKEW of `now`, and every staff member the new epoch lists
    must be in `directory` (byte for byte) and valid at `now`.
    """

    now: int
    directory: Directory


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
    problem: ErrorCode | None = None  # accepted, but what was meant for me failed (§9.6)
    content_type: int | None = None
    body: bytes | None = field(default=None, repr=False)
    members: tuple[MemberInfo, ...] = ()
    added: tuple[bytes, ...] = ()
    removed: tuple[bytes, ...] = ()
    history_recipient: bytes | None = None
    history_epochs: tuple[int, ...] = ()
    created_at: int | None = None  # genesis/commit: the committer's claimed time
    request_reason: int | None = None
    request_seq: int | None = None


@dataclass(repr=False)
class _Epoch:
    number: int
    members: dict[bytes, MemberEntry]
    confirm_hash: bytes
    confirmation: bytes
    secret: bytes | None
    created_at: int
    seq: int
    problem: ErrorCode | None = None
    messages: int = 0


@dataclass
class _Update:
    """What accepting a message changes, computed before anything is changed."""

    message_hash: bytes
    new_epoch: _Epoch | None = None
    centre_id: bytes | None = None  # a move to another centre (§8.6)
    secrets: dict[int, bytes] = field(default_factory=dict)
    unread_epoch: int | None = None
    counted: bool = False


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


def _unwrap(
    me: LocalMember, msg: CommitMessage, members: dict[bytes, MemberEntry]
) -> tuple[bytes | None, ErrorCode | None]:
    """Open this client's wrap and check the confirmation: (secret, None), (None, None) if the
    epoch is not mine, or (None, code) if my wrap is bad (the commit is still accepted, §9.6)."""
    mine = members.get(me.member_id)
    if mine is None or mine.kem_public != me.kem_public or mine.sig_public != me.sig_public:
        return None, None
    index = list(members).index(me.member_id)
    wrap = msg.wraps[index]
    env = msg.envelope
    info = wrap_info(env.conversation_id, env.epoch, env.sender_id, me.member_id)
    try:
        secret = hpke.open_(wrap[:32], me.kem_private, info, b"", wrap[32:])
    except ProtocolError as e:
        return None, e.code
    if not p.ct_equal(confirmation(secret, p.sha256(msg.confirm_input)), msg.confirmation):
        return None, ErrorCode.BAD_CONFIRMATION
    return secret, None


def _application(
    env: Envelope,
    sender: MemberEntry,
    h: bytes,
    opened: tuple[int, bytes] | None,
    problem: ErrorCode | None = None,
) -> Received:
    return Received(
        kind=MessageKind.APPLICATION,
        seq=env.seq,
        epoch=env.epoch,
        sender_id=env.sender_id,
        sender_role=sender.role,
        message_hash=h,
        readable=opened is not None,
        problem=problem,
        content_type=opened[0] if opened else None,
        body=opened[1] if opened else None,
    )


def _open_or_problem(
    msg: ApplicationMessage, secret: bytes
) -> tuple[tuple[int, bytes] | None, ErrorCode | None]:
    """A correctly signed message whose ciphertext does not open is accepted as unreadable."""
    try:
        return Conversation._open(msg, secret), None
    except ProtocolError as e:
        return None, e.code


def _build_commit(
    object_type: ObjectType,
    env: Envelope,
    created_at: int,
    entries: Sequence[MemberEntry],
    me: LocalMember,
    rand: p.RandomSource,
    directory_hash: bytes | None = None,
) -> bytes:
    """Fresh epoch secret, wrapped by HPKE to every listed member (the committer included)."""
    secret = rand(SECRET_LEN)
    w = Writer().raw(encode_envelope(env)).u64(created_at)
    if object_type == ObjectType.GENESIS:
        w.fixed(directory_hash or b"", 32)
    w.u16(len(entries))
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
        trust: TrustRoot,
        genesis: CommitMessage,
        centre_id: bytes,
        unwrapped: tuple[bytes | None, ErrorCode | None],
        rand: p.RandomSource,
    ) -> None:
        env = genesis.envelope
        members = {m.member_id: m for m in genesis.members}
        self._me = me
        self._trust = trust
        self._trusts: dict[bytes, TrustRoot] = {centre_id: trust}
        self._rand = rand
        self._conversation_id = env.conversation_id
        self._centre_id = centre_id
        self._visitor_id = env.sender_id
        self._genesis_hash = message_hash(genesis.raw)
        self._directory_hash = genesis.directory_hash or b""
        self._next_seq = 1
        self._last_hash = self._genesis_hash
        self._epoch = 0
        first = _Epoch(
            0,
            members,
            p.sha256(genesis.confirm_input),
            genesis.confirmation,
            unwrapped[0],
            genesis.created_at,
            0,
            unwrapped[1],
        )
        self._epochs = {0: first}
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
    def trust(self) -> TrustRoot:
        return self._trust

    def know_centre(self, trust: TrustRoot) -> None:
        """Hold another centre's *verified* trust root (chained to that centre's pin), so a move
        of this conversation to that centre (§8.6) can be checked; without it a move is refused."""
        if trust.centre_id is None:
            raise ProtocolError(ErrorCode.MALFORMED)
        self._trusts.setdefault(trust.centre_id, trust)

    @property
    def anchors(self) -> tuple[bytes, ...]:
        """The newest anchors (what proposals' certificates are verified against)."""
        return self._trust.anchors

    @property
    def genesis_hash(self) -> bytes:
        return self._genesis_hash

    @property
    def directory_hash(self) -> bytes:
        """SHA-256 of the directory the visitor's client made the genesis from (check it is logged)."""
        return self._directory_hash

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

    @property
    def can_commit(self) -> bool:
        """I am in the current epoch as the visitor or a counsellor (interpreters never commit)."""
        mine = self._epochs[self._epoch].members.get(self._me.member_id)
        return mine is not None and mine.role in STAFF_WHO_COMMIT and mine.sig_public == self._me.sig_public

    @property
    def needs_rekey(self) -> bool:
        """My wrap of the current epoch failed: commit a re-key if I may, else send a key request."""
        return self._epochs[self._epoch].problem is not None

    @property
    def epoch_started_at(self) -> int:
        """The claimed time (created_at) of the genesis or commit that started the current epoch."""
        return self._epochs[self._epoch].created_at

    @property
    def messages_in_epoch(self) -> int:
        """Application messages accepted in the current epoch (for scheduled re-keys)."""
        return self._epochs[self._epoch].messages

    def rekey_due(self, now: int, max_age: int = 86_400, max_messages: int = 1000) -> bool:
        """Scheduled re-key policy: at most `max_age` seconds of activity or `max_messages` per epoch."""
        current = self._epochs[self._epoch]
        return current.messages >= max_messages or (
            current.messages > 0 and now - current.created_at >= max_age
        )

    def known_epochs(self) -> tuple[int, ...]:
        """Epochs whose secret this client holds (what it could share as history)."""
        return tuple(n for n, e in self._epochs.items() if e.secret is not None)

    @guarded
    def conversation_code(self, staff_id: bytes | None = None) -> str:
        """The code a visitor and one staff member compare by phone (§14.3): from the genesis
        and both parties' keys in the current epoch. Staff omit `staff_id` (it is themselves)."""
        members = self._epochs[self._epoch].members
        who = self._me.member_id if staff_id is None else staff_id
        staff = members.get(who)
        visitor = members[self._visitor_id]
        if staff is None or staff.role == Role.VISITOR:
            raise ProtocolError(ErrorCode.NOT_A_MEMBER)
        return conversation_code(
            self._genesis_hash,
            (visitor.member_id, visitor.sig_public, visitor.kem_public),
            (staff.member_id, staff.sig_public, staff.kem_public),
        )

    @guarded
    def check_directory(self, directory: bytes) -> Directory:
        """A counsellor's check of a visitor's genesis (§9.2): `directory` (fetched by the hash
        the genesis names, and found in the log) is that directory, it verifies under the anchors
        trusted at the genesis time and was current then, and the queue epoch lists exactly the
        visitor and every counsellor it certified at that time. Else BAD_DIRECTORY."""
        genesis = self._epochs[0]
        if not p.ct_equal(p.sha256(directory), self._directory_hash):
            raise ProtocolError(ErrorCode.BAD_DIRECTORY)
        try:
            verified = verify_directory(
                directory, self._trust.anchors_at(genesis.created_at), genesis.created_at
            )
        except ProtocolError:
            raise ProtocolError(ErrorCode.BAD_DIRECTORY) from None
        expected = {
            c.raw
            for c in verified.certificates
            if c.role == Role.COUNSELLOR and c.valid_at(genesis.created_at)
        }
        listed = {m.certificate.raw for m in genesis.members.values() if m.certificate is not None}
        if verified.centre_id != self._centre_id or listed != expected:
            raise ProtocolError(ErrorCode.BAD_DIRECTORY)
        return verified

    # -- receiving ---------------------------------------------------------------------

    @guarded
    def receive(self, data: bytes, live: Live | None = None) -> Received:
        """Verify the next transcript message and apply it; on any error the state is unchanged.

        Pass `live` when the message arrives in real time (not from a catch-up of stored
        history): commits are then also checked against this client's clock and directory.
        """
        received, update = self._evaluate(data, live)
        self._apply(received, update)
        return received

    def _evaluate(self, data: bytes, live: Live | None = None) -> tuple[Received, _Update]:
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
            return self._evaluate_commit(msg, live)
        if isinstance(msg, ApplicationMessage):
            return self._evaluate_application(msg)
        if isinstance(msg, KeyRequestMessage):
            return self._evaluate_request(msg)
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

    def _evaluate_commit(self, msg: CommitMessage, live: Live | None) -> tuple[Received, _Update]:
        env = msg.envelope
        committer = self._sender(env, self._epoch + 1)
        self._verify(committer, "commit", msg.tbs, msg.signature)
        if msg.created_at < self._epochs[self._epoch].created_at:
            raise ProtocolError(ErrorCode.BAD_TIME)
        if live is not None and abs(msg.created_at - live.now) > LIVE_SKEW:
            raise ProtocolError(ErrorCode.BAD_TIME)
        old = self._epochs[self._epoch].members
        new = {m.member_id: m for m in msg.members}
        centre = self._target_centre(committer, new)
        self._check_commit_rules(committer, old, new, msg.created_at, centre)
        if live is not None:
            self._check_live(new, live, centre)
        secret, problem = _unwrap(self._me, msg, new)
        old_raw = {m.raw for m in old.values()}
        new_raw = {m.raw for m in new.values()}
        epoch = _Epoch(
            env.epoch,
            new,
            p.sha256(msg.confirm_input),
            msg.confirmation,
            secret,
            msg.created_at,
            env.seq,
            problem,
        )
        received = Received(
            kind=MessageKind.COMMIT,
            seq=env.seq,
            epoch=env.epoch,
            sender_id=env.sender_id,
            sender_role=committer.role,
            message_hash=message_hash(msg.raw),
            readable=secret is not None,
            problem=problem,
            members=tuple(_info(m) for m in msg.members),
            added=tuple(m.member_id for m in msg.members if m.raw not in old_raw),
            removed=tuple(m.member_id for m in old.values() if m.raw not in new_raw),
            created_at=msg.created_at,
        )
        moved = centre if centre != self._centre_id else None
        return received, _Update(received.message_hash, new_epoch=epoch, centre_id=moved)

    def _target_centre(self, committer: MemberEntry, new: dict[bytes, MemberEntry]) -> bytes:
        """The centre a commit's staff belong to (§8.6): this conversation's, or, for a move,
        another centre whose verified root this client holds, named by the visitor alone."""
        centres = {m.certificate.centre_id for m in new.values() if m.certificate is not None}
        if not centres or centres == {self._centre_id}:
            return self._centre_id
        if len(centres) != 1:
            raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
        if committer.role != Role.VISITOR:
            raise ProtocolError(ErrorCode.FORBIDDEN)
        (centre,) = centres
        if centre not in self._trusts:
            raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
        if any(m.role == Role.INTERPRETER for m in new.values()):
            raise ProtocolError(ErrorCode.FORBIDDEN)
        return centre

    def _check_commit_rules(
        self,
        committer: MemberEntry,
        old: dict[bytes, MemberEntry],
        new: dict[bytes, MemberEntry],
        created_at: int,
        centre: bytes,
    ) -> None:
        """Who may change membership how; every condition on its own line (PROTOCOL.md §8)."""
        if committer.role not in STAFF_WHO_COMMIT:
            raise ProtocolError(ErrorCode.FORBIDDEN)
        if committer.member_id not in new or new[committer.member_id].role != committer.role:
            raise ProtocolError(ErrorCode.FORBIDDEN)
        if self._visitor_id not in new or new[self._visitor_id].raw != old[self._visitor_id].raw:
            raise ProtocolError(ErrorCode.FORBIDDEN)
        old_raw = {m.raw for m in old.values()}
        added = [m for m in new.values() if m.raw not in old_raw]
        for entry in added:
            if entry.role == Role.INTERPRETER and committer.role != Role.VISITOR:
                raise ProtocolError(ErrorCode.FORBIDDEN)
        anchors = self._trusts[centre].anchors_at(created_at)
        for entry in new.values():  # added and retained staff alike
            if entry.role == Role.VISITOR:
                continue
            cert = entry.certificate
            if cert is None or cert.centre_id != centre:
                raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
            check_certificate(cert, anchors, created_at)

    def _acceptable_now(
        self, cert: Certificate, directory: Directory, now: int, centre: bytes | None = None
    ) -> bool:
        """Listed byte for byte in the current directory, valid now, issuer an anchor now."""
        listed = any(c.raw == cert.raw for c in directory.certificates)
        anchors = self._trusts[centre or self._centre_id].anchors_at(now)
        return listed and cert.valid_at(now) and any(p.ct_equal(cert.issuer, a) for a in anchors)

    def _check_directory_now(self, directory: Directory, now: int, centre: bytes | None = None) -> None:
        expected = centre or self._centre_id
        if directory.centre_id != expected or not directory.issued_at <= now <= directory.expires_at:
            raise ProtocolError(ErrorCode.BAD_CERTIFICATE)

    def _check_live(self, new: dict[bytes, MemberEntry], live: Live, centre: bytes | None = None) -> None:
        self._check_directory_now(live.directory, live.now, centre)
        for entry in new.values():
            cert = entry.certificate
            if cert is not None and not self._acceptable_now(cert, live.directory, live.now, centre):
                raise ProtocolError(ErrorCode.BAD_CERTIFICATE)

    def _evaluate_application(self, msg: ApplicationMessage) -> tuple[Received, _Update]:
        env = msg.envelope
        sender = self._sender(env, self._epoch)
        self._verify(sender, "application", msg.tbs, msg.signature)
        h = message_hash(msg.raw)
        secret = self._epochs[self._epoch].secret
        if secret is None:
            return _application(env, sender, h, None), _Update(h, unread_epoch=env.epoch, counted=True)
        opened, problem = _open_or_problem(msg, secret)
        return _application(env, sender, h, opened, problem), _Update(h, counted=True)

    @staticmethod
    def _open(msg: ApplicationMessage, secret: bytes) -> tuple[int, bytes]:
        key, nonce = message_key(secret, msg.key_nonce, msg.aad)
        return unpad(p.aead_open(key, nonce, msg.ciphertext, msg.aad))

    def _evaluate_request(self, msg: KeyRequestMessage) -> tuple[Received, _Update]:
        env = msg.envelope
        sender = self._sender(env, self._epoch)
        self._verify(sender, "request", msg.tbs, msg.signature)
        received = Received(
            kind=MessageKind.KEY_REQUEST,
            seq=env.seq,
            epoch=env.epoch,
            sender_id=env.sender_id,
            sender_role=sender.role,
            message_hash=message_hash(msg.raw),
            request_reason=msg.reason,
            request_seq=msg.ref_seq,
        )
        return received, _Update(received.message_hash)

    def _open_history(self, msg: HistoryMessage) -> tuple[dict[int, bytes], ErrorCode | None]:
        try:
            plain = hpke.open_(
                msg.enc, self._me.kem_private, history_info(msg.info_context), b"", msg.ciphertext
            )
        except ProtocolError as e:
            return {}, e.code
        secrets: dict[int, bytes] = {}
        for i, number in enumerate(msg.epochs):
            secret = plain[i * SECRET_LEN : (i + 1) * SECRET_LEN]
            epoch = self._epochs[number]
            if not p.ct_equal(confirmation(secret, epoch.confirm_hash), epoch.confirmation):
                return {}, ErrorCode.BAD_CONFIRMATION
            secrets[number] = secret
        return secrets, None

    def _evaluate_history(self, msg: HistoryMessage) -> tuple[Received, _Update]:
        env = msg.envelope
        sender = self._sender(env, self._epoch)
        self._verify(sender, "history", msg.tbs, msg.signature)
        members = self._epochs[self._epoch].members
        recipient = members.get(msg.recipient_id)
        if sender.role not in STAFF_WHO_COMMIT:
            raise ProtocolError(ErrorCode.FORBIDDEN)
        if recipient is None:
            raise ProtocolError(ErrorCode.NOT_A_MEMBER)
        if recipient.role == Role.INTERPRETER and sender.role != Role.VISITOR:
            raise ProtocolError(ErrorCode.FORBIDDEN)
        if msg.epochs[-1] >= self._epoch:
            raise ProtocolError(ErrorCode.WRONG_EPOCH)
        h = message_hash(msg.raw)
        secrets: dict[int, bytes] = {}
        problem = None
        is_mine = msg.recipient_id == self._me.member_id and recipient.kem_public == self._me.kem_public
        if is_mine:
            secrets, problem = self._open_history(msg)
        received = Received(
            kind=MessageKind.HISTORY,
            seq=env.seq,
            epoch=env.epoch,
            sender_id=env.sender_id,
            sender_role=sender.role,
            message_hash=h,
            readable=is_mine and problem is None,
            problem=problem,
            history_recipient=msg.recipient_id,
            history_epochs=msg.epochs,
        )
        return received, _Update(h, secrets=secrets)

    def _apply(self, received: Received, update: _Update) -> None:
        self._next_seq += 1
        self._last_hash = update.message_hash
        if update.counted:
            self._epochs[self._epoch].messages += 1
        if update.new_epoch is not None:
            self._epochs[update.new_epoch.number] = update.new_epoch
            self._epoch = update.new_epoch.number
        if update.centre_id is not None:
            self._centre_id = update.centre_id
            self._trust = self._trusts[update.centre_id]
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
        opened, problem = _open_or_problem(msg, epoch.secret)
        return _application(env, sender, held[0], opened, problem)

    # -- revocation and scheduled re-keys (PROTOCOL.md §8.5) -----------------------------

    @guarded
    def members_to_remove(self, directory: Directory, now: int) -> tuple[bytes, ...]:
        """Staff of the current epoch who must go: not listed (byte for byte) in the current
        verified directory, not valid at `now`, or certified by a key that is no longer an anchor."""
        self._check_directory_now(directory, now)
        members = self._epochs[self._epoch].members.values()
        return tuple(
            m.member_id
            for m in members
            if m.certificate is not None and not self._acceptable_now(m.certificate, directory, now)
        )

    def _renewal(self, entry: MemberEntry, directory: Directory, now: int) -> Certificate | None:
        """The directory's current certificate for the same person and role, if I may add it."""
        if entry.role == Role.INTERPRETER and self._me.member_id != self._visitor_id:
            return None
        for cert in directory.certificates:
            if (
                cert.staff_id == entry.member_id
                and cert.role == entry.role
                and self._acceptable_now(cert, directory, now)
            ):
                return cert
        return None

    @guarded
    def rekey(self, directory: Directory | None = None, now: int | None = None) -> bytes:
        """A commit with a fresh secret for the same members; with a directory, members who must
        go (see `members_to_remove`) are renewed from it where it lists them anew, else removed."""
        when = int(time.time()) if now is None else now
        staff: list[Certificate] = []
        for entry in self._epochs[self._epoch].members.values():
            cert = entry.certificate
            if cert is None:
                continue
            if directory is None or self._acceptable_now(cert, directory, when):
                staff.append(cert)
            elif (renewed := self._renewal(entry, directory, when)) is not None:
                staff.append(renewed)
        live = None if directory is None else Live(when, directory)
        if directory is not None:
            self._check_directory_now(directory, when)
        return self._commit(staff, when, live)

    @guarded
    def requeue(self, directory: Directory, now: int | None = None) -> bytes:
        """Re-wrap a queued conversation to exactly the counsellors the current directory lists
        and certifies now (the visitor's client, or a queue counsellor who is still listed)."""
        when = int(time.time()) if now is None else now
        self._check_directory_now(directory, when)
        staff = [
            c
            for c in directory.certificates
            if c.role == Role.COUNSELLOR and self._acceptable_now(c, directory, when)
        ]
        return self._commit(staff, when, Live(when, directory))

    @guarded
    def move(self, directory: Directory, now: int | None = None) -> bytes:
        """The visitor moves the conversation to another centre (§8.6): a commit wrapped to
        exactly the counsellors that centre's directory lists and certifies now.  The directory
        must be that centre's, verified against its root, which `know_centre` was given."""
        when = int(time.time()) if now is None else now
        centre = directory.centre_id
        if self._me.member_id != self._visitor_id:
            raise ProtocolError(ErrorCode.FORBIDDEN)
        if centre == self._centre_id or centre not in self._trusts:
            raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
        self._check_directory_now(directory, when, centre)
        staff = [
            c
            for c in directory.certificates
            if c.role == Role.COUNSELLOR and self._acceptable_now(c, directory, when, centre)
        ]
        if not staff:
            raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
        return self._commit(staff, when, Live(when, directory))

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
    def request_rekey(self, reason: int = 1, ref_seq: int | None = None) -> bytes:
        """Ask the other members for a re-key (reason 1: my wrap of this epoch failed) or for a
        history bundle again (reason 2, `ref_seq` = the bundle). Needs no key, only membership."""
        current = self._epochs[self._epoch]
        if self._me.member_id not in current.members:
            raise ProtocolError(ErrorCode.NOT_A_MEMBER)
        if reason not in REQUEST_REASONS:
            raise ProtocolError(ErrorCode.MALFORMED)
        env = self._envelope(ObjectType.KEY_REQUEST, self._epoch)
        ref = current.seq if ref_seq is None else ref_seq
        tbs = Writer().raw(encode_envelope(env)).u8(reason).u32(ref).getvalue()
        data = tbs + p.ed25519_sign(self._me.sig_private, signature_input("request", tbs))
        self._evaluate(data)
        return data

    def _commit(self, staff: Sequence[Certificate | bytes], now: int | None, live: Live | None) -> bytes:
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
        # Never before the epoch it replaces: a clock behind the last committer's is not an error.
        created_at = max(int(time.time()) if now is None else now, current.created_at)
        env = self._envelope(ObjectType.COMMIT, self._epoch + 1)
        data = _build_commit(ObjectType.COMMIT, env, created_at, entries, self._me, self._rand)
        # The same checks every receiver will make (live ones too when a directory was given).
        if live is None:
            self._evaluate(data)
        else:
            self._evaluate(data, live)
        return data

    @guarded
    def commit(self, staff: Sequence[Certificate | bytes], now: int | None = None) -> bytes:
        """Start a new epoch whose members are the visitor plus `staff` (which must include me
        unless I am the visitor). Fails with the error a receiver would give if not allowed."""
        return self._commit(staff, now, None)

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
    me: LocalMember, genesis: bytes, trust: TrustRoot | Sequence[bytes], rand: p.RandomSource
) -> Conversation:
    root = as_trust(trust)
    msg = parse_message(genesis)
    if not isinstance(msg, CommitMessage) or msg.envelope.type != ObjectType.GENESIS:
        raise ProtocolError(ErrorCode.MALFORMED)
    members = {m.member_id: m for m in msg.members}
    visitor = members[msg.envelope.sender_id]
    if not p.ed25519_verify(visitor.sig_public, msg.signature, signature_input("genesis", msg.tbs)):
        raise ProtocolError(ErrorCode.BAD_SIGNATURE)
    certs = [m.certificate for m in msg.members if m.certificate is not None]
    centre_id = certs[0].centre_id
    if root.centre_id is not None and root.centre_id != centre_id:
        raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
    anchors = root.anchors_at(msg.created_at)
    for cert in certs:
        if cert.centre_id != centre_id:
            raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
        check_certificate(cert, anchors, msg.created_at)
    return Conversation(me, root, msg, centre_id, _unwrap(me, msg, members), rand)


@guarded
def open_conversation(me: LocalMember, genesis: bytes, trust: TrustRoot | Sequence[bytes]) -> Conversation:
    """Start following a conversation from its genesis (staff, or a visitor resuming).

    `trust` is the centre's verified TrustRoot (a bare list of anchor keys is still accepted and
    trusted at all times, for callers that have not moved to trust roots)."""
    return _open_genesis(me, genesis, trust, p.system_random)


def _new_genesis(
    visitor: LocalMember,
    conversation_id: bytes,
    counsellors: Sequence[Certificate],
    created_at: int,
    directory_hash: bytes,
    rand: p.RandomSource,
) -> bytes:
    entries = [_visitor_entry(visitor), *(_staff_entry(c) for c in counsellors)]
    entries.sort(key=lambda e: e.member_id)
    env = Envelope(ObjectType.GENESIS, conversation_id, 0, 0, visitor.member_id, ZERO_HASH)
    return _build_commit(ObjectType.GENESIS, env, created_at, entries, visitor, rand, directory_hash)
