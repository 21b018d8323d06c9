"""What the fuzzers share: a live centre to fuzz, strategies built from the server's own schemas,
and a watch on the database that proves a refused request changed nothing.

The budget: `TRYGG_FUZZ_EXAMPLES` examples per operation, frame type or form (a small number
by default so CI stays within its time; raise it to search longer).  Generation is
derandomized, so a CI run is reproducible; `TRYGG_FUZZ_SEED` makes it random from that seed
instead (any value: a new search each time you change it).
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx2
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from server.models import Base
from server.validators import b64u_length
from tests.chat_helpers import PASSWORD, Centre, Person, VisitorChat, build_centre, start_visitor
from tests.live_server import LiveServer

EXAMPLES = int(os.environ.get("TRYGG_FUZZ_EXAMPLES", "10"))
# The staff of a live site: an admin, a counsellor, an interpreter, and a network admin (no
# role in any centre: the network's pages only).
STAFF = ("admin", "anna", "ivan", "nina")
NETWORK_ADMIN = "nina"
SEED = os.environ.get("TRYGG_FUZZ_SEED")
# Limits that would only stop the fuzzer early (they have tests of their own).
UNTHROTTLED = {
    "TRYGG_CONVERSATIONS_PER_CLIENT_PER_HOUR": "10000",
    "TRYGG_BOOKINGS_PER_CLIENT_PER_HOUR": "10000",
    "TRYGG_BOOKINGS_PER_CODE_PER_HOUR": "10000",
    "TRYGG_BOOKING_CODES_PER_CLIENT_PER_HOUR": "10000",
    "TRYGG_WRONG_CODES_PER_CLIENT_PER_HOUR": "10000",
    "TRYGG_WRONG_CODES_PER_CODE_PER_HOUR": "10000",
    "TRYGG_LOGIN_ATTEMPTS_PER_CLIENT": "10000",
    "TRYGG_LOGIN_ATTEMPTS_PER_ACCOUNT": "100",
    "TRYGG_WEBSOCKET_FRAMES_PER_10S": "10000",
    # Shared by every socket of one token or session, across the frame types' tests: a refused
    # probe (rate_limited carries no ref) would otherwise look like a hang on a fast machine.
    "TRYGG_WEBSOCKET_FRAMES_PER_10S_PER_TOKEN": "100000",
}
# Columns and tables that change without anyone asking: a session's last use (touched by any
# authenticated request, refused or not), open sockets' heartbeats.
NOT_WATCHED = {"staff_presence": None, "staff_sessions": {"last_seen_at"}}


def fuzz_settings(examples: int = EXAMPLES) -> Any:
    """Hypothesis settings for a fuzzer: a fixed number of examples, reproducible, no deadline."""
    return settings(
        max_examples=examples,
        derandomize=SEED is None,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )


def seeded(test: Callable[..., Any]) -> Callable[..., Any]:
    """Apply TRYGG_FUZZ_SEED, if set, to a Hypothesis test."""
    if SEED is None:
        return test
    from hypothesis import seed

    return seed(int(hashlib.sha256(SEED.encode()).hexdigest()[:12], 16))(test)


# --- strategies from the server's JSON Schemas ------------------------------------------------------


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values valid for one of the server's schemas (server/validators.py, the frame schemas).

    Covers the vocabulary those schemas use and refuses any other keyword, so a new kind of
    schema is noticed here rather than fuzzed wrongly.
    """
    known = {
        "type",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "enum",
        "const",
        "anyOf",
        "format",
        "properties",
        "required",
        "additionalProperties",
        "propertyNames",
        "maxProperties",
        "contentEncoding",
    }
    unknown = set(schema) - known
    assert not unknown, f"teach tests/fuzzing.py the keywords {unknown}"
    if "anyOf" in schema:
        return st.one_of([from_schema(option) for option in schema["anyOf"]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum"))
    if kind == "string":
        return _strings(schema)
    if kind == "object":
        return _objects(schema)
    raise AssertionError(f"teach tests/fuzzing.py the schema {schema}")


def _strings(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength", 200)
    if schema.get("contentEncoding") == "base64url":  # from bytes of the lengths allowed
        sizes = [n for n in range(0, high * 3 // 4 + 1) if low <= b64u_length(n) <= high]
        return st.binary(min_size=min(sizes), max_size=min(max(sizes), 512)).map(
            lambda data: __import__("base64").urlsafe_b64encode(data).rstrip(b"=").decode()
        )
    if "pattern" in schema:
        values = st.from_regex(schema["pattern"], fullmatch=True)
    else:
        values = st.text(max_size=min(high, 200))
    return values.filter(lambda value: low <= len(value) <= high)


def _objects(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties", {})
    if "propertyNames" in schema:
        return st.dictionaries(
            from_schema(schema["propertyNames"]),
            from_schema(schema["additionalProperties"]),
            max_size=min(3, schema.get("maxProperties", 3)),
        )
    required = set(schema.get("required", []))
    return st.fixed_dictionaries(
        {name: from_schema(properties[name]) for name in properties if name in required},
        optional={name: from_schema(properties[name]) for name in properties if name not in required},
    )


# Text that has broken parsers before: other scripts' digits, NUL and control characters, lone
# surrogates, out-of-range dates, huge numbers, markup, long runs.
TRICKY_TEXT = st.sampled_from(
    [
        "",
        " ",
        "²",
        "٩",
        "０９:００",
        "0٩:00",
        "\x00",
        "a\x00b",
        "\x7f",
        "\u202e",
        "\ud800",
        "\udfff",
        "é",
        "\ufeff",
        "9" * 400,
        "-1",
        "1e999",
        "NaN",
        "Infinity",
        "0001-01-01",
        "9999-12-31",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00+14:00",
        "10:00+01",
        "25:61",
        "<script>",
        "../../etc/passwd",
        "%00",
        "x" * 5000,
    ]
)
ANY_TEXT = st.one_of(
    TRICKY_TEXT, st.text(max_size=40), st.text(alphabet=st.characters(codec="ascii"), max_size=40)
)


def _containers(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | ANY_TEXT,
    _containers,
    max_leaves=8,
)
# Raw bodies no well-behaved client sends: deep nesting, other encodings, near-JSON.
RAW_BODY_LIST = [
    b"[" * 50_000 + b"]" * 50_000,
    b'{"a": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",
    b"{" * 3000,
    '{"x": "é"}'.encode("utf-16"),
    '{"x": 1}'.encode("utf-32"),
    b"\xef\xbb\xbf{}",
    b'{"a": 1, "a": 2}',
    b'{"a": NaN}',
    b'{"a": 1e999}',
    b'{"a": "\\ud800"}',
    b"\xff\xfe\x00",
    b"\x00",
    b"null",
    b"[]",
    b'"text"',
    b"9" * 5000,
]
RAW_BODIES = st.sampled_from(RAW_BODY_LIST)


# --- the database: nothing changes on a refused request -------------------------------------------


class DatabaseWatch:
    """Row counts and a hash of every table's rows, read from the live server's database."""

    def __init__(self, url: str, portal: Any) -> None:
        self.portal = portal
        self.engine = portal.call(_engine, url)
        self.tables = [t for t in Base.metadata.sorted_tables if NOT_WATCHED.get(t.name, set()) is not None]

    def snapshot(self) -> dict[str, tuple[int, str]]:
        return dict(self.portal.call(self._snapshot))

    async def _snapshot(self) -> dict[str, tuple[int, str]]:
        found = {}
        async with self.engine.connect() as connection:
            for table in self.tables:
                skip = NOT_WATCHED.get(table.name, set()) or set()
                columns = [c.name for c in table.columns if c.name not in skip]
                listed = ", ".join(f'"{c}"' for c in columns)
                rows = (await connection.execute(text(f'SELECT {listed} FROM "{table.name}"'))).all()  # noqa: S608
                digest = hashlib.sha256("\n".join(sorted(repr(tuple(row)) for row in rows)).encode())
                found[table.name] = (len(rows), digest.hexdigest()[:16])
        return found

    def close(self) -> None:
        self.portal.call(self.engine.dispose)


async def _engine(url: str) -> Any:
    return create_async_engine(url)


def changed(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    return [name for name in before if before[name] != after.get(name)]


# --- a live centre to fuzz ------------------------------------------------------------------------


@dataclass
class Site:
    """A live server with staff who have keys, a visitor's chat, a booking and its holder."""

    server: LiveServer
    http: httpx2.Client
    centre: Centre
    db: DatabaseWatch
    chat: VisitorChat
    holder_token: str
    reference: str
    raw: httpx2.Client
    network_admin: Person
    staff_headers: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    def staff(self, name: str) -> Person:
        if name == NETWORK_ADMIN:
            return self.network_admin
        return self.centre.admin if name == "admin" else self.centre.staff[name].person

    def fresh_chat(self) -> VisitorChat:
        """The visitor's chat, started again if a fuzzed request ended or deleted it."""
        answer = self.http.get(
            "/api/visitor/queue", headers={"authorization": f"Bearer {self.chat.token}", "origin": self.url}
        )
        if answer.status_code != 200 or answer.json()["status"] not in ("queued", "active"):
            self.chat = start_visitor(self.http, self.url, self.centre)
        return self.chat

    def refresh_staff(self, *names: str) -> None:
        """Log in again anyone whose session a fuzzed request ended (sessions are cheap)."""
        for name in names or ("admin", *self.centre.staff, NETWORK_ADMIN):
            person = self.staff(name)
            home = "/network/" if name == NETWORK_ADMIN else "/staff/"
            if name in self.staff_headers:
                if person.request("GET", home, follow_redirects=False).status_code == 200:
                    continue
                person.jar.clear()
                person.login(name)
            self.staff_headers[name] = {
                "cookie": person.cookie_header(),
                "x-csrf-token": person.csrf(home),
                "origin": self.url,
            }

    def send(self, method: str, path: str, headers: dict[str, Any], **kwargs: Any) -> httpx2.Response:
        """A request with exactly the cookies in `headers` (none kept from earlier answers)."""
        self.raw.cookies.clear()
        return self.raw.request(method, path, headers=headers, follow_redirects=False, **kwargs)


def configured_app() -> Any:
    """The app as configured by default, for reading its routes (nothing is started)."""
    from server.app import create_app
    from server.settings import load_settings
    from tests.conftest import app_env

    env = app_env(Path("/nonexistent"), "sqlite+aiosqlite:///:memory:", TRYGG_SECRET_KEY="fuzz" * 16)
    return create_app(load_settings(env))


@contextmanager
def site_on(backend: str, data_dir: Path) -> Iterator[Site]:
    """A live site on SQLite (`backend` "sqlite") or on a fresh PostgreSQL database."""
    from tests.services import need_postgres

    with ExitStack() as stack:
        database = (
            stack.enter_context(postgres_database(need_postgres())) if backend == "postgresql" else None
        )
        yield stack.enter_context(live_site(data_dir, database))


@contextmanager
def live_site(data_dir: Path, database_url: str | None) -> Iterator[Site]:
    """Start the real service (on `database_url`, else SQLite in `data_dir`) with a centre to fuzz."""
    env = dict(UNTHROTTLED)
    if database_url:
        env["DATABASE_URL"] = database_url
    server = LiveServer(data_dir, **env).start()
    with ExitStack() as stack:
        stack.callback(server.stop)
        portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
        http = stack.enter_context(httpx2.Client(base_url=server.url, timeout=30))
        centre = build_centre(
            http,
            server.url,
            lambda: server.create_admin("admin", PASSWORD),
            {"anna": "counsellor", "bodil": "counsellor", "ivan": "interpreter"},
        )
        db = DatabaseWatch(database_url or f"sqlite+aiosqlite:///{data_dir / 'trygg.sqlite3'}", portal)
        stack.callback(db.close)
        holder_token, reference = _a_booking(http, server.url, centre)
        raw = stack.enter_context(httpx2.Client(base_url=server.url, timeout=30))
        chat = start_visitor(http, server.url, centre)
        made = server.cli(
            "create-admin", NETWORK_ADMIN, "--network", "--password-stdin", stdin=PASSWORD + "\n"
        )
        assert made.returncode == 0, made.stderr
        network_admin = Person(http, server.url)
        network_admin.login(NETWORK_ADMIN)
        site = Site(server, http, centre, db, chat, holder_token, reference, raw, network_admin)
        site.refresh_staff()
        yield site


def _a_booking(http: httpx2.Client, url: str, centre: Centre) -> tuple[str, str]:
    """Booking rules, Anna's weekly times, and one booking by a visitor: its holder token and reference."""
    policy = {
        "slot_minutes": "60",
        "buffer_minutes": "0",
        "min_notice_hours": "0",
        "horizon_days": "60",
        "max_future_bookings": "20",
        "address": "Storgata 1",
        "phone": "on",
        "video_link": "",
    }
    assert centre.admin.form("/staff/admin/booking", policy).status_code == 303
    anna = centre.staff["anna"].person
    for weekday in range(7):
        answer = anna.form(
            "/staff/availability/rules",
            {"weekday": str(weekday), "starts": "08:00", "ends": "20:00"},
            token_from="/staff/availability",
        )
        assert answer.status_code == 303, answer.text
    code = {"lookup": os.urandom(16).hex(), "verifier": _b64(os.urandom(32))}
    token = http.post("/api/booking/holders", json=code, headers={"origin": url}).json()["token"]
    bearer = {"authorization": f"Bearer {token}", "origin": url}
    day = (date.today() + timedelta(days=3)).isoformat()
    free = http.get(f"/api/booking/slots?from={day}&days=7", headers=bearer).json()["days"]
    payload = bytes([2, 1]) + os.urandom(96 + 12 + 16 + 20)
    booked = http.post(
        "/api/booking/bookings",
        json={
            "start": free[0]["slots"][0]["start"],
            "kind": "phone",
            "payload": _b64(payload),
            "fuller_invite": False,
            "same_counsellor": False,
        },
        headers=bearer,
    )
    assert booked.status_code == 201, booked.text
    return token, booked.json()["booking"]["reference"]


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@contextmanager
def postgres_database(base: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database (the live server migrates it at start)."""
    from tests.conftest import _admin_url, _pg_execute, run_async

    maintenance = _admin_url(base, re.sub(r".*/", "", base) or "test")
    name = f"trygg_fuzz_{uuid.uuid4().hex[:12]}"
    run_async(_pg_execute(maintenance, f"CREATE DATABASE {name}"))
    try:
        yield _admin_url(base, name)
    finally:
        run_async(_pg_execute(maintenance, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False
