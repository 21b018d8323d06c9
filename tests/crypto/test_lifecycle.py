"""Whole flows through the public API: a bad member cannot stop a conversation, a key request is
answered by a re-key, revocation and scheduled re-keys, anchors rotated 2-of-3 after a key is
lost, the log catches a directory shown only to visitors, and backdated commits are refused."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from crypto import (
    AdminKey,
    ContentType,
    Conversation,
    Live,
    LocalMember,
    LogKind,
    Role,
    centre_fingerprint,
    certify,
    check_claimed_time,
    create_conversation,
    create_staff_identity,
    entry_of,
    generate_admin_key,
    log_chain,
    open_conversation,
    peek,
    sign_directory,
    sign_log_head,
    verify_directory,
    verify_log_consistency,
    verify_log_head,
    verify_log_inclusion,
    verify_sender_signature,
    verify_trust_root,
)
from crypto import conversation as conversation_module
from crypto import primitives as p
from crypto.constants import ZERO_HASH, ObjectType
from crypto.conversation import _build_commit, _staff_entry
from crypto.keyschedule import signature_input
from crypto.messages import MemberEntry, encode_visitor_entry
from crypto.vectors.trust_vectors import make_root

from .vectors import error_of

NOW = 1_767_225_600
DAY = 86_400


class Centre:
    """One centre: three anchors (2-of-3), a log key, counsellors A, B, C and interpreter I."""

    def __init__(self) -> None:
        self.centre_id = bytes(range(16, 32))
        self.k1, self.k2, self.k3, self.k4 = (generate_admin_key() for _ in range(4))
        self.log_key = generate_admin_key()
        self.pin = centre_fingerprint(self.centre_id, self.k1.public)
        v1 = self.root(1, NOW - 10 * DAY, None, [self.k1], 1, [self.k1])
        v2 = self.root(2, NOW - 5 * DAY, v1, [self.k1, self.k2, self.k3], 2, [self.k1, self.k2])
        self.chain = [v1, v2]
        self.trust = verify_trust_root(self.chain, self.pin)
        self.staff: dict[str, LocalMember] = {}
        self.certs: dict[str, bytes] = {}
        for name, role in [
            ("A", Role.COUNSELLOR),
            ("B", Role.COUNSELLOR),
            ("C", Role.COUNSELLOR),
            ("I", Role.INTERPRETER),
        ]:
            member = create_staff_identity(self.centre_id, name.encode() * 16, role)
            self.staff[name] = member
            self.certs[name] = certify(self.k1, member, f"Staff {name}", NOW - DAY, NOW + 300 * DAY)
        self.directory = self.sign(1, NOW - 60, list(self.certs.values()))

    def root(
        self,
        version: int,
        issued: int,
        prev: bytes | None,
        keys: list[AdminKey],
        threshold: int,
        signers: list[AdminKey],
    ) -> bytes:
        return make_root(self, version, issued, prev, keys, threshold, signers)

    def sign(self, serial: int, issued: int, certs: list[bytes], signer: AdminKey | None = None) -> bytes:
        return sign_directory(signer or self.k1, self.centre_id, serial, issued, issued + 30 * DAY, certs)

    def start(self) -> tuple[Conversation, dict[str, Conversation], bytes]:
        created = create_conversation(self.directory, self.trust, NOW)
        staff = {n: open_conversation(m, created.genesis, self.trust) for n, m in self.staff.items()}
        return created.conversation, staff, created.genesis


def deliver(data: bytes, *parties: Conversation) -> list[Any]:
    return [c.receive(data) for c in parties]


@contextmanager
def corrupt_wrap_for(kem_public: bytes) -> Iterator[None]:
    """A malicious committer: the wrap to one member is garbage (everything else is honest)."""
    real = conversation_module.hpke.seal

    def seal(pk: bytes, info: bytes, aad: bytes, pt: bytes, rand: p.RandomSource) -> tuple[bytes, bytes]:
        enc, ct = real(pk, info, aad, pt, rand)
        return (enc, bytes([ct[0] ^ 1]) + ct[1:]) if pk == kem_public else (enc, ct)

    conversation_module.hpke.seal = seal  # type: ignore[assignment]
    try:
        yield
    finally:
        conversation_module.hpke.seal = real  # type: ignore[assignment]


def backdated_claim(conv: Conversation, created_at: int) -> bytes:
    """A claim built without the client's clamp to the previous commit's time."""
    members = {m.member_id: m for m in conv.members}
    entries = [
        _visitor_entry_of(members[conv.visitor_id]),
        _staff_entry(members[conv.me.member_id].certificate or b""),
    ]
    entries.sort(key=lambda e: e.member_id)
    env = conv._envelope(ObjectType.COMMIT, conv.epoch + 1)
    return _build_commit(ObjectType.COMMIT, env, created_at, entries, conv.me, p.system_random)


def _visitor_entry_of(info: Any) -> MemberEntry:
    raw = encode_visitor_entry(info.member_id, info.kem_public, info.sig_public)
    return MemberEntry(info.member_id, Role.VISITOR, info.kem_public, info.sig_public, None, raw)


def signed_garbage(conv: Conversation, member: LocalMember) -> bytes:
    """An application message with a broken ciphertext, correctly signed by its sender."""
    data = bytearray(conv.encrypt(ContentType.TEXT, b"x"))
    data[100] ^= 0xFF
    tbs = bytes(data[:-64])
    return tbs + p.ed25519_sign(member.sig_private, signature_input("application", tbs))


def test_interpreter_sends_signed_garbage_and_the_conversation_goes_on() -> None:
    c = Centre()
    visitor, staff, _ = c.start()
    a, i = staff["A"], staff["I"]
    deliver(a.claim(NOW + 10), visitor, a, i)
    deliver(visitor.add_member(c.certs["I"], NOW + 20), visitor, a, i)
    garbage = signed_garbage(i, c.staff["I"])
    assert verify_sender_signature(garbage, c.staff["I"].sig_public).seq == 3  # the server cannot tell
    for r in deliver(garbage, visitor, a, i):
        assert (r.readable, r.problem, r.body) == (False, "bad_tag", None)
    for r in deliver(a.encrypt(ContentType.TEXT, b"Vi fortsetter."), visitor, a, i):
        assert r.body == b"Vi fortsetter."
    assert visitor.messages_in_epoch == 2


def test_a_bad_wrap_is_answered_by_a_key_request_and_an_automatic_rekey() -> None:
    c = Centre()
    visitor, staff, _ = c.start()
    a, i = staff["A"], staff["I"]
    deliver(a.claim(NOW + 10), visitor, a, i)
    deliver(visitor.add_member(c.certs["I"], NOW + 20), visitor, a, i)
    with corrupt_wrap_for(c.staff["I"].kem_public):
        bad = a.rekey(None, NOW + 30)
    results = deliver(bad, visitor, a, i)
    assert [r.readable for r in results] == [True, True, False]
    assert results[2].problem == "bad_tag"
    assert i.needs_rekey
    assert not i.can_commit  # an interpreter asks; a visitor or counsellor would re-key itself
    request = i.request_rekey()
    for conv in (visitor, a, i):
        r = conv.receive(request)
        assert (r.kind, r.request_reason, r.request_seq) == ("key_request", 1, 3)
    # Every client that may commit answers; the server keeps the first, the rest rebuild or stop.
    answer_a, answer_v = a.rekey(None, NOW + 40), visitor.rekey(None, NOW + 40)
    assert peek(answer_a).seq == peek(answer_v).seq
    deliver(answer_a, visitor, a, i)
    assert not i.needs_rekey
    assert visitor.epoch == a.epoch == i.epoch  # the visitor's answer is now stale
    assert error_of(visitor.receive, answer_v) == "replay"
    assert i.receive(visitor.encrypt(ContentType.TEXT, b"Hei igjen")).body == b"Hei igjen"


def test_revocation_removes_who_the_directory_no_longer_lists() -> None:
    c = Centre()
    visitor, staff, _ = c.start()
    a, b = staff["A"], staff["B"]
    deliver(a.claim(NOW + 10), visitor, a, b)
    deliver(a.add_member(c.certs["B"], NOW + 20), visitor, a, b)
    edition = c.sign(2, NOW + 100, [c.certs[n] for n in "ACI"])  # B deactivated
    directory = verify_directory(edition, c.trust.anchors, NOW + 200)
    assert visitor.members_to_remove(directory, NOW + 200) == (c.staff["B"].member_id,)
    # A receiver that knows the new edition refuses a live commit that keeps B ...
    keeps_b = a.rekey(None, NOW + 200)
    assert error_of(visitor.receive, keeps_b, Live(NOW + 200, directory)) == "bad_certificate"
    # ... and the re-key the helper builds removes B, who cannot read what follows.
    removal = a.rekey(directory, NOW + 200)
    r = visitor.receive(removal, Live(NOW + 200, directory))
    assert r.removed == (c.staff["B"].member_id,)
    deliver(removal, a, b)
    assert not b.is_member
    assert b.receive(a.encrypt(ContentType.TEXT, b"Bare oss")).readable is False


def test_queue_epoch_is_rewrapped_to_the_current_counsellors() -> None:
    c = Centre()
    visitor, staff, _ = c.start()
    edition = c.sign(2, NOW + 100, [c.certs[n] for n in "BCI"])  # A deactivated while the visitor waits
    directory = verify_directory(edition, c.trust.anchors, NOW + 200)
    rewrap = visitor.requeue(directory, NOW + 200)
    for name, conv in staff.items():
        r = conv.receive(rewrap)
        assert r.readable is (name in "BC"), name
    assert error_of(staff["A"].claim, NOW + 300) == "not_a_member"


def test_scheduled_rekey_policy_is_one_line() -> None:
    c = Centre()
    visitor, staff, _ = c.start()
    a = staff["A"]
    deliver(a.claim(NOW + 10), visitor, a)
    assert not visitor.rekey_due(NOW + 2 * DAY)  # no activity, no re-key
    deliver(visitor.encrypt(ContentType.TEXT, b"hei"), visitor, a)
    assert not visitor.rekey_due(NOW + 10 + DAY - 1)
    assert visitor.rekey_due(NOW + 10 + DAY)
    assert visitor.rekey_due(NOW + 20, max_messages=1)
    deliver(a.rekey(None, NOW + 10 + DAY), visitor, a)
    assert (visitor.epoch_started_at, visitor.messages_in_epoch) == (NOW + 10 + DAY, 0)


def test_backdated_commits_are_refused_by_the_server_and_by_live_receivers() -> None:
    c = Centre()
    visitor, staff, _ = c.start()
    a = staff["A"]
    assert peek(a.claim(NOW - 3600)).created_at == NOW  # an honest client never goes back in time
    claim = backdated_claim(a, NOW - 3600)  # a modified one claims to be an hour old
    assert error_of(check_claimed_time, claim, NOW) == "bad_time"
    directory = verify_directory(c.directory, c.trust.anchors, NOW)
    assert error_of(visitor.receive, claim, Live(NOW, directory)) == "bad_time"
    # Before the genesis is impossible even in catch-up; at the genesis time it is history.
    assert error_of(visitor.receive, claim) == "bad_time"
    at_genesis = a.claim(NOW)
    check_claimed_time(at_genesis, NOW + 299)
    visitor.receive(at_genesis)


def test_anchors_rotate_two_of_three_after_one_is_lost() -> None:
    c = Centre()
    created = create_conversation(c.directory, c.trust, NOW)
    visitor = created.conversation
    claim = open_conversation(c.staff["B"], created.genesis, c.trust).claim(NOW + 10)
    # K1 is lost: K2 and K3 name K4 instead; K1 (or anyone) alone cannot make a version 3.
    rotation = NOW + 20 * DAY
    v3 = c.root(3, rotation, c.chain[1], [c.k2, c.k3, c.k4], 2, [c.k2, c.k3])
    forged = c.root(3, rotation, c.chain[1], [c.k1, c.k4], 1, [c.k1, c.k4])
    assert error_of(verify_trust_root, [*c.chain, forged], c.pin) == "bad_root"
    after = verify_trust_root([*c.chain, v3], c.pin, known=c.trust)
    assert after.anchors == tuple(sorted([c.k2.public, c.k3.public, c.k4.public]))
    assert error_of(verify_trust_root, c.chain, c.pin, after) == "bad_root"  # no rollback
    # The transcript written under K1 still verifies when read after the rotation.
    b = open_conversation(c.staff["B"], created.genesis, after)
    v = open_conversation(visitor.me, created.genesis, after)
    deliver(claim, b, v)
    # After the rotation, B's K1 certificate must be renewed by a current anchor before B commits.
    renewed = certify(c.k2, c.staff["B"], "Staff B", rotation, rotation + 300 * DAY)
    edition = c.sign(9, rotation + 60, [renewed], signer=c.k2)
    directory = verify_directory(edition, after.anchors, rotation + 120)
    by_k1 = c.sign(10, rotation + 60, [c.certs["B"]])
    assert error_of(verify_directory, by_k1, after.anchors, rotation + 120) == "bad_certificate"
    assert b.members_to_remove(directory, rotation + 120) == (c.staff["B"].member_id,)
    assert error_of(b.rekey, None, rotation + 1000) == "bad_certificate"
    renewal = b.rekey(directory, rotation + 1000)
    r = v.receive(renewal, Live(rotation + 1000, directory))
    assert (r.added, r.removed) == ((c.staff["B"].member_id,), (c.staff["B"].member_id,))


def test_the_log_shows_staff_a_directory_shown_only_to_visitors() -> None:
    c = Centre()
    log: list[tuple[int, bytes]] = []
    chain = [ZERO_HASH]

    def append(kind: int, obj: bytes) -> None:
        log.append(entry_of(kind, obj))
        chain.append(log_chain(chain[-1], len(log) - 1, log[-1]))

    for root in c.chain:
        append(LogKind.TRUST_ROOT, root)
    append(LogKind.DIRECTORY, c.directory)
    head1 = verify_log_head(
        sign_log_head(c.log_key, c.centre_id, 3, chain[3], NOW), c.trust.log_key, c.centre_id
    )
    # A genuine conversation: the directory it names is in the log and matches its members.
    _, staff, _ = c.start()
    a = staff["A"]
    assert verify_log_inclusion(head1, 2, chain[2], log[2:], LogKind.DIRECTORY, c.directory) is True
    assert a.check_directory(c.directory).serial == 1
    # A server holding a stolen anchor shows visitors a directory with a shadow counsellor.
    shadow = create_staff_identity(c.centre_id, b"S" * 16, Role.COUNSELLOR)
    rogue = c.sign(
        2, NOW - 30, [*c.certs.values(), certify(c.k2, shadow, "Staff S", NOW - DAY, NOW + DAY)], c.k2
    )
    fooled = create_conversation(rogue, c.trust, NOW)
    counsellor = open_conversation(c.staff["A"], fooled.genesis, c.trust)
    assert counsellor.directory_hash == p.sha256(rogue)
    assert error_of(verify_log_inclusion, head1, 2, chain[2], log[2:], LogKind.DIRECTORY, rogue) == "bad_log"
    # Logging it to satisfy staff makes it visible to every staff client that follows the log.
    append(LogKind.DIRECTORY, rogue)
    head2 = verify_log_head(
        sign_log_head(c.log_key, c.centre_id, 4, chain[4], NOW + 60), c.log_key.public, c.centre_id
    )
    verify_log_consistency(head1, head2, log[3:])
    assert verify_log_inclusion(head2, 3, chain[3], log[3:], LogKind.DIRECTORY, rogue) is True
    # A server that rewrites history instead is caught by the consistency check.
    rewritten = log_chain(chain[2], 2, entry_of(LogKind.DIRECTORY, rogue))
    forked = verify_log_head(
        sign_log_head(c.log_key, c.centre_id, 3, rewritten, NOW + 60), c.log_key.public, c.centre_id
    )
    assert error_of(verify_log_consistency, forked, head2, log[3:]) == "bad_log"
    assert error_of(verify_log_consistency, head1, forked, []) == "bad_log"
