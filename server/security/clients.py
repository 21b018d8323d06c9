"""An anonymous, in-memory key for "the same client" — the only use of a client address.

Throttling needs to tell clients apart.  The address is turned into a keyed
hash with a random key that lives only in this process's memory and changes at
every start, so it cannot be reversed, linked across restarts, or written to
logs or tables (nothing here is ever stored).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from starlette.types import Scope

_PROCESS_KEY = secrets.token_bytes(32)


def client_key(scope: Scope) -> str:
    """A short, irreversible token for the connecting client (behind trusted proxies: the real one)."""
    client = scope.get("client")
    address = client[0] if client else "unknown"
    return hmac.new(_PROCESS_KEY, address.encode(), hashlib.sha256).hexdigest()[:32]
