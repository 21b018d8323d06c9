"""Visitor resume codes: generation, typo-catching parsing, and the three values derived from them.

A code is 18 Crockford base32 symbols of randomness (90 bits) plus 2 check symbols, shown as
five groups of four: ``7K3D-QW9M-2XHB-T4RN-0PF8``.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import primitives as p
from .constants import ID_LEN, MIN_ITERATIONS, label
from .errors import ErrorCode, ProtocolError, guarded

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
DATA_SYMBOLS = 18
CHECK_SYMBOLS = 2
CODE_SYMBOLS = DATA_SYMBOLS + CHECK_SYMBOLS
CHECK_MODULUS = 1021  # prime > 31 * 18, so any single substitution or adjacent swap is caught
ENTROPY_BYTES = 12  # 96 random bits, the top 90 used
_CONFUSABLE = {"O": "0", "I": "1", "L": "1"}
_SEPARATORS = frozenset(" -\t\n\r\u00a0")


@dataclass(frozen=True, repr=False)
class ResumeKeys:
    """Everything derived from a resume code; the server sees only lookup_id and access_verifier."""

    lookup_id: bytes  # 16 bytes: index of the conversation's resume record
    access_verifier: bytes  # 32 bytes: presented to the server, stored there only as argon2id
    state_key: bytes  # 32 bytes: AES-256-GCM key of the visitor's exported state, never sent
    centre_id: bytes
    iterations: int

    def __repr__(self) -> str:
        return "ResumeKeys(<secret>)"


def _checksum(values: list[int]) -> list[int]:
    total = sum((i + 1) * v for i, v in enumerate(values)) % CHECK_MODULUS
    return [total // 32, total % 32]


def code_from_entropy(entropy: bytes) -> str:
    """Canonical (undashed) code from 12 random bytes; deterministic, used by vectors."""
    if len(entropy) != ENTROPY_BYTES:
        raise ProtocolError(ErrorCode.MALFORMED)
    number = int.from_bytes(entropy, "big") >> (ENTROPY_BYTES * 8 - DATA_SYMBOLS * 5)
    values = [(number >> (5 * (DATA_SYMBOLS - 1 - i))) & 31 for i in range(DATA_SYMBOLS)]
    return "".join(ALPHABET[v] for v in values + _checksum(values))


@guarded
def format_resume_code(code: str) -> str:
    """Groups of four separated by dashes, for display and for writing down."""
    canonical = parse_resume_code(code)
    return "-".join(canonical[i : i + 4] for i in range(0, CODE_SYMBOLS, 4))


@guarded
def generate_resume_code() -> str:
    """A fresh code (90 random bits), formatted for display."""
    return format_resume_code(code_from_entropy(p.system_random(ENTROPY_BYTES)))


@guarded
def parse_resume_code(text: str) -> str:
    """Normalise what a person typed and check it locally, before any network call.

    Case is ignored, spaces and dashes are dropped, O reads as 0 and I/L as 1. Errors say which
    check failed: length, an impossible character, or the check symbols.
    """
    if not isinstance(text, str) or len(text) > 64:
        raise ProtocolError(ErrorCode.BAD_CODE_LENGTH)
    kept = [c for c in text if c not in _SEPARATORS]
    if any(not c.isascii() for c in kept):
        raise ProtocolError(ErrorCode.BAD_CODE_CHARACTER)
    symbols = [_CONFUSABLE.get(c.upper(), c.upper()) for c in kept]
    if any(c not in ALPHABET for c in symbols):
        raise ProtocolError(ErrorCode.BAD_CODE_CHARACTER)
    if len(symbols) != CODE_SYMBOLS:
        raise ProtocolError(ErrorCode.BAD_CODE_LENGTH)
    values = [ALPHABET.index(c) for c in symbols]
    if values[DATA_SYMBOLS:] != _checksum(values[:DATA_SYMBOLS]):
        raise ProtocolError(ErrorCode.BAD_CODE_CHECKSUM)
    return "".join(symbols)


def _derive(code: str, centre_id: bytes, iterations: int) -> ResumeKeys:
    if len(centre_id) != ID_LEN or iterations < 1:
        raise ProtocolError(ErrorCode.MALFORMED)
    canonical = parse_resume_code(code)
    salt = label("resume", centre_id)
    master = p.pbkdf2_sha256(canonical.encode("ascii"), salt, iterations, 32)
    return ResumeKeys(
        lookup_id=p.hkdf(master, b"", label("resume/lookup"), 16),
        access_verifier=p.hkdf(master, b"", label("resume/verifier"), 32),
        state_key=p.hkdf(master, b"", label("resume/state-key"), 32),
        centre_id=centre_id,
        iterations=iterations,
    )


@guarded
def derive_resume_keys(code: str, centre_id: bytes) -> ResumeKeys:
    """PBKDF2-SHA256 (600,000 iterations) over the canonical code, then three HKDF labels."""
    return _derive(code, centre_id, MIN_ITERATIONS)
