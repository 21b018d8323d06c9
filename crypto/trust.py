"""A centre's trust root: a chain of anchor sets in which only anchors can name the next anchors.

Version 1 is signed by its own anchors and must contain the *pinned* first anchor (whose
fingerprint the operator configures outside the database); every later version names the
previous version's hash and is signed by a threshold of the previous anchors and a threshold
of its own, as TUF rotates its root (PROTOCOL.md §5.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import primitives as p
from .certificates import check_anchors, read_header
from .constants import (
    HASH_LEN,
    ID_LEN,
    KEY_LEN,
    MAX_ANCHORS,
    MAX_CLOCK_SKEW,
    SIG_LEN,
    SUITE,
    VERSION,
    ZERO_HASH,
    ObjectType,
    label,
)
from .encoding import Reader, Writer, header
from .errors import ErrorCode, ProtocolError, guarded
from .fingerprint import digit_groups
from .identity import AdminKey

MAX_ROOT_SIGNATURES = 2 * MAX_ANCHORS
MAX_ROOT = 3 + ID_LEN + 4 + 8 + HASH_LEN + 2 + MAX_ANCHORS * KEY_LEN + KEY_LEN + 1
MAX_ROOT += MAX_ROOT_SIGNATURES * (KEY_LEN + SIG_LEN)
MAX_ROOT_CHAIN = 1024
SHORT_GROUPS = 4


@dataclass(frozen=True)
class RootVersion:
    """One parsed version of a trust root; `raw` is its exact encoding, `hash` its SHA-256."""

    centre_id: bytes
    version: int
    issued_at: int
    previous: bytes
    threshold: int
    anchors: tuple[bytes, ...]
    log_key: bytes
    signatures: tuple[tuple[bytes, bytes], ...]
    tbs: bytes
    raw: bytes
    hash: bytes


@dataclass(frozen=True)
class TrustRoot:
    """A verified chain (or, for old callers, a bare anchor list with no history and no pin).

    `anchors` are the newest version's: certificates and directories are verified against them.
    `anchors_at(t)` adds the anchors of older versions for times up to MAX_CLOCK_SKEW after the
    version that replaced them was issued, so a transcript written before a rotation still
    verifies when it is read afterwards.
    """

    anchors: tuple[bytes, ...]
    pin: bytes | None = None
    centre_id: bytes | None = None
    versions: tuple[RootVersion, ...] = ()

    @property
    def newest(self) -> RootVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def version(self) -> int:
        return self.versions[-1].version if self.versions else 0

    @property
    def log_key(self) -> bytes | None:
        return self.versions[-1].log_key if self.versions else None

    def anchors_at(self, when: int) -> tuple[bytes, ...]:
        out = list(self.anchors)
        for older, newer in zip(self.versions, self.versions[1:], strict=False):
            if when <= newer.issued_at + MAX_CLOCK_SKEW:
                out += [a for a in older.anchors if a not in out]
        return tuple(out)


def as_trust(trust: TrustRoot | Sequence[bytes]) -> TrustRoot:
    """A verified TrustRoot as is; a bare list of anchor keys as a root without history."""
    if isinstance(trust, TrustRoot):
        return trust
    return TrustRoot(anchors=check_anchors(list(trust)))


@guarded
def centre_fingerprint(centre_id: bytes, anchor_public: bytes) -> bytes:
    """The pin: SHA-256 of the centre id and its first anchor key (configured as 64 hex digits)."""
    if len(centre_id) != ID_LEN or len(anchor_public) != KEY_LEN:
        raise ProtocolError(ErrorCode.MALFORMED)
    return p.sha256(label("centre", centre_id + anchor_public))


@guarded
def short_centre_fingerprint(pin: bytes) -> str:
    """Four groups of five digits (about 66 bits) for a leaflet or the centre's web site."""
    if len(pin) != HASH_LEN:
        raise ProtocolError(ErrorCode.MALFORMED)
    return digit_groups(pin, SHORT_GROUPS)


def parse_trust_root(data: bytes) -> RootVersion:
    """Structure only (bounds, order); signatures and the chain are checked by verify_trust_root."""
    if len(data) > MAX_ROOT:
        raise ProtocolError(ErrorCode.OVERSIZE)
    r = Reader(data)
    read_header(r, ObjectType.TRUST_ROOT)
    centre_id = r.take(ID_LEN)
    version = r.u32()
    issued_at = r.u64()
    previous = r.take(HASH_LEN)
    threshold = r.u8()
    count = r.u8()
    if count > MAX_ANCHORS:
        raise ProtocolError(ErrorCode.OVERSIZE)
    anchors = tuple(r.take(KEY_LEN) for _ in range(count))
    log_key = r.take(KEY_LEN)
    tbs = r.consumed()
    sig_count = r.u8()
    if sig_count > MAX_ROOT_SIGNATURES:
        raise ProtocolError(ErrorCode.OVERSIZE)
    signatures = tuple((r.take(KEY_LEN), r.take(SIG_LEN)) for _ in range(sig_count))
    r.finish()
    signers = [s for s, _ in signatures]
    if (
        version < 1
        or count < 1
        or not 1 <= threshold <= count
        or list(anchors) != sorted(set(anchors))
        or signers != sorted(set(signers))
        or (version == 1) != (previous == ZERO_HASH)
    ):
        raise ProtocolError(ErrorCode.MALFORMED)
    data = bytes(data)
    return RootVersion(
        centre_id,
        version,
        issued_at,
        previous,
        threshold,
        anchors,
        log_key,
        signatures,
        tbs,
        data,
        p.sha256(data),
    )


def _encode(root: RootVersion, signatures: Sequence[tuple[bytes, bytes]]) -> bytes:
    w = Writer().raw(root.tbs).u8(len(signatures))
    for signer, signature in sorted(signatures):
        w.fixed(signer, KEY_LEN).fixed(signature, SIG_LEN)
    return w.getvalue()


@guarded
def draft_trust_root(
    *,
    centre_id: bytes,
    version: int,
    issued_at: int,
    previous: bytes | None,
    anchors: Sequence[bytes],
    threshold: int,
    log_key: bytes,
) -> bytes:
    """An unsigned root version (for the signers to cosign); `previous` is the prior version's bytes."""
    keys = sorted(set(check_anchors(anchors)))
    if len(keys) != len(anchors) or (previous is None) != (version == 1):
        raise ProtocolError(ErrorCode.MALFORMED)
    prev_hash = ZERO_HASH if previous is None else parse_trust_root(previous).hash
    w = Writer().raw(header(ObjectType.TRUST_ROOT, VERSION, SUITE)).fixed(centre_id, ID_LEN)
    w.u32(version).u64(issued_at).fixed(prev_hash, HASH_LEN).u8(threshold).u8(len(keys))
    for key in keys:
        w.fixed(key, KEY_LEN)
    w.fixed(log_key, KEY_LEN).u8(0)
    data = w.getvalue()
    parse_trust_root(data)  # the structural rules (threshold range) in one place
    return data


@guarded
def cosign_trust_root(data: bytes, signer: AdminKey) -> bytes:
    """Add (or replace) one anchor's signature; signatures stay sorted by signer key."""
    root = parse_trust_root(data)
    signature = p.ed25519_sign(signer.private, label("sig/root", root.tbs))
    others = [s for s in root.signatures if s[0] != signer.public]
    return _encode(root, [*others, (signer.public, signature)])


def _valid_signers(root: RootVersion) -> set[bytes]:
    return {
        signer
        for signer, signature in root.signatures
        if p.ed25519_verify(signer, signature, label("sig/root", root.tbs))
    }


def _check_version(root: RootVersion, previous: RootVersion | None, pin: bytes) -> None:
    signed = _valid_signers(root)
    if len(signed) != len(root.signatures):
        raise ProtocolError(ErrorCode.BAD_ROOT)
    if len(signed & set(root.anchors)) < root.threshold:
        raise ProtocolError(ErrorCode.BAD_ROOT)
    if previous is None:
        pinned = [a for a in root.anchors if p.ct_equal(centre_fingerprint(root.centre_id, a), pin)]
        if root.version != 1 or not pinned or pinned[0] not in signed:
            raise ProtocolError(ErrorCode.BAD_ROOT)
        return
    if (
        root.centre_id != previous.centre_id
        or root.version != previous.version + 1
        or root.previous != previous.hash
        or root.issued_at <= previous.issued_at
        or len(signed & set(previous.anchors)) < previous.threshold
    ):
        raise ProtocolError(ErrorCode.BAD_ROOT)


@guarded
def verify_trust_root(chain: Sequence[bytes], pin: bytes, known: TrustRoot | None = None) -> TrustRoot:
    """Walk the chain from version 1 (which must carry the pinned anchor) to the newest.

    `known`, a root this client verified before, must be a prefix of the chain (no rollback,
    no fork); the result's `anchors` are the newest version's.
    """
    if len(pin) != HASH_LEN:
        raise ProtocolError(ErrorCode.MALFORMED)
    if not 1 <= len(chain) <= MAX_ROOT_CHAIN:
        raise ProtocolError(ErrorCode.MALFORMED if not chain else ErrorCode.OVERSIZE)
    versions: list[RootVersion] = []
    for data in chain:
        root = parse_trust_root(data)
        _check_version(root, versions[-1] if versions else None, pin)
        versions.append(root)
    if known is not None and known.versions:
        seen = known.versions[-1]
        if known.pin != pin or len(versions) < seen.version or versions[seen.version - 1].hash != seen.hash:
            raise ProtocolError(ErrorCode.BAD_ROOT)
    newest = versions[-1]
    return TrustRoot(
        anchors=newest.anchors, pin=bytes(pin), centre_id=newest.centre_id, versions=tuple(versions)
    )
