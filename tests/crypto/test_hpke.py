"""HPKE (RFC 9180 base mode) against the RFC vectors, our wrap vectors, and the library's HPKE."""

from __future__ import annotations

import os
from typing import Any

import pytest

from crypto import hpke
from crypto import primitives as p

from .vectors import cases, error_of, h


@pytest.mark.parametrize("case", cases("rfc9180_hpke.json"))
def test_rfc9180_vectors(case: dict[str, Any]) -> None:
    shared, enc = hpke.encap(h(case["pkRm_hex"]), h(case["skEm_hex"]))
    assert enc == h(case["enc_hex"]) == h(case["pkEm_hex"])
    assert shared == h(case["shared_secret_hex"])
    assert hpke.decap(enc, p.x25519_private(h(case["skRm_hex"]))) == shared
    ks = hpke.key_schedule(shared, h(case["info_hex"]))
    assert ks.key_schedule_context == h(case["key_schedule_context_hex"])
    assert ks.secret == h(case["secret_hex"])
    assert ks.key == h(case["key_hex"])
    assert ks.base_nonce == h(case["base_nonce_hex"])
    assert ks.exporter_secret == h(case["exporter_secret_hex"])
    for e in case["encryptions"]:
        nonce = bytes(a ^ b for a, b in zip(ks.base_nonce, e["seq"].to_bytes(12, "big"), strict=True))
        assert nonce == h(e["nonce_hex"])
        assert p.aead_seal(ks.key, nonce, h(e["pt_hex"]), h(e["aad_hex"])) == h(e["ct_hex"])
    first = case["encryptions"][0]
    recipient = p.x25519_private(h(case["skRm_hex"]))
    opened = hpke.open_(enc, recipient, h(case["info_hex"]), h(first["aad_hex"]), h(first["ct_hex"]))
    assert opened == h(first["pt_hex"])


@pytest.mark.parametrize("case", cases("hpke_wrap.json", "seal"))
def test_wrap_seal_vectors(case: dict[str, Any]) -> None:
    shared, enc = hpke.encap(h(case["recipient_public_hex"]), h(case["ephemeral_private_hex"]))
    assert (enc, shared) == (h(case["enc_hex"]), h(case["shared_secret_hex"]))
    rand = iter([h(case["ephemeral_private_hex"])])
    sealed = hpke.seal(
        h(case["recipient_public_hex"]), h(case["info_hex"]), b"", h(case["pt_hex"]), lambda n: next(rand)
    )
    assert sealed == (h(case["enc_hex"]), h(case["ct_hex"]))
    recipient = p.x25519_private(h(case["recipient_private_hex"]))
    assert hpke.open_(enc, recipient, h(case["info_hex"]), b"", h(case["ct_hex"])) == h(case["pt_hex"])


@pytest.mark.parametrize("case", cases("hpke_wrap.json", "open"))
def test_wrap_open_rejections(case: dict[str, Any]) -> None:
    recipient = p.x25519_private(h(case["recipient_private_hex"]))
    args = (h(case["enc_hex"]), recipient, h(case["info_hex"]), b"", h(case["ct_hex"]))
    assert error_of(hpke.open_, *args) == case["error"]


def test_interoperates_with_the_library_hpke() -> None:
    """Where `cryptography` ships HPKE, each side opens what the other sealed (aad is empty)."""
    lib = pytest.importorskip("cryptography.hazmat.primitives.hpke")
    suite = lib.Suite(lib.KEM.X25519, lib.KDF.HKDF_SHA256, lib.AEAD.AES_256_GCM)
    recipient = p.x25519_private(os.urandom(32))
    public = p.x25519_public_bytes(recipient)
    info, secret = b"trygg interop", os.urandom(32)
    enc, ct = hpke.seal(public, info, b"", secret, os.urandom)
    assert suite.decrypt(enc + ct, recipient, info=info) == secret
    theirs = suite.encrypt(secret, recipient.public_key(), info=info)
    assert hpke.open_(theirs[:32], recipient, info, b"", theirs[32:]) == secret
