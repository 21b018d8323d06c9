"""Key holders: the centre admin (trust anchor), staff identities, and the visitor's per-conversation keys."""

from __future__ import annotations

from dataclasses import dataclass

from . import primitives as p
from .constants import ID_LEN, Role
from .errors import ErrorCode, ProtocolError, guarded


@dataclass(frozen=True, repr=False)
class AdminKey:
    """The centre administrator's Ed25519 key; its public half is the clients' trust anchor."""

    private: p.Ed25519PrivateKey
    public: bytes

    def __repr__(self) -> str:
        return f"AdminKey(public={self.public.hex()})"


@dataclass(frozen=True, repr=False)
class LocalMember:
    """The private keys of whoever runs this client: a staff member or a visitor."""

    member_id: bytes
    role: Role
    kem_private: p.X25519PrivateKey
    sig_private: p.Ed25519PrivateKey
    kem_public: bytes
    sig_public: bytes
    centre_id: bytes

    def __repr__(self) -> str:
        return f"LocalMember(member_id={self.member_id.hex()}, role={self.role.name})"


def _member_from_seeds(
    member_id: bytes, role: Role, centre_id: bytes, kem_seed: bytes, sig_seed: bytes
) -> LocalMember:
    if len(member_id) != ID_LEN or len(centre_id) != ID_LEN:
        raise ProtocolError(ErrorCode.MALFORMED)
    kem = p.x25519_private(kem_seed)
    sig = p.ed25519_private(sig_seed)
    return LocalMember(
        member_id=member_id,
        role=role,
        kem_private=kem,
        sig_private=sig,
        kem_public=p.x25519_public_bytes(kem),
        sig_public=p.ed25519_public_bytes(sig),
        centre_id=centre_id,
    )


def _generate_admin_key(rand: p.RandomSource) -> AdminKey:
    key = p.ed25519_private(rand(32))
    return AdminKey(private=key, public=p.ed25519_public_bytes(key))


def _generate_staff_identity(
    centre_id: bytes, staff_id: bytes, role: Role, rand: p.RandomSource
) -> LocalMember:
    if role not in (Role.COUNSELLOR, Role.INTERPRETER):
        raise ProtocolError(ErrorCode.MALFORMED)
    return _member_from_seeds(staff_id, role, centre_id, rand(32), rand(32))


def _generate_visitor(centre_id: bytes, rand: p.RandomSource) -> LocalMember:
    """Fresh per-conversation keys; the visitor has no account and no certificate."""
    return _member_from_seeds(rand(ID_LEN), Role.VISITOR, centre_id, rand(32), rand(32))


@guarded
def generate_admin_key() -> AdminKey:
    """A fresh centre admin signing key."""
    return _generate_admin_key(p.system_random)


@guarded
def create_staff_identity(centre_id: bytes, staff_id: bytes, role: Role) -> LocalMember:
    """Fresh long-term X25519 + Ed25519 keys for a counsellor or interpreter."""
    return _generate_staff_identity(centre_id, staff_id, role, p.system_random)


def member_from_private_bytes(
    member_id: bytes, role: Role, centre_id: bytes, kem_private: bytes, sig_private: bytes
) -> LocalMember:
    """Rebuild a LocalMember from raw private keys (backups, visitor state, vectors)."""
    return _member_from_seeds(member_id, role, centre_id, kem_private, sig_private)
