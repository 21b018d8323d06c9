"""Property tests: any change to any message is rejected with a specific code, never a crash,
and never changes the receiver's state."""

from __future__ import annotations

from functools import cache

from hypothesis import example, given, settings
from hypothesis import strategies as st

from crypto import (
    Conversation,
    ErrorCode,
    b64decode,
    check_claimed_time,
    encode_remove_proposal,
    format_resume_code,
    open_conversation,
    parse_proposal,
    parse_recovery_phrase,
    peek,
    safety_number,
    verify_certificate,
    verify_directory,
    verify_sender_signature,
    verify_trust_root,
)
from crypto import testing as t
from crypto.constants import ObjectType
from crypto.log import parse_log_head

from .test_conversation_vectors import ANCHORS, DOC, TRANSCRIPT, TRUST, member
from .vectors import error_of, h, load

NAMES = list(DOC["receivers"])
CODES = {c.value for c in ErrorCode} - {ErrorCode.INTERNAL.value}


@cache
def at(name: str, prefix: int) -> Conversation:
    """Receiver `name` after transcript[:prefix]; safe to share since rejections change nothing."""
    conv = open_conversation(member(name), TRANSCRIPT[0], TRUST)
    for data in TRANSCRIPT[1:prefix]:
        conv.receive(data)
    return conv


def expected_for(index: int, position: int) -> set[str]:
    """The codes a change at `position` may produce; header bytes have exactly one answer."""
    length = len(TRANSCRIPT[index])
    if position == 0:
        return {"unsupported_version"}
    if position == 1:
        return {"unsupported_suite"}
    if 3 <= position < 19:
        return {"wrong_conversation"}
    if 23 <= position < 27:
        # A key request names an earlier seq (`ref_seq` < seq): a seq moved below it makes the
        # message itself inconsistent, refused when parsed, before the receiver's state is asked.
        return (
            {"replay", "gap", "malformed"}
            if peek(TRANSCRIPT[index]).type == ObjectType.KEY_REQUEST
            else {"replay", "gap"}
        )
    if 43 <= position < 75:
        return {"fork"}
    if position >= length - 64:
        return {"bad_signature"}
    return CODES


messages = st.integers(min_value=1, max_value=len(TRANSCRIPT) - 1)


@settings(max_examples=400, deadline=None)
@given(messages, st.sampled_from(NAMES), st.integers(min_value=0), st.integers(1, 255))
@example(17, "visitor", 26, 16)  # a key request's seq moved below the seq it refers to (CI, stop 17)
def test_any_flipped_byte_is_rejected(index: int, name: str, where: int, mask: int) -> None:
    conv = at(name, index)
    before = (conv.next_seq, conv.last_hash, conv.known_epochs())
    data = bytearray(TRANSCRIPT[index])
    position = where % len(data)
    data[position] ^= mask
    code = error_of(conv.receive, bytes(data))
    assert code in expected_for(index, position), (index, position, code)
    assert (conv.next_seq, conv.last_hash, conv.known_epochs()) == before


@settings(max_examples=200, deadline=None)
@given(messages, st.sampled_from(NAMES), st.integers(min_value=0))
def test_any_truncation_is_truncated(index: int, name: str, cut: int) -> None:
    data = TRANSCRIPT[index]
    assert error_of(at(name, index).receive, data[: cut % len(data)]) == "truncated"


@settings(max_examples=200, deadline=None)
@given(messages, st.sampled_from(NAMES), st.integers(min_value=0), st.binary(min_size=1, max_size=8))
def test_any_insertion_is_rejected(index: int, name: str, where: int, extra: bytes) -> None:
    data = TRANSCRIPT[index]
    position = where % (len(data) + 1)
    code = error_of(at(name, index).receive, data[:position] + extra + data[position:])
    assert code in CODES


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_garbage_is_rejected(blob: bytes) -> None:
    assert error_of(at("B", 5).receive, blob) in CODES
    assert error_of(at("B", 5).receive, TRANSCRIPT[5][:3] + blob) in CODES
    assert error_of(verify_certificate, blob, ANCHORS, 0) in CODES
    assert error_of(verify_directory, blob, ANCHORS, 0) in CODES
    assert error_of(open_conversation, member("A"), blob, TRUST) in CODES


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0), st.integers(1, 255))
def test_flipped_genesis_is_rejected(where: int, mask: int) -> None:
    data = bytearray(TRANSCRIPT[0])
    data[where % len(data)] ^= mask
    assert error_of(open_conversation, member("A"), bytes(data), TRUST) in CODES


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0), st.integers(1, 255))
def test_flipped_visitor_state_is_rejected(where: int, mask: int) -> None:
    case = next(c for c in load("visitor_state.json")["cases"] if c["id"] == "import-ok")
    keys = t.derive_resume_keys_with_iterations(case["code"], h(case["centre_id_hex"]), case["iterations"])
    data = bytearray(b64decode(case["state_b64url"]))
    data[where % len(data)] ^= mask
    assert error_of(t.import_visitor_state_low_iterations, bytes(data), keys) in CODES


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.text(max_size=300))
def test_public_helpers_only_raise_protocol_errors(blob: bytes, text: str) -> None:
    for call in (
        lambda: parse_proposal(blob),
        lambda: encode_remove_proposal(blob),
        lambda: peek(blob),
        lambda: b64decode(text),
        lambda: format_resume_code(text),
        lambda: safety_number(text, text[::-1]),
        lambda: parse_recovery_phrase(text),
        lambda: verify_trust_root([blob], blob[:32]),
        lambda: parse_log_head(blob),
        lambda: verify_sender_signature(blob),
        lambda: check_claimed_time(blob, 0),
    ):
        assert error_of(call) in CODES | {None}
