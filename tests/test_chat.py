"""The chat through its real interfaces: HTTP API and websocket, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.websockets import WebSocketDisconnect

from crypto import Role, resume_conversation
from crypto import testing as crypto_testing
from server.models import VisitorToken
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
    stored_count,
    text,
    unb64,
    visitor_socket,
)
from tests.conftest import BASE_URL, Client


@pytest.fixture
def chat(client: Client, centre: Centre) -> VisitorChat:
    return start_visitor(client, BASE_URL, centre)


def test_whole_story_over_the_websocket(client: Client, centre: Centre, chat: VisitorChat) -> None:
    anna = staff_view(centre, "anna", chat.genesis)
    with visitor_socket(client) as v_raw, staff_socket(client, centre, "anna") as a_raw:
        visitor, counsellor = Socket(v_raw), Socket(a_raw)
        hello(visitor, chat)
        counsellor.send({"type": "queue", "ref": "q"})
        queue = counsellor.until("queue", ref="q")
        assert [item["conversation"] for item in queue["items"]] == [chat.id.hex]
        assert queue["items"][0]["language"] == "en"
        # Before the claim every counsellor can read the queued conversation (genesis epoch).
        counsellor.send({"type": "sync", "conversation": chat.id.hex, "after": -1})
        assert counsellor.messages(chat.id, 1)[0]["seq"] == 0
        visitor.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        visitor.until("synced")
        # The visitor may write while waiting.
        visitor.send(send_frame(chat, text(chat.conversation, "hello, is anyone there?"), ref="v1"))
        assert visitor.until("ack", ref="v1")["seq"] == 1
        assert receive_all(anna, counsellor.messages(chat.id, 1)) == ["hello, is anyone there?"]
        counsellor.send(claim_frame(anna, chat))
        assert counsellor.until("ack", ref="c")["seq"] == 2
        receive_all(anna, counsellor.messages(chat.id, 1))  # her own commit, echoed: now in the new epoch
        assert receive_all(chat.conversation, visitor.messages(chat.id, 2)) == ["hello, is anyone there?"]
        counsellor.send(send_frame(chat, text(anna, "Hi, I am Anna. I am here."), ref="a1"))
        assert counsellor.until("ack", ref="a1")["seq"] == 3
        assert receive_all(chat.conversation, visitor.messages(chat.id, 1)) == ["Hi, I am Anna. I am here."]
        visitor.send({"type": "typing", "conversation": chat.id.hex})
        assert counsellor.until("typing")["member"] == "visitor"
        visitor.send({"type": "receipt", "conversation": chat.id.hex, "delivered": 3, "read": 3})
        visitor_id = chat.conversation.visitor_id.hex()
        assert counsellor.until("receipt", member=visitor_id, read=3)["delivered"] == 3
    # A page opened later learns at once how far everyone has read.
    with staff_socket(client, centre, "anna") as a_raw:
        later = Socket(a_raw)
        later.send({"type": "sync", "conversation": chat.id.hex, "after": 3})
        assert later.until("receipt", member=visitor_id)["read"] == 3
    assert stored_count(client, chat.id) == 4


def test_after_a_claim_other_counsellors_lose_access(
    client: Client, centre: Centre, chat: VisitorChat
) -> None:
    anna = staff_view(centre, "anna", chat.genesis)
    with staff_socket(client, centre, "anna") as a_raw:
        Socket(a_raw).send(claim_frame(anna, chat))
        Socket(a_raw).until("ack", ref="c")
    with staff_socket(client, centre, "bodil") as b_raw:
        bo = Socket(b_raw)
        bo.send({"type": "sync", "conversation": chat.id.hex, "after": -1, "ref": "x"})
        assert bo.until("error", ref="x")["code"] == "forbidden"
        bo.send({"type": "queue", "ref": "q"})
        assert bo.until("queue", ref="q")["items"] == []


def test_simultaneous_claims_exactly_one_wins(client: Client, centre: Centre, chat: VisitorChat) -> None:
    """Every counsellor builds a claim at the same head; the database serialises them."""
    staff = [centre.staff["anna"], centre.staff["bodil"]]
    for extra in ("cleo", "dag", "eva", "finn"):
        member = centre.invite(extra, "counsellor")
        centre.give_keys(member, Role.COUNSELLOR)
        staff.append(member)
    centre.publish()
    chat = start_visitor(client, BASE_URL, centre)
    from server.models import StaffAccount

    async def race() -> list[str]:
        import asyncio

        async def one(member: Any) -> str:
            async with client.res.db() as db:
                account = await db.get(StaffAccount, member.account_id)
            assert account is not None
            view = staff_view(centre, member.username, chat.genesis)
            try:
                await conversations.claim(client.res, account, chat.id, str(uuid.uuid4()), view.claim())
            except Exception as error:
                return getattr(error, "code", repr(error))
            return "won"

        return list(await asyncio.gather(*(one(m) for m in staff)))

    results = client.run(race)
    assert results.count("won") == 1, results
    assert set(results) - {"won"} <= {"already_claimed"}, results
    assert stored_count(client, chat.id) == 2


def test_claims_from_two_sockets_at_once(client: Client, centre: Centre, chat: VisitorChat) -> None:
    anna, bo = staff_view(centre, "anna", chat.genesis), staff_view(centre, "bodil", chat.genesis)
    frames = {"anna": claim_frame(anna, chat, "a"), "bodil": claim_frame(bo, chat, "b")}
    with staff_socket(client, centre, "anna") as a_raw, staff_socket(client, centre, "bodil") as b_raw:
        sockets = {"anna": Socket(a_raw), "bodil": Socket(b_raw)}
        # Both frames go out before either answer is read: the two connections' claims are
        # handled concurrently by the server, and the database decides.
        for name, socket in sockets.items():
            socket.send(frames[name])
        answers = {
            name: next(f for f in iter(socket.receive, None) if f.get("ref") == frames[name]["ref"])
            for name, socket in sockets.items()
        }
    kinds = sorted(answer["type"] for answer in answers.values())
    assert kinds == ["ack", "error"], answers
    loser = next(a for a in answers.values() if a["type"] == "error")
    assert loser["code"] == "already_claimed"
    assert "already taken" in loser["message"]


def test_sending_is_idempotent_and_the_sequence_gap_free(
    client: Client, centre: Centre, chat: VisitorChat
) -> None:
    message = text(chat.conversation, "only once")
    client_id = str(uuid.uuid4())
    with visitor_socket(client) as raw:
        socket = Socket(raw)
        hello(socket, chat)
        for attempt in range(3):
            socket.send(send_frame(chat, message, client_id, ref=f"r{attempt}"))
            assert socket.until("ack", ref=f"r{attempt}")["seq"] == 1
    assert stored_count(client, chat.id) == 2


def test_concurrent_writers_get_conflict_and_rebuild(
    client: Client, centre: Centre, chat: VisitorChat
) -> None:
    anna = staff_view(centre, "anna", chat.genesis)
    with visitor_socket(client) as v_raw, staff_socket(client, centre, "anna") as a_raw:
        visitor, counsellor = Socket(v_raw), Socket(a_raw)
        hello(visitor, chat)
        counsellor.send(claim_frame(anna, chat))
        counsellor.until("ack", ref="c")
        counsellor.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        receive_all(anna, counsellor.messages(chat.id, 1))
        visitor.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        receive_all(chat.conversation, visitor.messages(chat.id, 1))
        # Both write at seq 2 without seeing each other.
        from_visitor = text(chat.conversation, "from the visitor")
        from_anna = text(anna, "from anna")
        counsellor.send(send_frame(chat, from_anna, ref="a"))
        assert counsellor.until("ack", ref="a")["seq"] == 2
        visitor.send(send_frame(chat, from_visitor, ref="v"))
        conflict = visitor.until("error", ref="v")
        assert conflict["code"] == "conflict"
        # The client catches up, rebuilds at the new head, and sends again.
        assert receive_all(chat.conversation, visitor.messages(chat.id, 1)) == ["from anna"]
        visitor.send(send_frame(chat, text(chat.conversation, "from the visitor"), ref="v2"))
        assert visitor.until("ack", ref="v2")["seq"] == 3
    assert stored_count(client, chat.id) == 4


def test_reconnect_gets_exactly_the_missing_messages_in_order(
    client: Client, centre: Centre, chat: VisitorChat
) -> None:
    anna = staff_view(centre, "anna", chat.genesis)
    with staff_socket(client, centre, "anna") as a_raw:
        counsellor = Socket(a_raw)
        counsellor.send(claim_frame(anna, chat))
        counsellor.until("ack", ref="c")
        counsellor.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        receive_all(anna, counsellor.messages(chat.id, 1))
        for n in range(5):
            counsellor.send(send_frame(chat, text(anna, f"message {n}"), ref=f"m{n}"))
            counsellor.until("ack", ref=f"m{n}")
            receive_all(anna, counsellor.messages(chat.id, 1))  # the echo moves her to the new head
    with visitor_socket(client) as raw:
        visitor = Socket(raw)
        hello(visitor, chat)
        visitor.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        first = visitor.messages(chat.id, 3)  # the commit and two messages, then the tab "closes"
        assert [f["seq"] for f in first] == [1, 2, 3]
        receive_all(chat.conversation, first)
    with visitor_socket(client) as raw:
        visitor = Socket(raw)
        hello(visitor, chat)
        visitor.send({"type": "sync", "conversation": chat.id.hex, "after": 3})
        rest = visitor.messages(chat.id, 3)
        assert [f["seq"] for f in rest] == [4, 5, 6]
        assert receive_all(chat.conversation, rest) == ["message 2", "message 3", "message 4"]
        visitor.send({"type": "ping", "ref": "p"})
        visitor.until("pong", ref="p")
        assert not [f for f in visitor.seen if f.get("type") == "message" and f["seq"] <= 3]


def test_resume_with_the_code_from_another_device(client: Client, centre: Centre, chat: VisitorChat) -> None:
    client.cookies.clear()
    body = {"lookup": chat.keys.lookup_id.hex(), "verifier": b64(chat.keys.access_verifier)}
    resumed = client.post("/api/visitor/resume", json=body, headers={"origin": BASE_URL})
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["conversation"] == chat.id.hex
    # From the code alone: the state opens, and the whole log replays on a fresh device.
    state = crypto_testing.import_visitor_state_low_iterations(unb64(resumed.json()["state"]), chat.keys)
    device = resume_conversation(state, chat.genesis)
    with visitor_socket(client) as raw:
        socket = Socket(raw)
        socket.send({"type": "hello", "token": resumed.json()["token"], "ref": "h"})
        socket.until("welcome")
        socket.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        socket.until("synced")
        socket.send(send_frame(chat, text(device, "from my other phone"), ref="o"))
        assert socket.until("ack", ref="o")["seq"] == 1
    wrong = client.post(
        "/api/visitor/resume", json={**body, "verifier": b64(b"\x00" * 32)}, headers={"origin": BASE_URL}
    )
    assert wrong.status_code == 404
    unknown = client.post(
        "/api/visitor/resume", json={**body, "lookup": "0" * 32}, headers={"origin": BASE_URL}
    )
    assert unknown.status_code == 404
    assert wrong.json()["message"] == unknown.json()["message"]


def test_resume_is_rate_limited(client: Client, centre: Centre, chat: VisitorChat) -> None:
    """Codes that exist nowhere count against the client (tests/test_limits.py has the rest)."""
    body = {"lookup": "1" * 32, "verifier": b64(b"\x00" * 32)}
    limit = client.res.settings.wrong_codes_per_client_per_hour
    statuses = [
        client.post("/api/visitor/resume", json=body, headers={"origin": BASE_URL}).status_code
        for _ in range(limit + 1)
    ]
    assert statuses[:limit] == [404] * limit
    assert statuses[limit] == 429


def test_queue_standing(client: Client, centre: Centre, chat: VisitorChat) -> None:
    second = start_visitor(client, BASE_URL, centre, language="sv")
    answer = client.get("/api/visitor/queue", headers={"authorization": f"Bearer {second.token}"})
    assert answer.status_code == 200
    assert answer.json()["status"] == "queued"
    assert answer.json()["position"] == 2
    assert answer.json()["estimated_wait_minutes"] is None  # no recent claims: no made-up number
    assert client.get("/api/visitor/queue").status_code == 401
    assert (
        client.get("/api/visitor/queue", headers={"authorization": "Bearer " + "x" * 43}).status_code == 401
    )


def test_visitor_deletes_everything(client: Client, centre: Centre, chat: VisitorChat) -> None:
    anna = staff_view(centre, "anna", chat.genesis)
    with staff_socket(client, centre, "anna") as a_raw:
        counsellor = Socket(a_raw)
        counsellor.send(claim_frame(anna, chat))
        counsellor.until("ack", ref="c")
        counsellor.send({"type": "sync", "conversation": chat.id.hex, "after": 1})
        counsellor.until("synced")
        client.cookies.clear()
        gone = client.delete(
            "/api/visitor/conversation", headers={"authorization": f"Bearer {chat.token}", "origin": BASE_URL}
        )
        assert gone.status_code == 204
        assert counsellor.until("conversation", conversation=chat.id.hex)["status"] == "deleted"
    assert stored_count(client, chat.id) == 0

    async def tokens() -> int:
        async with client.res.db() as db:
            return int(await db.scalar(select(func.count()).select_from(VisitorToken)) or 0)

    assert client.run(tokens) == 0
    body = {"lookup": chat.keys.lookup_id.hex(), "verifier": b64(chat.keys.access_verifier)}
    assert client.post("/api/visitor/resume", json=body, headers={"origin": BASE_URL}).status_code == 404
    with visitor_socket(client) as raw:
        socket = Socket(raw)
        socket.send({"type": "hello", "token": chat.token})
        assert socket.until("error")["code"] == "unauthorized"


def test_transfer_release_and_close(client: Client, centre: Centre, chat: VisitorChat) -> None:
    anna = staff_view(centre, "anna", chat.genesis)
    bo_cert = centre.staff["bodil"].certificate
    with staff_socket(client, centre, "anna") as a_raw:
        a = Socket(a_raw)
        a.send(claim_frame(anna, chat))
        a.until("ack", ref="c")
        a.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        receive_all(anna, a.messages(chat.id, 1))
        transfer = {
            "type": "transfer",
            "conversation": chat.id.hex,
            "to": centre.staff["bodil"].account_id.hex,
            "client_id": str(uuid.uuid4()),
            "message": b64(anna.add_member(bo_cert)),
            "ref": "t",
        }
        a.send(transfer)
        assert a.until("ack", ref="t")["seq"] == 2
    bo = staff_view(centre, "bodil", chat.genesis)
    with staff_socket(client, centre, "bodil") as b_raw:
        b = Socket(b_raw)
        b.send({"type": "queue", "ref": "q"})
        assignments = b.until("assignments")
        assert [i["conversation"] for i in assignments["items"]] == [chat.id.hex]
        b.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        receive_all(bo, b.messages(chat.id, 2))
        # The new counsellor removes the previous one: she can no longer read what follows.
        drop = {"type": "commit", "conversation": chat.id.hex, "client_id": str(uuid.uuid4()), "ref": "d"}
        b.send({**drop, "message": b64(bo.remove_member(centre.staff["anna"].account_id.bytes))})
        assert b.until("ack", ref="d")["seq"] == 3
        receive_all(bo, b.messages(chat.id, 1))
        with staff_socket(client, centre, "anna") as a_raw:
            a = Socket(a_raw)
            a.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "after"})
            assert a.until("error", ref="after")["code"] == "forbidden"
        everyone = [m.certificate for m in centre.staff.values() if m.certificate and m.username != "ivan"]
        b.send(
            {
                "type": "release",
                "conversation": chat.id.hex,
                "client_id": str(uuid.uuid4()),
                "message": b64(bo.commit(everyone)),
                "ref": "r",
            }
        )
        assert b.until("ack", ref="r")["seq"] == 4
        queue = b.until("queue")
        while not queue["items"]:  # an older snapshot may be waiting first
            queue = b.until("queue")
        assert [i["conversation"] for i in queue["items"]] == [chat.id.hex]
    anna = staff_view(centre, "anna", chat.genesis)
    with staff_socket(client, centre, "anna") as a_raw:
        a = Socket(a_raw)
        a.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        for frame in a.messages(chat.id, 4):
            anna.receive(unb64(frame["message"]))
        a.send(claim_frame(anna, chat, "again"))
        assert a.until("ack", ref="again")["seq"] == 5
        a.send({"type": "close", "conversation": chat.id.hex, "outcome": "free text here", "ref": "bad"})
        assert a.until("error", ref="bad")["code"] == "bad_outcome"
        a.send({"type": "close", "conversation": chat.id.hex, "outcome": "support_given", "ref": "ok"})
        a.until("closed", ref="ok")
    assert client.run(conversations.get, client.res, chat.id).status == "closed"


def test_access_rules(client: Client, centre: Centre, chat: VisitorChat) -> None:
    other = start_visitor(client, BASE_URL, centre)
    with visitor_socket(client) as raw:
        socket = Socket(raw)
        hello(socket, chat)
        socket.send({"type": "sync", "conversation": other.id.hex, "after": -1, "ref": "x"})
        assert socket.until("error", ref="x")["code"] == "forbidden"
        socket.send({"type": "queue", "ref": "q"})
        assert socket.until("error", ref="q")["code"] == "forbidden"
        socket.send(
            {
                "type": "claim",
                "conversation": chat.id.hex,
                "client_id": str(uuid.uuid4()),
                "message": "AAAA",
                "ref": "c",
            }
        )
        assert socket.until("error", ref="c")["code"] == "forbidden"
    with staff_socket(client, centre, "ivan") as raw:
        interpreter = Socket(raw)
        interpreter.send({"type": "queue", "ref": "q"})
        assert interpreter.until("error", ref="q")["code"] == "forbidden"
        interpreter.send({"type": "sync", "conversation": chat.id.hex, "after": -1, "ref": "s"})
        assert interpreter.until("error", ref="s")["code"] == "forbidden"
    client.cookies.clear()
    with client.websocket_connect(
        "/ws", headers={"origin": BASE_URL, "cookie": centre.admin.cookie_header()}
    ) as raw:
        admin = Socket(raw)
        admin.send({"type": "queue", "ref": "q"})
        assert admin.until("error", ref="q")["code"] == "forbidden"  # supervisors see counts, not content
    # A foreign Origin is refused at the handshake (no cross-site websocket hijacking).
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect("/ws", headers={"origin": "https://evil.example"}),
    ):
        pass
    with visitor_socket(client) as raw:
        socket = Socket(raw)
        socket.send({"type": "hello", "token": "not-a-token"})
        assert socket.until("error")["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "bad_frame"),
        ("[1, 2]", "bad_frame"),
        (json.dumps({"type": "dance"}), "unknown_type"),
        (json.dumps({"type": "sync", "conversation": "x" * 32, "after": 0}), "bad_frame"),
        (json.dumps({"type": "sync", "after": 0}), "bad_frame"),
        (json.dumps({"type": "sync", "conversation": "0" * 32, "after": "0"}), "bad_frame"),
        (json.dumps({"type": "sync", "conversation": "0" * 32, "after": 0, "extra": 1}), "bad_frame"),
        (
            json.dumps({"type": "send", "conversation": "0" * 32, "client_id": "nope", "message": "AA"}),
            "bad_frame",
        ),
        (
            json.dumps(
                {"type": "send", "conversation": "0" * 32, "client_id": str(uuid.uuid4()), "message": "!!"}
            ),
            "bad_frame",
        ),
        (json.dumps({"type": "ping", "ref": "x" * 100}), "bad_frame"),
        (json.dumps({"type": "ping", "pad": "x" * 300_000}), "too_large"),
    ],
)
def test_bad_frames_get_error_frames(
    client: Client, centre: Centre, chat: VisitorChat, frame: str, code: str
) -> None:
    with visitor_socket(client) as raw:
        socket = Socket(raw)
        hello(socket, chat)
        raw.send_text(frame)
        assert socket.until("error")["code"] == code
        socket.send({"type": "ping", "ref": "alive"})
        socket.until("pong", ref="alive")


def test_bad_protocol_objects_are_refused(client: Client, centre: Centre, chat: VisitorChat) -> None:
    with visitor_socket(client) as raw:
        socket = Socket(raw)
        hello(socket, chat)
        socket.send(send_frame(chat, b"\x01\x01\x12garbage", ref="g"))
        assert socket.until("error", ref="g")["code"] == "bad_message"
        socket.send(send_frame(chat, chat.genesis, ref="genesis"))  # not an application message
        assert socket.until("error", ref="genesis")["code"] == "bad_message"
        anna = staff_view(centre, "anna", chat.genesis)
        socket.send(send_frame(chat, text(anna, "forged by another sender"), ref="f"))
        assert socket.until("error", ref="f")["code"] == "not_allowed"
    assert stored_count(client, chat.id) == 1


def test_flooding_is_throttled_then_disconnected(client: Client, centre: Centre, chat: VisitorChat) -> None:
    with visitor_socket(client) as raw:
        socket = Socket(raw)
        hello(socket, chat)
        for _ in range(40):
            socket.send({"type": "ping"})
        for _ in range(40):
            socket.send({"type": "ping"})
        codes = []
        disconnected = False
        try:
            for _ in range(200):
                codes.append(socket.receive().get("code"))
        except WebSocketDisconnect as closed:
            disconnected = closed.code == 4429  # docs/API.md: too many frames
        assert "rate_limited" in codes
        assert disconnected


def test_http_api_bad_input(client: Client, centre: Centre, chat: VisitorChat) -> None:
    client.cookies.clear()

    def post(body: Any, headers: dict[str, str] | None = None, **kw: Any) -> Any:
        if body is not None:
            kw["json"] = body
        return client.post(
            "/api/visitor/conversations", headers={"origin": BASE_URL, **(headers or {})}, **kw
        )

    assert post(None, content=b"{", headers={"content-type": "application/json"}).status_code == 400
    assert (
        post(None, content=b"a=b", headers={"content-type": "application/x-www-form-urlencoded"}).status_code
        == 415
    )
    assert post({"conversation": "x"}).status_code == 422
    good = {
        "conversation": uuid.uuid4().hex,
        "lookup": "a" * 32,
        "verifier": b64(b"v" * 32),
        "state": b64(b"s" * 64),
        "genesis": b64(chat.genesis),
        "language": "en",
    }
    assert post({**good, "language": "de"}).status_code == 422
    assert post({**good, "verifier": b64(b"short")}).status_code == 422
    mismatch = post(good)  # the genesis names another conversation id
    assert mismatch.status_code == 400
    assert mismatch.json()["error"] == "bad_message"
    again = post({**good, "conversation": chat.id.hex})  # the same conversation twice
    assert again.status_code == 409
    assert (
        client.post(
            "/api/visitor/conversations", json=good, headers={"origin": "https://evil.example"}
        ).status_code
        == 403
    )


# Several processes share PostgreSQL; SQLite is the one-process set-up by design.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_processes_deliver_through_redis(redis_pair: tuple[Client, Client]) -> None:
    one, two = redis_pair
    centre = build_centre(one, BASE_URL, lambda: one.make_staff("admin"), {"anna": "counsellor"})
    chat = start_visitor(one, BASE_URL, centre)
    anna = staff_view(centre, "anna", chat.genesis)
    two.cookies.clear()
    with two.websocket_connect(
        "/ws", headers={"origin": BASE_URL, "cookie": centre.staff["anna"].person.cookie_header()}
    ) as a_raw:
        counsellor = Socket(a_raw)
        counsellor.send(claim_frame(anna, chat))
        counsellor.until("ack", ref="c")
        counsellor.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        receive_all(anna, counsellor.messages(chat.id, 1))
        one.cookies.clear()
        with one.websocket_connect("/ws", headers={"origin": BASE_URL}) as v_raw:
            visitor = Socket(v_raw)
            hello(visitor, chat)
            visitor.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
            receive_all(chat.conversation, visitor.messages(chat.id, 1))
            visitor.send(send_frame(chat, text(chat.conversation, "across processes"), ref="x"))
            visitor.until("ack", ref="x")
            assert receive_all(anna, counsellor.messages(chat.id, 1)) == ["across processes"]


def test_a_counsellor_cannot_open_more_than_the_limit(client: Client, centre: Centre) -> None:
    """TRYGG_MAX_OPEN_PER_COUNSELLOR (5 by default): the sixth claim is refused, nothing stored,
    the conversation stays queued; closing one frees a place."""
    limit = client.res.settings.max_open_per_counsellor
    chats = [start_visitor(client, BASE_URL, centre) for _ in range(limit + 1)]
    with staff_socket(client, centre, "anna") as raw:
        anna = Socket(raw)
        for number, chat in enumerate(chats[:limit]):
            anna.send(claim_frame(staff_view(centre, "anna", chat.genesis), chat, f"c{number}"))
            anna.until("ack", ref=f"c{number}")
        last = chats[-1]
        anna.send(claim_frame(staff_view(centre, "anna", last.genesis), last, "over"))
        error = anna.until("error", ref="over")
        assert error["code"] == "limit_reached"
        assert "as many open conversations as allowed" in error["message"]
        assert stored_count(client, last.id) == 1  # only the genesis
        anna.send({"type": "queue", "ref": "q"})
        assert last.id.hex in [item["conversation"] for item in anna.until("queue", ref="q")["items"]]

        anna.send({"type": "close", "conversation": chats[0].id.hex, "outcome": "support_given", "ref": "x"})
        anna.until("closed", ref="x")
        anna.send(claim_frame(staff_view(centre, "anna", last.genesis), last, "again"))
        assert anna.until("ack", ref="again")["seq"] == 1
