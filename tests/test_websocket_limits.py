"""Websocket caps (per visitor token, per staff session, per client address, in total) and
frame allowances per token that reconnecting does not refill, each with its close code."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from server.app import create_app
from server.settings import Settings
from tests.chat_helpers import (
    ORIGIN,
    Browser,
    Centre,
    Socket,
    VisitorChat,
    build_centre,
    hello,
    receive_all,
    send_frame,
    start_visitor,
    text,
    visitor_socket,
)
from tests.conftest import BASE_URL, Client

pytestmark = pytest.mark.timeout(90)


@contextmanager
def app_with(make_settings: Callable[..., Settings], **env: str) -> Iterator[Client]:
    with Client(create_app(make_settings(**env)), base_url=BASE_URL) as client:
        yield client


def centre_of(client: Client) -> Centre:
    return build_centre(client, BASE_URL, lambda: client.make_staff("admin"), {"anna": "counsellor"})


def close_code(socket: Socket) -> int:
    """The code the server closes the socket with (other frames before it are skipped)."""
    try:
        for _ in range(100):
            socket.receive()
    except WebSocketDisconnect as closed:
        return closed.code
    raise AssertionError("not closed")


def test_sockets_per_visitor_token(make_settings: Callable[..., Settings]) -> None:
    with app_with(make_settings, TRYGG_WEBSOCKETS_PER_TOKEN="2") as client:
        centre = centre_of(client)
        chat = start_visitor(client, BASE_URL, centre)
        with ExitStack() as tabs:
            for _ in range(2):
                hello(Socket(tabs.enter_context(visitor_socket(client))), chat)
            with visitor_socket(client) as raw:
                third = Socket(raw)
                third.send({"type": "hello", "token": chat.token, "ref": "h"})
                assert close_code(third) == 4430
            other = start_visitor(client, BASE_URL, centre)
            hello(Socket(tabs.enter_context(visitor_socket(client))), other)  # another token: fine
        with visitor_socket(client) as raw:  # the tabs are closed: room again
            hello(Socket(raw), chat)


def test_sockets_per_staff_session(make_settings: Callable[..., Settings]) -> None:
    with app_with(make_settings, TRYGG_WEBSOCKETS_PER_SESSION="2") as client:
        client.make_staff("cora", role="counsellor")
        laptop, phone = Browser(client), Browser(client)
        laptop.login("cora")
        phone.login("cora")

        def staff(person: Browser) -> Any:
            client.cookies.clear()
            return client.websocket_connect(
                "/ws", headers={"origin": ORIGIN, "cookie": person.cookie_header()}
            )

        with ExitStack() as tabs:
            for ref in ("a", "b"):
                socket = Socket(tabs.enter_context(staff(laptop)))
                socket.send({"type": "ping", "ref": ref})
                socket.until("pong", ref=ref)
            with staff(laptop) as raw:
                assert close_code(Socket(raw)) == 4430
            on_phone = Socket(tabs.enter_context(staff(phone)))  # her other browser: its own session
            on_phone.send({"type": "ping", "ref": "p"})
            on_phone.until("pong", ref="p")


def test_sockets_per_client_address(make_settings: Callable[..., Settings]) -> None:
    with app_with(make_settings, TRYGG_WEBSOCKETS_PER_CLIENT="3") as client, ExitStack() as tabs:
        for _ in range(3):
            tabs.enter_context(visitor_socket(client))
        with visitor_socket(client) as raw:
            assert close_code(Socket(raw)) == 4431


def test_sockets_in_total(make_settings: Callable[..., Settings]) -> None:
    with app_with(make_settings, TRYGG_MAX_WEBSOCKETS="3") as client, ExitStack() as tabs:
        for _ in range(3):
            tabs.enter_context(visitor_socket(client))
        with visitor_socket(client) as raw:
            assert close_code(Socket(raw)) == 4503
    assert client.res.hub.sockets == 0  # every socket is counted out again


def pings(socket: Socket, count: int) -> tuple[int, int, int | None]:
    """Send `count` pings; (answered, refused as rate_limited, close code if closed)."""
    for n in range(count):
        socket.send({"type": "ping", "ref": f"p{n}"})
    answered = refused = 0
    try:
        while answered + refused < count:
            frame = socket.receive()
            if frame["type"] == "pong":
                answered += 1
            elif frame.get("code") == "rate_limited":
                refused += 1
    except WebSocketDisconnect as closed:
        return answered, refused, closed.code
    return answered, refused, None


def test_the_frame_allowance_of_a_token_is_not_refilled_by_reconnecting(
    make_settings: Callable[..., Settings],
) -> None:
    """The finding: 10,200 typing frames over 340 reconnects with one token, none refused."""
    with app_with(
        make_settings,
        TRYGG_WEBSOCKET_FRAMES_PER_10S="30",
        TRYGG_WEBSOCKET_FRAMES_PER_10S_PER_TOKEN="40",
    ) as client:
        centre = centre_of(client)
        chat = start_visitor(client, BASE_URL, centre)
        began = time.monotonic()
        answered = refused = 0
        codes = []
        for _ in range(10):  # ten reconnects, twenty frames each: each within its socket's own 30
            with visitor_socket(client) as raw:
                socket = Socket(raw)
                hello(socket, chat)
                got, no, code = pings(socket, 20)
                answered, refused = answered + got, refused + no
                codes.append(code)
        elapsed = time.monotonic() - began
        assert answered <= 40 + 4 * elapsed + 1  # the shared allowance and what refilled meanwhile
        assert refused > 0
        assert 4429 in codes  # a socket that goes on after three refusals is closed
        # Another visitor's allowance is their own.
        other = start_visitor(client, BASE_URL, centre)
        with visitor_socket(client) as raw:
            socket = Socket(raw)
            hello(socket, other)
            assert pings(socket, 10) == (10, 0, None)


LIFTED = {"TRYGG_WEBSOCKET_FRAMES_PER_10S": "10000", "TRYGG_WEBSOCKET_FRAMES_PER_10S_PER_TOKEN": "100000"}


def write_history(client: Client, chat: VisitorChat, count: int) -> None:
    """`count` messages from the visitor (seq 1..count after the genesis), each acknowledged."""
    with visitor_socket(client) as raw:
        socket = Socket(raw)
        hello(socket, chat)
        socket.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        for n in range(count):
            socket.send(send_frame(chat, text(chat.conversation, f"message {n}"), ref=f"w{n}"))
            assert socket.until("ack", ref=f"w{n}")["seq"] == n + 1
            receive_all(chat.conversation, socket.messages(chat.id, 1))  # the echo: the new head


def catch_up(
    socket: Socket, chat: VisitorChat, head: int, ref: str, sizes: list[int] | None = None
) -> dict[str, Any] | list[int]:
    """Sync from the start: the `rate_limited` error if refused, else the seqs that came, in order,
    until `head` (frames other than this conversation's messages are skipped); the length of
    each message field is added to `sizes`."""
    socket.send({"type": "sync", "conversation": chat.id.hex, "after": -1, "ref": ref})
    seqs: list[int] = []
    answered = False
    while not seqs or seqs[-1] < head:
        frame = socket.receive()
        if frame.get("ref") == ref and frame["type"] == "error":
            assert not answered
            return frame
        answered = answered or (frame.get("ref") == ref and frame["type"] == "synced")
        if frame["type"] == "message" and frame["conversation"] == chat.id.hex:
            seqs.append(frame["seq"])
            if sizes is not None:
                sizes.append(len(frame["message"]))
    assert answered
    return seqs


def test_a_catch_up_is_not_throttled(make_settings: Callable[..., Settings]) -> None:
    """A client that syncs a 250-message history once gets all of it at once (default allowance)."""
    with app_with(make_settings, **LIFTED) as client:
        chat = start_visitor(client, BASE_URL, centre_of(client))
        write_history(client, chat, 250)
        with visitor_socket(client) as raw:
            socket = Socket(raw)
            hello(socket, chat)
            assert catch_up(socket, chat, 250, "s") == list(range(251))
            socket.send({"type": "ping", "ref": "p"})
            socket.until("pong", ref="p")
            assert not [f for f in socket.seen if f["type"] == "error"]


def test_repeated_full_syncs_of_one_token_are_throttled(make_settings: Callable[..., Settings]) -> None:
    """The finding: every `sync` from -1 sent the whole history again, as often as frames allowed.
    Now what catch-ups send is charged to the token; a sync is refused (`rate_limited`) while
    the allowance is (nearly) spent, and a catch-up that spends it waits, then goes on in order."""
    allowance = 1_000_000  # bytes per 10 s for the token; the history is ~350 KB
    env = {**LIFTED, "TRYGG_WEBSOCKET_CATCH_UP_BYTES_PER_10S_PER_TOKEN": str(allowance)}
    with app_with(make_settings, **env) as client:
        centre = centre_of(client)
        chat = start_visitor(client, BASE_URL, centre)
        write_history(client, chat, 250)
        with ExitStack() as tabs:
            sockets = [Socket(tabs.enter_context(visitor_socket(client))) for _ in range(2)]
            for socket in sockets:
                hello(socket, chat)
            began = time.monotonic()
            refused = None
            sizes: list[int] = []
            for n in range(20):
                got = catch_up(sockets[n % 2], chat, 250, f"s{n}", sizes)
                if isinstance(got, dict):
                    refused = got
                    break
                assert got == list(range(251))  # each admitted sync: everything, once, in order
            elapsed = time.monotonic() - began
            assert refused is not None
            assert refused["code"] == "rate_limited"
            assert refused["retry_after"] >= 1
            assert sum(sizes) <= allowance * (1 + elapsed / 10) + 2 * 2000  # + a message per socket
            # Asked again after retry_after (as the page does): the whole history, in order.
            for n in range(20):
                time.sleep(refused["retry_after"])
                got = catch_up(sockets[0], chat, 250, f"again{n}")
                if not isinstance(got, dict):
                    break
                refused = got
            assert got == list(range(251))
        # Another token's catch-up is its own.
        with visitor_socket(client) as raw:
            other = start_visitor(client, BASE_URL, centre)
            socket = Socket(raw)
            hello(socket, other)
            assert catch_up(socket, other, 0, "o") == [0]
