"""The queue as the desk and the waiting room see it: `standing` pushed to waiting visitors,
`started_at` on queue and assignments items."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from server.realtime.frames import SCHEMAS
from server.realtime.socket import HANDLERS
from server.services import conversations
from tests.chat_helpers import (
    Centre,
    Socket,
    VisitorChat,
    b64,
    build_centre,
    claim_frame,
    hello,
    receive_all,
    send_frame,
    staff_socket,
    staff_view,
    start_visitor,
    text,
    visitor_socket,
)
from tests.conftest import BASE_URL, Client


def over_http(client: Client, chat: VisitorChat) -> dict[str, Any]:
    answer = client.get("/api/visitor/queue", headers={"authorization": f"Bearer {chat.token}"})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def fields(frame: dict[str, Any]) -> dict[str, Any]:
    """A `standing` frame without its type and conversation: what GET /api/visitor/queue says."""
    return {k: v for k, v in frame.items() if k not in {"type", "conversation"}}


def standings(socket: Socket, mark: int = 0) -> list[dict[str, Any]]:
    return [fields(f) for f in socket.seen[mark:] if f["type"] == "standing"]


def write(socket: Socket, chat: VisitorChat, words: str, ref: str) -> None:
    """Store a message and wait for it to come back (the socket follows the conversation): its
    event carries it, so every bus event published before it has been handled by then."""
    socket.send(send_frame(chat, text(chat.conversation, words), ref=ref))
    seq = socket.until("ack", ref=ref)["seq"]
    socket.until("message", conversation=chat.id.hex, seq=seq)


def test_standing_after_welcome_and_whenever_it_changes(client: Client, centre: Centre) -> None:
    first, second = start_visitor(client, BASE_URL, centre), start_visitor(client, BASE_URL, centre)
    with (
        visitor_socket(client) as v1_raw,
        visitor_socket(client) as v2_raw,
        staff_socket(client, centre, "anna") as a_raw,
    ):
        v1, v2, anna = Socket(v1_raw), Socket(v2_raw), Socket(a_raw)
        hello(v1, first)
        assert v1.until("standing")["conversation"] == first.id.hex
        hello(v2, second)
        frame = v2.until("standing")
        assert frame["conversation"] == second.id.hex
        assert fields(frame) == over_http(client, second)
        assert (frame["status"], frame["position"], frame["estimated_wait_minutes"]) == ("queued", 2, None)
        assert isinstance(frame["open_now"], bool)

        # A claim: the one behind moves up at once; the one claimed hears it once.
        view = staff_view(centre, "anna", first.genesis)
        anna.send(claim_frame(view, first))
        anna.until("ack", ref="c")
        assert fields(v2.until("standing")) == over_http(client, second)
        assert over_http(client, second)["position"] == 1
        claimed = v1.until("standing")
        assert (claimed["status"], claimed["position"], claimed["estimated_wait_minutes"]) == (
            "active",
            None,
            None,
        )

        # Someone new behind changes nothing for either of them: no frame.
        v1.send({"type": "sync", "conversation": first.id.hex, "after": 0})
        receive_all(first.conversation, v1.messages(first.id, 1))  # the claim: now at the head
        v2.send({"type": "sync", "conversation": second.id.hex, "after": 0, "ref": "s2"})
        v2.until("synced", ref="s2")
        mark1, mark2 = len(v1.seen), len(v2.seen)
        start_visitor(client, BASE_URL, centre)
        write(v1, first, "still there?", "w1")
        write(v2, second, "hello", "w2")
        assert standings(v1, mark1) == []
        assert standings(v2, mark2) == []

        # Back to the queue (the end of it): the visitor hears where they are again.
        anna.send({"type": "sync", "conversation": first.id.hex, "after": 0})
        receive_all(view, anna.messages(first.id, 2))  # her claim, and "still there?"
        counsellors = [centre.staff[name].certificate for name in ("anna", "bodil")]
        everyone = [certificate for certificate in counsellors if certificate]
        anna.send(
            {
                "type": "release",
                "conversation": first.id.hex,
                "client_id": str(uuid.uuid4()),
                "message": b64(view.commit(everyone)),
                "ref": "r",
            }
        )
        anna.until("ack", ref="r")
        back = v1.until("standing")
        assert (back["status"], back["position"]) == ("queued", 3)
        assert fields(back) == over_http(client, first)


def test_standing_once_when_the_conversation_is_deleted(client: Client, centre: Centre) -> None:
    chat = start_visitor(client, BASE_URL, centre)
    with visitor_socket(client) as raw:  # the visitor's other device
        other_device = Socket(raw)
        hello(other_device, chat)
        assert other_device.until("standing")["status"] == "queued"
        client.cookies.clear()
        gone = client.delete(
            "/api/visitor/conversation", headers={"authorization": f"Bearer {chat.token}", "origin": BASE_URL}
        )
        assert gone.status_code == 204
        assert other_device.until("conversation")["status"] == "deleted"
        deleted = other_device.until("standing")
        assert (deleted["status"], deleted["position"], deleted["estimated_wait_minutes"]) == (
            "deleted",
            None,
            None,
        )


def test_started_at_on_queue_and_assignments_items(client: Client, centre: Centre) -> None:
    chat = start_visitor(client, BASE_URL, centre)
    created = client.run(conversations.get, client.res, chat.id).created_at
    with staff_socket(client, centre, "anna") as raw:
        anna = Socket(raw)
        anna.send({"type": "queue", "ref": "q"})
        (item,) = anna.until("queue", ref="q")["items"]
        started = datetime.fromisoformat(item["started_at"])
        assert started == created
        assert started.utcoffset() == timedelta(0)
        anna.send(claim_frame(staff_view(centre, "anna", chat.genesis), chat))
        anna.until("ack", ref="c")
        anna.send({"type": "assignments", "ref": "a"})
        (mine,) = anna.until("assignments", ref="a")["items"]
        assert (mine["conversation"], mine["started_at"]) == (chat.id.hex, item["started_at"])


def test_every_client_frame_type_has_one_handler() -> None:
    assert set(HANDLERS) == set(SCHEMAS)


# Several processes share PostgreSQL; SQLite is the one-process set-up by design.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_standing_across_two_processes(redis_pair: tuple[Client, Client]) -> None:
    one, two = redis_pair
    centre = build_centre(one, BASE_URL, lambda: one.make_staff("admin"), {"anna": "counsellor"})
    first, second = start_visitor(one, BASE_URL, centre), start_visitor(one, BASE_URL, centre)
    with visitor_socket(two) as v_raw, staff_socket(one, centre, "anna") as a_raw:
        waiting, anna = Socket(v_raw), Socket(a_raw)
        hello(waiting, second)
        assert waiting.until("standing")["position"] == 2
        anna.send(claim_frame(staff_view(centre, "anna", first.genesis), first))
        anna.until("ack", ref="c")
        assert waiting.until("standing")["position"] == 1
