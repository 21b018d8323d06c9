"""An append-only log of a centre's trust roots and directories: a hash chain with signed heads.

The server appends every root version and directory it publishes and signs the head with a log
key that the trust root names (PROTOCOL.md §5.6). Clients remember the last head they saw and
check that each new one extends it (consistency), and that what they are shown is in it
(inclusion). A hash chain makes both proofs linear in the entries since the point of interest;
a log of a few thousand changes a year needs nothing more.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from . import primitives as p
from .certificates import read_header
from .constants import HASH_LEN, ID_LEN, KEY_LEN, SIG_LEN, SUITE, VERSION, ZERO_HASH, ObjectType, label
from .encoding import Reader, Writer, header
from .errors import ErrorCode, ProtocolError, guarded
from .identity import AdminKey

HEAD_LEN = 3 + ID_LEN + 8 + HASH_LEN + 8 + KEY_LEN + SIG_LEN
MAX_PROOF_ENTRIES = 1 << 20


class LogKind(enum.IntEnum):
    """What a log entry names."""

    TRUST_ROOT = 1
    DIRECTORY = 2


LogEntry = tuple[int, bytes]  # (kind, SHA-256 of the object's exact bytes)


@dataclass(frozen=True)
class LogHead:
    """A signed statement: the centre's log holds `size` entries whose chain hash is `head`."""

    centre_id: bytes
    size: int
    head: bytes
    timestamp: int
    log_key: bytes
    raw: bytes


def entry_of(kind: int, obj: bytes) -> LogEntry:
    """The log entry for a root version or a directory."""
    if kind not in (LogKind.TRUST_ROOT, LogKind.DIRECTORY):
        raise ProtocolError(ErrorCode.MALFORMED)
    return kind, p.sha256(obj)


def _check_entry(entry: LogEntry) -> None:
    if entry[0] not in (LogKind.TRUST_ROOT, LogKind.DIRECTORY) or len(entry[1]) != HASH_LEN:
        raise ProtocolError(ErrorCode.MALFORMED)


@guarded
def log_chain(previous: bytes, index: int, entry: LogEntry) -> bytes:
    """chain(i+1) = SHA-256(label("log/entry", chain(i) || u64 i || u8 kind || object hash))."""
    _check_entry(entry)
    if len(previous) != HASH_LEN:
        raise ProtocolError(ErrorCode.MALFORMED)
    context = Writer().fixed(previous, HASH_LEN).u64(index).u8(entry[0]).fixed(entry[1], HASH_LEN).getvalue()
    return p.sha256(label("log/entry", context))


def _extend(start: bytes, first_index: int, entries: Sequence[LogEntry]) -> bytes:
    if len(entries) > MAX_PROOF_ENTRIES:
        raise ProtocolError(ErrorCode.OVERSIZE)
    value = start
    for offset, entry in enumerate(entries):
        value = log_chain(value, first_index + offset, entry)
    return value


@guarded
def log_head_hash(entries: Sequence[LogEntry]) -> bytes:
    """The chain hash of a whole log (32 zero bytes when empty), for the server's bookkeeping."""
    return _extend(ZERO_HASH, 0, entries)


@guarded
def sign_log_head(log_key: AdminKey, centre_id: bytes, size: int, head: bytes, timestamp: int) -> bytes:
    """The server signs the head with its log key (kept outside the database)."""
    w = Writer().raw(header(ObjectType.LOG_HEAD, VERSION, SUITE)).fixed(centre_id, ID_LEN)
    w.u64(size).fixed(head, HASH_LEN).u64(timestamp).fixed(log_key.public, KEY_LEN)
    tbs = w.getvalue()
    return tbs + p.ed25519_sign(log_key.private, label("sig/log-head", tbs))


def parse_log_head(data: bytes) -> LogHead:
    if len(data) > HEAD_LEN:
        raise ProtocolError(ErrorCode.OVERSIZE)
    r = Reader(data)
    read_header(r, ObjectType.LOG_HEAD)
    centre_id = r.take(ID_LEN)
    size = r.u64()
    head = r.take(HASH_LEN)
    timestamp = r.u64()
    log_key = r.take(KEY_LEN)
    r.take(SIG_LEN)
    r.finish()
    if (size == 0) != (head == ZERO_HASH):
        raise ProtocolError(ErrorCode.MALFORMED)
    return LogHead(centre_id, size, head, timestamp, log_key, bytes(data))


@guarded
def verify_log_head(data: bytes, log_key: bytes | None, centre_id: bytes) -> LogHead:
    """A head signed by the log key the centre's trust root names, for this centre."""
    head = parse_log_head(data)
    if log_key is None or head.log_key != log_key or head.centre_id != centre_id:
        raise ProtocolError(ErrorCode.BAD_LOG)
    tbs, signature = head.raw[:-SIG_LEN], head.raw[-SIG_LEN:]
    if not p.ed25519_verify(head.log_key, signature, label("sig/log-head", tbs)):
        raise ProtocolError(ErrorCode.BAD_LOG)
    return head


@guarded
def verify_log_consistency(old: LogHead, new: LogHead, entries: Sequence[LogEntry]) -> None:
    """`new` extends `old`: the entries old.size .. new.size-1 chain from old.head to new.head."""
    if old.centre_id != new.centre_id or new.size < old.size or len(entries) != new.size - old.size:
        raise ProtocolError(ErrorCode.BAD_LOG)
    if _extend(old.head, old.size, entries) != new.head:
        raise ProtocolError(ErrorCode.BAD_LOG)


@guarded
def verify_log_inclusion(
    head: LogHead,
    index: int,
    before: bytes,
    entries: Sequence[LogEntry],
    kind: int,
    obj: bytes,
) -> bool:
    """`obj` is entry `index` of the log under `head`: `before` is chain(index) and `entries`
    are the entries index .. head.size-1. Returns True when no later entry is of the same kind
    (the object is the newest root or directory the log holds)."""
    if not 0 <= index < head.size or len(entries) != head.size - index or len(before) != HASH_LEN:
        raise ProtocolError(ErrorCode.BAD_LOG)
    if index == 0 and before != ZERO_HASH:
        raise ProtocolError(ErrorCode.BAD_LOG)
    if tuple(entries[0]) != entry_of(kind, obj):
        raise ProtocolError(ErrorCode.BAD_LOG)
    if _extend(before, index, entries) != head.head:
        raise ProtocolError(ErrorCode.BAD_LOG)
    return all(e[0] != kind for e in entries[1:])
