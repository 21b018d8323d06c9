"""Every derivation from an epoch secret, and the info strings that bind wraps to their context."""

from __future__ import annotations

from . import primitives as p
from .constants import AEAD_NONCE_LEN, HASH_LEN, label


def message_key(epoch_secret: bytes, key_nonce: bytes, aad: bytes) -> tuple[bytes, bytes]:
    """Per-message AES-256-GCM key and nonce: HKDF(epoch secret, salt=key nonce, info=header)."""
    okm = p.hkdf(epoch_secret, key_nonce, label("message", aad), 32 + AEAD_NONCE_LEN)
    return okm[:32], okm[32:]


def confirmation(epoch_secret: bytes, confirm_hash: bytes) -> bytes:
    """Proof that the committer knew the epoch secret it wrapped to everyone (MLS-style).

    `confirm_hash` is SHA-256 of the commit's bytes up to (excluding) the confirmation field.
    """
    return p.hkdf(epoch_secret, b"", label("confirm", confirm_hash), HASH_LEN)


def wrap_info(conversation_id: bytes, epoch: int, sender_id: bytes, recipient_id: bytes) -> bytes:
    """HPKE info for the wrap of an epoch secret to one member."""
    ctx = conversation_id + epoch.to_bytes(4, "big") + sender_id + recipient_id
    return label("wrap", ctx)


def history_info(info_context: bytes) -> bytes:
    """HPKE info for a history bundle: its whole header through the epoch list."""
    return label("history", info_context)


def signature_input(kind: str, tbs: bytes) -> bytes:
    return label("sig/" + kind, tbs)


def message_hash(raw: bytes) -> bytes:
    """Transcript link: each message carries the hash of the one before it."""
    return p.sha256(raw)
