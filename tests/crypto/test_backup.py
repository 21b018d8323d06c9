"""Key backups under a generated recovery phrase: vectors, round trips, KDF bounds, phrases."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crypto import (
    MAX_ITERATIONS,
    Role,
    b64decode,
    create_staff_identity,
    export_admin_backup,
    export_staff_backup,
    generate_admin_key,
    generate_recovery_phrase,
    import_admin_backup,
    import_staff_backup,
    parse_recovery_phrase,
)
from crypto import testing as t
from crypto.recovery import phrase_from_entropy
from crypto.wordlist import WORDS

from .vectors import cases, error_of, h, load


@pytest.mark.parametrize("case", cases("staff_backup.json", "import"))
def test_import(case: dict[str, Any]) -> None:
    blob = b64decode(case["backup_b64url"])
    importer = import_staff_backup if case["floor"] == "production" else t.import_staff_backup_low_iterations
    if case["result"] == "invalid":
        assert error_of(importer, blob, case["phrase"]) == case["error"]
        return
    member = importer(blob, case["phrase"])
    assert member.member_id == h(case["member_id_hex"])
    assert member.centre_id == h(case["centre_id_hex"])
    assert member.role == case["role"]
    assert member.kem_public == h(case["kem_public_hex"])
    assert member.sig_public == h(case["sig_public_hex"])


@pytest.mark.parametrize("case", cases("staff_backup.json", "export"))
def test_export_refusals(case: dict[str, Any]) -> None:
    ident = load("staff_backup.json")["identity"]
    from crypto.identity import member_from_private_bytes

    member = member_from_private_bytes(
        h(ident["member_id_hex"]),
        Role(ident["role"]),
        h(ident["centre_id_hex"]),
        h(ident["kem_private_hex"]),
        h(ident["sig_private_hex"]),
    )
    assert error_of(export_staff_backup, member, case["phrase"], case["iterations"]) == case["error"]


def test_production_round_trip() -> None:
    member = create_staff_identity(bytes(16), b"s" * 16, Role.COUNSELLOR)
    phrase = generate_recovery_phrase()
    blob = export_staff_backup(member, phrase)
    back = import_staff_backup(blob, phrase.upper())
    assert (back.member_id, back.kem_public, back.sig_public) == (
        member.member_id,
        member.kem_public,
        member.sig_public,
    )
    assert error_of(import_staff_backup, blob, generate_recovery_phrase()) == "bad_tag"


@pytest.mark.parametrize("case", cases("admin_backup.json"))
def test_admin_backup(case: dict[str, Any]) -> None:
    blob = b64decode(case["backup_b64url"])
    if case["kind"] == "import_staff":
        importer: Any = t.import_staff_backup_low_iterations
    elif case["floor"] == "production":
        importer = import_admin_backup
    else:
        importer = t.import_admin_backup_low_iterations
    if case["result"] == "invalid":
        assert error_of(importer, blob, case["phrase"]) == case["error"]
    else:
        assert importer(blob, case["phrase"]).public == h(case["admin_public_hex"])


def test_admin_round_trip() -> None:
    admin = generate_admin_key()
    phrase = generate_recovery_phrase()
    blob = export_admin_backup(admin, phrase)
    assert import_admin_backup(blob, phrase).public == admin.public
    assert error_of(export_admin_backup, admin, "senterets lange passfrase") == "bad_code_character"
    assert error_of(export_admin_backup, admin, phrase, MAX_ITERATIONS + 1) == "weak_parameters"


@pytest.mark.parametrize("case", cases("recovery_phrase.json"))
def test_recovery_phrase_vectors(case: dict[str, Any]) -> None:
    if case["kind"] == "generate":
        assert phrase_from_entropy(h(case["entropy_hex"])) == case["phrase"]
        assert parse_recovery_phrase(case["phrase"]) == case["phrase"]
    elif case["result"] == "valid":
        assert parse_recovery_phrase(case["input"]) == case["phrase"]
    else:
        assert error_of(parse_recovery_phrase, case["input"]) == case["error"]


def test_word_list_is_bip39_english() -> None:
    digest = hashlib.sha256(("\n".join(WORDS) + "\n").encode()).hexdigest()
    assert digest == load("recovery_phrase.json")["wordlist_sha256_hex"]
    assert len({w[:4] for w in WORDS}) == len(WORDS) == 2048


def test_generated_phrases_parse_and_differ() -> None:
    phrases = {generate_recovery_phrase() for _ in range(20)}
    assert len(phrases) == 20
    assert all(parse_recovery_phrase(x) == x and len(x.split()) == 9 for x in phrases)


@given(st.binary(min_size=11, max_size=11), st.integers(0, 8), st.integers(0, 2047))
def test_any_single_word_change_is_caught(entropy: bytes, position: int, replacement: int) -> None:
    words = phrase_from_entropy(entropy).split()
    if words[position] == WORDS[replacement]:
        return
    words[position] = WORDS[replacement]
    # A wrong word is caught by the check word except with probability 1/2048 (then BAD_TAG).
    assert error_of(parse_recovery_phrase, " ".join(words)) in ("bad_code_checksum", None)
