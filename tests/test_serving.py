"""The run configuration (server/serving.py) against a real server process: slow clients are
cut off, connections are capped (in total and per address) so the process never runs out of
file descriptors and keeps answering others, a low descriptor limit lowers the caps, large
websocket frames are refused unread, and resource-exhaustion log lines are rate-limited."""

from __future__ import annotations

import json
import logging
import re
import resource
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, closing
from pathlib import Path

import httpx2
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server.logs import ThrottleRepeats
from server.serving import ConnectionGuard, descriptor_budget
from server.settings import load_settings
from tests.chat_helpers import (
    PASSWORD,
    build_centre,
    hello,
    live_socket,
    send_frame,
    start_visitor,
    text,
    unb64,
)
from tests.conftest import eventually
from tests.live_server import ROOT, LiveServer

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[LiveServer]]:
    """Live servers started by a test (each on SQLite in its own directory), stopped after it."""
    started: list[LiveServer] = []
    yield started
    for server in started:
        server.stop()


def start(servers: list[LiveServer], data: Path, open_files: int | None = None, **env: str) -> LiveServer:
    server = LiveServer(data, **env)
    server.open_files = open_files
    servers.append(server.start())
    return server


def raw_connection(server: LiveServer, source: str = "127.0.0.1") -> socket.socket:
    """A TCP connection to the server from `source` (any 127.x.y.z address is this machine)."""
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", server.port))
    sock.settimeout(5)
    return sock


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (b"reset" if it reset it: a
    connection refused before its request was read may be reset rather than closed)."""
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except ConnectionResetError:
        return b"reset"
    return data


def is_open(sock: socket.socket) -> bool:
    """True if the server has neither answered nor closed this connection."""
    sock.setblocking(False)
    try:
        return not sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.settimeout(5)


def healthz(server: LiveServer) -> int:
    """The status /healthz answers with (0: the connection was refused before it was read)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, ConnectionError) as error:
        hung = isinstance(getattr(error, "reason", None), TimeoutError)
    if hung:
        raise AssertionError("left hanging")
    return 0


def log_records(server: LiveServer) -> list[dict[str, object]]:
    return [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]


def test_the_procfile_runs_the_same_entry_point_as_trygg_serve() -> None:
    web = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    assert "python -m server serve" in web
    assert "uvicorn" not in web  # its own flags would bypass server/serving.py


def test_slow_requests_and_idle_connections_are_cut_off(servers: list[LiveServer], tmp_path: Path) -> None:
    server = start(
        servers,
        tmp_path / "slow",
        TRYGG_HEADER_TIMEOUT_SECONDS="2",
        TRYGG_BODY_TIMEOUT_SECONDS="2",
        TRYGG_KEEPALIVE_SECONDS="1",
    )
    # A header line every half second never completes a request: cut off at 2 s with 408.
    with closing(raw_connection(server)) as slow:
        began = time.monotonic()
        slow.sendall(b"GET /healthz HTTP/1.1\r\n")
        cut = b""
        while time.monotonic() - began < 10 and not cut:
            try:
                slow.sendall(b"X-Slow: 1\r\n")
            except OSError:
                break
            slow.settimeout(0.5)
            try:
                cut = slow.recv(100)
            except TimeoutError:
                continue
        assert cut.startswith(b"HTTP/1.1 408"), cut
        assert 1.5 < time.monotonic() - began < 4
    # A body that stalls is cut off too.
    with closing(raw_connection(server)) as stalled:
        began = time.monotonic()
        stalled.sendall(
            b"POST /api/visitor/conversations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        answer(stalled)
        assert time.monotonic() - began < 4
    # A kept-alive connection with nothing more to ask closes after 1 s.
    with closing(raw_connection(server)) as kept:
        kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        began = time.monotonic()
        assert answer(kept).startswith(b"HTTP/1.1 200")
        assert time.monotonic() - began < 3


def test_connections_are_capped_and_the_longest_waiting_make_room(
    servers: list[LiveServer], tmp_path: Path
) -> None:
    server = start(
        servers,
        tmp_path / "cap",
        TRYGG_MAX_CONNECTIONS="50",
        TRYGG_MAX_WEBSOCKETS="20",
        TRYGG_CONNECTIONS_PER_CLIENT="1000",
        TRYGG_HEADER_TIMEOUT_SECONDS="60",
    )
    with ExitStack() as stack:
        # 60 clients that connect and say nothing: the server never holds more than 50.
        quiet = [stack.enter_context(closing(raw_connection(server))) for _ in range(60)]
        eventually(lambda: sum(is_open(sock) for sock in quiet) <= 50)
        assert answer(quiet[0]).startswith(b"HTTP/1.1 408")  # the oldest made room
        # Someone with a real request is answered: another stalled connection makes room.
        assert healthz(server) == 200
    records = log_records(server)
    assert sum(1 for r in records if r.get("throttle") == "evicted") <= 3  # one line per 10 s, counted


def test_when_every_place_is_taken_by_busy_connections_new_ones_get_503(
    servers: list[LiveServer], tmp_path: Path
) -> None:
    server = start(
        servers,
        tmp_path / "busy",
        TRYGG_MAX_CONNECTIONS="20",
        TRYGG_MAX_WEBSOCKETS="20",
        TRYGG_CONNECTIONS_PER_CLIENT="1000",
        TRYGG_WEBSOCKETS_PER_CLIENT="1000",
    )
    url = f"ws://127.0.0.1:{server.port}/ws"
    with ExitStack() as stack:
        for _ in range(20):
            stack.enter_context(connect(url, origin=server.url, open_timeout=5))  # type: ignore[arg-type]
        began = time.monotonic()
        assert healthz(server) in {503, 0}
        assert time.monotonic() - began < 1  # refused at once, never left hanging
    eventually(lambda: healthz(server) == 200)  # once the websockets have gone


def test_one_address_cannot_take_every_connection(servers: list[LiveServer], tmp_path: Path) -> None:
    server = start(servers, tmp_path / "address", TRYGG_CONNECTIONS_PER_CLIENT="10")
    with ExitStack() as stack:
        attack = [stack.enter_context(closing(raw_connection(server, source="127.0.0.2"))) for _ in range(20)]
        for sock in attack:
            sock.sendall(b"GET / HTTP/1.1\r\n")
        eventually(lambda: sum(not is_open(sock) for sock in attack) >= 10)
        refused = [sock for sock in attack if not is_open(sock)]
        assert len(refused) == 10
        assert all(answer(sock)[:12] in {b"HTTP/1.1 503", b"reset"} for sock in refused)
        assert healthz(server) == 200  # from 127.0.0.1: served while 127.0.0.2 holds its ten
    refusals = [r for r in log_records(server) if r.get("throttle") == "connections_per_client"]
    assert len(refusals) == 1  # ten refusals, one line


def test_a_client_that_stops_reading_is_cut_off(servers: list[LiveServer], tmp_path: Path) -> None:
    """Requests pipelined and answers never read: the connection was held for ever (no write
    deadline, and never evicted), so a few addresses could take every place."""
    server = start(
        servers, tmp_path / "reader", TRYGG_CONNECTIONS_PER_CLIENT="1", TRYGG_BODY_TIMEOUT_SECONDS="2"
    )
    page = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/en/chat", timeout=5).read().decode()
    script = re.findall(r'src="(/static/[^"]+\.js)"', page)[-1]
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: a small window
    stalled.bind(("127.0.0.5", 0))
    stalled.connect(("127.0.0.1", server.port))
    with closing(stalled):
        stalled.sendall(f"GET {script} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode() * 1000)

        def place_free() -> bool:
            with closing(raw_connection(server, source="127.0.0.5")) as probe:
                probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                return answer(probe).startswith(b"HTTP/1.1 200")

        assert not place_free()  # the reader holds this address's one place ...
        deadline = time.monotonic() + 60
        while not place_free():  # ... until it is cut off for not reading
            assert time.monotonic() < deadline, "a client that never reads keeps its connection"
    assert any(r.get("throttle") == "read_timeout" for r in log_records(server))


def test_a_websocket_that_stops_reading_is_cut_off(servers: list[LiveServer], tmp_path: Path) -> None:
    """A visitor asks for their whole (large) conversation and reads none of it: the socket was
    never closed (the keep-alive ping's timeout closes gracefully, waiting for the client to
    read), so it kept its token's, its address's and the process's places for ever."""
    server = start(
        servers,
        tmp_path / "ws-reader",
        TRYGG_WEBSOCKETS_PER_TOKEN="1",
        TRYGG_BODY_TIMEOUT_SECONDS="2",
        # Not the catch-up allowance (tested in test_websocket_limits): the server must be
        # left writing into a socket nobody reads.
        TRYGG_WEBSOCKET_CATCH_UP_BYTES_PER_10S_PER_TOKEN="1000000000",
    )
    with httpx2.Client(base_url=server.url, timeout=30) as http, ExitStack() as stack:
        centre = build_centre(
            http, server.url, lambda: server.create_admin("admin", PASSWORD), {"anna": "counsellor"}
        )
        chat = start_visitor(http, server.url, centre)
        visitor = live_socket(stack, server.url)
        hello(visitor, chat)
        visitor.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        for number in range(25):  # about 1.5 MB stored
            visitor.send(send_frame(chat, text(chat.conversation, f"{number:02}" * 30_000), ref=f"s{number}"))
            visitor.until("ack", ref=f"s{number}")
            chat.conversation.receive(unb64(visitor.until("message")["message"]))  # the new head
        visitor.raw.connection.close()
        stalled = socket.socket()
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.connect(("127.0.0.1", server.port))
        reader = stack.enter_context(
            connect(
                server.url.replace("http", "ws", 1) + "/ws",
                sock=stalled,
                origin=server.url,
                max_queue=1,
                ping_interval=None,
            )  # type: ignore[arg-type]
        )
        reader.send(json.dumps({"type": "hello", "token": chat.token}))
        json.loads(reader.recv(timeout=10))  # welcome; from here on nothing is read
        for _ in range(6):  # the whole conversation six times over: more than any socket buffer
            reader.send(json.dumps({"type": "sync", "conversation": chat.id.hex, "after": -1}))

        def welcomed() -> bool:
            with connect(server.url.replace("http", "ws", 1) + "/ws", origin=server.url) as again:  # type: ignore[arg-type]
                again.send(json.dumps({"type": "hello", "token": chat.token}))
                try:
                    return bool(json.loads(again.recv(timeout=10))["type"] == "welcome")
                except ConnectionClosed:
                    return False  # 4430: the token's one place is taken

        deadline = time.monotonic() + 90
        while not welcomed():
            assert time.monotonic() < deadline, "a websocket that never reads keeps its place"
    assert any(r.get("throttle") == "read_timeout" for r in log_records(server))


@pytest.mark.parametrize("path", ["/api/visitor/resume", "/api/booking/holders"])
def test_a_client_leaving_halfway_through_its_body_is_no_server_error(
    servers: list[LiveServer], tmp_path: Path, path: str
) -> None:
    """It was logged as a 500 with two error lines (anyone could fill the log and set off alarms)."""
    server = start(servers, tmp_path / "gone")
    with closing(raw_connection(server)) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: localhost\r\nOrigin: {server.url}\r\n"
            'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"lookup": '.encode()
        )
        assert healthz(server) == 200  # (meanwhile the server has read what there is)
    deadline = time.monotonic() + 30
    while not any(r.get("route") == path for r in log_records(server)):
        assert time.monotonic() < deadline, "the request was never logged"
        healthz(server)
    records = log_records(server)
    assert not [r for r in records if r.get("level") == "error"], records
    assert [r["status"] for r in records if r.get("route") == path] == [400]


def test_a_body_refused_for_its_declared_size_closes_the_connection(
    servers: list[LiveServer], tmp_path: Path
) -> None:
    """The 413 kept the connection open, and the client's next request on it was swallowed as
    the rest of the refused body (nothing answered it until the body timeout)."""
    server = start(servers, tmp_path / "declared")
    with closing(raw_connection(server)) as sock:
        sock.sendall(
            f"POST /api/visitor/resume HTTP/1.1\r\nHost: localhost\r\nOrigin: {server.url}\r\n"
            "Content-Type: application/json\r\nContent-Length: 99999999999\r\n\r\n{}".encode()
        )
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        answered = answer(sock)  # until the server closes the connection
    assert answered.startswith(b"HTTP/1.1 413"), answered[:80]
    assert b"connection: close" in answered.lower()


def test_one_ipv6_network_is_one_client_for_the_connection_caps(tmp_path: Path) -> None:
    """Any address in a /64 is one subscriber's to use (the live server here listens on IPv4
    only, so the guard is asked directly how it counts)."""
    guard = ConnectionGuard(load_settings({"TRYGG_DATA_DIR": str(tmp_path)}), None)
    phone = guard.client_key(("2001:db8:5:6::1", 443, 0, 0))
    assert guard.client_key(("2001:db8:5:6:abcd::99", 443, 0, 0)) == phone
    assert guard.client_key(("2001:db8:5:7::1", 443, 0, 0)) != phone
    assert guard.client_key(("::ffff:192.0.2.1", 443, 0, 0)) == guard.client_key(("192.0.2.1", 443))


def test_a_low_descriptor_limit_lowers_the_caps_and_a_flood_neither_stops_service_nor_fills_the_log(
    servers: list[LiveServer], tmp_path: Path
) -> None:
    server = start(servers, tmp_path / "flood", open_files=400, TRYGG_CONNECTIONS_PER_CLIENT="1000")
    warning = next(r for r in log_records(server) if r.get("needed"))
    assert warning["level"] == "warning"
    assert warning["rlimit_nofile"] == 400
    lowered = warning["max_connections"]
    assert isinstance(lowered, int)
    assert lowered < 400
    answered = 0
    with ExitStack() as stack:
        # Twice as many half-sent requests as there are descriptors, from 40 addresses.
        for n in range(800):
            sock = stack.enter_context(closing(socket.socket()))
            sock.bind((f"127.0.0.{2 + n % 40}", 0))
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", server.port))
            if n % 100 == 99:
                answered += healthz(server) == 200
        time.sleep(1)
        for _ in range(5):
            answered += healthz(server) == 200
    assert answered == 13
    text = server.log()
    assert "out of system resource" not in text
    assert len(text.splitlines()) < 60, text[-3000:]


def test_a_websocket_frame_over_the_frame_limit_is_refused_unread(
    servers: list[LiveServer], tmp_path: Path
) -> None:
    """A frame announcing 10 MiB is refused at its header (1009), before any of it is waited for."""
    server = start(servers, tmp_path / "frame")
    with closing(raw_connection(server)) as sock:
        sock.sendall(
            b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            b"Origin: " + server.url.encode() + b"\r\n\r\n"
        )
        handshake = b""
        while b"\r\n\r\n" not in handshake:
            handshake += sock.recv(4096)
        assert handshake.startswith(b"HTTP/1.1 101")
        began = time.monotonic()
        header = b"\x81\xff" + (10 * 1024 * 1024).to_bytes(8, "big") + b"\x00\x00\x00\x00"
        sock.sendall(header + b"x" * 1000)  # a text frame of 10 MiB, of which 1000 bytes come
        close = sock.recv(4)
        assert close[0] == 0x88  # a close frame
        assert int.from_bytes(close[2:4], "big") == 1009  # message too big
        assert time.monotonic() - began < 2


def test_exhaustion_log_lines_are_limited_per_kind_and_count_what_they_left_out() -> None:
    now = [1000.0]
    throttle = ThrottleRepeats(every=10, clock=lambda: now[0])

    def record(message: str, **extra: object) -> logging.LogRecord:
        made = logging.makeLogRecord({"msg": message, "levelno": logging.ERROR, **extra})
        return made

    flood = [record("socket.accept() out of system resource\nsocket: …") for _ in range(1000)]
    assert sum(throttle.filter(r) for r in flood) == 1
    assert throttle.filter(record("connection refused", throttle="connections_full"))  # another kind
    assert throttle.filter(record("an ordinary line"))
    now[0] += 10
    later = record("socket.accept() out of system resource")
    assert throttle.filter(later)
    assert later.__dict__["suppressed"] == 999


def test_the_descriptor_limit_is_raised_to_fit_the_caps_when_the_hard_limit_allows(tmp_path: Path) -> None:
    settings = load_settings({"TRYGG_DATA_DIR": str(tmp_path), "TRYGG_MAX_CONNECTIONS": "2000"})
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2000 + 256:
        pytest.skip("the hard descriptor limit here is below what the test needs")
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))
        budget = descriptor_budget(settings)
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 2000 + 256
        assert (budget.max_connections, budget.max_websockets) == (2000, 2000)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
