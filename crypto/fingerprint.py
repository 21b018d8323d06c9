"""Safety numbers: short digit strings people can compare out of band (in person, by phone)."""

from __future__ import annotations

from . import primitives as p
from .constants import HASH_LEN, ID_LEN, KEY_LEN, label
from .errors import ErrorCode, ProtocolError, guarded

GROUPS = 6
DIGITS = 5
CODE_GROUPS = 5
CODE_DIGITS = 4


@guarded
def fingerprint(member_id: bytes, sig_public: bytes, kem_public: bytes) -> str:
    """30 digits in six groups of five, from SHA-256 over the member id and both public keys.

    Each group is a 5-byte big-endian chunk of the digest reduced mod 100000 (as Signal does),
    about 99 bits in all, so a second preimage for a chosen person costs ~2^99 hashes.
    """
    if len(member_id) != ID_LEN or len(sig_public) != KEY_LEN or len(kem_public) != KEY_LEN:
        raise ProtocolError(ErrorCode.MALFORMED)
    return digit_groups(p.sha256(label("fingerprint", member_id + sig_public + kem_public)), GROUPS)


def digit_groups(digest: bytes, groups: int) -> str:
    """Groups of five digits: each 5-byte big-endian chunk of the digest mod 100000."""
    chunks = (digest[i * 5 : i * 5 + 5] for i in range(groups))
    return " ".join(f"{int.from_bytes(c, 'big') % 10**DIGITS:05d}" for c in chunks)


@guarded
def safety_number(fingerprint_a: str, fingerprint_b: str) -> str:
    """Both parties' fingerprints, lower first, so both screens show the same 60 digits."""
    if not isinstance(fingerprint_a, str) or not isinstance(fingerprint_b, str):
        raise ProtocolError(ErrorCode.MALFORMED)
    first, second = sorted((fingerprint_a, fingerprint_b))
    return f"{first} {second}"


def _party(member_id: bytes, sig_public: bytes, kem_public: bytes) -> bytes:
    if len(member_id) != ID_LEN or len(sig_public) != KEY_LEN or len(kem_public) != KEY_LEN:
        raise ProtocolError(ErrorCode.MALFORMED)
    return member_id + sig_public + kem_public


@guarded
def conversation_code(
    genesis_hash: bytes,
    visitor: tuple[bytes, bytes, bytes],
    staff: tuple[bytes, bytes, bytes],
) -> str:
    """Twenty digits in five groups of four that a visitor and one staff member read to each other
    by phone: SHA-256 over the genesis hash and both parties' (id, signing key, KEM key).

    Each party is (member_id, sig_public, kem_public). The first 10 bytes of the digest, as a
    big-endian integer, mod 10^20 (about 66 bits)."""
    if len(genesis_hash) != HASH_LEN:
        raise ProtocolError(ErrorCode.MALFORMED)
    digest = p.sha256(label("conversation-code", genesis_hash + _party(*visitor) + _party(*staff)))
    digits = f"{int.from_bytes(digest[:10], 'big') % 10 ** (CODE_GROUPS * CODE_DIGITS):020d}"
    return " ".join(digits[i : i + CODE_DIGITS] for i in range(0, len(digits), CODE_DIGITS))
