"""Bad input gets a clear 4xx (or an error frame), never a 500 and never a dropped connection
(issue 13): out-of-range dates and instants, deep nesting, non-ASCII secrets and digits, binary
frames, JSON that is not UTF-8 or not quite JSON, NUL bytes and lone surrogates."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect

from server.jsonapi import ApiRoute
from server.models import Booking, BookingHolder, StaffAccount
from tests.booking_helpers import Visitor, ahead, at, make_desk, new_code, new_visitor, sealed
from tests.chat_helpers import Centre, Socket, VisitorChat, b64, hello, start_visitor, visitor_socket
from tests.conftest import BASE_URL, Client

FAR_INSTANTS = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2027-03-29T07:00:00"]


def count(client: Client, model: Any) -> int:
    async def run() -> int:
        async with client.res.db() as db:
            return int(await db.scalar(select(func.count()).select_from(model)) or 0)

    return client.run(run)


def booking_body(start: str) -> dict[str, Any]:
    return {
        "start": start,
        "kind": "phone",
        "payload": b64(sealed()),
        "fuller_invite": False,
        "same_counsellor": False,
    }


# --- dates and instants ---------------------------------------------------------------------------


@pytest.mark.parametrize("start", FAR_INSTANTS)
def test_instants_out_of_range_are_refused(client: Client, start: str) -> None:
    visitor = new_visitor(client)
    response = visitor.call("POST", "/api/booking/bookings", booking_body(start))
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "bad_fields"
    moved = visitor.call("POST", "/api/booking/bookings/ABCD-EFGH/reschedule", {"start": start})
    assert moved.status_code == 422, moved.text
    assert count(client, Booking) == 0


@pytest.mark.parametrize(
    "query",
    [
        "from=0001-01-01",
        "from=9999-12-31",
        "from=9999-12-01&days=62",
        "from=1999-12-31",
        "from=2200-01-01",
        "from=2027-02-30",
        "from=２０２７-01-01",
        "from=2027-01-01&days=٦٢",
        "from=2027-01-01&days=²",
        "from=2027-01-01&days=0",
        "from=2027-01-01&days=63",
        "from=2027-01-01&days=1e1",
        "from=2027-01-01&from=2027-01-02",
        "same_counsellor=2",
        "unknown=1",
    ],
)
def test_free_times_refuse_bad_queries(client: Client, query: str) -> None:
    response = Visitor(client).call("GET", f"/api/booking/slots?{query}")
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "bad_query"


def test_free_times_at_the_edges_of_the_range(client: Client) -> None:
    for query in ("from=2000-01-01&days=62", "from=2199-12-31&days=62"):
        response = Visitor(client).call("GET", f"/api/booking/slots?{query}")
        assert response.status_code == 200, response.text


# --- JSON that is too deep, not UTF-8, or not quite JSON ------------------------------------------


def json_routes(client: Client) -> list[ApiRoute]:
    return [r for r in client.app.routes if isinstance(r, ApiRoute) and r.operation.body is not None]  # type: ignore[attr-defined]


def test_every_json_body_refuses_deep_nesting(client: Client) -> None:
    """~50,000 levels of arrays, or one field nested 20,000 deep: a 400 (a 401 or 403 where access
    is checked first), never a RecursionError, on every endpoint that reads JSON."""
    client.make_staff("ada")
    client.login("ada")
    token = client.csrf("/staff/")
    deep = b"[" * 50_000 + b"]" * 50_000
    field = b'{"lookup": ' + b"[" * 20_000 + b"]" * 20_000 + b', "verifier": "x"}'
    routes = json_routes(client)
    assert len(routes) >= 12
    for route in routes:
        path = route.path.replace("{reference}", "ABCD-EFGH")
        for body in (deep, field):
            response = client.request(
                route.method,
                path,
                content=body,
                headers={"content-type": "application/json", "x-csrf-token": token, "origin": BASE_URL},
            )
            assert response.status_code in (400, 401, 403), (route.path, response.status_code, response.text)
    for path in ("/api/visitor/resume", "/api/booking/access", "/api/booking/holders"):
        response = client.post(path, content=deep, headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert response.json()["error"] == "bad_json"


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("utf-16", "application/json", 400),
        ("utf-16", "application/json; charset=utf-16", 415),
        ("utf-32", "application/json", 400),
        ("utf-8-sig", "application/json", 400),
        ("utf-8", "application/json; charset=latin-1", 415),
        ("utf-8", "text/plain", 415),
        ("utf-8", "application/json-seq", 415),
    ],
)
def test_json_must_be_utf8_application_json(
    client: Client, body: str, content_type: str, status: int
) -> None:
    """A booking in UTF-16 was accepted: only UTF-8 `application/json` (charset absent or utf-8)."""
    desk = make_desk(client, "anna")
    desk.policy()
    desk.available("anna", range(7), "09:00", "17:00")
    visitor = new_visitor(client)
    start = at(ahead(3), "09:00")
    encoded = json.dumps(booking_body(start)).encode(body)
    response = visitor.call(
        "POST", "/api/booking/bookings", content=encoded, headers={"content-type": content_type}
    )
    assert response.status_code == status, response.text
    assert count(client, Booking) == 0
    fine = visitor.call(
        "POST",
        "/api/booking/bookings",
        content=json.dumps(booking_body(start)).encode(),
        headers={"content-type": "application/json; charset=UTF-8"},
    )
    assert fine.status_code == 201, fine.text


@pytest.mark.parametrize(
    "raw",
    [
        '{"lookup": "%(lookup)s", "lookup": "%(lookup)s", "verifier": "%(verifier)s"}',
        '{"lookup": "%(lookup)s", "verifier": "%(verifier)s", "extra": NaN}',
        '{"lookup": "%(lookup)s", "verifier": "%(verifier)s", "extra": Infinity}',
        '{"lookup": "%(lookup)s", "verifier": "%(verifier)s", "extra": -Infinity}',
        '{"lookup": "%(lookup)s", "verifier": "%(verifier)s", "extra": 1e999}',
        '{"lookup": "%(lookup)s", "verifier": "%(verifier)s", "extra": ' + "9" * 5000 + "}",
        '{"lookup": "%(lookup)s", "verifier": "%(verifier)s", "extra": "\\ud800"}',
        '{"lookup": "%(lookup)s", "verifier": "%(verifier)s", "\\udfff": 1}',
        '{"lookup": "%(lookup)s", "verifier": "%(verifier)s"',
        '{"lookup": "%(lookup)s", "verifier": "%(verifier)s"} {}',
    ],
)
def test_not_quite_json_is_refused(client: Client, raw: str) -> None:
    """Duplicate names, NaN/Infinity, numbers out of range, lone surrogates, trailing data: 400."""
    body = (raw % new_code()).encode()
    response = client.post("/api/booking/holders", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "bad_json"
    assert count(client, BookingHolder) == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"lookup": "A" * 32},
        {"lookup": "a" * 31 + "\u0660"},
        {"lookup": "a" * 32 + "\n"},
        {"verifier": "=" * 43},
        {"verifier": b64(b"v" * 32) + "="},
        {"verifier": "+/" + b64(b"v" * 32)[2:]},
        {"verifier": b64(b"v" * 31)},
        {"verifier": None},
        {"verifier": ["x"]},
        {"lookup": {"a": 1}},
        {"lookup": True},
        {"lookup": 1.5},
        {"lookup": "a\u0000" * 16},
    ],
)
def test_wrong_types_and_values_are_422(client: Client, changes: dict[str, Any]) -> None:
    response = client.post("/api/booking/holders", json={**new_code(), **changes})
    assert response.status_code == 422, response.text
    assert count(client, BookingHolder) == 0


# --- secrets: comparisons are total -------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "h.{id}.9999999999.abcé",
        "h.{id}.9999999999." + "é" * 43,
        "h.{id}.٩٩٩٩٩٩٩٩٩٩.abc",
        "h.{id}.9999999999.\x00",
        "h.{id}.-1.abc",
        "h...",
        "h.é.é.é",
    ],
)
def test_holder_tokens_with_strange_characters_are_refused(client: Client, token: str) -> None:
    """`Bearer h.<id>.<exp>.<mac containing é>` gave a TypeError from hmac.compare_digest."""
    value = ("Bearer " + token.format(id=uuid.uuid4().hex)).encode("utf-8")
    for method, path in (
        ("GET", "/api/booking/bookings"),
        ("POST", "/api/booking/bookings/ABCD-EFGH/cancel"),
    ):
        response = client.request(method, path, headers={"authorization": value, "origin": BASE_URL})  # type: ignore[dict-item]
        assert response.status_code == 401, response.text


def test_csrf_and_cookies_with_strange_characters_are_refused(client: Client) -> None:
    client.make_staff("ada")
    client.login("ada")
    for token in ("é" * 43, "\x00", "x" * 5000):
        response = client.post(
            "/staff/language",
            data={"language": "sv"},
            headers={"x-csrf-token": token.encode("utf-8")},  # type: ignore[dict-item]
        )
        assert response.status_code == 403
    client.cookies.clear()
    odd = {"cookie": "trygg-session=é\x01; trygg-device=%ff%fe; trygg-csrf=\x7f".encode("latin-1")}
    assert client.get("/staff/", headers=odd, follow_redirects=False).status_code == 303  # type: ignore[arg-type]


# --- forms: ASCII digits and times --------------------------------------------------------------


@pytest.mark.parametrize("value", ["²", "٦٠", "６０", "60.0", "-60", " ", "9" * 6, "1e3"])
def test_booking_policy_numbers_are_ascii(client: Client, value: str) -> None:
    desk = make_desk(client)
    response = desk.policy(slot_minutes=value)
    assert response.status_code == 422, response.text
    assert "must be a whole number" in response.text


@pytest.mark.parametrize(
    ("starts", "ends"),
    [("0٩:00", "17:00"), ("09:00", "1٧:00"), ("９:00", "17:00"), ("9:00", "17:00"), ("09:00:00", "17:00")],
)
def test_weekly_times_are_ascii(client: Client, starts: str, ends: str) -> None:
    desk = make_desk(client, "anna")
    response = desk.rule("anna", 1, starts, ends)
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("first", "last"),
    [("0001-01-01", ""), ("2027-01-01", "9999-12-31"), ("２０２７-01-01", ""), ("2027-02-30", "")],
)
def test_days_off_are_in_range(client: Client, first: str, last: str) -> None:
    desk = make_desk(client, "anna")
    assert desk.day_off("anna", first, last).status_code == 422


@pytest.mark.parametrize(("opens", "closes"), [("10:00+01", "11:00"), ("0٩:00", "11:00"), ("1000", "1100")])
def test_opening_hours_are_plain_clock_times(client: Client, opens: str, closes: str) -> None:
    """ "10:00+01" parsed as a time with a zone, then compared with a naive one: a TypeError."""
    desk = make_desk(client)
    data = {f"opens_{d}": "" for d in range(7)} | {f"closes_{d}": "" for d in range(7)}
    response = desk.admin.form("/staff/admin/hours", {**data, "opens_1": opens, "closes_1": closes})
    assert response.status_code == 422, response.text


@pytest.mark.parametrize(
    ("username", "status"),
    [
        ("ada%00", 422),
        ("%00", 422),
        ("a%ED%A0%80", 400),
        ("%FF%FE", 400),
        ("%C3%A9" * 300, 422),
        ("%C3%A9" * 200, 400),
        ("%", 400),
    ],
)
def test_login_with_nul_bytes_and_odd_names(client: Client, username: str, status: int) -> None:
    """A NUL byte reached PostgreSQL as a query parameter it refuses: a 500.  Invalid UTF-8
    (a surrogate's bytes) is read as U+FFFD: just a wrong name."""
    client.make_staff("ada")
    token = client.csrf("/staff/login")
    body = f"csrf_token={token}&username={username}&password=x".encode()
    response = client.post(
        "/staff/login", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == status, response.text
    assert count(client, StaffAccount) == 1


@pytest.mark.parametrize("field", ["address", "video_link"])
def test_stored_form_text_refuses_control_characters(client: Client, field: str) -> None:
    desk = make_desk(client)
    value = "Storgata 1\x00" if field == "address" else "https://video.example/\x00"
    assert desk.policy(**{field: value}).status_code == 422


# --- the websocket ------------------------------------------------------------------------------


@pytest.fixture
def chat(client: Client, centre: Centre) -> VisitorChat:
    return start_visitor(client, BASE_URL, centre)


def test_binary_frame_after_hello_gets_an_error_frame(client: Client, chat: VisitorChat) -> None:
    """It was a KeyError: the socket dropped without a close frame."""
    with visitor_socket(client) as raw:
        socket = Socket(raw)
        hello(socket, chat)
        raw.send_bytes(b'{"type": "ping", "ref": "b"}')
        assert socket.until("error")["code"] == "bad_frame"
        raw.send_bytes(b"\xff\x00")
        assert socket.until("error")["code"] == "bad_frame"
        socket.send({"type": "ping", "ref": "alive"})
        socket.until("pong", ref="alive")


@pytest.mark.parametrize(
    "frame",
    [
        "[" * 50_000 + "]" * 50_000,
        '{"type": "sync", "conversation": ' + "[" * 20_000 + "]" * 20_000 + ', "after": 0}',
        '{"type": "ping", "type": "ping"}',
        '{"type": "sync", "conversation": "%(id)s", "after": NaN}',
        '{"type": "sync", "conversation": "%(id)s", "after": 1e999}',
        '{"type": "sync", "conversation": "%(id)s", "after": 1.0}',
        '{"type": "sync", "conversation": "%(id)s", "after": true}',
        '{"type": "close", "conversation": "%(id)s", "outcome": "\\ud800"}',
        '{"type": "close", "conversation": "%(id)s", "outcome": "other\\u0000"}',
        '{"type": "send", "conversation": "%(id)s", "client_id": "----12345678123412341234123456789abc",'
        ' "message": "AAAA"}',
        '{"type": "ping", "ref": null}',
    ],
)
def test_strange_frames_get_error_frames(client: Client, chat: VisitorChat, frame: str) -> None:
    with visitor_socket(client) as raw:
        socket = Socket(raw)
        hello(socket, chat)
        raw.send_text(frame.replace("%(id)s", chat.id.hex))
        answer = socket.receive()
        while answer["type"] not in ("error", "pong"):
            answer = socket.receive()
        assert answer["type"] == "error" or frame.endswith('"ref": null}'), answer
        socket.send({"type": "ping", "ref": "alive"})
        socket.until("pong", ref="alive")


def close_code(raw: Any) -> int:
    """Read frames (an error frame may come first) until the server closes; its close code."""
    for _ in range(10):
        try:
            raw.receive_text()
        except WebSocketDisconnect as closed:
            return int(closed.code)
    raise AssertionError("the server did not close")


@pytest.mark.parametrize("token", ["\ud800" * 30, "x\u0000" * 20, "é" * 40])
def test_hello_with_strange_tokens_is_refused(client: Client, chat: VisitorChat, token: str) -> None:
    with visitor_socket(client) as raw:
        raw.send_text(json.dumps({"type": "hello", "token": token}))
        assert close_code(raw) == 1008


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ('{"type": "sync", "conversation": "%(id)s", "after": 1.0, "ref": "r1"}', "bad_frame"),
        (
            '{"type": "receipt", "conversation": "%(id)s", "delivered": -5, "read": 0, "ref": "r1"}',
            "bad_frame",
        ),
        ('{"type": "sync", "conversation": "%(id)s", "ref": "r1"}', "bad_frame"),
        ('{"type": "ping", "extra": 1, "ref": "r1"}', "bad_frame"),
        ('{"type": "pong", "ref": "r1"}', "unknown_type"),
    ],
)
def test_a_refused_frame_with_a_ref_is_answered_with_that_ref(
    client: Client, chat: VisitorChat, frame: str, code: str
) -> None:
    """docs/API.md: every client frame with a `ref` is answered with a frame carrying it. A field
    the schema refuses gave an error frame without the ref, so a client waiting on it hung."""
    with visitor_socket(client) as raw:
        socket = Socket(raw)
        hello(socket, chat)
        raw.send_text(frame.replace("%(id)s", chat.id.hex))
        assert socket.until("error", ref="r1")["code"] == code
