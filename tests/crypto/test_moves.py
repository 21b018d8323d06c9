"""PROTOCOL.md §8.6: moving a conversation to another centre, through the public API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from crypto import (
    Conversation,
    ErrorCode,
    Role,
    centre_fingerprint,
    certify,
    cosign_trust_root,
    create_conversation,
    create_staff_identity,
    draft_trust_root,
    generate_admin_key,
    open_conversation,
    sign_directory,
    verify_directory,
    verify_trust_root,
)

from .vectors import error_of

NOW = 1_767_225_600


class Centre:
    def __init__(self, fill: int, staff: dict[str, Role]) -> None:
        self.centre_id = bytes([fill]) * 16
        admin = generate_admin_key()
        root = draft_trust_root(
            centre_id=self.centre_id,
            version=1,
            issued_at=NOW - 100,
            previous=None,
            anchors=[admin.public],
            threshold=1,
            log_key=generate_admin_key().public,
        )
        self.trust = verify_trust_root(
            [cosign_trust_root(root, admin)], centre_fingerprint(self.centre_id, admin.public)
        )
        self.staff = {
            name: create_staff_identity(self.centre_id, name.encode() * 16, role)
            for name, role in staff.items()
        }
        self.certs = {
            name: certify(admin, member, f"Staff {name}", NOW - 10, NOW + 10**7)
            for name, member in self.staff.items()
        }
        signed = sign_directory(admin, self.centre_id, 1, NOW - 10, NOW + 10**6, list(self.certs.values()))
        self.signed = signed
        self.directory = verify_directory(signed, self.trust.anchors_at(NOW), NOW)


@contextmanager
def unchecked(conv: Conversation) -> Iterator[None]:
    """A modified client that skips its own checks: only the receivers stand in the way."""
    conv._evaluate = lambda data, live=None: (None, None)  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        del conv._evaluate  # type: ignore[attr-defined]


def started() -> tuple[Centre, Centre, Conversation, Conversation, bytes, list[bytes]]:
    a = Centre(1, {"A": Role.COUNSELLOR})
    b = Centre(2, {"C": Role.COUNSELLOR, "D": Role.COUNSELLOR, "I": Role.INTERPRETER})
    created = create_conversation(a.signed, a.trust, NOW)
    visitor = created.conversation
    anna = open_conversation(a.staff["A"], created.genesis, a.trust)
    claim = anna.claim(NOW + 1)
    visitor.receive(claim)
    anna.receive(claim)
    return a, b, visitor, anna, created.genesis, [claim]


def test_only_the_visitor_moves_and_only_to_a_centre_whose_root_she_holds() -> None:
    a, b, visitor, anna, _, _ = started()
    assert error_of(lambda: visitor.move(b.directory, NOW + 2)) == ErrorCode.BAD_CERTIFICATE
    visitor.know_centre(b.trust)
    assert error_of(lambda: visitor.move(a.directory, NOW + 2)) == ErrorCode.BAD_CERTIFICATE
    anna.know_centre(b.trust)
    assert error_of(lambda: anna.move(b.directory, NOW + 2)) == ErrorCode.FORBIDDEN
    # A counsellor's commit to another centre's staff is refused by every receiver.
    with unchecked(anna):
        forged = anna.commit([b.certs["C"]], NOW + 2)
    assert error_of(lambda: visitor.receive(forged)) == ErrorCode.FORBIDDEN
    # The visitor cannot mix two centres' staff, nor take an interpreter along.
    with unchecked(visitor):
        mixed = visitor.commit([a.certs["A"], b.certs["C"]], NOW + 2)
        with_interpreter = visitor.commit([b.certs["C"], b.certs["I"]], NOW + 2)
    assert error_of(lambda: anna.receive(mixed)) == ErrorCode.BAD_CERTIFICATE
    assert error_of(lambda: anna.receive(with_interpreter)) == ErrorCode.FORBIDDEN


def test_a_move_leaves_the_sending_centre_out_and_the_receiving_one_reads_history_only_if_shared() -> None:
    a, b, visitor, anna, genesis, log = started()
    said = visitor.encrypt(1, b"before the move")
    for conv in (visitor, anna):
        conv.receive(said)
    visitor.know_centre(b.trust)
    move = visitor.move(b.directory, NOW + 2)
    # Without the receiving centre's root: fail closed.  With it: no wrap, no membership.
    assert error_of(lambda: anna.receive(move)) == ErrorCode.BAD_CERTIFICATE
    anna.know_centre(b.trust)
    assert anna.receive(move).readable is False
    assert not anna.is_member
    visitor.receive(move)
    assert visitor.centre_id == b.centre_id
    assert {m.member_id for m in visitor.members} == {
        visitor.visitor_id,
        b.staff["C"].member_id,
        b.staff["D"].member_id,
    }
    # A receiving counsellor: the epochs before against A's root, the move against B's.
    carl = open_conversation(b.staff["C"], genesis, a.trust)
    without_b = open_conversation(b.staff["D"], genesis, a.trust)
    for data in (*log, said):
        carl.receive(data)
        without_b.receive(data)
    assert error_of(lambda: without_b.receive(move)) == ErrorCode.BAD_CERTIFICATE
    carl.know_centre(b.trust)
    assert carl.receive(move).readable is True
    taken = carl.claim(NOW + 3)
    for conv in (carl, visitor):
        conv.receive(taken)
    assert error_of(lambda: carl.decrypt_past(said)) == ErrorCode.NO_KEY  # not without her say
    shared = visitor.share_history(
        b.staff["C"].member_id, [e for e in visitor.known_epochs() if e < visitor.epoch]
    )
    for conv in (carl, visitor):
        conv.receive(shared)
    assert carl.decrypt_past(said).body == b"before the move"
    # After the move, a commit must be of the receiving centre (or a further move by her).
    with unchecked(carl):
        back = carl.commit([b.certs["C"], a.certs["A"]], NOW + 4)
    assert error_of(lambda: visitor.receive(back)) == ErrorCode.BAD_CERTIFICATE
