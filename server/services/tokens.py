"""Secret tokens that are handed out once and stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps instead of the token (a leaked table opens nothing)."""
    return hashlib.sha256(token.encode()).hexdigest()
