"""Thin wrappers over `cryptography` for the suite-1 primitives; nothing here is home-made.

HKDF-Extract is HMAC-SHA256 by definition (RFC 5869 §2.2); it is spelled out because HPKE's
labeled extract needs it on its own.
"""

from __future__ import annotations

import functools
import hmac as std_hmac
import os
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from .errors import ErrorCode, ProtocolError

__all__ = [
    "Ed25519PrivateKey",
    "RandomSource",
    "X25519PrivateKey",
    "aead_open",
    "aead_seal",
    "ct_equal",
    "ed25519_private",
    "ed25519_private_bytes",
    "ed25519_public_bytes",
    "ed25519_sign",
    "ed25519_verify",
    "hkdf",
    "hkdf_expand",
    "hkdf_extract",
    "hmac_sha256",
    "pbkdf2_sha256",
    "sha256",
    "system_random",
    "x25519",
    "x25519_private",
    "x25519_private_bytes",
    "x25519_public_bytes",
]

RandomSource = Callable[[int], bytes]
"""Where fresh randomness comes from; production always uses `system_random`."""

system_random: RandomSource = os.urandom

_RAW = serialization.Encoding.Raw
_RAW_PUB = serialization.PublicFormat.Raw
_RAW_PRIV = serialization.PrivateFormat.Raw
_NO_ENC = serialization.NoEncryption()


def sha256(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA256())
    digest.update(data)
    return digest.finalize()


def hmac_sha256(key: bytes, data: bytes) -> bytes:
    mac = hmac.HMAC(key or bytes(32), hashes.SHA256())  # empty key == 32 zero bytes for HMAC
    mac.update(data)
    return mac.finalize()


def hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac_sha256(salt, ikm)


def hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    return HKDFExpand(hashes.SHA256(), length, info).derive(prk)


def hkdf(ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA256(), length, salt or None, info).derive(ikm)


def pbkdf2_sha256(password: bytes, salt: bytes, iterations: int, length: int = 32) -> bytes:
    return PBKDF2HMAC(hashes.SHA256(), length, salt, iterations).derive(password)


def ct_equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison for anything derived from a secret."""
    return std_hmac.compare_digest(a, b)


def aead_seal(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
    return AESGCM(key).encrypt(nonce, plaintext, aad)


def aead_open(key: bytes, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, aad)
    except InvalidTag:
        raise ProtocolError(ErrorCode.BAD_TAG) from None


def x25519_private(seed: bytes) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(seed)


def x25519_public_bytes(key: X25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(_RAW, _RAW_PUB)


def x25519_private_bytes(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(_RAW, _RAW_PRIV, _NO_ENC)


def x25519(private: X25519PrivateKey, public: bytes) -> bytes:
    """Raw X25519; raises ValueError for an all-zero result (low-order public key)."""
    return private.exchange(X25519PublicKey.from_public_bytes(public))


def ed25519_private(seed: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(seed)


def ed25519_public_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(_RAW, _RAW_PUB)


def ed25519_private_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(_RAW, _RAW_PRIV, _NO_ENC)


def ed25519_sign(key: Ed25519PrivateKey, message: bytes) -> bytes:
    return key.sign(message)


@functools.lru_cache(maxsize=4096)
def _ed25519_public(public: bytes) -> Ed25519PublicKey:
    """Loaded once per key: a server verifies every message of a few thousand members' keys."""
    return Ed25519PublicKey.from_public_bytes(public)


def ed25519_verify(public: bytes, signature: bytes, message: bytes) -> bool:
    if len(public) != 32 or len(signature) != 64:
        return False
    try:
        _ed25519_public(bytes(public)).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
