"""The suite-1 primitives against RFC 7748, RFC 8032, RFC 5869 (via Wycheproof) and Wycheproof."""

from __future__ import annotations

from typing import Any

import pytest

from crypto import primitives as p

from .vectors import cases, h


@pytest.mark.parametrize("case", cases("rfc7748_x25519.json"))
def test_rfc7748_x25519(case: dict[str, Any]) -> None:
    alice = p.x25519_private(h(case["alice_private_hex"]))
    bob = p.x25519_private(h(case["bob_private_hex"]))
    assert p.x25519_public_bytes(alice) == h(case["alice_public_hex"])
    assert p.x25519_public_bytes(bob) == h(case["bob_public_hex"])
    assert p.x25519(alice, h(case["bob_public_hex"])) == h(case["shared_hex"])
    assert p.x25519(bob, h(case["alice_public_hex"])) == h(case["shared_hex"])


@pytest.mark.parametrize("case", cases("wycheproof_x25519.json"))
def test_wycheproof_x25519(case: dict[str, Any]) -> None:
    private = p.x25519_private(h(case["private_hex"]))
    if case["result"] == "valid":
        assert p.x25519(private, h(case["public_hex"])) == h(case["shared_hex"])
    else:
        with pytest.raises(ValueError, match="shared key"):
            p.x25519(private, h(case["public_hex"]))


@pytest.mark.parametrize("case", cases("rfc8032_ed25519.json"))
def test_rfc8032_ed25519_sign(case: dict[str, Any]) -> None:
    key = p.ed25519_private(h(case["secret_hex"]))
    assert p.ed25519_public_bytes(key) == h(case["public_hex"])
    assert p.ed25519_sign(key, h(case["msg_hex"])) == h(case["sig_hex"])
    assert p.ed25519_verify(h(case["public_hex"]), h(case["sig_hex"]), h(case["msg_hex"]))


@pytest.mark.parametrize("case", cases("wycheproof_ed25519.json"))
def test_wycheproof_ed25519_verify(case: dict[str, Any]) -> None:
    ok = p.ed25519_verify(h(case["public_hex"]), h(case["sig_hex"]), h(case["msg_hex"]))
    assert ok is (case["result"] == "valid")


@pytest.mark.parametrize("case", cases("wycheproof_hkdf_sha256.json"))
def test_wycheproof_hkdf(case: dict[str, Any]) -> None:
    args = (h(case["ikm_hex"]), h(case["salt_hex"]), h(case["info_hex"]), case["size"])
    if case["result"] == "valid":
        assert p.hkdf(*args) == h(case["okm_hex"])
        prk = p.hkdf_extract(h(case["salt_hex"]), h(case["ikm_hex"]))
        assert p.hkdf_expand(prk, h(case["info_hex"]), case["size"]) == h(case["okm_hex"])
    else:
        with pytest.raises(ValueError, match="larger than"):
            p.hkdf(*args)


@pytest.mark.parametrize("case", cases("wycheproof_aes256gcm.json"))
def test_wycheproof_aes256gcm(case: dict[str, Any]) -> None:
    key, iv, aad = h(case["key_hex"]), h(case["iv_hex"]), h(case["aad_hex"])
    sealed = h(case["ct_hex"]) + h(case["tag_hex"])
    if case["result"] == "valid":
        assert p.aead_seal(key, iv, h(case["msg_hex"]), aad) == sealed
        assert p.aead_open(key, iv, sealed, aad) == h(case["msg_hex"])
    else:
        from crypto import ProtocolError

        with pytest.raises(ProtocolError, match="bad_tag"):
            p.aead_open(key, iv, sealed, aad)


@pytest.mark.parametrize("case", cases("wycheproof_pbkdf2_sha256.json"))
def test_wycheproof_pbkdf2(case: dict[str, Any]) -> None:
    dk = p.pbkdf2_sha256(h(case["password_hex"]), h(case["salt_hex"]), case["iterations"], case["dk_len"])
    assert dk == h(case["dk_hex"])
