"""Directory entries (staff certificates) and the signed directory, both issued by the centre admin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from . import primitives as p
from .constants import (
    ID_LEN,
    KEY_LEN,
    MAX_ANCHORS,
    MAX_CERTIFICATE,
    MAX_DIRECTORY_ENTRIES,
    MAX_NAME,
    MAX_OBJECT,
    SIG_LEN,
    SUITE,
    VERSION,
    ObjectType,
    Role,
    label,
)
from .encoding import Reader, Writer, header
from .errors import ErrorCode, ProtocolError, guarded
from .identity import AdminKey, LocalMember


@dataclass(frozen=True)
class Certificate:
    """A parsed directory entry; `raw` is its exact canonical encoding."""

    centre_id: bytes
    staff_id: bytes
    role: Role
    display_name: str
    kem_public: bytes
    sig_public: bytes
    not_before: int
    not_after: int
    issuer: bytes
    signature: bytes
    raw: bytes

    def valid_at(self, when: int) -> bool:
        return self.not_before <= when <= self.not_after


@dataclass(frozen=True)
class Directory:
    """A verified directory: every certificate the admin published at `serial`."""

    centre_id: bytes
    serial: int
    issued_at: int
    expires_at: int
    certificates: tuple[Certificate, ...]
    issuer: bytes
    raw: bytes


def read_header(r: Reader, expected: ObjectType) -> None:
    """Version, suite and type bytes, checked in that order."""
    if r.u8() != VERSION:
        raise ProtocolError(ErrorCode.UNSUPPORTED_VERSION)
    if r.u8() != SUITE:
        raise ProtocolError(ErrorCode.UNSUPPORTED_SUITE)
    if r.u8() != expected:
        raise ProtocolError(ErrorCode.MALFORMED)


def _decode_name(raw: bytes) -> str:
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(ErrorCode.MALFORMED) from None
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        raise ProtocolError(ErrorCode.MALFORMED)
    return name


def parse_certificate(data: bytes) -> Certificate:
    """Structure only: no signature or validity check (see `verify_certificate`)."""
    if len(data) > MAX_CERTIFICATE:
        raise ProtocolError(ErrorCode.OVERSIZE)
    r = Reader(data)
    read_header(r, ObjectType.CERTIFICATE)
    centre_id = r.take(ID_LEN)
    staff_id = r.take(ID_LEN)
    role_byte = r.u8()
    if role_byte not in (Role.COUNSELLOR, Role.INTERPRETER):
        raise ProtocolError(ErrorCode.MALFORMED)
    name = _decode_name(r.opaque(1, MAX_NAME, 1))
    kem_public = r.take(KEY_LEN)
    sig_public = r.take(KEY_LEN)
    not_before = r.u64()
    not_after = r.u64()
    issuer = r.take(KEY_LEN)
    signature = r.take(SIG_LEN)
    r.finish()
    if not_after < not_before:
        raise ProtocolError(ErrorCode.MALFORMED)
    return Certificate(
        centre_id=centre_id,
        staff_id=staff_id,
        role=Role(role_byte),
        display_name=name,
        kem_public=kem_public,
        sig_public=sig_public,
        not_before=not_before,
        not_after=not_after,
        issuer=issuer,
        signature=signature,
        raw=bytes(data),
    )


def check_anchors(anchors: Sequence[bytes]) -> tuple[bytes, ...]:
    if not 1 <= len(anchors) <= MAX_ANCHORS or any(
        not isinstance(a, bytes) or len(a) != KEY_LEN for a in anchors
    ):
        raise ProtocolError(ErrorCode.MALFORMED)
    return tuple(bytes(a) for a in anchors)


def check_certificate(cert: Certificate, anchors: Sequence[bytes], when: int | None) -> None:
    """Issuer is a trust anchor, the signature verifies, and `when` (if given) is in validity."""
    if not any(p.ct_equal(cert.issuer, a) for a in anchors):
        raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
    tbs = cert.raw[:-SIG_LEN]
    if not p.ed25519_verify(cert.issuer, cert.signature, label("sig/certificate", tbs)):
        raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
    if when is not None and not cert.valid_at(when):
        raise ProtocolError(ErrorCode.BAD_CERTIFICATE)


@guarded
def verify_certificate(data: bytes, anchors: Sequence[bytes], when: int) -> Certificate:
    """Parse and verify a certificate against the trust anchors at time `when` (unix seconds)."""
    cert = parse_certificate(data)
    check_certificate(cert, check_anchors(anchors), when)
    return cert


@guarded
def certify(
    admin: AdminKey,
    staff: LocalMember,
    display_name: str,
    not_before: int,
    not_after: int,
) -> bytes:
    """Issue the directory entry binding a staff member's id, role, name and public keys."""
    return certify_public(
        admin,
        centre_id=staff.centre_id,
        staff_id=staff.member_id,
        role=staff.role,
        display_name=display_name,
        kem_public=staff.kem_public,
        sig_public=staff.sig_public,
        not_before=not_before,
        not_after=not_after,
    )


@guarded
def certify_public(
    admin: AdminKey,
    *,
    centre_id: bytes,
    staff_id: bytes,
    role: Role,
    display_name: str,
    kem_public: bytes,
    sig_public: bytes,
    not_before: int,
    not_after: int,
) -> bytes:
    """Issue a certificate from public values only (what the admin's browser receives)."""
    name = display_name.encode("utf-8")
    if (
        role not in (Role.COUNSELLOR, Role.INTERPRETER)
        or not 1 <= len(name) <= MAX_NAME
        or not_after < not_before
        or len(centre_id) != ID_LEN
        or len(staff_id) != ID_LEN
        or len(kem_public) != KEY_LEN
        or len(sig_public) != KEY_LEN
    ):
        raise ProtocolError(ErrorCode.MALFORMED)
    _decode_name(name)
    w = Writer().raw(header(ObjectType.CERTIFICATE, VERSION, SUITE))
    w.fixed(centre_id, ID_LEN).fixed(staff_id, ID_LEN).u8(role)
    w.opaque(name, 1).fixed(kem_public, KEY_LEN).fixed(sig_public, KEY_LEN)
    w.u64(not_before).u64(not_after).fixed(admin.public, KEY_LEN)
    tbs = w.getvalue()
    return tbs + p.ed25519_sign(admin.private, label("sig/certificate", tbs))


@guarded
def sign_directory(
    admin: AdminKey,
    centre_id: bytes,
    serial: int,
    issued_at: int,
    expires_at: int,
    certificates: Sequence[bytes],
) -> bytes:
    """Sign the complete current staff list; entries are sorted by staff id."""
    parsed = sorted((parse_certificate(c) for c in certificates), key=lambda c: c.staff_id)
    if len(parsed) > MAX_DIRECTORY_ENTRIES or expires_at < issued_at:
        raise ProtocolError(ErrorCode.MALFORMED)
    w = Writer().raw(header(ObjectType.DIRECTORY, VERSION, SUITE))
    w.fixed(centre_id, ID_LEN).u64(serial).u64(issued_at).u64(expires_at).u16(len(parsed))
    for cert in parsed:
        w.opaque(cert.raw, 2)
    w.fixed(admin.public, KEY_LEN)
    tbs = w.getvalue()
    return tbs + p.ed25519_sign(admin.private, label("sig/directory", tbs))


def parse_directory(data: bytes) -> Directory:
    if len(data) > MAX_OBJECT:
        raise ProtocolError(ErrorCode.OVERSIZE)
    r = Reader(data)
    read_header(r, ObjectType.DIRECTORY)
    centre_id = r.take(ID_LEN)
    serial = r.u64()
    issued_at = r.u64()
    expires_at = r.u64()
    count = r.u16()
    if count > MAX_DIRECTORY_ENTRIES:
        raise ProtocolError(ErrorCode.OVERSIZE)
    certs = tuple(parse_certificate(r.opaque(2, MAX_CERTIFICATE)) for _ in range(count))
    issuer = r.take(KEY_LEN)
    r.take(SIG_LEN)
    r.finish()
    ids = [c.staff_id for c in certs]
    if ids != sorted(set(ids)) or expires_at < issued_at:
        raise ProtocolError(ErrorCode.MALFORMED)
    return Directory(centre_id, serial, issued_at, expires_at, certs, issuer, bytes(data))


@guarded
def verify_directory(data: bytes, anchors: Sequence[bytes], now: int, min_serial: int = 0) -> Directory:
    """Verify the directory signature and freshness, and every entry's issuer and signature.

    Entries outside their own validity at `now` are kept (the caller filters with `valid_at`),
    so an expiring colleague does not make the whole directory unusable. A client that
    remembers the highest serial it has seen passes it as `min_serial`: an older edition,
    even unexpired, is refused (BAD_CERTIFICATE).
    """
    directory = parse_directory(data)
    anchors = check_anchors(anchors)
    if not any(p.ct_equal(directory.issuer, a) for a in anchors):
        raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
    tbs, sig = directory.raw[:-SIG_LEN], directory.raw[-SIG_LEN:]
    if not p.ed25519_verify(directory.issuer, sig, label("sig/directory", tbs)):
        raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
    if not directory.issued_at <= now <= directory.expires_at or directory.serial < min_serial:
        raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
    for cert in directory.certificates:
        if cert.centre_id != directory.centre_id:
            raise ProtocolError(ErrorCode.BAD_CERTIFICATE)
        check_certificate(cert, anchors, None)
    return directory
