"""A reconnect storm takes turns for its database reads (server/realtime/admission.py): a `hello`
or `sync` that cannot have a turn in time is closed with 4503 (come back later), never failed
with an error, and the sockets that got their turn are served as usual."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from server.realtime.admission import Admission, Overloaded
from server.realtime.closes import Close
from tests.chat_helpers import Centre, Socket, hello, send_frame, start_visitor, text, visitor_socket
from tests.conftest import BASE_URL, Client


@pytest.fixture
def admission(client: Client) -> Admission:
    """One turn, and a short wait for it, so that a test can hold the only turn itself."""
    narrow = Admission(slots=1, wait_seconds=0.3)
    client.res.hub.admission = narrow
    return narrow


@contextlib.contextmanager
def every_turn_taken(client: Client, admission: Admission) -> Any:
    """Hold the only turn (as a storm of other sockets would) for the block."""
    turn = admission.turn()
    client.run(turn.__aenter__)
    try:
        yield
    finally:
        client.run(turn.__aexit__, None, None, None)


def close_code(socket: Socket) -> int:
    """The code the server closes the socket with; no error frame comes before it."""
    try:
        while True:
            frame = socket.receive()
            assert frame.get("type") != "error", frame  # told to come back, not failed
    except WebSocketDisconnect as closed:
        return closed.code


def test_a_hello_without_a_turn_in_time_is_told_to_come_back_later(
    client: Client, centre: Centre, admission: Admission
) -> None:
    chat = start_visitor(client, BASE_URL, centre)
    with every_turn_taken(client, admission), visitor_socket(client) as raw:
        socket = Socket(raw)
        socket.send({"type": "hello", "token": chat.token, "ref": "h"})
        assert close_code(socket) == Close.BUSY
    assert admission.waiting == 0
    with visitor_socket(client) as raw:  # the turn is free again: served as usual
        socket = Socket(raw)
        hello(socket, chat)
        socket.send(send_frame(chat, text(chat.conversation, "after the storm"), ref="m"))
        assert socket.until("ack", ref="m")["seq"] == 1


def test_a_sync_without_a_turn_in_time_closes_the_socket_for_a_later_try(
    client: Client, centre: Centre, admission: Admission
) -> None:
    chat = start_visitor(client, BASE_URL, centre)
    with visitor_socket(client) as raw:
        socket = Socket(raw)
        hello(socket, chat)
        socket.until("standing")
        with every_turn_taken(client, admission):
            socket.send({"type": "sync", "conversation": chat.id.hex, "after": -1, "ref": "s"})
            assert close_code(socket) == Close.BUSY
    with visitor_socket(client) as raw:  # the next try, with a turn: the whole log, once
        socket = Socket(raw)
        hello(socket, chat)
        socket.send({"type": "sync", "conversation": chat.id.hex, "after": -1, "ref": "s"})
        socket.until("synced", ref="s")
        assert [frame["seq"] for frame in socket.messages(chat.id, 1)] == [0]


def test_turns_are_taken_in_order_and_given_back(client: Client, centre: Centre) -> None:
    """Many sockets connecting at once with the real number of turns: all are served, and no turn
    is kept by a socket that has gone."""
    chats = [start_visitor(client, BASE_URL, centre) for _ in range(12)]
    with contextlib.ExitStack() as stack:
        sockets = [Socket(stack.enter_context(visitor_socket(client))) for _ in chats]
        for socket, chat in zip(sockets, chats, strict=True):
            socket.send({"type": "hello", "token": chat.token, "ref": "h"})
        for socket, chat in zip(sockets, chats, strict=True):
            assert socket.until("welcome")["conversation"] == chat.id.hex
            socket.send({"type": "sync", "conversation": chat.id.hex, "after": -1, "ref": "s"})
        for socket, chat in zip(sockets, chats, strict=True):
            socket.until("synced", ref="s")
            assert [frame["seq"] for frame in socket.messages(chat.id, 1)] == [0]
    admission = client.res.hub.admission
    assert admission.waiting == 0
    for _ in range(8):  # every turn is free again
        client.run(admission.turn().__aenter__)


def test_a_connection_served_before_goes_before_new_ones() -> None:
    """A tab needs several reads one after another: once it has had a turn, its next read goes
    before any new tab's first, so tabs finish one after another instead of all timing out."""

    async def scenario() -> list[str]:
        admission = Admission(slots=1, wait_seconds=5)
        order: list[str] = []

        async def read(name: str, urgent: bool) -> None:
            async with admission.turn(urgent=urgent):
                order.append(name)

        async with admission.turn():  # a read under way; these queue behind it
            waiting = [asyncio.create_task(read(f"new {n}", urgent=False)) for n in (1, 2)]
            await asyncio.sleep(0)
            waiting.append(asyncio.create_task(read("served before", urgent=True)))
            await asyncio.sleep(0)
            assert admission.waiting == 3
        await asyncio.gather(*waiting)
        assert admission.waiting == 0
        return order

    assert asyncio.run(scenario()) == ["served before", "new 1", "new 2"]


def test_a_turn_given_up_while_waiting_is_not_lost() -> None:
    async def scenario() -> None:
        admission = Admission(slots=1, wait_seconds=0.05)
        async with admission.turn():
            with contextlib.suppress(Overloaded):
                async with admission.turn():
                    raise AssertionError("no turn while the only one is held")
        async with asyncio.timeout(1), admission.turn():  # the turn is free again
            pass

    asyncio.run(scenario())
