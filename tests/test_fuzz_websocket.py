"""Every client frame type over a real websocket to the live server, before any `hello`, as a
visitor and as each kind of staff member: frames generated from the server's own frame
schemas (realtime/frames.py SCHEMAS), and the same frames broken (a field missing, one too
many, a wrong value, another type, not JSON, not text, too large, nested too deep).

The assertions: every frame gets an answer or the connection a clean close with a code (never
a dropped connection, never 1011), and a frame answered with an error changed nothing in the
database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from server.realtime.closes import Close
from server.realtime.frames import SCHEMAS, frame_schema
from tests.fuzzing import (
    EXAMPLES,
    JSON_VALUES,
    RAW_BODIES,
    Site,
    changed,
    from_schema,
    fuzz_settings,
    seeded,
)

WHO = ("anonymous", "visitor", "anna", "ivan", "admin")  # anonymous: before any hello
# Normal, policy (refused), message too big, and the server's own codes (realtime/closes.py).
CLEAN_CLOSES = {1000, 1008, 1009, *Close}
TRANSPORT_LIMIT = 256 * 1024


@pytest.fixture
def site(fuzz_site: Site) -> Site:
    return fuzz_site


class Wire:
    """What goes on the wire (text or a binary frame), shown shortened in a failure report."""

    def __init__(self, data: str | bytes) -> None:
        self.data = data

    @property
    def over_transport_limit(self) -> bool:
        """Larger than the server's websocket message limit (`trygg serve`: TRYGG_MAX_BODY_BYTES)."""
        return len(self.data) > TRANSPORT_LIMIT

    def __repr__(self) -> str:
        shown = repr(self.data)
        return shown if len(shown) < 300 else f"{shown[:200]}… ({len(self.data)} long)"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def frames_of(kind: str, conversation: str) -> st.SearchStrategy[Wire]:
    """One frame of `kind`: valid-shaped (often about the real conversation) or broken."""
    schema = frame_schema(kind)
    valid = from_schema(schema).flatmap(
        lambda frame: (
            st.sampled_from([frame, {**frame, "conversation": conversation}])
            if "conversation" in frame
            else st.just(frame)
        )
    )
    names = list(schema["properties"])
    broken = st.one_of(
        valid.flatmap(
            lambda f: st.sampled_from(sorted(f)).map(lambda name: {k: v for k, v in f.items() if k != name})
        ),
        st.tuples(valid, st.text(max_size=10), JSON_VALUES).map(lambda t: {**t[0], t[1]: t[2]}),
        st.tuples(valid, st.sampled_from(names), JSON_VALUES).map(lambda t: {**t[0], t[1]: t[2]}),
        st.tuples(valid, st.sampled_from(sorted(SCHEMAS))).map(lambda t: {**t[0], "type": t[1]}),
    )
    as_text = st.one_of(valid, broken).map(json.dumps)
    raw = st.one_of(
        RAW_BODIES,  # sent as binary frames
        RAW_BODIES.map(lambda body: body.decode("utf-8", "replace")),
        st.just("x" * 300_000),  # over the websocket's size limit: closed with 1009
        st.just(json.dumps({"type": kind, "pad": "x" * 210_000})),  # over the frame limit: an error
    )
    return st.one_of(as_text, as_text, as_text, raw).map(Wire)


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_every_frame_type_gets_an_answer_or_a_clean_close(site: Site, kind: str) -> None:
    with ExitStack() as stack:
        connections = {who: Connection(site, who, stack) for who in WHO}

        @seeded
        @fuzz_settings(2 * EXAMPLES)
        @given(who=st.sampled_from(WHO), data=st.data())
        def exercise(who: str, data: st.DataObject) -> None:
            connection = connections[who]
            frame = data.draw(frames_of(kind, connection.chat_id()))
            before = site.db.snapshot()
            answers = _send(connection.socket(), frame, "probe")
            if answers is None:  # closed cleanly (checked in _send): a new connection next time
                connection.closed()
            elif any(answer.get("type") == "error" for answer in answers):
                after = site.db.snapshot()
                assert not changed(before, after), f"{frame} refused yet changed {changed(before, after)}"

        exercise()


class Connection:
    """One websocket as `who`, kept open across examples, opened again after the server closed it
    (a visitor's with a fresh chat if a frame ended theirs)."""

    def __init__(self, site: Site, who: str, stack: ExitStack) -> None:
        self.site = site
        self.who = who
        self.stack = stack
        self.current: ClientConnection | None = None
        self.inner: ExitStack | None = None

    def chat_id(self) -> str:
        if self.current is None and self.who == "visitor":
            self.site.fresh_chat()
        return self.site.chat.id.hex

    def socket(self) -> ClientConnection:
        if self.current is None:
            self.inner = self.stack.enter_context(ExitStack())
            self.current = self.inner.enter_context(_open(self.site, self.who))
        return self.current

    def closed(self) -> None:
        assert self.inner is not None
        self.inner.close()
        self.current = None


@contextmanager
def _open(site: Site, who: str) -> Iterator[ClientConnection]:
    ws_url = site.url.replace("http", "ws", 1) + "/ws"
    headers = {} if who in ("anonymous", "visitor") else {"Cookie": site.staff_headers[who]["cookie"]}
    with connect(ws_url, origin=site.url, additional_headers=headers, max_size=None) as socket:  # type: ignore[arg-type]
        if who == "visitor":
            socket.send(json.dumps({"type": "hello", "token": site.chat.token, "ref": "h"}))
            _until(socket, lambda frame: frame.get("type") == "welcome")
        yield socket


def _send(socket: ClientConnection, frame: Wire, probe: str) -> list[dict[str, Any]] | None:
    """Send `frame`, then a ping: the frames that came before the pong, or None if the server
    closed the connection (which it must do with a close frame and a clean code)."""
    try:
        socket.send(frame.data)
        socket.send(json.dumps({"type": "ping", "ref": probe}))
        return _until(socket, lambda answer: answer.get("type") == "pong" and answer.get("ref") == probe)
    except ConnectionClosed as closed:
        close = closed.rcvd
    if close is None:
        # Over the transport limit the server fails the connection (RFC 6455 7.1.7): it sends its
        # 1009 close frame and closes at once, and TCP may reset the connection (the rest of the
        # message is unread) before the client reads that frame.  Anything else must close cleanly.
        assert frame.over_transport_limit, f"dropped without a close frame after {frame}"
        return None
    assert close.code in CLEAN_CLOSES, f"closed with {close.code} after {frame}"
    return None


def _until(socket: ClientConnection, done: Any) -> list[dict[str, Any]]:
    seen = []
    for _ in range(200):
        answer = json.loads(socket.recv(timeout=20))
        seen.append(answer)
        if done(answer):
            return seen
    raise AssertionError(f"no end in sight: {seen[-5:]}")
