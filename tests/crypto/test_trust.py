"""Trust roots (who may name the anchors) and the log of roots and directories: shared vectors."""

from __future__ import annotations

from typing import Any

import pytest

from crypto import (
    AdminKey,
    centre_fingerprint,
    cosign_trust_root,
    draft_trust_root,
    entry_of,
    log_chain,
    short_centre_fingerprint,
    sign_log_head,
    verify_log_consistency,
    verify_log_head,
    verify_log_inclusion,
    verify_trust_root,
)
from crypto import primitives as p
from crypto.log import parse_log_head

from .vectors import cases, error_of, h, load

ROOTS = load("trust_root.json")
LOG = load("log.json")


def key(name: str) -> AdminKey:
    private = p.ed25519_private(h(ROOTS["keys"][name]["seed_hex"]))
    return AdminKey(private=private, public=p.ed25519_public_bytes(private))


def built(version: int) -> bytes:
    return h(next(c for c in ROOTS["cases"] if c["id"] == f"build-v{version}")["root_hex"])


@pytest.mark.parametrize("case", cases("trust_root.json", "build"))
def test_build(case: dict[str, Any]) -> None:
    data = draft_trust_root(
        centre_id=h(ROOTS["centre_id_hex"]),
        version=case["version"],
        issued_at=case["issued_at"],
        previous=built(case["previous_version"]) if case["previous_version"] else None,
        anchors=[key(n).public for n in case["anchors"]],
        threshold=case["threshold"],
        log_key=h(ROOTS["log_key_hex"]),
    )
    for signer in case["signers"]:
        data = cosign_trust_root(data, key(signer))
    assert data.hex() == case["root_hex"]


@pytest.mark.parametrize("case", cases("trust_root.json", "verify"))
def test_verify(case: dict[str, Any]) -> None:
    chain, pin = [h(x) for x in case["chain_hex"]], h(case["pin_hex"])
    known = verify_trust_root([h(x) for x in case["known_hex"]], pin) if "known_hex" in case else None
    if case["result"] == "invalid":
        assert error_of(verify_trust_root, chain, pin, known) == case["error"]
        return
    root = verify_trust_root(chain, pin, known)
    assert root.version == case["version"]
    assert [a.hex() for a in root.anchors] == case["anchors_hex"]
    assert root.log_key is not None
    assert root.log_key.hex() == case["log_key_hex"]
    newest = root.newest
    assert newest is not None
    assert (newest.threshold, newest.hash.hex()) == (case["threshold"], case["hash_hex"])
    for item in case["anchors_at"]:
        assert [a.hex() for a in root.anchors_at(item["at"])] == item["anchors_hex"]


@pytest.mark.parametrize("case", cases("trust_root.json", "fingerprint"))
def test_fingerprint(case: dict[str, Any]) -> None:
    pin = centre_fingerprint(h(ROOTS["centre_id_hex"]), key(case["anchor"]).public)
    assert pin.hex() == case["pin_hex"]
    assert short_centre_fingerprint(pin) == case["short"]


def test_draft_refusal() -> None:
    case = next(c for c in ROOTS["cases"] if c["kind"] == "draft")
    got = error_of(
        lambda: draft_trust_root(
            centre_id=bytes(16),
            version=1,
            issued_at=0,
            previous=None,
            anchors=[key("K1").public],
            threshold=case["threshold"],
            log_key=bytes(32),
        )
    )
    assert got == case["error"]


def entries(items: list[dict[str, Any]]) -> list[tuple[int, bytes]]:
    return [(e["kind"], h(e["object_hash_hex"])) for e in items]


def log_key() -> AdminKey:
    private = p.ed25519_private(h(LOG["log_key_seed_hex"]))
    return AdminKey(private=private, public=p.ed25519_public_bytes(private))


@pytest.mark.parametrize("case", cases("log.json", "chain"))
def test_chain(case: dict[str, Any]) -> None:
    value = h(case["chain_hex"][0])
    for i, obj in enumerate(case["objects"]):
        value = log_chain(value, i, entry_of(obj["kind"], h(obj["object_hex"])))
        assert value.hex() == case["chain_hex"][i + 1]


@pytest.mark.parametrize("case", cases("log.json", "sign_head"))
def test_sign_head(case: dict[str, Any]) -> None:
    signed = sign_log_head(
        log_key(), h(LOG["centre_id_hex"]), case["size"], h(case["head_hex"]), case["timestamp"]
    )
    assert signed.hex() == case["signed_hex"]


@pytest.mark.parametrize("case", cases("log.json", "head"))
def test_head(case: dict[str, Any]) -> None:
    args = (h(case["head_hex"]), h(case["log_key_hex"]), h(case["centre_id_hex"]))
    if case["result"] == "invalid":
        assert error_of(verify_log_head, *args) == case["error"]
    else:
        assert verify_log_head(*args).raw == args[0]


@pytest.mark.parametrize("case", cases("log.json", "consistency"))
def test_consistency(case: dict[str, Any]) -> None:
    old, new = parse_log_head(h(case["old_hex"])), parse_log_head(h(case["new_hex"]))
    got = error_of(verify_log_consistency, old, new, entries(case["entries"]))
    assert got == (case["error"] if case["result"] == "invalid" else None)


@pytest.mark.parametrize("case", cases("log.json", "inclusion"))
def test_inclusion(case: dict[str, Any]) -> None:
    head = verify_log_head(h(case["head_hex"]), h(LOG["log_key_hex"]), h(LOG["centre_id_hex"]))
    args = (
        head,
        case["index"],
        h(case["before_hex"]),
        entries(case["entries"]),
        case["object_kind"],
        h(case["object_hex"]),
    )
    if case["result"] == "invalid":
        assert error_of(verify_log_inclusion, *args) == case["error"]
    else:
        assert verify_log_inclusion(*args) is case["newest"]
