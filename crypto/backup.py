"""Staff key backup: private keys sealed under a passphrase so staff can work from another device."""

from __future__ import annotations

import unicodedata

from . import primitives as p
from .certificates import read_header
from .constants import (
    AEAD_NONCE_LEN,
    ID_LEN,
    KEY_LEN,
    MAX_OBJECT,
    MAX_PASSPHRASE_BYTES,
    MAX_STATE_CIPHERTEXT,
    MIN_ITERATIONS,
    MIN_PASSPHRASE_CHARS,
    SUITE,
    TAG_LEN,
    VERSION,
    ObjectType,
    Role,
    label,
)
from .encoding import Reader, Writer, header
from .errors import ErrorCode, ProtocolError, guarded
from .identity import LocalMember, member_from_private_bytes

SALT_LEN = 16


def _passphrase_bytes(passphrase: str) -> bytes:
    data = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    if not data or len(data) > MAX_PASSPHRASE_BYTES:
        raise ProtocolError(ErrorCode.MALFORMED)
    return data


def _backup_key(passphrase: str, salt: bytes, iterations: int) -> bytes:
    master = p.pbkdf2_sha256(_passphrase_bytes(passphrase), salt, iterations, 32)
    return p.hkdf(master, b"", label("backup/key"), 32)


def _export(identity: LocalMember, passphrase: str, iterations: int, rand: p.RandomSource) -> bytes:
    if identity.role not in (Role.COUNSELLOR, Role.INTERPRETER):
        raise ProtocolError(ErrorCode.MALFORMED)
    salt = rand(SALT_LEN)
    nonce = rand(AEAD_NONCE_LEN)
    w = Writer().fixed(identity.centre_id, ID_LEN).fixed(identity.member_id, ID_LEN)
    w.u8(identity.role)
    w.fixed(p.x25519_private_bytes(identity.kem_private), KEY_LEN)
    w.fixed(p.ed25519_private_bytes(identity.sig_private), KEY_LEN)
    plaintext = w.getvalue()
    head = Writer().raw(header(ObjectType.STAFF_BACKUP, VERSION, SUITE)).u32(iterations)
    head.fixed(salt, SALT_LEN).fixed(nonce, AEAD_NONCE_LEN).u32(len(plaintext) + TAG_LEN)
    aad = head.getvalue()
    key = _backup_key(passphrase, salt, iterations)
    return aad + p.aead_seal(key, nonce, plaintext, aad)


@guarded
def export_staff_backup(identity: LocalMember, passphrase: str, iterations: int = MIN_ITERATIONS) -> bytes:
    """Seal a staff identity's private keys; refuses short passphrases and weak iteration counts."""
    if iterations < MIN_ITERATIONS or len(unicodedata.normalize("NFC", passphrase)) < MIN_PASSPHRASE_CHARS:
        raise ProtocolError(ErrorCode.WEAK_PARAMETERS)
    return _export(identity, passphrase, iterations, p.system_random)


def _import(blob: bytes, passphrase: str, min_iterations: int) -> LocalMember:
    if len(blob) > MAX_OBJECT:
        raise ProtocolError(ErrorCode.OVERSIZE)
    r = Reader(blob)
    read_header(r, ObjectType.STAFF_BACKUP)
    iterations = r.u32()
    salt = r.take(SALT_LEN)
    nonce = r.take(AEAD_NONCE_LEN)
    ct_len = r.u32()
    if ct_len > MAX_STATE_CIPHERTEXT:
        raise ProtocolError(ErrorCode.OVERSIZE)
    aad = r.consumed()
    ciphertext = r.take(ct_len)
    r.finish()
    if iterations < min_iterations:
        raise ProtocolError(ErrorCode.WEAK_PARAMETERS)
    key = _backup_key(passphrase, salt, iterations)
    s = Reader(p.aead_open(key, nonce, ciphertext, aad))
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
def import_staff_backup(blob: bytes, passphrase: str) -> LocalMember:
    """Open a backup; BAD_TAG means a wrong passphrase (or a tampered blob)."""
    return _import(blob, passphrase, MIN_ITERATIONS)
