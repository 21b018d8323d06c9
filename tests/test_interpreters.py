"""Interpreters in a chat over the real websocket with the Python protocol, on SQLite and PostgreSQL.

The story of docs/INTERPRETERS.md: a counsellor proposes an interpreter, only the
visitor's client lets them in, history is theirs only if the visitor shares it, and
every removal (by the counsellor, the visitor or the interpreter's own leave proposal)
starts an epoch the interpreter cannot read.  Then what an interpreter may never do.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from crypto import (
    ContentType,
    Conversation,
    ErrorCode,
    MessageKind,
    ProtocolError,
    Received,
    Role,
    certify,
    create_staff_identity,
    encode_add_proposal,
    encode_remove_proposal,
    parse_proposal,
)
from server.models import ConversationMember
from server.services import conversations
from tests.chat_helpers import (
    Centre,
    Socket,
    VisitorChat,
    b64,
    staff_socket,
    staff_view,
    start_visitor,
    stored_count,
    unb64,
    visitor_socket,
)
from tests.conftest import BASE_URL, Client

REQUEST = {
    "kind": "interpreter_request",
    "language": "ti",
    "dialect": "Eritrean",
    "mode": "remote",
    "gender": "female",
}


@pytest.fixture
def chat(client: Client, centre: Centre) -> VisitorChat:
    return start_visitor(client, BASE_URL, centre)


# --- people on sockets ------------------------------------------------------------------------


@dataclass
class Party:
    """One participant: their protocol state, their socket, and every object they have received."""

    conv: Conversation
    sock: Socket
    chat: VisitorChat
    seen: dict[int, bytes] = field(default_factory=dict)
    received: dict[int, Received] = field(default_factory=dict)

    def catch_up(self, upto: int) -> None:
        """Receive and apply every object up to seq `upto` (the pump sends them in order)."""
        while self.conv.next_seq <= upto:
            frame = self.sock.until("message", conversation=self.chat.id.hex)
            data = unb64(frame["message"])
            self.seen[frame["seq"]] = data
            self.received[frame["seq"]] = self.conv.receive(data)

    def frame(self, kind: str, message: bytes, ref: str) -> dict[str, Any]:
        return {
            "type": kind,
            "conversation": self.chat.id.hex,
            "client_id": str(uuid.uuid4()),
            "message": b64(message),
            "ref": ref,
        }

    def put(self, kind: str, message: bytes, ref: str) -> int:
        """Send an object with a `send`/`commit`/`claim` frame; its stored seq (ack) — applied once echoed."""
        self.sock.send(self.frame(kind, message, ref))
        seq: int = self.sock.until("ack", ref=ref)["seq"]
        self.catch_up(seq)
        return seq

    def refused(self, kind: str, message: bytes, ref: str) -> str:
        """Send an object the server must refuse; the error code."""
        self.sock.send(self.frame(kind, message, ref))
        code: str = self.sock.until("error", ref=ref)["code"]
        return code

    def say(self, words: str, ref: str) -> int:
        return self.put("send", self.conv.encrypt(ContentType.TEXT, words.encode()), ref)

    def app_json(self, body: dict[str, Any], ref: str) -> int:
        return self.put("send", self.conv.encrypt(ContentType.APP_JSON, json.dumps(body).encode()), ref)

    def text(self, seq: int) -> str | None:
        got = self.received[seq]
        return got.body.decode() if got.readable and got.body is not None else None


def join_as_visitor(raw: Any, chat: VisitorChat) -> Party:
    sock = Socket(raw)
    sock.send({"type": "hello", "token": chat.token, "ref": "h"})
    sock.until("welcome")
    sock.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "vs"})
    sock.until("synced", ref="vs")
    return Party(chat.conversation, sock, chat)


def join_as_staff(raw: Any, centre: Centre, name: str, chat: VisitorChat) -> Party:
    sock = Socket(raw)
    sock.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": f"sync-{name}"})
    sock.until("synced", ref=f"sync-{name}")
    return Party(staff_view(centre, name, chat.genesis), sock, chat)


@contextmanager
def misbehaving(conv: Conversation) -> Iterator[Conversation]:
    """A modified client that skips its own rule checks: only the server stands in the way."""
    conv._evaluate = lambda data: (None, None)  # type: ignore[method-assign]
    try:
        yield conv
    finally:
        del conv._evaluate  # type: ignore[attr-defined]


def staff_id(centre: Centre, name: str) -> bytes:
    return centre.staff[name].account_id.bytes


def certificate(centre: Centre, name: str) -> bytes:
    cert = centre.staff[name].certificate
    assert cert is not None
    return cert


def roster(client: Client, chat: VisitorChat) -> dict[bytes, int]:
    """The conversation's current members as the database has them: member id -> role."""

    async def members() -> dict[bytes, int]:
        async with client.res.db() as db:
            rows = await db.execute(
                select(ConversationMember.member_id, ConversationMember.role).where(
                    ConversationMember.conversation_id == chat.id
                )
            )
            return {member_id: role for member_id, role in rows}

    return client.run(members)


def assignments(sock: Socket, ref: str) -> list[str]:
    sock.send({"type": "assignments", "ref": ref})
    return [item["conversation"] for item in sock.until("assignments", ref=ref)["items"]]


def let_in(visitor: Party, anna: Party, centre: Centre) -> int:
    """Anna proposes Ivan; the visitor's client reads the proposal and commits him in."""
    proposal = anna.put(
        "send", anna.conv.encrypt(ContentType.PROPOSAL, encode_add_proposal(certificate(centre, "ivan"))), "p"
    )
    visitor.catch_up(proposal)
    got = visitor.received[proposal]
    assert got.content_type == ContentType.PROPOSAL
    assert got.body is not None
    action, cert = parse_proposal(got.body)
    assert action == 1
    seq = visitor.put("commit", visitor.conv.add_member(cert), "let-in")
    anna.catch_up(seq)
    return seq


# --- the whole story ----------------------------------------------------------------------------


def test_request_invite_consent_history_three_way_and_removal_by_the_counsellor(
    client: Client, centre: Centre, chat: VisitorChat
) -> None:
    anna_conv = staff_view(centre, "anna", chat.genesis)
    with visitor_socket(client) as v_raw, staff_socket(client, centre, "anna") as a_raw:
        v_sock = Socket(v_raw)
        v_sock.send({"type": "hello", "token": chat.token, "ref": "h"})
        v_sock.until("welcome")
        a_sock = Socket(a_raw)
        a_sock.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "as"})
        a_sock.until("synced", ref="as")
        anna = Party(anna_conv, a_sock, chat)
        anna.put("claim", anna.conv.claim(), "claim")
        v_sock.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "vs"})
        v_sock.until("synced", ref="vs")
        visitor = Party(chat.conversation, v_sock, chat)
        visitor.catch_up(1)

        # The visitor asks; the request is inside the encryption, the counsellor's client reads it.
        asked = visitor.app_json(REQUEST, "ask")
        before = visitor.say("What I said before the interpreter came", "before")
        anna.catch_up(before)
        body = anna.received[asked].body
        assert anna.received[asked].content_type == ContentType.APP_JSON
        assert body is not None
        assert json.loads(body) == REQUEST
        assert anna.text(before) == "What I said before the interpreter came"

        # Only the visitor may add an interpreter: her own client refuses, and so does the server.
        with pytest.raises(ProtocolError) as refused:
            anna.conv.add_member(certificate(centre, "ivan"))
        assert refused.value.code == ErrorCode.FORBIDDEN
        with misbehaving(anna.conv):
            forged = anna.conv.add_member(certificate(centre, "ivan"))
        assert anna.refused("commit", forged, "forged") == "not_allowed"
        # Nor may anyone list the interpreter's account in another role.
        disguise = create_staff_identity(centre.centre_id, staff_id(centre, "ivan"), Role.COUNSELLOR)
        now = int(time.time())
        disguised = certify(centre.admin_key, disguise, "Ivan", now - 60, now + 3600)
        assert anna.refused("commit", anna.conv.add_member(disguised), "disguised") == "bad_message"
        assert set(roster(client, chat)) == {chat.conversation.visitor_id, staff_id(centre, "anna")}

        joined = let_in(visitor, anna, centre)
        assert staff_id(centre, "ivan") in visitor.received[joined].added
        assert roster(client, chat)[staff_id(centre, "ivan")] == Role.INTERPRETER

        with staff_socket(client, centre, "ivan") as i_raw:
            i_sock = Socket(i_raw)
            assert assignments(i_sock, "mine") == [chat.id.hex]
            i_sock.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "is"})
            i_sock.until("synced", ref="is")
            ivan = Party(staff_view(centre, "ivan", chat.genesis), i_sock, chat)
            ivan.catch_up(joined)
            # Before the visitor shares history, the earlier messages are there but unreadable.
            assert ivan.received[before].readable is False
            assert ivan.received[joined].readable is True
            assert ivan.conv.can_read

            # A counsellor may not share history with an interpreter (the visitor decides).
            with misbehaving(anna.conv):
                anna_share = anna.conv.share_history(staff_id(centre, "ivan"), [1])
            assert anna.refused("send", anna_share, "anna-share") == "not_allowed"

            shared = visitor.put("send", visitor.conv.share_history(staff_id(centre, "ivan"), [1]), "share")
            ivan.catch_up(shared)
            anna.catch_up(shared)
            assert ivan.received[shared].history_epochs == (1,)
            assert (
                ivan.conv.decrypt_past(ivan.seen[before]).body == b"What I said before the interpreter came"
            )
            request = ivan.conv.decrypt_past(ivan.seen[asked])
            assert request.body is not None
            assert json.loads(request.body)["language"] == "ti"

            # Three-way: everyone reads everyone.
            said = ivan.say("ሰላም — I am Ivan, the interpreter.", "ivan-1")
            visitor.catch_up(said)
            anna.catch_up(said)
            assert visitor.text(said) == anna.text(said) == "ሰላም — I am Ivan, the interpreter."
            assert visitor.received[said].sender_role == Role.INTERPRETER
            said = anna.say("Thank you both.", "anna-1")
            visitor.catch_up(said)
            ivan.catch_up(said)
            assert ivan.text(said) == "Thank you both."
            said = visitor.say("Good, I understand now.", "v-1")
            anna.catch_up(said)
            ivan.catch_up(said)
            assert ivan.text(said) == anna.text(said) == "Good, I understand now."
            i_sock.send({"type": "typing", "conversation": chat.id.hex})
            assert visitor.sock.until("typing")["member"] == centre.staff["ivan"].account_id.hex

            # An interpreter never commits, claims, transfers, releases, closes or shares history.
            with misbehaving(ivan.conv):
                ivan_commit = ivan.conv.remove_member(staff_id(centre, "anna"))
                ivan_share = ivan.conv.share_history(staff_id(centre, "anna"), [1])
            assert ivan.refused("commit", ivan_commit, "i-commit") == "forbidden"
            assert ivan.refused("claim", ivan_commit, "i-claim") == "forbidden"
            assert ivan.refused("release", ivan_commit, "i-release") == "forbidden"
            transfer = {
                **ivan.frame("transfer", ivan_commit, "i-transfer"),
                "to": centre.staff["bodil"].account_id.hex,
            }
            i_sock.send(transfer)
            assert i_sock.until("error", ref="i-transfer")["code"] == "forbidden"
            i_sock.send(
                {"type": "close", "conversation": chat.id.hex, "outcome": "support_given", "ref": "i-close"}
            )
            assert i_sock.until("error", ref="i-close")["code"] == "forbidden"
            assert ivan.refused("send", ivan_share, "i-share") == "not_allowed"
            i_sock.send({"type": "queue", "ref": "i-queue"})
            assert i_sock.until("error", ref="i-queue")["code"] == "forbidden"

            # The counsellor removes the interpreter: a new epoch he has no key for.
            removed = anna.put("commit", anna.conv.remove_member(staff_id(centre, "ivan")), "remove")
            visitor.catch_up(removed)
            assert visitor.received[removed].removed == (staff_id(centre, "ivan"),)
            assert visitor.conv.epoch == ivan.conv.epoch + 1
            after = visitor.say("Only for the counsellor now.", "v-after")
            anna.catch_up(after)
            assert anna.text(after) == "Only for the counsellor now."
            # His page is told; the server sends him nothing more and refuses to.
            assert i_sock.until("assignments")["items"] == []
            i_sock.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "i-again"})
            assert i_sock.until("error", ref="i-again")["code"] == "forbidden"
            assert (
                ivan.refused("send", ivan.conv.encrypt(ContentType.TEXT, b"still here?"), "i-late")
                == "forbidden"
            )
            i_sock.send({"type": "ping", "ref": "flush"})
            i_sock.until("pong", ref="flush")
            assert not any(f.get("type") == "message" and f.get("seq", 0) >= after for f in i_sock.seen)
            assert not any(f.get("type") == "conversation" and f["last_seq"] >= after for f in i_sock.seen)
            # Even holding the bytes (from the visitor's copy), his client cannot read past the removal.
            removal = ivan.conv.receive(visitor.seen[removed])
            assert removal.readable is False
            assert not ivan.conv.is_member
            late = ivan.conv.receive(visitor.seen[after])
            assert late.readable is False
            assert late.body is None
            with pytest.raises(ProtocolError) as gone:
                ivan.conv.encrypt(ContentType.TEXT, b"hello?")
            assert gone.value.code == ErrorCode.NOT_A_MEMBER
    assert set(roster(client, chat)) == {chat.conversation.visitor_id, staff_id(centre, "anna")}


def test_refusal_changes_nothing_then_the_visitor_lets_in_and_removes(
    client: Client, centre: Centre, chat: VisitorChat
) -> None:
    with visitor_socket(client) as v_raw, staff_socket(client, centre, "anna") as a_raw:
        anna = join_as_staff(a_raw, centre, "anna", chat)
        anna.put("claim", anna.conv.claim(), "claim")
        visitor = join_as_visitor(v_raw, chat)
        visitor.catch_up(1)
        proposal = anna.put(
            "send",
            anna.conv.encrypt(ContentType.PROPOSAL, encode_add_proposal(certificate(centre, "ivan"))),
            "p",
        )
        visitor.catch_up(proposal)
        declined = visitor.app_json(
            {"kind": "interpreter_declined", "member": staff_id(centre, "ivan").hex()}, "no"
        )
        anna.catch_up(declined)
        assert json.loads(anna.received[declined].body or b"")["kind"] == "interpreter_declined"
        assert set(roster(client, chat)) == {chat.conversation.visitor_id, staff_id(centre, "anna")}
        assert visitor.conv.epoch == anna.conv.epoch == 1
        with staff_socket(client, centre, "ivan") as i_raw:
            i_sock = Socket(i_raw)
            assert assignments(i_sock, "none") == []
            i_sock.send({"type": "sync", "conversation": chat.id.hex, "after": -1, "ref": "s"})
            assert i_sock.until("error", ref="s")["code"] == "forbidden"

        # Asked again, the visitor agrees — and later removes the interpreter herself.
        joined = let_in(visitor, anna, centre)
        with staff_socket(client, centre, "ivan") as i_raw:
            ivan = join_as_staff(i_raw, centre, "ivan", chat)
            ivan.catch_up(joined)
            said = ivan.say("Hello from the interpreter.", "i1")
            visitor.catch_up(said)
            assert visitor.text(said) == "Hello from the interpreter."
            # Without a history bundle the refused invitation and the request stay unreadable to him.
            assert ivan.received[proposal].readable is False
            removed = visitor.put("commit", visitor.conv.remove_member(staff_id(centre, "ivan")), "v-remove")
            anna.catch_up(removed)
            assert anna.received[removed].removed == (staff_id(centre, "ivan"),)
            after = anna.say("Just the two of us again.", "a-after")
            visitor.catch_up(after)
            assert visitor.text(after) == "Just the two of us again."
            assert ivan.conv.receive(visitor.seen[removed]).readable is False
            assert ivan.conv.receive(visitor.seen[after]).readable is False
            assert ivan.sock.until("assignments")["items"] == []
    assert staff_id(centre, "ivan") not in roster(client, chat)


def test_the_interpreter_leaves_by_proposal_and_a_remaining_member_commits(
    client: Client, centre: Centre, chat: VisitorChat
) -> None:
    with visitor_socket(client) as v_raw, staff_socket(client, centre, "anna") as a_raw:
        anna = join_as_staff(a_raw, centre, "anna", chat)
        anna.put("claim", anna.conv.claim(), "claim")
        visitor = join_as_visitor(v_raw, chat)
        visitor.catch_up(1)
        joined = let_in(visitor, anna, centre)
        with staff_socket(client, centre, "ivan") as i_raw:
            ivan = join_as_staff(i_raw, centre, "ivan", chat)
            ivan.catch_up(joined)
            leave = ivan.put(
                "send",
                ivan.conv.encrypt(ContentType.PROPOSAL, encode_remove_proposal(staff_id(centre, "ivan"))),
                "leave",
            )
            anna.catch_up(leave)
            visitor.catch_up(leave)
            proposal = anna.received[leave]
            assert proposal.sender_role == Role.INTERPRETER
            assert proposal.body is not None
            assert parse_proposal(proposal.body) == (2, staff_id(centre, "ivan"))
            # Only a remaining visitor or counsellor commits it; his own commit is refused.
            with misbehaving(ivan.conv):
                own = ivan.conv.remove_member(staff_id(centre, "ivan"))
            assert ivan.refused("commit", own, "own") == "forbidden"
            removed = anna.put("commit", anna.conv.remove_member(staff_id(centre, "ivan")), "commit-leave")
            visitor.catch_up(removed)
            assert visitor.received[removed].removed == (staff_id(centre, "ivan"),)
            after = visitor.say("Thank you, Ivan.", "v-after")
            anna.catch_up(after)
            assert ivan.conv.receive(visitor.seen[removed]).readable is False
            assert ivan.conv.receive(visitor.seen[after]).readable is False
            ivan.sock.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "again"})
            assert ivan.sock.until("error", ref="again")["code"] == "forbidden"
    assert set(roster(client, chat)) == {chat.conversation.visitor_id, staff_id(centre, "anna")}


def test_any_current_member_may_ask_for_a_re_key(client: Client, centre: Centre, chat: VisitorChat) -> None:
    """A key request (type 0x14, PROTOCOL.md §6.7) needs no key: the server stores it from any
    current member — a counsellor of the queue epoch, the visitor, an interpreter — and a
    counsellor answers it with a re-key the asker can read. A former member may not ask."""
    with (
        visitor_socket(client) as v_raw,
        staff_socket(client, centre, "anna") as a_raw,
        staff_socket(client, centre, "bodil") as b_raw,
    ):
        visitor = join_as_visitor(v_raw, chat)
        anna = join_as_staff(a_raw, centre, "anna", chat)
        bodil = join_as_staff(b_raw, centre, "bodil", chat)
        asked = bodil.put("send", bodil.conv.request_rekey(), "bodil-asks")  # queued: she is a member
        visitor.catch_up(asked)
        anna.catch_up(asked)
        assert visitor.received[asked].kind == MessageKind.KEY_REQUEST
        assert visitor.received[asked].request_reason == 1
        claimed = anna.put("claim", anna.conv.claim(), "claim")
        visitor.catch_up(claimed)
        assert bodil.refused("send", bodil.conv.request_rekey(), "bodil-late") == "forbidden"
        asked = visitor.put("send", visitor.conv.request_rekey(), "visitor-asks")
        anna.catch_up(asked)
        assert anna.received[asked].sender_role == Role.VISITOR

        joined = let_in(visitor, anna, centre)
        with staff_socket(client, centre, "ivan") as i_raw:
            ivan = join_as_staff(i_raw, centre, "ivan", chat)
            ivan.catch_up(joined)
            asked = ivan.put("send", ivan.conv.request_rekey(1, joined), "ivan-asks")
            anna.catch_up(asked)
            visitor.catch_up(asked)
            request = anna.received[asked]
            assert (request.kind, request.sender_role) == (MessageKind.KEY_REQUEST, Role.INTERPRETER)
            assert (request.request_reason, request.request_seq) == (1, joined)
            rekeyed = anna.put("commit", anna.conv.rekey(), "answer")
            ivan.catch_up(rekeyed)
            visitor.catch_up(rekeyed)
            assert ivan.received[rekeyed].readable
            said = visitor.say("Can you read me now?", "v-now")
            ivan.catch_up(said)
            assert ivan.text(said) == "Can you read me now?"
    assert stored_count(client, chat.id) == said + 1


def test_a_transfer_keeps_the_interpreter(client: Client, centre: Centre, chat: VisitorChat) -> None:
    """Handing over to a colleague does not throw out the interpreter the visitor let in."""
    with visitor_socket(client) as v_raw, staff_socket(client, centre, "anna") as a_raw:
        anna = join_as_staff(a_raw, centre, "anna", chat)
        anna.put("claim", anna.conv.claim(), "claim")
        visitor = join_as_visitor(v_raw, chat)
        visitor.catch_up(1)
        joined = let_in(visitor, anna, centre)
        to_bodil = {**anna.frame("transfer", anna.conv.add_member(certificate(centre, "bodil")), "t")}
        to_bodil["to"] = centre.staff["bodil"].account_id.hex
        anna.sock.send(to_bodil)
        moved = anna.sock.until("ack", ref="t")["seq"]
        anna.catch_up(moved)
        visitor.catch_up(moved)
        assert set(roster(client, chat)) == {
            chat.conversation.visitor_id,
            staff_id(centre, "anna"),
            staff_id(centre, "bodil"),
            staff_id(centre, "ivan"),
        }
        with staff_socket(client, centre, "bodil") as b_raw, staff_socket(client, centre, "ivan") as i_raw:
            bodil = join_as_staff(b_raw, centre, "bodil", chat)
            bodil.catch_up(moved)
            ivan = join_as_staff(i_raw, centre, "ivan", chat)
            ivan.catch_up(moved)
            assert ivan.received[joined].readable is True
            said = bodil.say("I am Bodil; I take over from Anna.", "b1")
            ivan.catch_up(said)
            assert ivan.text(said) == "I am Bodil; I take over from Anna."
    assert (
        client.run(conversations.get, client.res, chat.id).counsellor_id == centre.staff["bodil"].account_id
    )


# --- what an interpreter who was not let in can do: nothing --------------------------------------


def test_an_interpreter_not_let_in_reaches_nothing(client: Client, centre: Centre, chat: VisitorChat) -> None:
    ivan_conv = staff_view(centre, "ivan", chat.genesis)
    with staff_socket(client, centre, "ivan") as raw:
        sock = Socket(raw)
        sock.send({"type": "queue", "ref": "q"})
        assert sock.until("error", ref="q")["code"] == "forbidden"
        assert assignments(sock, "a") == []
        for kind, extra in (
            ("sync", {"after": -1}),
            ("typing", {}),
            ("receipt", {"delivered": 0, "read": 0}),
            ("send", {"client_id": str(uuid.uuid4()), "message": b64(b"\x01" * 64)}),
            ("commit", {"client_id": str(uuid.uuid4()), "message": b64(b"\x01" * 64)}),
            ("claim", {"client_id": str(uuid.uuid4()), "message": b64(b"\x01" * 64)}),
            ("close", {"outcome": "support_given"}),
        ):
            sock.send({"type": kind, "conversation": chat.id.hex, "ref": kind, **extra})
            assert sock.until("error", ref=kind)["code"] == "forbidden", kind
        with pytest.raises(ProtocolError):
            ivan_conv.encrypt(ContentType.TEXT, b"not a member of the queue epoch")
    # An admin's socket has no conversations of its own either; a visitor's has no list.
    client.cookies.clear()
    with client.websocket_connect(
        "/ws", headers={"origin": BASE_URL, "cookie": centre.admin.cookie_header()}
    ) as raw:
        assert_refused_list(Socket(raw))
    with visitor_socket(client) as raw:
        sock = Socket(raw)
        sock.send({"type": "hello", "token": chat.token, "ref": "h"})
        sock.until("welcome")
        assert_refused_list(sock)
    # Over HTTP: no visitor API without the visitor's token, no counsellor pages or APIs.
    ivan = centre.staff["ivan"].person
    assert ivan.request("GET", "/api/visitor/queue", headers={"origin": BASE_URL}).status_code == 401
    assert ivan.request("GET", "/staff/chat").status_code == 403
    assert ivan.api("GET", "/api/staff/interpreters").status_code == 403
    assert ivan.api("GET", "/api/admin/load").status_code == 403
    assert ivan.api("GET", "/api/admin/staff-keys").status_code == 403
    assert client.run(conversations.get, client.res, chat.id).status == "queued"


def assert_refused_list(sock: Socket) -> None:
    sock.send({"type": "assignments", "ref": "list"})
    assert sock.until("error", ref="list")["code"] == "forbidden"


def test_counsellors_list_interpreters(client: Client, centre: Centre) -> None:
    admin = centre.admin
    ivan_id = centre.staff["ivan"].account_id
    saved = admin.form(
        f"/staff/admin/staff/{ivan_id}/languages",
        {"languages": "ti, am  AR"},
        token_from="/staff/admin/staff",
    )
    assert saved.status_code == 303
    listed = centre.staff["anna"].person.api("GET", "/api/staff/interpreters")
    assert listed.status_code == 200
    assert listed.json() == {
        "interpreters": [
            {
                "staff_id": ivan_id.hex,
                "display_name": "Ivan",
                "languages": ["ti", "am", "ar"],
                "certified": True,
            }
        ]
    }
    # A new interpreter without a certified key is listed, but cannot be invited into a chat yet.
    client.make_staff("jana", role="interpreter")
    found = centre.staff["anna"].person.api("GET", "/api/staff/interpreters").json()["interpreters"]
    assert [(i["display_name"], i["languages"], i["certified"]) for i in found] == [
        ("Ivan", ["ti", "am", "ar"], True),
        ("Jana", [], False),
    ]
    deactivated = admin.form(f"/staff/admin/staff/{ivan_id}/deactivate", {}, token_from="/staff/admin/staff")
    assert deactivated.status_code == 303
    found = centre.staff["anna"].person.api("GET", "/api/staff/interpreters").json()["interpreters"]
    assert [i["display_name"] for i in found] == ["Jana"]
    assert admin.api("GET", "/api/staff/interpreters").status_code == 403
    client.cookies.clear()
    assert client.get("/api/staff/interpreters").status_code == 401
