"""Every receiver replays the shared conversation transcript; every negative case is rejected
with exactly the documented error and leaves the state unchanged; survivals, live checks,
revocation re-keys, conversation codes, directory checks and the server's checks."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from crypto import (
    Conversation,
    Directory,
    Live,
    LocalMember,
    Role,
    TrustRoot,
    b64decode,
    check_claimed_time,
    check_listed_members,
    open_conversation,
    peek,
    verify_directory,
    verify_sender_signature,
    verify_trust_root,
)
from crypto import testing as t
from crypto.identity import member_from_private_bytes

from .vectors import cases, error_of, h, load

DOC = load("conversation.json")
ANCHORS = [h(a) for a in DOC["anchors_hex"]]
CHAIN = [h(r) for r in DOC["trust"]["chain_hex"]]
PIN = h(DOC["trust"]["pin_hex"])
TRUST = verify_trust_root(CHAIN, PIN)
TRANSCRIPT = [b64decode(m["message_b64url"]) for m in DOC["transcript"]]


def member(name: str) -> LocalMember:
    r = DOC["receivers"][name]
    return member_from_private_bytes(
        h(r["member_id_hex"]),
        Role(r["role"]),
        h(r["centre_id_hex"]),
        h(r["kem_private_hex"]),
        h(r["sig_private_hex"]),
    )


@cache
def _checked_keys() -> bool:
    for name, r in DOC["receivers"].items():
        m = member(name)
        assert (m.kem_public.hex(), m.sig_public.hex()) == (r["kem_public_hex"], r["sig_public_hex"])
    return True


@cache
def trust_of(length: int) -> TrustRoot:
    return verify_trust_root(CHAIN[:length], PIN)


@cache
def directory(name: str) -> Directory:
    d = DOC["directories"][name]
    return verify_directory(h(d["directory_hex"]), trust_of(d["chain_length"]).anchors, d["verify_at"])


def live_of(case: dict[str, Any]) -> Live | None:
    live = case.get("live")
    return None if live is None else Live(live["now"], directory(live["directory"]))


def replay(name: str, prefix: int) -> Conversation:
    conv = open_conversation(member(name), TRANSCRIPT[0], TRUST)
    for data in TRANSCRIPT[1:prefix]:
        conv.receive(data)
    return conv


def snapshot(conv: Conversation) -> tuple[Any, ...]:
    return (conv.next_seq, conv.last_hash, conv.epoch, conv.known_epochs(), conv.messages_in_epoch)


@pytest.mark.parametrize("name", list(DOC["receivers"]))
def test_transcript(name: str) -> None:
    assert _checked_keys()
    conv = open_conversation(member(name), TRANSCRIPT[0], TRUST)
    first = DOC["transcript"][0]
    assert conv.can_read is first["readable"][name]
    assert conv.directory_hash.hex() == first["directory_hash_hex"]
    assert conv.epoch_started_at == first["created_at"]
    for entry, data in zip(DOC["transcript"][1:], TRANSCRIPT[1:], strict=True):
        r = conv.receive(data)
        assert r.kind == entry["kind"]
        assert (r.seq, r.epoch) == (entry["seq"], entry["epoch"])
        assert r.sender_id == h(entry["sender_id_hex"])
        assert r.sender_role == entry["sender_role"]
        assert [x.hex() for x in r.added] == entry["added_hex"]
        assert [x.hex() for x in r.removed] == entry["removed_hex"]
        assert (r.history_recipient.hex() if r.history_recipient else None) == entry["history_recipient_hex"]
        assert list(r.history_epochs) == entry["history_epochs"]
        assert (r.created_at, r.request_reason, r.request_seq) == (
            entry["created_at"],
            entry["request_reason"],
            entry["request_seq"],
        )
        assert r.readable is entry["readable"][name]
        assert r.problem is None
        if r.kind == "application" and r.readable:
            assert (r.content_type, r.body) == (entry["content_type"], h(entry["body_hex"]))
        else:
            assert r.body is None
        assert (conv.epoch_started_at, conv.messages_in_epoch) == (
            entry["epoch_started_at"],
            entry["messages_in_epoch"],
        )


@pytest.mark.parametrize("entry", DOC["transcript"], ids=lambda e: f"seq-{e['seq']}")
def test_routing(entry: dict[str, Any]) -> None:
    r = peek(b64decode(entry["message_b64url"]))
    want = entry["routing"]
    assert int(r.type) == want["type"]
    assert r.conversation_id.hex() == want["conversation_id_hex"]
    assert (r.epoch, r.seq) == (want["epoch"], want["seq"])
    assert r.sender_id.hex() == want["sender_id_hex"]
    assert r.prev_hash.hex() == want["prev_hash_hex"]
    assert r.message_hash.hex() == want["message_hash_hex"]
    assert [[m.hex(), int(role)] for m, role in r.members] == want["members"]
    assert [[m.member_id.hex(), int(m.role)] for m in r.member_keys] == want["members"]
    assert (r.history_recipient.hex() if r.history_recipient else None) == want["history_recipient_hex"]
    assert r.created_at == want["created_at"]
    assert (r.directory_hash.hex() if r.directory_hash else None) == want["directory_hash_hex"]


@pytest.mark.parametrize("case", cases("conversation.json"))
def test_rejections(case: dict[str, Any]) -> None:
    conv = replay(case["receiver"], case["prefix"])
    before = snapshot(conv)
    data = b64decode(case["message_b64url"]) + bytes(case.get("append_zero_bytes", 0))
    assert error_of(conv.receive, data, live_of(case)) == case["error"]
    assert snapshot(conv) == before
    conv.receive(TRANSCRIPT[case["prefix"]])  # and the genuine next message still goes through


@pytest.mark.parametrize("case", cases("conversation.json", key="survival_cases"))
def test_survivals(case: dict[str, Any]) -> None:
    conv = replay(case["receiver"], case["prefix"])
    data = b64decode(case["message_b64url"])
    r = conv.receive(data)
    assert (r.kind, r.readable, r.problem) == (case["kind"], False, case["problem"])
    assert r.body is None
    assert (conv.next_seq, conv.last_hash) == (case["prefix"] + 1, peek(data).message_hash)
    assert conv.needs_rekey is (case["kind"] == "commit")


@pytest.mark.parametrize("case", cases("conversation.json", key="accept_cases"))
def test_acceptances(case: dict[str, Any]) -> None:
    conv = replay(case["receiver"], case["prefix"])
    r = conv.receive(b64decode(case["message_b64url"]), live_of(case))
    assert (r.kind, r.readable, r.problem) == (case["kind"], case["readable"], None)
    assert [x.hex() for x in r.added] == case["added_hex"]
    assert [x.hex() for x in r.removed] == case["removed_hex"]


@pytest.mark.parametrize("case", cases("conversation.json", key="genesis_cases"))
def test_genesis_cases(case: dict[str, Any]) -> None:
    data = b64decode(case["genesis_b64url"])
    if case["result"] == "invalid":
        assert error_of(open_conversation, member(case["receiver"]), data, TRUST) == case["error"]
        return
    conv = open_conversation(member(case["receiver"]), data, TRUST)
    assert conv.needs_rekey is case["needs_rekey"]
    assert not conv.can_read


@pytest.mark.parametrize("case", cases("conversation.json", key="past_cases"))
def test_decrypt_past(case: dict[str, Any]) -> None:
    conv = replay(case["receiver"], case["prefix"])
    data = TRANSCRIPT[case["message_index"]]
    if case["result"] == "invalid":
        assert error_of(conv.decrypt_past, data) == case["error"]
    else:
        r = conv.decrypt_past(data)
        assert (r.content_type, r.body) == (case["content_type"], h(case["body_hex"]))


@pytest.mark.parametrize("case", cases("conversation.json", key="revocation_cases"))
def test_revocation(case: dict[str, Any]) -> None:
    d, now = directory(case["directory"]), case["now"]
    conv = replay(case["actor"], case["prefix"])
    assert [x.hex() for x in conv.members_to_remove(d, now)] == case["remove_hex"]
    conv._rand = t.DeterministicRandom(h(case["rand_seed_hex"]))
    data = conv.rekey(d, now) if case["op"] == "rekey" else conv.requeue(d, now)
    assert data == b64decode(case["message_b64url"])
    for name in DOC["receivers"]:
        r = replay(name, case["prefix"]).receive(data, Live(now, d) if name == "visitor" else None)
        assert [m.member_id.hex() for m in r.members] == case["members_hex"]
        assert [x.hex() for x in r.added] == case["added_hex"]
        assert [x.hex() for x in r.removed] == case["removed_hex"]


@pytest.mark.parametrize("case", cases("conversation.json", key="code_cases"))
def test_conversation_codes(case: dict[str, Any]) -> None:
    staff = member(case["staff"])
    assert replay("visitor", case["prefix"]).conversation_code(staff.member_id) == case["code"]
    assert replay(case["staff"], case["prefix"]).conversation_code() == case["code"]


@pytest.mark.parametrize("case", cases("conversation.json", key="directory_check_cases"))
def test_directory_checks(case: dict[str, Any]) -> None:
    conv = replay(case["receiver"], 1)
    if case["result"] == "invalid":
        assert error_of(conv.check_directory, h(case["directory_hex"])) == case["error"]
    else:
        assert conv.check_directory(h(case["directory_hex"])).serial == 7


@pytest.mark.parametrize("case", cases("conversation.json", key="server_cases"))
def test_server_checks(case: dict[str, Any]) -> None:
    data = b64decode(case["message_b64url"])
    if case["kind"] == "signature":
        key = h(case["sig_public_hex"]) if case["sig_public_hex"] else None
        got = error_of(verify_sender_signature, data, key)
    elif case["kind"] == "listed_members":
        got = error_of(check_listed_members, data, directory(case["directory"]), case["now"])
    else:
        got = error_of(check_claimed_time, data, case["now"])
    assert got == (case["error"] if case["result"] == "invalid" else None)


def test_builds_are_reproducible() -> None:
    """Rebuilding each transcript message from its recorded seed gives the same bytes."""
    parties: dict[str, Conversation] = {}
    world = DOC["certificates_hex"]
    visitor_trust = trust_of(2)  # what the visitor's client knew at creation
    for entry, data in zip(DOC["transcript"], TRANSCRIPT, strict=True):
        build = entry["build"]
        rand = t.DeterministicRandom(h(build["rand_seed_hex"]))
        if build["op"] == "create":
            created = t.create_conversation_with(
                h(DOC["directory_hex"]), visitor_trust, build["now"], None, rand
            )
            assert created.genesis == data
            parties = {
                n: t.open_conversation_with(member(n), data, TRUST, t.DeterministicRandom(b""))
                for n in DOC["receivers"]
            }
            continue
        conv = parties[build["party"]]
        conv._rand = rand
        op = build["op"]
        if op == "encrypt":
            built = conv.encrypt(build["content_type"], h(build["body_hex"]))
        elif op == "claim":
            built = conv.claim(build["now"])
        elif op == "add_member":
            built = conv.add_member(h(world[build["certificate_of"]]), build["now"])
        elif op == "remove_member":
            built = conv.remove_member(h(DOC["receivers"][build["member"]]["member_id_hex"]), build["now"])
        elif op == "request_rekey":
            built = conv.request_rekey(build["reason"])
        elif op == "rekey":
            built = conv.rekey(None, build["now"])
        else:
            built = conv.share_history(
                h(DOC["receivers"][build["recipient"]]["member_id_hex"]), build["epochs"]
            )
        assert built == data, entry["seq"]
        for c in parties.values():
            c.receive(data)
