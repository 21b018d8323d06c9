"""Every receiver replays the shared conversation transcript; every negative case is rejected
with exactly the documented error and leaves the state unchanged."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest

from crypto import Conversation, LocalMember, Role, b64decode, open_conversation, peek
from crypto.identity import member_from_private_bytes

from .vectors import cases, error_of, h, load

DOC = load("conversation.json")
ANCHORS = [h(a) for a in DOC["anchors_hex"]]
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
    for r in DOC["receivers"].values():
        m = member_from_private_bytes(
            h(r["member_id_hex"]),
            Role(r["role"]),
            h(r["centre_id_hex"]),
            h(r["kem_private_hex"]),
            h(r["sig_private_hex"]),
        )
        assert (m.kem_public.hex(), m.sig_public.hex()) == (r["kem_public_hex"], r["sig_public_hex"])
    return True


def replay(name: str, prefix: int) -> Conversation:
    conv = open_conversation(member(name), TRANSCRIPT[0], ANCHORS)
    for data in TRANSCRIPT[1:prefix]:
        conv.receive(data)
    return conv


@pytest.mark.parametrize("name", list(DOC["receivers"]))
def test_transcript(name: str) -> None:
    assert _checked_keys()
    conv = open_conversation(member(name), TRANSCRIPT[0], ANCHORS)
    assert conv.can_read is DOC["transcript"][0]["readable"][name]
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
        assert r.readable is entry["readable"][name]
        if r.kind == "application" and r.readable:
            assert (r.content_type, r.body) == (entry["content_type"], h(entry["body_hex"]))
        else:
            assert r.body is None


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
    assert (r.history_recipient.hex() if r.history_recipient else None) == want["history_recipient_hex"]


@pytest.mark.parametrize("case", cases("conversation.json"))
def test_rejections(case: dict[str, Any]) -> None:
    conv = replay(case["receiver"], case["prefix"])
    before = (conv.next_seq, conv.last_hash, conv.epoch, conv.known_epochs())
    data = b64decode(case["message_b64url"]) + bytes(case.get("append_zero_bytes", 0))
    assert error_of(conv.receive, data) == case["error"]
    assert (conv.next_seq, conv.last_hash, conv.epoch, conv.known_epochs()) == before
    conv.receive(TRANSCRIPT[case["prefix"]])  # and the genuine next message still goes through


@pytest.mark.parametrize("case", cases("conversation.json", key="genesis_cases"))
def test_genesis_rejections(case: dict[str, Any]) -> None:
    data = b64decode(case["genesis_b64url"])
    assert error_of(open_conversation, member(case["receiver"]), data, ANCHORS) == case["error"]


@pytest.mark.parametrize("case", cases("conversation.json", key="past_cases"))
def test_decrypt_past(case: dict[str, Any]) -> None:
    conv = replay(case["receiver"], case["prefix"])
    data = TRANSCRIPT[case["message_index"]]
    if case["result"] == "invalid":
        assert error_of(conv.decrypt_past, data) == case["error"]
    else:
        r = conv.decrypt_past(data)
        assert (r.content_type, r.body) == (case["content_type"], h(case["body_hex"]))


def test_builds_are_reproducible() -> None:
    """Rebuilding each transcript message from its recorded seed gives the same bytes."""
    from crypto import testing as t

    parties: dict[str, Conversation] = {}
    world = DOC["certificates_hex"]
    for entry, data in zip(DOC["transcript"], TRANSCRIPT, strict=True):
        build = entry["build"]
        rand = t.DeterministicRandom(h(build["rand_seed_hex"]))
        if build["op"] == "create":
            created = t.create_conversation_with(h(DOC["directory_hex"]), ANCHORS, build["now"], None, rand)
            assert created.genesis == data
            parties = {
                n: t.open_conversation_with(member(n), data, ANCHORS, t.DeterministicRandom(b""))
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
        else:
            built = conv.share_history(
                h(DOC["receivers"][build["recipient"]]["member_id_hex"]), build["epochs"]
            )
        assert built == data, entry["seq"]
        for c in parties.values():
            c.receive(data)
