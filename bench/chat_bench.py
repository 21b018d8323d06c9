"""Chat delivery latency through the real server: send -> ack, and send -> delivered to the other side.

Starts the service (SQLite, as `dev.py serve` would), a Python visitor and a
Python counsellor using the real protocol and websocket, and prints median and
p95 latencies next to a reference measured in the same run: a websocket
ping -> pong round trip on the same server (same connection, no database).

    .venv/bin/python -m bench.chat_bench [messages]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx2

from tests.chat_helpers import (
    PASSWORD,
    Socket,
    b64,
    build_centre,
    live_socket,
    staff_view,
    start_visitor,
    text,
    unb64,
)
from tests.live_server import LiveServer


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        # The per-connection frame limit protects against floods; the benchmark lifts it.
        server = LiveServer(Path(folder), TRYGG_WEBSOCKET_FRAMES_PER_10S="10000").start()
        stack.callback(server.stop)
        http = stack.enter_context(httpx2.Client(base_url=server.url))
        centre = build_centre(
            http, server.url, lambda: server.create_admin("admin", PASSWORD), {"anna": "counsellor"}
        )
        chat = start_visitor(http, server.url, centre)
        anna = staff_view(centre, "anna", chat.genesis)

        def socket(cookie: str = "") -> Socket:
            return live_socket(stack, server.url, cookie)

        counsellor = socket(centre.staff["anna"].person.cookie_header())
        claim = {
            "type": "claim",
            "conversation": chat.id.hex,
            "client_id": str(uuid.uuid4()),
            "message": b64(anna.claim()),
        }
        counsellor.send({**claim, "ref": "c"})
        counsellor.until("ack", ref="c")
        counsellor.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        anna.receive(unb64(counsellor.until("message")["message"]))
        visitor = socket()
        visitor.send({"type": "hello", "token": chat.token})
        visitor.until("welcome")
        visitor.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        chat.conversation.receive(unb64(visitor.until("message")["message"]))

        pings, acks, deliveries, encrypt = [], [], [], []
        for n in range(count):
            started = time.perf_counter()
            visitor.send({"type": "ping", "ref": f"p{n}"})
            visitor.until("pong", ref=f"p{n}")
            pings.append(time.perf_counter() - started)

            started = time.perf_counter()
            message = text(chat.conversation, f"message number {n} " + "x" * 200)
            encrypted = time.perf_counter()
            visitor.send(
                {
                    "type": "send",
                    "conversation": chat.id.hex,
                    "client_id": str(uuid.uuid4()),
                    "message": b64(message),
                    "ref": f"m{n}",
                }
            )
            seq = visitor.until("ack", ref=f"m{n}")["seq"]
            acked = time.perf_counter()
            anna.receive(unb64(counsellor.until("message", seq=seq)["message"]))
            delivered = time.perf_counter()
            chat.conversation.receive(unb64(visitor.until("message", seq=seq)["message"]))
            encrypt.append(encrypted - started)
            acks.append(acked - encrypted)
            deliveries.append(delivered - encrypted)

    def row(name: str, values: list[float]) -> str:
        median, p95 = statistics.median(values) * 1000, percentile(values, 0.95) * 1000
        return f"{name:<44} median {median:7.2f} ms   p95 {p95:7.2f} ms"

    print(f"chat delivery, {count} messages, SQLite, one visitor and one counsellor on this machine")
    print(row("reference: websocket ping -> pong", pings))
    print(row("encrypt + sign (visitor, Python)", encrypt))
    print(row("send -> ack (committed to the database)", acks))
    print(row("send -> received and verified by counsellor", deliveries))
    print(f"ack / ping ratio: {statistics.median(acks) / statistics.median(pings):.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
