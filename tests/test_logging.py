"""Logs of the real running service: structured, and never a client address, body or query string."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request

import pytest

from server.logs import MAX_FIELD, JSONFormatter, ScrubAddresses, configure_logging, scrub
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


# Bidi overrides and isolates, marks, controls (BEL, ESC, NEL), separators, a BOM, a private-use
# and an unassigned code point: none may reach a log line.
HOSTILE = "\u202e\u202a\u2066\u2069\u200f\u0007\x1b\x85\u2028\u2029\ufeff\ue000\U000e0001\U0010ffff"


def csp_report(url: str, report: object) -> int:
    body = json.dumps({"csp-report": report}).encode()
    return fetch(f"{url}/csp-report", data=body, headers={"Content-Type": "application/csp-report"})


def test_csp_reports_log_the_route_template_and_the_directive_only(live_server: LiveServer) -> None:
    token = "invite-token-sentinel-" + "A" * 40
    before = len(live_server.log().splitlines())
    reports = [
        {
            "document-uri": f"{live_server.url}/staff/invite/{token}?next=query-sentinel",
            "effective-directive": "script-src-elem",
            "blocked-uri": f"https://evil.example/blocked-sentinel/{token}",
            "source-file": f"{live_server.url}/staff/invite/{token}",
            "script-sample": "sample-sentinel",
        },
        {"document-uri": "https://elsewhere.example/secret-path-sentinel", "violated-directive": "img-src"},
        {
            "document-uri": f"{live_server.url}/en/{HOSTILE}",
            "effective-directive": HOSTILE + "A" * 200 + HOSTILE,
        },
        {"document-uri": ["not", "a", "url"], "effective-directive": {"nested": HOSTILE}},
        {"document-uri": "http://[broken-sentinel", "violated-directive": "style-src 'self'"},
    ]
    for report in reports:
        assert csp_report(live_server.url, report) == 204
    lines = live_server.log().splitlines()[before:]
    logged = [json.loads(line) for line in lines if '"trygg.csp"' in line]
    assert [(entry["route"], entry["directive"]) for entry in logged] == [
        ("/staff/invite/{token}", "script-src-elem"),
        ("(unknown)", "img-src"),
        ("(unknown)", "(invalid)"),
        ("(unknown)", "(invalid)"),
        ("(unknown)", "style-src"),
    ]
    assert all(set(entry) == {"time", "level", "logger", "message", "directive", "route"} for entry in logged)
    text = "\n".join(lines)
    for forbidden in ("sentinel", "evil.example", "elsewhere", token[-40:]):
        assert forbidden not in text, forbidden
    assert [ch for ch in HOSTILE if ch in text] == []
    assert all(len(line) < 400 for line in lines)


def test_every_field_of_every_record_is_cleaned_and_capped(capfd: pytest.CaptureFixture[str]) -> None:
    """Through the real handler set-up: control and bidi characters go from every field."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO")
        logging.getLogger("trygg.test" + HOSTILE).warning(
            "message %s with %s" + HOSTILE,
            "argument" + HOSTILE,
            "10.1\u200b.2.3",
            extra={
                "field" + HOSTILE: "value" + HOSTILE + "x" * 5000,
                "nested": {"key" + HOSTILE: ["item" + HOSTILE, 7, None]},
                "other": ValueError("error" + HOSTILE),
            },
        )
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    (line,) = [line for line in capfd.readouterr().err.splitlines() if "trygg.test" in line]
    assert not any(ch in line for ch in HOSTILE)
    entry = json.loads(line)
    assert entry["logger"] == "trygg.test"
    assert entry["message"] == "message argument with [address]"
    assert entry["field"].startswith("valuexxx")
    assert len(entry["field"]) == MAX_FIELD
    assert entry["nested"] == {"key": ["item", 7, None]}
    assert entry["other"] == "error"
