"""Protocol constants: version and suite bytes, object types, roles, size bounds and labels."""

from __future__ import annotations

import enum

VERSION = 2  # wire version; 1 (before trust roots, logs and time rules) is refused
SUITE = 1  # X25519, Ed25519, HKDF-SHA256, AES-256-GCM, SHA-256; HPKE 0x0020/0x0001/0x0002

ID_LEN = 16
KEY_LEN = 32
SIG_LEN = 64
HASH_LEN = 32
SECRET_LEN = 32
KEY_NONCE_LEN = 16
AEAD_NONCE_LEN = 12
TAG_LEN = 16
WRAP_LEN = 32 + SECRET_LEN + TAG_LEN  # HPKE enc || sealed epoch secret

MAX_OBJECT = 131_072  # any wire or stored object, before parsing
MAX_MEMBERS = 256
MAX_NAME = 64
MAX_CERTIFICATE = 512
MAX_DIRECTORY_ENTRIES = MAX_MEMBERS - 1  # room for the visitor in a genesis
MAX_HISTORY_EPOCHS = 1024
MAX_ANCHORS = 8
PAD_BUCKETS = (256, 1024, 4096, 16_384, 65_536)
PLAINTEXT_OVERHEAD = 5  # content type (1) + body length (4)
MAX_BODY = PAD_BUCKETS[-1] - PLAINTEXT_OVERHEAD
CIPHERTEXT_SIZES = frozenset(b + TAG_LEN for b in PAD_BUCKETS)
MAX_STATE_CIPHERTEXT = 4096
ZERO_HASH = bytes(HASH_LEN)

MAX_CLOCK_SKEW = 300  # seconds: the server's bound on a commit's claimed time; grace of a retired anchor
LIVE_SKEW = 600  # seconds: a live receiver's bound (its own clock may differ from the server's)

MIN_ITERATIONS = 600_000  # PBKDF2-SHA256 floor for resume codes and key backups
MAX_ITERATIONS = 2_000_000  # ceiling on import: a hostile blob cannot stall an unlock


class ObjectType(enum.IntEnum):
    """Third byte of every object."""

    CERTIFICATE = 0x01
    DIRECTORY = 0x02
    TRUST_ROOT = 0x03
    LOG_HEAD = 0x04
    GENESIS = 0x10
    COMMIT = 0x11
    APPLICATION = 0x12
    HISTORY = 0x13
    KEY_REQUEST = 0x14
    STAFF_BACKUP = 0x20
    VISITOR_STATE = 0x21
    ADMIN_BACKUP = 0x22


class Role(enum.IntEnum):
    """A member's role in a conversation; the visitor never has a certificate."""

    VISITOR = 0
    COUNSELLOR = 1
    INTERPRETER = 2


class ContentType(enum.IntEnum):
    """Registered first byte of an application plaintext; other non-zero values pass through."""

    TEXT = 1
    APP_JSON = 2
    PROPOSAL = 3


def label(name: str, context: bytes = b"") -> bytes:
    """Domain-separated input for every KDF info, HPKE info, signature and hash in the protocol."""
    return b"TRYGG-v1 " + name.encode("ascii") + b"\x00" + context
