"""Resume codes: vectors, typo detection, derivation, and the visitor state they unlock."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import (
    derive_resume_keys,
    export_visitor_state,
    format_resume_code,
    generate_resume_code,
    import_visitor_state,
    parse_resume_code,
)
from crypto import testing as t
from crypto.resume import ALPHABET, code_from_entropy

from .vectors import cases, error_of, h


@pytest.mark.parametrize("case", cases("resume_code.json", "generate"))
def test_generate(case: dict[str, Any]) -> None:
    assert code_from_entropy(h(case["entropy_hex"])) == case["code"]
    assert format_resume_code(case["code"]) == case["formatted"]


@pytest.mark.parametrize("case", cases("resume_code.json", "parse"))
def test_parse(case: dict[str, Any]) -> None:
    if case["result"] == "valid":
        assert parse_resume_code(case["input"]) == case["code"]
    else:
        assert error_of(parse_resume_code, case["input"]) == case["error"]


@pytest.mark.parametrize("case", cases("resume_code.json", "derive"))
def test_derive(case: dict[str, Any]) -> None:
    keys = t.derive_resume_keys_with_iterations(case["code"], h(case["centre_id_hex"]), case["iterations"])
    assert keys.lookup_id == h(case["lookup_id_hex"])
    assert keys.access_verifier == h(case["access_verifier_hex"])
    assert keys.state_key == h(case["state_key_hex"])
    if case["iterations"] == 600_000:
        assert derive_resume_keys(case["code"], h(case["centre_id_hex"])).lookup_id == keys.lookup_id


def test_generated_codes_parse_and_have_90_bits() -> None:
    codes = {parse_resume_code(generate_resume_code()) for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 20 and set(c) <= set(ALPHABET) for c in codes)


def test_every_single_substitution_and_adjacent_swap_is_caught() -> None:
    code = code_from_entropy(bytes.fromhex("0123456789abcdef01234567"))
    for i, symbol in itertools.product(range(20), ALPHABET):
        if symbol != code[i]:
            typo = code[:i] + symbol + code[i + 1 :]
            assert error_of(parse_resume_code, typo) == "bad_code_checksum", (i, symbol)
    for i in range(19):
        if code[i] != code[i + 1]:
            swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
            assert error_of(parse_resume_code, swapped) == "bad_code_checksum", i


@given(st.binary(min_size=12, max_size=12))
def test_any_entropy_round_trips(entropy: bytes) -> None:
    code = code_from_entropy(entropy)
    assert parse_resume_code(format_resume_code(code).lower()) == code


@given(st.text(max_size=80))
def test_parse_never_crashes(text: str) -> None:
    assert error_of(parse_resume_code, text) in {
        None,
        "bad_code_length",
        "bad_code_character",
        "bad_code_checksum",
    }


@pytest.mark.parametrize("case", cases("visitor_state.json"))
def test_import_visitor_state(case: dict[str, Any]) -> None:
    from crypto import b64decode

    keys = t.derive_resume_keys_with_iterations(case["code"], h(case["centre_id_hex"]), case["iterations"])
    blob = b64decode(case["state_b64url"])
    importer = (
        import_visitor_state if case["floor"] == "production" else t.import_visitor_state_low_iterations
    )
    if case["result"] == "invalid":
        assert error_of(importer, blob, keys) == case["error"]
        return
    state = importer(blob, keys)
    assert state.conversation_id == h(case["conversation_id_hex"])
    assert state.me.member_id == h(case["member_id_hex"])
    assert state.me.kem_public == h(case["kem_public_hex"])
    assert state.me.sig_public == h(case["sig_public_hex"])
    assert state.genesis_hash == h(case["genesis_hash_hex"])
    assert state.pin.hex() == case["pin_hex"]


def test_production_export_refuses_weak_keys() -> None:
    from .test_scenario import World

    world = World()
    created = world.create()
    weak = t.derive_resume_keys_with_iterations(generate_resume_code(), world.centre_id, 1000)
    assert error_of(export_visitor_state, created.conversation, weak) == "weak_parameters"


def test_resume_keys_repr_is_opaque() -> None:
    keys = t.derive_resume_keys_with_iterations(generate_resume_code(), bytes(16), 10)
    assert keys.state_key.hex() not in repr(keys)
    assert keys.access_verifier.hex() not in repr(keys)
