"""Staff password hashing with Argon2id, off the event loop and bounded in memory."""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from server.i18n import N_
from server.settings import PasswordHashing

MIN_LENGTH = 12
MAX_LENGTH = 256
UNUSABLE_PREFIX = "!"  # a stored "hash" that matches no password: an account waiting for a reset


def unusable_hash() -> str:
    """What an account's password hash becomes when an admin forces a reset."""
    return UNUSABLE_PREFIX + "reset-" + secrets.token_hex(16)


class Passwords:
    """Hash and verify passwords; at most two hashes run at once (each may use 64 MiB)."""

    def __init__(self, params: PasswordHashing) -> None:
        self._hasher = PasswordHasher(
            time_cost=params.time_cost,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            type=Type.ID,
        )
        self._slots = asyncio.Semaphore(2)
        # Verified when a login names no account, so the answer takes as long either way.
        self._dummy_hash = self._hasher.hash("trygg-dummy-password")

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """True if `password` matches; with no stored hash, spend the same time and say no."""
        async with self._slots:
            return await asyncio.to_thread(self._verify, stored_hash, password)

    def _verify(self, stored_hash: str | None, password: str) -> bool:
        if stored_hash is not None and stored_hash.startswith(UNUSABLE_PREFIX):
            stored_hash = None  # the same time as for any other refusal
        try:
            return bool(self._hasher.verify(stored_hash or self._dummy_hash, password)) and (
                stored_hash is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return bool(self._hasher.check_needs_rehash(stored_hash))


def password_problem(password: str, username: str = "") -> str | None:
    """An English message id saying what is wrong with a new password, or None if it is fine."""
    if len(password) < MIN_LENGTH:
        return N_("The password must be at least 12 characters long.")
    if len(password) > MAX_LENGTH:
        return N_("The password must be at most 256 characters long.")
    if len(set(password)) < 4:
        return N_("The password is too easy to guess.")
    if username and username.lower() in password.lower():
        return N_("The password must not contain the user name.")
    return None
