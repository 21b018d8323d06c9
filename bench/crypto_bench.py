"""Messages per second for the Python protocol implementation, beside bare AES-256-GCM.

    python bench/crypto_bench.py [messages]

Each message carries a 1000-byte body, which pads to the 1 KiB bucket. "encrypt+sign" is
Conversation.encrypt (HKDF, AES-256-GCM, Ed25519); "verify+decrypt" is Conversation.receive
(parse, transcript checks, Ed25519 verify, HKDF, AES-256-GCM, unpad). The reference is
AES-256-GCM alone (one key, set up once) on the same 1024 bytes and the same associated data,
in the same run. No timing is asserted anywhere; these are figures to read.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto import (
    ContentType,
    Role,
    certify,
    create_conversation,
    create_staff_identity,
    generate_admin_key,
    open_conversation,
    sign_directory,
)

BODY = os.urandom(1000)
NOW = int(time.time())


def rate(count: int, run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return count / (time.perf_counter() - start)


def main(count: int) -> None:
    centre = os.urandom(16)
    admin = generate_admin_key()
    staff = create_staff_identity(centre, os.urandom(16), Role.COUNSELLOR)
    cert = certify(admin, staff, "Bench", NOW - 60, NOW + 3600)
    directory = sign_directory(admin, centre, 1, NOW - 60, NOW + 3600, [cert])
    created = create_conversation(directory, [admin.public], NOW)
    sender = created.conversation
    receiver = open_conversation(staff, created.genesis, [admin.public])

    messages: list[bytes] = []
    sealing = 0.0
    for _ in range(count):
        start = time.perf_counter()
        data = sender.encrypt(ContentType.TEXT, BODY)
        sealing += time.perf_counter() - start
        sender.receive(data)
        messages.append(data)
    size = len(messages[0])

    def open_all() -> None:
        for data in messages:
            receiver.receive(data)

    opening = count / rate(count, open_all)

    key, nonce, aad, plain = os.urandom(32), os.urandom(12), os.urandom(95), os.urandom(1024)
    aead = AESGCM(key)
    sealed = aead.encrypt(nonce, plain, aad)

    def bare_seal() -> None:
        for _ in range(count):
            aead.encrypt(nonce, plain, aad)

    def bare_open() -> None:
        for _ in range(count):
            aead.decrypt(nonce, sealed, aad)

    print(f"Python {sys.version.split()[0]}, cryptography, {count} messages, {size}-byte wire messages")
    print(f"{'operation':<40}{'messages/s':>12}")
    print(f"{'protocol encrypt+sign (1 KiB bucket)':<40}{count / sealing:>12,.0f}")
    print(f"{'protocol verify+decrypt (1 KiB bucket)':<40}{count / opening:>12,.0f}")
    print(f"{'bare AES-256-GCM seal, 1 KiB':<40}{rate(count, bare_seal):>12,.0f}")
    print(f"{'bare AES-256-GCM open, 1 KiB':<40}{rate(count, bare_open):>12,.0f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
