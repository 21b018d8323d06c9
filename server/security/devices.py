"""Device cookies: a browser that has logged in to an account keeps its own allowance of attempts.

After OWASP's "Slow Down Online Guessing Attacks with Device Cookies".  A successful
login gives the browser a signed entry for that account; a later login from that
browser is limited per entry (its own failures only), not by the account's lockout
for untrusted clients, so someone guessing the password from elsewhere cannot lock
the owner out.  Nothing is stored on the server: an entry is

    <account id hex>.<nonce hex>.<expiry, Unix seconds>.<HMAC>

and the HMAC (keyed with the secret key) also covers a digest of the account's
current password hash, so changing or resetting the password ends every browser's
trust at once.  One cookie holds entries for up to five accounts (a shared office
computer), newest first.  The entries grant no access, only an allowance.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

MAX_ENTRIES = 5
MAX_COOKIE_CHARS = 1000
_ENTRY = re.compile(r"([0-9a-f]{32})\.([0-9a-f]{32})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})", re.ASCII)


@dataclass(frozen=True)
class Entry:
    account: str
    nonce: str
    expires: int
    mac: str

    def __str__(self) -> str:
        return f"{self.account}.{self.nonce}.{self.expires}.{self.mac}"


def _entries(value: str | None) -> list[Entry]:
    """The well-formed entries of a cookie value (not yet verified)."""
    if not value or len(value) > MAX_COOKIE_CHARS:
        return []
    found = []
    for part in value.split("~")[:MAX_ENTRIES]:
        match = _ENTRY.fullmatch(part)
        if match:
            found.append(Entry(match[1], match[2], int(match[3]), match[4]))
    return found


class DeviceCookies:
    """Issues and checks device cookie entries with the deployment's secret key."""

    def __init__(self, secret: bytes, days: int, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self.max_age = days * 86400
        self._clock = clock

    def _mac(self, account: str, nonce: str, expires: int, password_hash: str) -> str:
        binding = hashlib.sha256(password_hash.encode()).digest()
        message = f"trygg-device\x00{account}.{nonce}.{expires}\x00".encode() + binding
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def trusted(self, value: str | None, account_id: uuid.UUID, password_hash: str) -> str | None:
        """This browser's nonce for the account, if the cookie holds a valid, unexpired entry for it."""
        now = self._clock()
        for entry in _entries(value):
            if entry.account != account_id.hex or entry.expires <= now:
                continue
            expected = self._mac(entry.account, entry.nonce, entry.expires, password_hash)
            if hmac.compare_digest(entry.mac, expected):
                return entry.nonce
        return None

    def issue(self, value: str | None, account_id: uuid.UUID, password_hash: str) -> str:
        """The cookie after a successful login: a fresh entry for this account, then the others kept."""
        expires = int(self._clock()) + self.max_age
        nonce = secrets.token_hex(16)
        fresh = Entry(
            account_id.hex, nonce, expires, self._mac(account_id.hex, nonce, expires, password_hash)
        )
        now = self._clock()
        others = [e for e in _entries(value) if e.account != account_id.hex and e.expires > now]
        return "~".join(str(e) for e in [fresh, *others][:MAX_ENTRIES])

    def without(self, value: str | None, account_id: uuid.UUID) -> str:
        """The cookie with this account's entry removed."""
        return "~".join(str(e) for e in _entries(value) if e.account != account_id.hex)
