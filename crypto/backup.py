"""Key backups sealed under a generated recovery phrase: staff identities and the centre admin's
signing key (the root of trust).

Both use one layout (PROTOCOL.md §13); the type byte, which is part of the AEAD's associated
data, keeps a staff backup from ever opening as an admin backup and vice versa. The phrase's 88
random bits carry the security; PBKDF2 (Argon2id is not in WebCrypto) adds ~2^20 per guess.
"""

from __future__ import annotations

from . import primitives as p
from .certificates import read_header
from .constants import (
    AEAD_NONCE_LEN,
    ID_LEN,
    KEY_LEN,
    MAX_ITERATIONS,
    MAX_OBJECT,
    MAX_STATE_CIPHERTEXT,
    MIN_ITERATIONS,
    SUITE,
    TAG_LEN,
    VERSION,
    ObjectType,
    Role,
    label,
)
from .encoding import Reader, Writer, header
from .errors import ErrorCode, ProtocolError, guarded
from .identity import AdminKey, LocalMember, member_from_private_bytes
from .recovery import recovery_entropy

SALT_LEN = 16


def _backup_key(phrase: str, salt: bytes, iterations: int) -> bytes:
    master = p.pbkdf2_sha256(recovery_entropy(phrase), salt, iterations, 32)
    return p.hkdf(master, b"", label("backup/key"), 32)


def _check_iterations(iterations: int, floor: int = MIN_ITERATIONS) -> None:
    """Bounded below (guessing cost) and above (a hostile blob must not stall an unlock)."""
    if not floor <= iterations <= MAX_ITERATIONS:
        raise ProtocolError(ErrorCode.WEAK_PARAMETERS)


def _seal(
    object_type: ObjectType,
    plaintext: bytes,
    phrase: str,
    iterations: int,
    rand: p.RandomSource,
) -> bytes:
    salt = rand(SALT_LEN)
    nonce = rand(AEAD_NONCE_LEN)
    head = Writer().raw(header(object_type, VERSION, SUITE)).u32(iterations)
    head.fixed(salt, SALT_LEN).fixed(nonce, AEAD_NONCE_LEN).u32(len(plaintext) + TAG_LEN)
    aad = head.getvalue()
    return aad + p.aead_seal(_backup_key(phrase, salt, iterations), nonce, plaintext, aad)


def _open(object_type: ObjectType, blob: bytes, phrase: str, min_iterations: int) -> bytes:
    if len(blob) > MAX_OBJECT:
        raise ProtocolError(ErrorCode.OVERSIZE)
    r = Reader(blob)
    read_header(r, object_type)
    iterations = r.u32()
    salt = r.take(SALT_LEN)
    nonce = r.take(AEAD_NONCE_LEN)
    ct_len = r.u32()
    if ct_len > MAX_STATE_CIPHERTEXT:
        raise ProtocolError(ErrorCode.OVERSIZE)
    aad = r.consumed()
    ciphertext = r.take(ct_len)
    r.finish()
    _check_iterations(iterations, min_iterations)
    return p.aead_open(_backup_key(phrase, salt, iterations), nonce, ciphertext, aad)


def _staff_plaintext(identity: LocalMember) -> bytes:
    if identity.role not in (Role.COUNSELLOR, Role.INTERPRETER):
        raise ProtocolError(ErrorCode.MALFORMED)
    w = Writer().fixed(identity.centre_id, ID_LEN).fixed(identity.member_id, ID_LEN)
    w.u8(identity.role)
    w.fixed(p.x25519_private_bytes(identity.kem_private), KEY_LEN)
    w.fixed(p.ed25519_private_bytes(identity.sig_private), KEY_LEN)
    return w.getvalue()


def _export_staff(identity: LocalMember, phrase: str, iterations: int, rand: p.RandomSource) -> bytes:
    plaintext = _staff_plaintext(identity)
    return _seal(ObjectType.STAFF_BACKUP, plaintext, phrase, iterations, rand)


@guarded
def export_staff_backup(identity: LocalMember, phrase: str, iterations: int = MIN_ITERATIONS) -> bytes:
    """Seal a staff identity's private keys under a recovery phrase from
    `generate_recovery_phrase` (a mistyped one fails with BAD_CODE_*)."""
    _check_iterations(iterations)
    recovery_entropy(phrase)
    return _export_staff(identity, phrase, iterations, p.system_random)


def _import_staff(blob: bytes, phrase: str, min_iterations: int) -> LocalMember:
    s = Reader(_open(ObjectType.STAFF_BACKUP, blob, phrase, min_iterations))
    centre_id = s.take(ID_LEN)
    staff_id = s.take(ID_LEN)
    role = s.u8()
    kem_private = s.take(KEY_LEN)
    sig_private = s.take(KEY_LEN)
    s.finish()
    if role not in (Role.COUNSELLOR, Role.INTERPRETER):
        raise ProtocolError(ErrorCode.MALFORMED)
    return member_from_private_bytes(staff_id, Role(role), centre_id, kem_private, sig_private)


@guarded
def import_staff_backup(blob: bytes, phrase: str) -> LocalMember:
    """Open a staff backup; BAD_TAG means a wrong (but well-formed) phrase or a tampered blob."""
    return _import_staff(blob, phrase, MIN_ITERATIONS)


def _export_admin(admin: AdminKey, phrase: str, iterations: int, rand: p.RandomSource) -> bytes:
    plaintext = p.ed25519_private_bytes(admin.private)
    return _seal(ObjectType.ADMIN_BACKUP, plaintext, phrase, iterations, rand)


@guarded
def export_admin_backup(admin: AdminKey, phrase: str, iterations: int = MIN_ITERATIONS) -> bytes:
    """Seal the centre admin's signing key under a recovery phrase, so the admin can certify
    from another device."""
    _check_iterations(iterations)
    recovery_entropy(phrase)
    return _export_admin(admin, phrase, iterations, p.system_random)


def _import_admin(blob: bytes, phrase: str, min_iterations: int) -> AdminKey:
    s = Reader(_open(ObjectType.ADMIN_BACKUP, blob, phrase, min_iterations))
    key = p.ed25519_private(s.take(KEY_LEN))
    s.finish()
    return AdminKey(private=key, public=p.ed25519_public_bytes(key))


@guarded
def import_admin_backup(blob: bytes, phrase: str) -> AdminKey:
    """Open an admin backup; BAD_TAG means a wrong (but well-formed) phrase or a tampered blob."""
    return _import_admin(blob, phrase, MIN_ITERATIONS)
