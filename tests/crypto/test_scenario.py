"""A whole conversation through the public API, with a minimal server that only orders bytes."""

from __future__ import annotations

import os

import pytest

from crypto import (
    ContentType,
    Conversation,
    Created,
    LocalMember,
    Role,
    centre_fingerprint,
    certify,
    cosign_trust_root,
    create_conversation,
    create_staff_identity,
    draft_trust_root,
    encode_add_proposal,
    encode_remove_proposal,
    fingerprint,
    generate_admin_key,
    generate_resume_code,
    open_conversation,
    parse_proposal,
    peek,
    safety_number,
    sign_directory,
    verify_trust_root,
)
from crypto import testing as t
from crypto.resume import ResumeKeys

from .vectors import error_of

NOW = 1_767_225_600


class World:
    """One centre: an admin, counsellors A, B, C and interpreter I, all certified."""

    def __init__(self) -> None:
        self.centre_id = bytes(range(16))
        self.admin = generate_admin_key()
        self.log_key = generate_admin_key()
        self.pin = centre_fingerprint(self.centre_id, self.admin.public)
        root = draft_trust_root(
            centre_id=self.centre_id,
            version=1,
            issued_at=NOW - 100,
            previous=None,
            anchors=[self.admin.public],
            threshold=1,
            log_key=self.log_key.public,
        )
        self.roots = [cosign_trust_root(root, self.admin)]
        self.trust = verify_trust_root(self.roots, self.pin)
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
            self.certs[name] = certify(self.admin, member, f"Staff {name}", NOW - 10, NOW + 10**7)
        self.directory = sign_directory(
            self.admin, self.centre_id, 1, NOW - 10, NOW + 10**6, list(self.certs.values())
        )

    def create(self, resume_keys: ResumeKeys | None = None) -> Created:
        if resume_keys is None:
            return create_conversation(self.directory, self.trust, NOW)
        # Test keys use few PBKDF2 iterations, which the production entry point refuses.
        return t.create_conversation_with(self.directory, self.trust, NOW, resume_keys, os.urandom)


class Server:
    """The server's whole job for the protocol: keep one ordered, append-only log per conversation."""

    def __init__(self, genesis: bytes) -> None:
        self.log = [genesis]

    def post(self, data: bytes) -> bool:
        routing = peek(data)
        if routing.seq != len(self.log) or routing.prev_hash != peek(self.log[-1]).message_hash:
            return False  # someone else took this position: the client catches up and rebuilds
        self.log.append(data)
        return True


class Client:
    def __init__(self, conversation: Conversation, server: Server) -> None:
        self.conversation = conversation
        self.server = server
        self.inbox: list[tuple[int, bytes | None]] = []

    def sync(self) -> None:
        for data in self.server.log[self.conversation.next_seq :]:
            r = self.conversation.receive(data)
            if r.kind == "application":
                self.inbox.append((r.seq, r.body))

    def send(self, build: object) -> None:
        """Build against the current state; on conflict, catch up and build again."""
        assert callable(build)
        while True:
            self.sync()
            if self.server.post(build(self.conversation)):
                self.sync()
                return

    def say(self, text: str) -> None:
        self.send(lambda c: c.encrypt(ContentType.TEXT, text.encode()))

    def last_text(self) -> str | None:
        body = self.inbox[-1][1]
        return body.decode() if body is not None else None


def test_whole_conversation() -> None:
    world = World()
    code = generate_resume_code()
    keys = t.derive_resume_keys_with_iterations(code, world.centre_id, 1000)
    created = world.create(keys)
    server = Server(created.genesis)
    visitor = Client(created.conversation, server)
    staff = {
        n: Client(open_conversation(m, created.genesis, world.trust), server) for n, m in world.staff.items()
    }
    A, B, C, interp = staff["A"], staff["B"], staff["C"], staff["I"]

    # Queue: every counsellor can read the first message, the interpreter cannot.
    visitor.say("Hei, jeg trenger hjelp")
    for client in (A, B, C, interp):
        client.sync()
    assert A.last_text() == B.last_text() == C.last_text() == "Hei, jeg trenger hjelp"
    assert interp.last_text() is None

    # Claim: only the visitor and A remain; B and C read nothing more.
    A.send(lambda c: c.claim(NOW + 1))
    A.say("Hei, jeg heter Anna")
    for client in (visitor, B, C):
        client.sync()
    assert visitor.last_text() == "Hei, jeg heter Anna"
    assert B.last_text() is None
    assert C.last_text() is None
    assert not B.conversation.is_member

    # Transfer to B: add, share history (labelled for everyone), B removes A.
    A.send(lambda c: c.add_member(world.certs["B"], NOW + 2))
    A.send(lambda c: c.share_history(world.staff["B"].member_id, [0, 1]))
    B.sync()
    held_back = [seq for seq, body in B.inbox if body is None]
    recovered = {B.conversation.decrypt_past(server.log[s]).body for s in held_back}
    assert b"Hei, jeg heter Anna" in recovered
    B.send(lambda c: c.remove_member(world.staff["A"].member_id, NOW + 3))
    B.say("Hei, det er Bjørn som tar over")
    A.sync()
    assert A.last_text() is None
    assert not A.conversation.is_member

    # The counsellor cannot bring in an interpreter; they propose, the visitor decides.
    B.sync()
    assert error_of(B.conversation.add_member, world.certs["I"], NOW + 4) == "forbidden"
    B.send(lambda c: c.encrypt(ContentType.PROPOSAL, encode_add_proposal(world.certs["I"])))
    visitor.sync()
    proposal = parse_proposal(visitor.inbox[-1][1] or b"")
    assert proposal == (1, world.certs["I"])
    visitor.send(lambda c: c.add_member(proposal[1], NOW + 5))
    visitor.say("Tolken kan lese dette")
    interp.sync()
    assert interp.last_text() == "Tolken kan lese dette"
    assert error_of(interp.conversation.decrypt_past, server.log[1]) == "no_key"

    # The interpreter asks to leave; B commits; the interpreter cannot read what follows.
    interp.send(lambda c: c.encrypt(ContentType.PROPOSAL, encode_remove_proposal(world.staff["I"].member_id)))
    B.sync()
    B.send(lambda c: c.remove_member(world.staff["I"].member_id, NOW + 6))
    B.say("Tolken har gått")
    interp.sync()
    assert interp.last_text() is None
    assert error_of(interp.conversation.encrypt, ContentType.TEXT, b"x") == "not_a_member"
    visitor.sync()
    assert visitor.last_text() == "Tolken har gått"

    # Resume from another device with only the code.
    state = t.import_visitor_state_low_iterations(created.visitor_state or b"", keys)
    again = Client(
        t.resume_conversation_with(state, server.log[0], world.trust, t.DeterministicRandom(b"r")), server
    )
    again.sync()
    assert again.last_text() == "Tolken har gått"
    assert again.conversation.last_hash == visitor.conversation.last_hash

    # Safety numbers agree on both screens.
    me, b = visitor.conversation.me, world.staff["B"]
    v_fp = fingerprint(me.member_id, me.sig_public, me.kem_public)
    b_fp = fingerprint(b.member_id, b.sig_public, b.kem_public)
    assert safety_number(v_fp, b_fp) == safety_number(b_fp, v_fp)


def test_concurrent_claims_one_wins() -> None:
    world = World()
    created = world.create()
    server = Server(created.genesis)
    a = open_conversation(world.staff["A"], created.genesis, world.trust)
    b = open_conversation(world.staff["B"], created.genesis, world.trust)
    claim_a, claim_b = a.claim(NOW + 1), b.claim(NOW + 1)
    assert server.post(claim_a)
    assert not server.post(claim_b)  # same position: the server keeps one
    r = b.receive(server.log[1])
    assert r.removed
    assert world.staff["B"].member_id in r.removed
    assert not b.is_member
    assert error_of(b.claim, NOW + 2) == "not_a_member"


def test_concurrent_messages_are_rebuilt_not_lost() -> None:
    world = World()
    created = world.create()
    server = Server(created.genesis)
    visitor = Client(created.conversation, server)
    a = Client(open_conversation(world.staff["A"], created.genesis, world.trust), server)
    first = visitor.conversation.encrypt(ContentType.TEXT, b"one")
    second = a.conversation.encrypt(ContentType.TEXT, b"two")
    assert server.post(first)
    assert not server.post(second)
    a.say("two")  # rebuilt after catching up
    visitor.sync()
    assert [body for _, body in visitor.inbox] == [b"one", b"two"]


def test_production_create_refuses_weak_resume_keys() -> None:
    world = World()
    weak = t.derive_resume_keys_with_iterations(generate_resume_code(), world.centre_id, 1000)
    assert error_of(create_conversation, world.directory, world.trust, NOW, weak) == "weak_parameters"


def test_visitor_needs_a_counsellor() -> None:
    world = World()
    only_interpreter = sign_directory(world.admin, world.centre_id, 2, NOW - 1, NOW + 1, [world.certs["I"]])
    assert error_of(create_conversation, only_interpreter, world.trust, NOW) == "no_recipients"


@pytest.mark.parametrize("size", [0, 1, 251, 252, 5000, 65_531])
def test_padding_hides_length_within_bucket(size: int) -> None:
    world = World()
    created = world.create()
    conv = created.conversation
    small, big = conv.encrypt(1, b"x" * size), conv.encrypt(1, b"y" * max(0, size - 1))
    assert len(small) == len(big) or size in (0, 252)
    assert conv.receive(small).body == b"x" * size


def test_oversize_payload_is_refused_not_sent() -> None:
    created = World().create()
    assert error_of(created.conversation.encrypt, 1, b"x" * 65_532) == "oversize"
    assert error_of(created.conversation.encrypt, 0, b"x") == "malformed"
