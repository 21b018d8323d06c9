"""An anonymous key for "the same client" — the only use of a client address.

Throttling needs to tell clients apart.  The address is turned into a keyed
hash and never stored or logged.  With one process the key is random and lives
only in memory, changing at every start.  With several processes sharing a
Redis limiter they must agree on the key, so it is derived from the secret key
and the current UTC date: it still cannot be reversed without the secret, and
changes every day so nothing links a client across days.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import time

from starlette.types import Scope


def client_network(address: str) -> str:
    """What counts as one client: an IPv4 address, or the /64 of an IPv6 address.

    One IPv6 subscriber (a home line, a phone on mobile data) is given a whole /64 at least
    (RFC 6177) and may use any address in it, so counting single IPv6 addresses would let one
    person present as many clients as they like and walk past every per-client limit.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


class ClientHasher:
    """Turns the connecting client's address into a short, irreversible token."""

    def __init__(self, shared_secret: bytes | None = None) -> None:
        self._shared = shared_secret
        self._process_key = secrets.token_bytes(32)

    def _key(self) -> bytes:
        if self._shared is None:
            return self._process_key
        day = time.strftime("%Y-%m-%d", time.gmtime()).encode()
        return hmac.new(self._shared, b"trygg-client-key\x00" + day, hashlib.sha256).digest()

    def __call__(self, scope: Scope) -> str:
        """The token for this request's client (behind trusted proxies: the real client)."""
        client = scope.get("client")
        address = client_network(client[0]) if client else "unknown"
        return hmac.new(self._key(), address.encode(), hashlib.sha256).hexdigest()[:32]
