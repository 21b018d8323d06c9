"""What trust rests on outside the database: the pins and the log signing key (one per app).

Kept apart from the database on purpose: a database write must not be able to change which
first anchor clients pin, nor sign log heads. See server/services/trust.py.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from crypto import primitives as p
from crypto.identity import AdminKey
from server.settings import Settings

PINS_FILE = "trust-pins"
LOG_KEY_FILE = "log-key"


class TrustFiles:
    """What trust rests on outside the database: the pins and the log signing key.

    Built once per app (`Resources.trust`); reads the first-use pins file from the data
    directory, and makes the log key there on first use when none is configured.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.default_centre: bytes | None = None  # the single centre's id, once known
        self._lock = threading.Lock()
        self._first_use: dict[bytes, bytes] | None = None
        self._log_key: AdminKey | None = None

    # --- pins --------------------------------------------------------------------------

    def configured_pin(self, centre_id: bytes) -> bytes | None:
        found = self.settings.trust_pins.get(centre_id)
        if found is None and self.settings.trust_pin and centre_id == self.default_centre:
            found = self.settings.trust_pin
        return found

    def pin(self, centre_id: bytes) -> bytes | None:
        """The centre's pin: configured, else the one pinned on first use, else None."""
        return self.configured_pin(centre_id) or self._read_first_use().get(centre_id)

    def page_pin(self, centre_id: bytes | None = None) -> str:
        """The pin a page carries (hex), or "" when none is known yet."""
        cid = centre_id or self.default_centre
        found = self.pin(cid) if cid else None
        return found.hex() if found else ""

    def _read_first_use(self) -> dict[bytes, bytes]:
        with self._lock:
            if self._first_use is None:
                self._first_use = {}
                path = self.settings.data_dir / PINS_FILE
                if path.exists():
                    for line in path.read_text(encoding="ascii").splitlines():
                        words = line.split()
                        if len(words) == 2:
                            self._first_use[bytes.fromhex(words[0])] = bytes.fromhex(words[1])
            return dict(self._first_use)

    def remember_first_use(self, centre_id: bytes, pin: bytes) -> None:
        """Pin a centre's first root (no pin configured): one line appended, never replaced."""
        if centre_id in self._read_first_use():
            return
        with self._lock:
            path = self.settings.data_dir / PINS_FILE
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="ascii") as handle:
                handle.write(f"{centre_id.hex()} {pin.hex()}\n")
            assert self._first_use is not None
            self._first_use[centre_id] = pin

    # --- the log key -------------------------------------------------------------------

    def log_key(self) -> AdminKey:
        with self._lock:
            if self._log_key is None:
                seed = self.settings.log_key_seed or _seed_file(self.settings.data_dir / LOG_KEY_FILE)
                private = p.ed25519_private(seed)
                self._log_key = AdminKey(private=private, public=p.ed25519_public_bytes(private))
            return self._log_key


def _seed_file(path: Path) -> bytes:
    """32 random bytes kept as hex in `path` (mode 0600), made on first use."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    seed = os.urandom(32)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(seed.hex() + "\n")
    return seed
