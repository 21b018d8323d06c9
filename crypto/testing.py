"""Test-only entry points: injected randomness and PBKDF2 counts below the production floor.

Nothing in the server or the clients may import this module. It exists so test vectors are
reproducible (every random byte comes from a seed) and tests need not spend 600,000 PBKDF2
iterations on each case.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import backup, resume, visitor
from . import primitives as p
from .constants import Role
from .conversation import Conversation, _open_genesis
from .errors import guarded
from .identity import AdminKey, LocalMember, _generate_admin_key, _generate_staff_identity
from .trust import TrustRoot


class DeterministicRandom:
    """SHA-256 in counter mode over a seed: a reproducible stand-in for os.urandom in tests."""

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._counter = 0

    def reseed(self, seed: bytes) -> None:
        """Restart the stream, so each generated message can name its own seed."""
        self._seed = seed
        self._counter = 0

    def __call__(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            out += p.sha256(self._seed + self._counter.to_bytes(8, "big"))
            self._counter += 1
        return out[:n]


@guarded
def generate_admin_key_with(rand: p.RandomSource) -> AdminKey:
    return _generate_admin_key(rand)


@guarded
def create_staff_identity_with(
    centre_id: bytes, staff_id: bytes, role: Role, rand: p.RandomSource
) -> LocalMember:
    return _generate_staff_identity(centre_id, staff_id, role, rand)


@guarded
def create_conversation_with(
    directory: bytes,
    trust: TrustRoot | Sequence[bytes],
    now: int,
    resume_keys: resume.ResumeKeys | None,
    rand: p.RandomSource,
) -> visitor.Created:
    return visitor._create(directory, trust, now, resume_keys, rand)


@guarded
def open_conversation_with(
    me: LocalMember, genesis: bytes, trust: TrustRoot | Sequence[bytes], rand: p.RandomSource
) -> Conversation:
    return _open_genesis(me, genesis, trust, rand)


@guarded
def resume_conversation_with(
    state: visitor.VisitorState,
    genesis: bytes,
    trust: TrustRoot | Sequence[bytes] | None,
    rand: p.RandomSource,
) -> Conversation:
    return visitor._resume(state, genesis, trust, rand)


@guarded
def derive_resume_keys_with_iterations(code: str, centre_id: bytes, iterations: int) -> resume.ResumeKeys:
    return resume._derive(code, centre_id, iterations)


@guarded
def export_visitor_state_with(
    conversation: Conversation, keys: resume.ResumeKeys, rand: p.RandomSource
) -> bytes:
    return visitor._export(conversation, keys, rand)


@guarded
def import_visitor_state_low_iterations(blob: bytes, keys: resume.ResumeKeys) -> visitor.VisitorState:
    return visitor._import(blob, keys, 1)


@guarded
def export_staff_backup_with(
    identity: LocalMember, passphrase: str, iterations: int, rand: p.RandomSource
) -> bytes:
    return backup._export_staff(identity, passphrase, iterations, rand)


@guarded
def import_staff_backup_low_iterations(blob: bytes, passphrase: str) -> LocalMember:
    return backup._import_staff(blob, passphrase, 1)


@guarded
def export_admin_backup_with(
    admin: AdminKey, passphrase: str, iterations: int, rand: p.RandomSource
) -> bytes:
    return backup._export_admin(admin, passphrase, iterations, rand)


@guarded
def import_admin_backup_low_iterations(blob: bytes, passphrase: str) -> AdminKey:
    return backup._import_admin(blob, passphrase, 1)
