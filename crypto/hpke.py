"""RFC 9180 HPKE, base mode, single shot, for DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.

Written over the primitives (rather than `cryptography.hazmat.primitives.hpke`) so the ephemeral
key can be injected for test vectors and so it runs on every `cryptography` release we accept;
tests check it against the RFC 9180 vectors and, where available, against the library's HPKE.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import primitives as p
from .errors import ErrorCode, ProtocolError

KEM_ID = 0x0020
KDF_ID = 0x0001
AEAD_ID = 0x0002
N_SECRET = 32
N_ENC = 32
N_K = 32
N_N = 12
N_H = 32

_KEM_SUITE = b"KEM" + KEM_ID.to_bytes(2, "big")
_HPKE_SUITE = b"HPKE" + KEM_ID.to_bytes(2, "big") + KDF_ID.to_bytes(2, "big") + AEAD_ID.to_bytes(2, "big")
_MODE_BASE = 0x00


def _labeled_extract(suite: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return p.hkdf_extract(salt, b"HPKE-v1" + suite + label + ikm)


def _labeled_expand(suite: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    labeled_info = length.to_bytes(2, "big") + b"HPKE-v1" + suite + label + info
    return p.hkdf_expand(prk, labeled_info, length)


def _extract_and_expand(dh: bytes, kem_context: bytes) -> bytes:
    eae_prk = _labeled_extract(_KEM_SUITE, b"", b"eae_prk", dh)
    return _labeled_expand(_KEM_SUITE, eae_prk, b"shared_secret", kem_context, N_SECRET)


@dataclass(frozen=True, repr=False)
class KeySchedule:
    """Outputs of KeySchedule() for base mode (exposed for the RFC 9180 known-answer tests)."""

    key_schedule_context: bytes
    secret: bytes
    key: bytes
    base_nonce: bytes
    exporter_secret: bytes


def key_schedule(shared_secret: bytes, info: bytes) -> KeySchedule:
    psk_id_hash = _labeled_extract(_HPKE_SUITE, b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(_HPKE_SUITE, b"", b"info_hash", info)
    context = bytes([_MODE_BASE]) + psk_id_hash + info_hash
    secret = _labeled_extract(_HPKE_SUITE, shared_secret, b"secret", b"")
    return KeySchedule(
        key_schedule_context=context,
        secret=secret,
        key=_labeled_expand(_HPKE_SUITE, secret, b"key", context, N_K),
        base_nonce=_labeled_expand(_HPKE_SUITE, secret, b"base_nonce", context, N_N),
        exporter_secret=_labeled_expand(_HPKE_SUITE, secret, b"exp", context, N_H),
    )


def encap(recipient_public: bytes, ephemeral_seed: bytes) -> tuple[bytes, bytes]:
    """Return (shared_secret, enc); raises ProtocolError if the recipient key is low-order."""
    sk_e = p.x25519_private(ephemeral_seed)
    try:
        dh = p.x25519(sk_e, recipient_public)
    except ValueError:
        raise ProtocolError(ErrorCode.MALFORMED) from None
    enc = p.x25519_public_bytes(sk_e)
    return _extract_and_expand(dh, enc + recipient_public), enc


def decap(enc: bytes, recipient_private: p.X25519PrivateKey) -> bytes:
    try:
        dh = p.x25519(recipient_private, enc)
    except ValueError:
        raise ProtocolError(ErrorCode.BAD_TAG) from None
    pk_r = p.x25519_public_bytes(recipient_private)
    return _extract_and_expand(dh, enc + pk_r)


def seal(
    recipient_public: bytes, info: bytes, aad: bytes, plaintext: bytes, rand: p.RandomSource
) -> tuple[bytes, bytes]:
    """SealBase: return (enc, ciphertext); the ephemeral key comes from ``rand``."""
    shared_secret, enc = encap(recipient_public, rand(32))
    ks = key_schedule(shared_secret, info)
    return enc, p.aead_seal(ks.key, ks.base_nonce, plaintext, aad)


def open_(
    enc: bytes, recipient_private: p.X25519PrivateKey, info: bytes, aad: bytes, ciphertext: bytes
) -> bytes:
    """OpenBase; any failure is BAD_TAG."""
    ks = key_schedule(decap(enc, recipient_private), info)
    return p.aead_open(ks.key, ks.base_nonce, ciphertext, aad)
