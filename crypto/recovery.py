"""Recovery phrases: nine words from a fixed public list, generated, shown once, never chosen.

Eight words carry 88 random bits (11 bits each, big-endian); the ninth is a check word: the top
11 bits of SHA-256(label("recovery/check", entropy)). Typing the first four letters of a word
is enough (every list word is fixed by them). PROTOCOL.md §13.2.
"""

from __future__ import annotations

from . import primitives as p
from .constants import label
from .errors import ErrorCode, ProtocolError, guarded
from .wordlist import WORDS

ENTROPY_BYTES = 11
DATA_WORDS = 8
PHRASE_WORDS = DATA_WORDS + 1
MAX_PHRASE_CHARS = 256
PREFIX = 4
_INDEX = {w: i for i, w in enumerate(WORDS)}
_BY_PREFIX = {w[:PREFIX]: w for w in WORDS if len(w) >= PREFIX}
_SEPARATORS = " \t\r\n\u00a0-,."


def _check_word(entropy: bytes) -> int:
    return int.from_bytes(p.sha256(label("recovery/check", entropy))[:2], "big") >> 5


def phrase_from_entropy(entropy: bytes) -> str:
    """Canonical phrase (nine words, single spaces) from 11 random bytes; used by vectors."""
    if len(entropy) != ENTROPY_BYTES:
        raise ProtocolError(ErrorCode.MALFORMED)
    number = int.from_bytes(entropy, "big")
    values = [(number >> (11 * (DATA_WORDS - 1 - i))) & 2047 for i in range(DATA_WORDS)]
    return " ".join(WORDS[v] for v in [*values, _check_word(entropy)])


@guarded
def generate_recovery_phrase() -> str:
    """A fresh phrase (88 random bits + a check word), to be shown once and written down."""
    return phrase_from_entropy(p.system_random(ENTROPY_BYTES))


def _word(token: str) -> str:
    if not token.isascii() or not token.isalpha():
        raise ProtocolError(ErrorCode.BAD_CODE_CHARACTER)
    if token in _INDEX:
        return token
    if len(token) >= PREFIX and (word := _BY_PREFIX.get(token[:PREFIX])) and word.startswith(token):
        return word
    raise ProtocolError(ErrorCode.BAD_CODE_CHARACTER)


def recovery_entropy(text: str) -> bytes:
    """The 11 bytes a phrase encodes, after the checks of `parse_recovery_phrase`."""
    if not isinstance(text, str) or len(text) > MAX_PHRASE_CHARS:
        raise ProtocolError(ErrorCode.BAD_CODE_LENGTH)
    spaced = "".join(" " if c in _SEPARATORS else c for c in text.lower())
    tokens = [t for t in spaced.split(" ") if t]
    words = [_word(t) for t in tokens]
    if len(words) != PHRASE_WORDS:
        raise ProtocolError(ErrorCode.BAD_CODE_LENGTH)
    number = 0
    for word in words[:DATA_WORDS]:
        number = (number << 11) | _INDEX[word]
    entropy = number.to_bytes(ENTROPY_BYTES, "big")
    if _INDEX[words[-1]] != _check_word(entropy):
        raise ProtocolError(ErrorCode.BAD_CODE_CHECKSUM)
    return entropy


@guarded
def parse_recovery_phrase(text: str) -> str:
    """Normalise what a person typed (case, separators, four-letter prefixes) and check it
    locally: BAD_CODE_CHARACTER (a word not on the list), BAD_CODE_LENGTH (not nine words),
    BAD_CODE_CHECKSUM (the check word does not match)."""
    return phrase_from_entropy(recovery_entropy(text))
