"""Logs of the real running service: structured, and never a client address, body or query string."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

from server.logs import JSONFormatter, ScrubAddresses, scrub
from tests.live_server import LiveServer


def fetch(url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_no_address_body_or_query_reaches_the_log(live_server: LiveServer) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "198.51.100.7", "Accept-Language": "sv"}
    assert fetch(f"{live_server.url}/en/?secret=query-sentinel", headers=forwarded) == 200
    assert fetch(f"{live_server.url}/staff/invite/token-sentinel-AAAAAAAAAAAAAAAA", headers=forwarded) == 404
    assert fetch(f"{live_server.url}/no/such/path-sentinel") == 404
    body = b"username=body-sentinel&password=body-sentinel-password"
    assert (
        fetch(
            f"{live_server.url}/staff/login",
            data=body,
            headers={**forwarded, "Content-Type": "application/x-www-form-urlencoded"},
        )
        == 403
    )
    log = live_server.log()
    lines = [line for line in log.splitlines() if line.strip()]
    assert len(lines) >= 4
    for line in lines:
        json.loads(line)  # every line is one JSON object
    for forbidden in (
        "127.0.0.1",
        "203.0.113.9",
        "198.51.100.7",
        "query-sentinel",
        "token-sentinel",
        "path-sentinel",
        "body-sentinel",
        "::1",
    ):
        assert forbidden not in log, forbidden
    requests = [json.loads(line) for line in lines if '"trygg.request"' in line]
    assert {"method", "route", "status", "ms"} <= set(requests[-1])


def test_scrubbing_catches_addresses_in_any_record() -> None:
    assert (
        scrub("client 10.1.2.3 and [2001:db8::1]:443 and fe80::1")
        == "client [address] and [[address]]:443 and [address]"
    )
    assert scrub("version 1.2.3 at 12:30") == "version 1.2.3 at 12:30"
    record = logging.makeLogRecord(
        {
            "msg": '%s - "WebSocket %s" [accepted]',
            "args": (("192.0.2.1", 5000), "/ws"),
            "name": "uvicorn.error",
        }
    )
    ScrubAddresses().filter(record)
    formatted = JSONFormatter().format(record)
    assert "192.0.2.1" not in formatted
    assert "[address]" in formatted
