"""Booking through the real server: listing free times and booking, beside a trivial request.

Starts the service (SQLite, as `dev.py serve` would) with three counsellors available
every day 08:00–20:00 (30-minute slots, no buffer) and a horizon of 60 days, books a
few hundred slots, then prints median and p95 latencies of

* GET /api/booking/slots for 14 and for 60 days,
* POST /api/booking/bookings (20 per booking code; making the code is not timed),
* and, as the reference measured in the same run, GET /api/booking/options (one row read).

    .venv/bin/python -m bench.booking_bench [bookings]
"""

from __future__ import annotations

import base64
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx2

from tests.chat_helpers import PASSWORD, build_centre
from tests.live_server import LiveServer


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def timed(action: Callable[[], object], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        out.append((time.perf_counter() - started) * 1000)
    return out


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        server = LiveServer(
            Path(folder),
            TRYGG_BOOKINGS_PER_CLIENT_PER_HOUR="10000",
        ).start()
        try:
            with httpx2.Client(base_url=server.url, timeout=30) as http:
                run(server, http, count)
        finally:
            server.stop()


def run(server: LiveServer, http: httpx2.Client, count: int) -> None:
    names = {"anna": "counsellor", "bodil": "counsellor", "cleo": "counsellor"}
    centre = build_centre(http, server.url, lambda: server.create_admin("admin", PASSWORD), names)
    admin = centre.admin
    admin.form(
        "/staff/admin/booking",
        {
            "slot_minutes": "30",
            "buffer_minutes": "0",
            "min_notice_hours": "0",
            "horizon_days": "60",
            "max_future_bookings": "20",
            "address": "",
            "video_link": "",
            "phone": "on",
        },
    )
    for name in names:
        for day in range(7):
            centre.staff[name].person.form(
                "/staff/availability/rules",
                {"weekday": str(day), "starts": "08:00", "ends": "20:00"},
                token_from="/staff/availability",  # noqa: S106 (a path, not a password)
            )
    http.cookies.clear()
    days = http.get("/api/booking/slots", params={"days": "60"}).json()["days"]
    starts = [slot["start"] for day in days[1:] for slot in day["slots"]]
    payload = b64(bytes([1, 1]) + os.urandom(96 + 12 + 64))

    holders: list[str] = []

    def book(start: str) -> None:
        if len(booking_times) % 20 == 0:  # a code holds at most 20 upcoming bookings
            secret = {"lookup": os.urandom(16).hex(), "verifier": b64(os.urandom(32))}
            holders.append(http.post("/api/booking/holders", json=secret).json()["token"])
        holder = holders[-1]
        started = time.perf_counter()
        answer = http.post(
            "/api/booking/bookings",
            json={
                "start": start,
                "kind": "phone",
                "payload": payload,
                "fuller_invite": False,
                "same_counsellor": False,
            },
            headers={"Authorization": f"Bearer {holder}"},
        )
        booking_times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 201, answer.text

    booking_times: list[float] = []
    for start in starts[:count:1]:
        book(start)
    figures = {
        "GET /api/booking/options (reference)": timed(lambda: http.get("/api/booking/options"), 200),
        "GET /api/booking/slots 14 days": timed(lambda: http.get("/api/booking/slots"), 100),
        "GET /api/booking/slots 60 days": timed(
            lambda: http.get("/api/booking/slots", params={"days": "60"}), 50
        ),
        "POST /api/booking/bookings": booking_times,
    }
    print(f"3 counsellors, 30-minute slots 08-20 every day, {len(booking_times)} bookings made (SQLite)")
    for label, values in figures.items():
        print(
            f"{label:40s} median {statistics.median(values):7.2f} ms   p95 {percentile(values, 0.95):7.2f} ms"
            f"   (n={len(values)})"
        )


if __name__ == "__main__":
    main(min(200, int(sys.argv[1])) if len(sys.argv) > 1 else 200)
