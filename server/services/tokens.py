"""Secret tokens: random ones handed out once and stored only as a hash, and signed holder
tokens that are stored nowhere."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid

HOLDER_TOKEN_HOURS = 12


def new_token() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps instead of the token (a leaked table opens nothing)."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(presented: str, expected: str) -> bool:
    """Constant-time comparison of a presented secret with the expected (ASCII) one.

    Total: anything with a non-ASCII character (which no token of ours has) is simply not equal;
    `hmac.compare_digest` raises TypeError for such strings.
    """
    return presented.isascii() and hmac.compare_digest(presented.encode(), expected.encode())


def holder_token(secret: bytes, holder_id: uuid.UUID, now: float | None = None) -> str:
    """A bearer token for one booking holder, valid 12 hours: `h.<id>.<expiry>.<hmac>`."""
    expiry = int((now if now is not None else time.time()) + HOLDER_TOKEN_HOURS * 3600)
    body = f"h.{holder_id.hex}.{expiry}"
    return f"{body}.{_mac(secret, body)}"


def holder_from_token(secret: bytes, token: str, now: float | None = None) -> uuid.UUID | None:
    """The holder a token names, if its MAC is right (constant-time) and it has not expired."""
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != "h":
        return None
    body = ".".join(parts[:3])
    if not same_secret(parts[3], _mac(secret, body)):
        return None
    if not parts[2].isascii() or not parts[2].isdigit():
        return None
    try:
        holder_id, expiry = uuid.UUID(hex=parts[1]), int(parts[2])
    except ValueError:
        return None
    return holder_id if expiry > (now if now is not None else time.time()) else None


def _mac(secret: bytes, body: str) -> str:
    digest = hmac.new(secret, b"booking-holder\x00" + body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
