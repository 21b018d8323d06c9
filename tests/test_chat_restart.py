"""Nothing acknowledged is lost and nothing is duplicated when the server is killed mid-conversation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx2
import pytest

from crypto import ContentType
from tests.chat_helpers import (
    PASSWORD,
    b64,
    build_centre,
    live_socket,
    staff_view,
    start_visitor,
    text,
    unb64,
)
from tests.live_server import LiveServer


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path / "data").start()
    yield live
    live.stop()


def test_kill_and_restart_loses_and_duplicates_nothing(server: LiveServer) -> None:
    with ExitStack() as stack:
        run_story(stack, server)


def run_story(stack: ExitStack, server: LiveServer) -> None:
    http = stack.enter_context(httpx2.Client(base_url=server.url))
    centre = build_centre(
        http, server.url, lambda: server.create_admin("admin", PASSWORD), {"anna": "counsellor"}
    )
    chat = start_visitor(http, server.url, centre)
    anna = staff_view(centre, "anna", chat.genesis)

    counsellor = live_socket(stack, server.url, centre.staff["anna"].person.cookie_header())
    counsellor.send(
        {
            "type": "claim",
            "conversation": chat.id.hex,
            "client_id": str(uuid.uuid4()),
            "message": b64(anna.claim()),
            "ref": "c",
        }
    )
    counsellor.until("ack", ref="c")
    counsellor.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
    anna.receive(unb64(counsellor.until("message")["message"]))

    visitor = live_socket(stack, server.url)
    visitor.send({"type": "hello", "token": chat.token})
    visitor.until("welcome")
    visitor.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
    chat.conversation.receive(unb64(visitor.until("message")["message"]))
    acknowledged: dict[str, int] = {}
    for n in range(3):
        client_id = str(uuid.uuid4())
        visitor.send(
            {
                "type": "send",
                "conversation": chat.id.hex,
                "client_id": client_id,
                "message": b64(text(chat.conversation, f"before {n}")),
                "ref": f"b{n}",
            }
        )
        acknowledged[client_id] = visitor.until("ack", ref=f"b{n}")["seq"]
        chat.conversation.receive(unb64(visitor.until("message", seq=acknowledged[client_id])["message"]))
    # One more goes out and the server dies before (or after) it is acknowledged.
    in_flight_id = str(uuid.uuid4())
    in_flight = text(chat.conversation, "in flight when the server died")
    visitor.send(
        {"type": "send", "conversation": chat.id.hex, "client_id": in_flight_id, "message": b64(in_flight)}
    )
    server.crash()

    server.start()
    visitor = live_socket(stack, server.url)
    visitor.send({"type": "hello", "token": chat.token})
    visitor.until("welcome")
    # The client resends everything it has no ack for, with the same client id.
    visitor.send(
        {
            "type": "send",
            "conversation": chat.id.hex,
            "client_id": in_flight_id,
            "message": b64(in_flight),
            "ref": "again",
        }
    )
    in_flight_seq = visitor.until("ack", ref="again")["seq"]
    assert in_flight_seq == 5
    # A fresh device reads the whole log from the start: every message exactly once, in order.
    counsellor = live_socket(stack, server.url, centre.staff["anna"].person.cookie_header())
    counsellor.send({"type": "sync", "conversation": chat.id.hex, "after": -1})
    frames = [counsellor.until("message") for _ in range(6)]
    assert [f["seq"] for f in frames] == [0, 1, 2, 3, 4, 5]
    reader = staff_view(centre, "anna", chat.genesis)
    bodies = []
    for frame in frames[1:]:
        received = reader.receive(unb64(frame["message"]))
        if received.content_type == ContentType.TEXT and received.body is not None:
            bodies.append(received.body.decode())
    assert bodies == ["before 0", "before 1", "before 2", "in flight when the server died"]
    counsellor.send({"type": "ping", "ref": "end"})
    counsellor.until("pong", ref="end")
    assert not [f for f in counsellor.pending if f.get("type") == "message"]  # no duplicates
