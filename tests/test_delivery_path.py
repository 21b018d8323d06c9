"""The delivery path of issue 15: the message writer (group commit, acknowledged after commit,
bounded with backpressure) and fan-out from the events (exactly once, gaps filled from the
database).  No timings: each test waits on conditions."""

from __future__ import annotations

import contextlib
import json
import logging
import socket as tcp
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from sqlalchemy.engine import make_url
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server import db as db_module
from server.app import create_app
from server.logs import QuietWebsockets
from server.realtime import events
from server.services import writer as writer_module
from server.services.writer import Writer, Written
from server.settings import Settings, load_settings
from tests.chat_helpers import (
    PASSWORD,
    Centre,
    Socket,
    VisitorChat,
    b64,
    build_centre,
    claim_frame,
    hello,
    live_socket,
    receive_all,
    send_frame,
    staff_socket,
    staff_view,
    start_visitor,
    stored_count,
    text,
    unb64,
    visitor_socket,
)
from tests.conftest import BASE_URL, Client, app_env
from tests.live_server import LiveServer
from tests.services import need_redis


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(TRYGG_WRITER_QUEUE="1")  # small, so backpressure is easy to reach


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def committed(path: str, client_id: str) -> bool:
    """Whether another connection sees the message (so its transaction has committed)."""
    with closing(sqlite3.connect(path)) as db:
        found = db.execute("SELECT 1 FROM conversation_messages WHERE client_id = ?", (client_id,))
        return found.fetchone() is not None


def sqlite_file(database_url: str) -> str:
    assert database_url.startswith("sqlite"), "holding the writer back uses SQLite's file lock"
    path = make_url(database_url).database
    assert path is not None
    return path


def three_chats(client: Client, centre: Centre) -> tuple[list[VisitorChat], list[dict[str, Any]]]:
    """Three visitors' chats and a `send` frame for each (refs s0, s1, s2)."""
    chats = [start_visitor(client, BASE_URL, centre) for _ in range(3)]
    frames = [
        send_frame(chat, text(chat.conversation, f"hello {n}"), ref=f"s{n}") for n, chat in enumerate(chats)
    ]
    return chats, frames


def visitors_connected(stack: ExitStack, client: Client, chats: list[VisitorChat]) -> list[Socket]:
    """A visitor socket per chat, each past `hello` and the `standing` that follows it."""
    sockets = []
    for chat in chats:
        socket = Socket(stack.enter_context(visitor_socket(client)))
        hello(socket, chat)
        socket.until("standing")  # all it does on connecting is done
        sockets.append(socket)
    return sockets


def first_in_flight(writer: Writer, socket: Socket, frame: dict[str, Any]) -> None:
    """Send an append and wait until the writer has handed it to the (locked) database."""
    socket.send(frame)
    wait_for(lambda: writer.in_flight == 1, "the first append to be handed to the database")


@contextmanager
def write_lock(path: str) -> Iterator[None]:
    """Another connection holds SQLite's write lock: the writer's batch cannot commit meanwhile."""
    lock = sqlite3.connect(path, isolation_level=None)
    try:
        lock.execute("BEGIN IMMEDIATE")
        yield
    finally:
        lock.execute("ROLLBACK")
        lock.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # SQLite's file lock holds the writer
def test_group_commit_acks_after_commit_and_a_full_queue_answers_busy(
    client: Client, centre: Centre, database_url: str
) -> None:
    path = sqlite_file(database_url)
    writer = client.res.writer
    chats, frames = three_chats(client, centre)
    with ExitStack() as stack:
        sockets = visitors_connected(stack, client, chats)
        with write_lock(path):
            first_in_flight(writer, sockets[0], frames[0])
            sockets[1].send(frames[1])
            wait_for(lambda: writer.waiting == 1, "the second one queued behind it")
            # The queue (TRYGG_WRITER_QUEUE=1) is full: the next sender is told so at once.
            sockets[2].send(frames[2])
            busy = sockets[2].until("error", ref="s2")
            assert busy["code"] == "busy"
            assert busy["retry_after"] == 1
            assert busy["message"]
            assert (writer.in_flight, writer.waiting) == (1, 1)  # the refused one took no place
            assert not committed(path, frames[0]["client_id"])
        batches = writer.batches
        for n in range(2):
            ack = sockets[n].until("ack", ref=f"s{n}")
            assert ack["seq"] == 1
            assert committed(path, frames[n]["client_id"])  # acknowledged only once committed
        wait_for(lambda: writer.batches >= batches + 2, "both batches to be counted")
        # The refused message is sent again (as the page does after retry_after): stored once.
        sockets[2].send(frames[2])
        assert sockets[2].until("ack", ref="s2")["seq"] == 1
        sockets[0].send(frames[0] | {"ref": "again"})  # a resend of an acknowledged one: the same seq
        assert sockets[0].until("ack", ref="again")["seq"] == 1
    for chat in chats:
        assert stored_count(client, chat.id) == 2  # the genesis and the one message


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # SQLite's file lock holds the writer
def test_appends_that_wait_together_are_committed_together(
    client: Client, centre: Centre, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = sqlite_file(database_url)
    writer = client.res.writer
    monkeypatch.setattr(writer, "_limit", 10)  # room for both (the module's setting is 1)
    chats, frames = three_chats(client, centre)
    with ExitStack() as stack:
        sockets = visitors_connected(stack, client, chats)
        with write_lock(path):
            first_in_flight(writer, sockets[0], frames[0])
            for socket, frame in zip(sockets[1:], frames[1:], strict=True):
                socket.send(frame)
            wait_for(lambda: writer.waiting == 2, "two appends queued behind it")
        for n, socket in enumerate(sockets):
            assert socket.until("ack", ref=f"s{n}")["seq"] == 1
        wait_for(lambda: writer.batches == 2, "both batches to be counted")
        assert writer.largest_batch == 2  # one transaction, one fsync, for the two that waited


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # SQLite's file lock holds the writer
def test_one_batch_chains_a_conversations_appends_and_knows_its_own_client_ids(
    client: Client, centre: Centre, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch writes its rows at its end, so an append later in the batch must see the head and
    the client ids the earlier ones leave: a chained message is stored after the one before it,
    a resend is the same seq, a second message at the same seq is a conflict."""
    path = sqlite_file(database_url)
    writer = client.res.writer
    monkeypatch.setattr(writer, "_limit", 10)
    chats, frames = three_chats(client, centre)
    chat = chats[1]
    first = text(chat.conversation, "first")
    chat.conversation.receive(first)  # the sender's own echo: the next one is built after it
    second = text(chat.conversation, "second")
    first_frame = send_frame(chat, first, ref="first")
    queued = [
        first_frame,
        send_frame(chat, second, ref="second"),
        first_frame | {"ref": "resend"},
        send_frame(chat, second, ref="fork"),  # seq 2 again, under another client id
    ]
    with ExitStack() as stack:
        holder = visitors_connected(stack, client, [chats[0]])[0]
        tabs = visitors_connected(stack, client, [chat] * len(queued))  # one tab per frame
        with write_lock(path):
            first_in_flight(writer, holder, frames[0])
            for waiting, (tab, frame) in enumerate(zip(tabs, queued, strict=True), start=1):
                tab.send(frame)
                wait_for(lambda n=waiting: writer.waiting == n, "the append to queue")  # in this order
        assert holder.until("ack", ref="s0")["seq"] == 1
        assert tabs[0].until("ack", ref="first")["seq"] == 1
        assert tabs[1].until("ack", ref="second")["seq"] == 2
        resent = tabs[2].until("ack", ref="resend")
        assert resent["seq"] == 1
        assert tabs[3].until("error", ref="fork")["code"] == "conflict"
        assert writer.largest_batch == len(queued)  # all four in one transaction
    assert stored_count(client, chat.id) == 3  # the genesis, first and second
    with staff_socket(client, centre, "anna") as raw:
        staff = Socket(raw)
        staff.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        assert receive_all(staff_view(centre, "anna", chat.genesis), staff.messages(chat.id, 2)) == [
            "first",
            "second",
        ]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # SQLite's file lock holds the writer
def test_a_write_lock_not_had_in_time_tells_every_sender_busy_at_once(
    client: Client, centre: Centre, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the batch's transaction cannot get the write lock in time (another program holds it),
    that is not one job's fault: retried singly, each append waited as long again (256 x 30 s for
    a full batch) and then failed with the database's error, a server error on the sender's
    socket.  Every sender is told `busy` instead, and sends again once the lock is free."""
    path = sqlite_file(database_url)
    writer = client.res.writer
    monkeypatch.setattr(writer, "_limit", 10)
    monkeypatch.setattr(db_module, "LOCK_WAIT_SECONDS", 0.5)
    assert writer._sync_engine is not None
    writer._sync_engine.dispose()  # its connection is made again, with the shorter wait
    chats, frames = three_chats(client, centre)
    with ExitStack() as stack:
        sockets = visitors_connected(stack, client, chats)
        with write_lock(path):
            for socket, frame in zip(sockets, frames, strict=True):
                socket.send(frame)
            for n, socket in enumerate(sockets):
                busy = socket.until("error", ref=f"s{n}")
                assert (busy["code"], busy["retry_after"]) == ("busy", 1)
            assert not any(committed(path, frame["client_id"]) for frame in frames)
        for n, (socket, frame) in enumerate(zip(sockets, frames, strict=True)):
            socket.send(frame)  # as the page does after retry_after
            assert socket.until("ack", ref=f"s{n}")["seq"] == 1
    for chat in chats:
        assert stored_count(client, chat.id) == 2


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # SQLite's file lock
def test_connecting_and_catching_up_never_wait_for_the_write_lock(
    client: Client, centre: Centre, database_url: str
) -> None:
    """`hello` and `sync` only read (the re-key check reads first, and writes only when someone
    must go): a reconnect storm does not queue behind the writer, nor the writer behind it."""
    chat = start_visitor(client, BASE_URL, centre)
    with visitor_socket(client) as raw:
        visitor = Socket(raw)
        hello(visitor, chat)
        visitor.send(send_frame(chat, text(chat.conversation, "before the reconnect"), ref="m"))
        assert visitor.until("ack", ref="m")["seq"] == 1
    with write_lock(sqlite_file(database_url)), visitor_socket(client) as raw:
        visitor = Socket(raw)
        hello(visitor, chat)
        visitor.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "s"})
        visitor.until("synced", ref="s")
        (caught_up,) = visitor.messages(chat.id, 1)
        assert caught_up["seq"] == 1
        visitor.send({"type": "ping", "ref": "after-sync"})  # handled once the sync's work is done
        visitor.until("pong", ref="after-sync")


def test_fan_out_delivers_each_message_once_through_lost_events_and_overflows(
    client: Client, centre: Centre, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = client.res.writer
    lost = {3, 6}  # the events of these seqs never arrive (a lost Redis message, say)
    publish = writer._publish

    async def losing(written: Written) -> None:
        if written.seq not in lost:
            await publish(written)

    monkeypatch.setattr(writer, "_publish", losing)
    chat = start_visitor(client, BASE_URL, centre)
    view = staff_view(centre, "anna", chat.genesis)
    channel = events.conversation_channel(chat.id)
    with staff_socket(client, centre, "anna") as a_raw, visitor_socket(client) as v_raw:
        anna, visitor = Socket(a_raw), Socket(v_raw)
        anna.send(claim_frame(view, chat))
        anna.until("ack", ref="c")
        anna.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "a"})
        receive_all(view, anna.messages(chat.id, 1))  # her claim
        hello(visitor, chat)
        visitor.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "v"})
        receive_all(chat.conversation, visitor.messages(chat.id, 1))
        words = [f"message {n}" for n in range(2, 10)]
        for seq, said in enumerate(words, start=2):
            message = text(chat.conversation, said)
            visitor.send(send_frame(chat, message, ref=f"s{seq}"))
            assert visitor.until("ack", ref=f"s{seq}")["seq"] == seq
            chat.conversation.receive(message)
            if seq == 4:  # a duplicate of an event already handled: nothing is sent twice
                client.run(client.res.bus.publish, channel, appended_event(seq, message))
            if seq == 7:  # this socket's events were dropped: it reads again
                client.run(client.res.bus.publish, channel, {"type": "overflow"})
        frames = anna.messages(chat.id, len(words))
        assert [f["seq"] for f in frames] == list(range(2, 10))
        assert receive_all(view, frames) == words
        mine = visitor.messages(chat.id, len(words))
        assert [f["seq"] for f in mine] == list(range(2, 10))
        for socket in (anna, visitor):  # nothing more is on its way
            socket.send({"type": "ping", "ref": "end"})
            socket.until("pong", ref="end")
            assert not [f for f in socket.pending if f.get("type") == "message"]


def appended_event(seq: int, message: bytes) -> dict[str, Any]:
    return {"kind": "changed", "seq": seq, "hash": "00", "message": b64(message), "at": None}


def test_a_commit_in_another_epoch_is_refused(client: Client, centre: Centre) -> None:
    """A commit must start the epoch after the log's last object's.  A claim stamped beyond
    PostgreSQL's integer range failed its INSERT there (a server error on the counsellor's
    socket); one within range was stored, and every reader refused it (WRONG_EPOCH), which
    stopped the conversation for them all."""
    chat = start_visitor(client, BASE_URL, centre)
    with staff_socket(client, centre, "anna") as raw:
        anna = Socket(raw)
        for ref, epoch in (("beyond", 2**32 - 2), ("later", 4)):
            view = staff_view(centre, "anna", chat.genesis)
            view._epochs[epoch] = view._epochs[view._epoch]
            view._epoch = epoch  # the claim says epoch + 1
            anna.send(claim_frame(view, chat, ref=ref))
            assert anna.until("error", ref=ref)["code"] == "bad_message"
        anna.send(claim_frame(staff_view(centre, "anna", chat.genesis), chat, ref="good"))
        assert anna.until("ack", ref="good")["seq"] == 1
    assert stored_count(client, chat.id) == 2


# --- acknowledged means committed, across a crash -------------------------------------------------


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path / "data").start()
    yield server
    server.stop()


def test_acknowledged_appends_survive_a_crash_amid_group_commits(live: LiveServer) -> None:
    """Many visitors send at once (the writer commits them together) and the server is killed
    as the first acks arrive: every acknowledged message is there after the restart, and sending
    any of them again stores nothing twice."""
    with ExitStack() as stack:
        http = stack.enter_context(httpx2.Client(base_url=live.url))
        centre = build_centre(
            http, live.url, lambda: live.create_admin("admin", PASSWORD), {"anna": "counsellor"}
        )
        chats = [start_visitor(http, live.url, centre) for _ in range(8)]
        sockets = []
        for chat in chats:
            socket = live_socket(stack, live.url)
            socket.send({"type": "hello", "token": chat.token})
            socket.until("welcome")
            sockets.append(socket)
        frames = [send_frame(chat, text(chat.conversation, "at once"), ref="s") for chat in chats]
        for socket, frame in zip(sockets, frames, strict=True):
            socket.send(frame)
        sockets[0].until("ack", ref="s")
        live.crash()
        acked = {0}
        for n, socket in enumerate(sockets[1:], start=1):
            try:
                socket.until("ack", ref="s")  # buffered before the crash, or the socket is closed
                acked.add(n)
            except (ConnectionClosed, TimeoutError):
                pass

    live.start()
    with ExitStack() as stack:
        for n, (chat, frame) in enumerate(zip(chats, frames, strict=True)):
            socket = live_socket(stack, live.url)
            socket.send({"type": "hello", "token": chat.token})
            socket.until("welcome")
            if n in acked:  # already stored: before anything is sent again
                socket.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "before"})
                stored = socket.until("message", conversation=chat.id.hex)
                assert stored["seq"] == 1
                assert unb64(stored["message"]) == unb64(frame["message"])
            socket.send(frame | {"ref": "again"})  # the page sends what it has no ack for
            assert socket.until("ack", ref="again")["seq"] == 1
            socket.send({"type": "sync", "conversation": chat.id.hex, "after": -1, "ref": "all"})
            log = [socket.until("message", conversation=chat.id.hex) for _ in range(2)]
            assert [m["seq"] for m in log] == [0, 1]
            socket.send({"type": "ping", "ref": "end"})
            socket.until("pong", ref="end")
            assert not [f for f in socket.pending if f.get("type") == "message" and f["seq"] > 1]


def test_a_tab_closed_while_its_send_waits_ends_without_a_server_error(live: LiveServer) -> None:
    """The tab is closed while its message waits for the writer: once stored, the message to
    that tab fails (the socket is gone), and the ack or refusal after it must end the connection
    quietly.  It raised starlette's WebSocketDisconnected ('Cannot call "send" once a close
    message has been sent'), logged as an exception in the ASGI application for every such tab."""
    with ExitStack() as stack:
        http = stack.enter_context(httpx2.Client(base_url=live.url))
        centre = build_centre(
            http, live.url, lambda: live.create_admin("admin", PASSWORD), {"anna": "counsellor"}
        )
        chats = [start_visitor(http, live.url, centre) for _ in range(2)]
        tabs = []
        for chat in chats:
            for ref in ("first", "second"):  # two tabs send seq 1: one is stored, one refused
                tab = live_socket(stack, live.url)
                tab.send({"type": "hello", "token": chat.token})
                tab.send({"type": "sync", "conversation": chat.id.hex, "after": -1, "ref": "y"})
                tab.until("synced", ref="y")
                tabs.append((tab, send_frame(chat, text(chat.conversation, ref), ref=ref)))
        with write_lock(str(live.data_dir / "trygg.sqlite3")):
            for tab, frame in tabs:
                tab.send(frame)
            for tab, _ in tabs:
                tab.raw.connection.close()  # returns once the server has the close
        for chat in chats:
            check = live_socket(stack, live.url)
            check.send({"type": "hello", "token": chat.token})
            check.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "y"})
            assert [m["seq"] for m in check.messages(chat.id, 1)] == [1]
    live.stop()  # every connection has ended and logged what it had to
    assert "Exception in ASGI application" not in live.log()


# --- a bus that stops answering ---------------------------------------------------------------------


class StallingProxy:
    """A TCP proxy in front of Redis that can stop passing bytes on (a network partition, a
    Redis that hangs): what is sent waits, nothing is refused."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.flowing = threading.Event()
        self.flowing.set()
        self.listener = tcp.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[tcp.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = tcp.create_connection(self.upstream)
            self.sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pass, args=(source, target), daemon=True).start()

    def _pass(self, source: tcp.socket, target: tcp.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
                if not data:
                    return
                self.flowing.wait()
                target.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.flowing.set()
        for sock in self.sockets:
            sock.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # Redis is for scale-out
def test_a_stalled_bus_does_not_hold_acks_or_the_writer(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer publishes a batch's events, one by one, before it acknowledges the batch: when
    Redis stopped answering, each event waited for redis-py's socket timeout (5 s, then a retry),
    so a batch of n stored messages went unacknowledged for n times that and every later append
    in the process waited behind it (then `busy`).  Now a batch's events get PUBLISH_SECONDS in
    all; the stored messages are acknowledged and the writer goes on."""
    monkeypatch.setattr(writer_module, "PUBLISH_SECONDS", 0.5)
    redis = make_url(need_redis())
    proxy = StallingProxy((redis.host or "127.0.0.1", redis.port or 6379))
    url = str(redis.set(host="127.0.0.1", port=proxy.port))
    env = app_env(tmp_path / "data", database_url, TRYGG_REDIS_URL=url)
    try:
        with Client(create_app(load_settings(env)), base_url=BASE_URL) as client:
            centre = build_centre(
                client, BASE_URL, lambda: client.make_staff("admin"), {"anna": "counsellor"}
            )
            chat = start_visitor(client, BASE_URL, centre)
            with visitor_socket(client) as raw:
                visitor = Socket(raw)
                hello(visitor, chat)
                proxy.flowing.clear()
                acked: list[int] = []

                def send_two() -> None:
                    for n in (1, 2):
                        message = text(chat.conversation, f"while the bus is stalled {n}")
                        visitor.send(send_frame(chat, message, ref=f"s{n}"))
                        acked.append(visitor.until("ack", ref=f"s{n}")["seq"])
                        chat.conversation.receive(message)

                sender = threading.Thread(target=send_two, daemon=True)
                sender.start()
                # With the budget both acks come within ~1 s; without it none comes while Redis is
                # stalled (checked: PUBLISH_SECONDS=1000 fails here).  8 s leaves room for a busy machine.
                sender.join(timeout=8)
                while_stalled = list(acked)
                proxy.flowing.set()
                sender.join(timeout=20)
                assert while_stalled == [1, 2]
                assert stored_count(client, chat.id) == 3
    finally:
        proxy.close()


def test_a_catch_up_stops_once_the_connection_is_lost(tmp_path: Path) -> None:
    """A catch-up sends a page of messages without yielding to the event loop (while the socket's
    buffers take them); a connection reset meanwhile was only noticed after the page, so the rest
    of it went to a dead socket, each frame logging asyncio's 'socket.send() raised exception.'
    (a page's worth of warnings for each tab closed amid its catch-up)."""
    frames = {"TRYGG_WEBSOCKET_FRAMES_PER_10S": "1000", "TRYGG_WEBSOCKET_FRAMES_PER_10S_PER_TOKEN": "1000"}
    live = LiveServer(tmp_path / "data", **frames).start()
    with ExitStack() as stack:
        stack.callback(live.stop)
        http = stack.enter_context(httpx2.Client(base_url=live.url))
        centre = build_centre(
            http, live.url, lambda: live.create_admin("admin", PASSWORD), {"anna": "counsellor"}
        )
        chat = start_visitor(http, live.url, centre)
        visitor = live_socket(stack, live.url)
        visitor.send({"type": "hello", "token": chat.token})
        visitor.until("welcome")
        for n in range(150):
            message = text(chat.conversation, f"message {n} " + "x" * 3000)
            visitor.send(send_frame(chat, message, ref=f"m{n}"))
            visitor.until("ack", ref=f"m{n}")
            chat.conversation.receive(message)
        for _ in range(20):  # (most are refused `rate_limited` by the token's catch-up allowance)
            gone = connect(f"{live.url.replace('http', 'ws', 1)}/ws", origin=live.url, legacy=True)
            gone.send(json.dumps({"type": "hello", "token": chat.token}))
            gone.send(json.dumps({"type": "sync", "conversation": chat.id.hex, "after": -1}))
            gone.send(json.dumps({"type": "receipt", "conversation": chat.id.hex, "delivered": 5, "read": 3}))
            gone.recv(timeout=20)
            gone.recv(timeout=20)
            gone.socket.close()  # gone amid the catch-up, frames unread: the connection is reset
        visitor.send({"type": "ping", "ref": "after"})
        visitor.until("pong", ref="after")
    assert "socket.send() raised exception" not in live.log()


def test_no_info_line_for_each_websocket() -> None:
    """uvicorn's `[accepted]` line per websocket is left out; its refusals are not."""

    def record(message: str) -> logging.LogRecord:
        return logging.makeLogRecord(
            {
                "msg": message,
                "args": (("192.0.2.1", 5000), "/ws"),
                "name": "uvicorn.error",
                "levelno": logging.INFO,
                "levelname": "INFO",
            }
        )

    assert not QuietWebsockets().filter(record('%s - "WebSocket %s" [accepted]'))
    assert QuietWebsockets().filter(record('%s - "WebSocket %s" 403'))
    # The websockets library (uvicorn's `websockets-sansio`) says so once more, on its own logger.
    for said in ("connection open", "connection closed"):
        line = logging.makeLogRecord({"msg": said, "name": "websockets.server", "levelno": logging.INFO})
        assert not QuietWebsockets().filter(line)
    failed = logging.makeLogRecord(
        {"msg": "opening handshake failed", "name": "websockets.server", "levelno": logging.ERROR}
    )
    assert QuietWebsockets().filter(failed)


def test_a_live_server_writes_no_line_for_each_websocket(live: LiveServer) -> None:
    """Through the real server and its logging: sockets that open and close leave no line."""
    for _ in range(3):
        with ExitStack() as stack:
            socket = live_socket(stack, live.url)
            socket.send({"type": "ping", "ref": "p"})  # refused (no hello): the socket was open
            with contextlib.suppress(ConnectionClosed):
                socket.receive()
    text = live.log()
    assert text.strip(), "the server logged nothing at all: the check would prove nothing"
    for said in ('"WebSocket /ws" [accepted]', "connection open", "connection closed"):
        assert said not in text


# --- what the writer refuses before its batch's INSERT --------------------------------------------


def in_epoch(conversation: Any, epoch: int, words: str) -> bytes:
    """A text message signed by its real sender but stamped with another epoch (a hostile client)."""
    real = conversation._epoch
    conversation._epochs[epoch] = conversation._epochs[real]
    conversation._epoch = epoch
    try:
        return text(conversation, words)
    finally:
        conversation._epoch = real
        del conversation._epochs[epoch]


def test_a_message_in_another_epoch_is_refused_and_the_rest_are_stored(
    client: Client, centre: Centre
) -> None:
    """An object continuing the log must carry the epoch of the object before it (every reader
    refuses it otherwise, WRONG_EPOCH).  One beyond PostgreSQL's integer range used to fail the
    whole batch's INSERT there, retry every append in it singly and end the sender's connection
    with a server error; one within the range was stored where no member could read it."""
    chat = start_visitor(client, BASE_URL, centre)
    with visitor_socket(client) as raw:
        visitor = Socket(raw)
        hello(visitor, chat)
        for ref, epoch in (("beyond", 2**32 - 1), ("next", 1)):
            visitor.send(send_frame(chat, in_epoch(chat.conversation, epoch, ref), ref=ref))
            assert visitor.until("error", ref=ref)["code"] == "bad_message"
        message = text(chat.conversation, "in the right epoch")
        visitor.send(send_frame(chat, message, ref="good"))
        assert visitor.until("ack", ref="good")["seq"] == 1
        chat.conversation.receive(message)
        visitor.send(send_frame(chat, text(chat.conversation, "and the next"), ref="next-good"))
        assert visitor.until("ack", ref="next-good")["seq"] == 2
    assert stored_count(client, chat.id) == 3
