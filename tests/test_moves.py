"""Moving a conversation between centres (issue 16, PROTOCOL.md §8.6), over the websocket, on
SQLite and PostgreSQL: the counsellor offers, the visitor declines or consents with her own
commit to the receiving centre's counsellors, and the sending centre loses access."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from crypto import ErrorCode, ProtocolError, open_conversation, verify_directory
from server.models import Conversation
from tests.chat_helpers import (
    ORIGIN,
    Centre,
    Socket,
    VisitorChat,
    claim_frame,
    staff_socket,
    staff_view,
    start_visitor,
)
from tests.conftest import BASE_URL, Client
from tests.test_centres import two_centres as two_centres
from tests.test_interpreters import Party, misbehaving


def _socket(client: Client, path: str, cookie: str = "") -> Any:
    client.cookies.clear()
    headers = {"origin": ORIGIN, **({"cookie": cookie} if cookie else {})}
    return client.websocket_connect(path, headers=headers)


def _stored(client: Client, chat: VisitorChat) -> Conversation:
    async def read() -> Conversation:
        async with client.res.db() as db:
            found = await db.get(Conversation, chat.id)
            assert found is not None
            return found

    found: Conversation = client.run(read)
    return found


def _visitor(raw: Any, chat: VisitorChat, after: int = 0) -> Party:
    sock = Socket(raw)
    sock.send({"type": "hello", "token": chat.token, "ref": "h"})
    sock.until("welcome", ref="h")
    sock.send({"type": "sync", "conversation": chat.id.hex, "after": after, "ref": "vs"})
    sock.until("synced", ref="vs")
    return Party(chat.conversation, sock, chat)


def _frame(chat: VisitorChat, kind: str, ref: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "conversation": chat.id.hex, "ref": ref, **fields}


def _error(sock: Socket, frame: dict[str, Any]) -> str:
    sock.send(frame)
    code: str = sock.until("error", ref=frame["ref"])["code"]
    return code


def _directory(centre: Centre) -> Any:
    return verify_directory(centre.directory, centre.anchors, int(time.time()))


def test_sockets_at_the_second_centre_are_served_as_that_centre(
    client: Client, two_centres: tuple[Centre, Centre, VisitorChat]
) -> None:
    """A bus event reaches a socket in the task that publishes it (the message writer's, which
    was started by an append at centre A); what the socket does with it must still read as the
    socket's centre.
    (A worker started in the publisher's context read centre B's conversation as centre A's,
    found nothing it might read and delivered nothing: the page waited for ever.)"""
    a, b, at_a = two_centres
    with staff_socket(client, a, "anna") as a_raw:
        anna_sock = Socket(a_raw)
        anna_sock.send({"type": "sync", "conversation": at_a.id.hex, "after": 0, "ref": "as"})
        anna_sock.until("synced", ref="as")
        anna = Party(staff_view(a, "anna", at_a.genesis), anna_sock, at_a)
        anna.put("claim", anna.conv.claim(), "a-claim")
        anna.say("Hello from A.", "a-1")  # the message writer's task starts serving centre A
    chat = start_visitor(client, BASE_URL, b, prefix="/c/oslo")
    carl_cookie = b.staff["carl"].person.cookie_header()
    with _socket(client, "/c/oslo/ws", carl_cookie) as c_raw, _socket(client, "/c/oslo/ws") as v_raw:
        visitor = _visitor(v_raw, chat)
        carl_sock = Socket(c_raw)
        carl_sock.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "cs"})
        carl_sock.until("synced", ref="cs")
        carl = Party(open_conversation(b.staff["carl"].identity, chat.genesis, b.anchors), carl_sock, chat)  # type: ignore[arg-type]
        claimed = carl.put("claim", carl.conv.claim(), "claim")
        visitor.catch_up(claimed)
        said = visitor.say("Hello Oslo.", "v-1")
        carl.catch_up(said)
        assert carl.text(said) == "Hello Oslo."


def test_a_counsellor_offers_the_visitor_declines_then_consents_and_the_conversation_moves(
    client: Client, two_centres: tuple[Centre, Centre, VisitorChat]
) -> None:
    a, b, chat = two_centres
    anna_cookie = a.staff["anna"].person.cookie_header()
    with _socket(client, "/ws") as v_raw, staff_socket(client, a, "anna") as a_raw:
        visitor = _visitor(v_raw, chat)

        anna_sock = Socket(a_raw)
        anna_sock.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "as"})
        anna = Party(open_conversation(a.staff["anna"].identity, chat.genesis, a.anchors), anna_sock, chat)  # type: ignore[arg-type]
        claimed = anna.put("claim", anna.conv.claim(), "claim")
        visitor.catch_up(claimed)
        before = visitor.say("I have moved to Oslo.", "v-1")
        anna.catch_up(before)
        assert anna.text(before) == "I have moved to Oslo."

        # Bad input and the wrong people are refused with error frames.
        assert _error(visitor.sock, _frame(chat, "offer_move", "v-offer", centre="oslo")) == "forbidden"
        assert _error(anna_sock, _frame(chat, "offer_move", "nowhere", centre="nowhere")) == "unknown_centre"
        assert _error(anna_sock, _frame(chat, "offer_move", "home", centre="main")) == "unknown_centre"
        assert _error(anna_sock, _frame(chat, "offer_move", "bad")) == "bad_frame"
        assert _error(anna_sock, _frame(chat, "offer_move", "big", centre="x" * 41)) == "bad_frame"
        assert _error(anna_sock, _frame(chat, "decline_move", "none")) == "not_allowed"
        visitor.conv.know_centre(b.trust)
        move = visitor.conv.move(_directory(b))
        assert visitor.refused("move", move, "early") == "not_allowed"  # no offer open
        with _socket(client, "/ws", a.staff["bodil"].person.cookie_header()) as raw:
            bodil = Socket(raw)  # a colleague at A, not in this conversation
            assert _error(bodil, _frame(chat, "offer_move", "b-offer", centre="oslo")) == "forbidden"

        # Offered, and declined: everything stays as it was.
        anna_sock.send(_frame(chat, "offer_move", "offer", centre="oslo"))
        assert anna_sock.until("move_offered", ref="offer")["centre"] == "oslo"
        offered = {"centre": "oslo", "name": "Oslo", "address": "/c/oslo"}
        visitor.sock.until("conversation", conversation=chat.id.hex, move_to=offered)
        assert _stored(client, chat).move_to_id is not None
        visitor.sock.send(_frame(chat, "decline_move", "no"))
        visitor.sock.until("move_declined", ref="no")
        stored = _stored(client, chat)
        assert (stored.move_to_id, stored.status, stored.centre_id.bytes) == (None, "active", a.centre_id)
        assert visitor.refused("move", move, "after-no") == "not_allowed"
        said = anna.say("Then we carry on here.", "a-1")
        visitor.catch_up(said)
        assert visitor.text(said) == "Then we carry on here."

        # Offered again; only the visitor's own commit to B's counsellors is consent.
        anna_sock.send(_frame(chat, "offer_move", "offer-2", centre="oslo"))
        anna_sock.until("move_offered", ref="offer-2")
        with misbehaving(anna.conv):
            anna_move = anna.conv.commit([a.staff["anna"].certificate])  # type: ignore[list-item]
        assert anna.refused("move", anna_move, "a-move") == "not_allowed"
        with misbehaving(visitor.conv):
            to_a = visitor.conv.commit([a.staff["anna"].certificate])  # type: ignore[list-item]
        assert visitor.refused("move", to_a, "to-a") in ("bad_message", "not_allowed")
        assert _error(
            visitor.sock, _frame(chat, "move", "junk", client_id=str(uuid.uuid4()), message="!!")
        ) == ("bad_frame")
        # Cryptographically: A's counsellor cannot make it, nor accept it without B's root.
        with pytest.raises(ProtocolError) as refused:
            anna.conv.move(_directory(b))
        assert refused.value.code in (ErrorCode.FORBIDDEN, ErrorCode.BAD_CERTIFICATE)
        move = visitor.conv.move(_directory(b))
        visitor.sock.send(visitor.frame("move", move, "yes"))
        moved: int = visitor.sock.until("ack", ref="yes")["seq"]
        stored = _stored(client, chat)
        assert (stored.centre_id.bytes, stored.status, stored.counsellor_id, stored.move_to_id) == (
            b.centre_id,
            "queued",
            None,
            None,
        )
        late = anna.conv.encrypt(1, b"still here?")  # made before she sees the move
        # A's counsellor, without B's verified root, cannot even accept the move (fail closed),
        # and holds no wrap of its epoch.
        with pytest.raises(ProtocolError) as refused:
            anna.conv.receive(move)
        assert refused.value.code == ErrorCode.BAD_CERTIFICATE
        anna.conv.know_centre(b.trust)
        assert anna.conv.receive(move).readable is False
        assert not anna.conv.is_member
        # The sending counsellor's frames are refused from now on.
        assert anna.refused("send", late, "late") == "forbidden"
        assert _error(anna_sock, _frame(chat, "sync", "late-sync", after=0)) == "forbidden"
        # ... and the visitor's page is told where the conversation is now.
        assert visitor.sock.until("moved", conversation=chat.id.hex)["address"] == "/c/oslo"
    assert anna_cookie  # (A's counsellor's session itself is untouched)

    # At B: carl sees it in B's queue, claims it and reads what the visitor writes.
    carl_identity = b.staff["carl"].identity
    assert carl_identity is not None
    with (
        _socket(client, "/c/oslo/ws", b.staff["carl"].person.cookie_header()) as c_raw,
        _socket(client, "/c/oslo/ws") as v_raw,
    ):
        carl_sock = Socket(c_raw)
        carl_sock.send({"type": "queue", "ref": "q"})
        assert [i["conversation"] for i in carl_sock.until("queue", ref="q")["items"]] == [chat.id.hex]
        carl_sock.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "cs"})
        carl_sock.until("synced", ref="cs")
        # B's counsellor checks the history before the move against A's root, the move against B's.
        carl = Party(open_conversation(carl_identity, chat.genesis, a.trust), carl_sock, chat)
        carl.conv.know_centre(b.trust)
        carl.seen[0] = chat.genesis
        carl.catch_up(moved)
        assert carl.received[before].readable is False  # the history is not his unless she shares it
        carl_sock.send(claim_frame(carl.conv, chat, "c-claim"))
        claim = carl_sock.until("ack", ref="c-claim")["seq"]
        carl.catch_up(claim)
        # The visitor's page follows the conversation to B's address, with the same token.
        visitor = _visitor(v_raw, chat, after=moved - 1)
        visitor.catch_up(moved)
        assert {m.member_id for m in visitor.conv.members} == {
            chat.conversation.visitor_id,
            b.staff["carl"].account_id.bytes,
        }
        assert visitor.conv.centre_id == b.centre_id
        visitor.catch_up(claim)
        # She chose to share the history: a bundle of every earlier epoch, to carl only.
        epochs = [e for e in visitor.conv.known_epochs() if e < visitor.conv.epoch]
        shared = visitor.put(
            "send", visitor.conv.share_history(b.staff["carl"].account_id.bytes, epochs), "hist"
        )
        carl.catch_up(shared)
        assert carl.conv.decrypt_past(carl.seen[before]).body == b"I have moved to Oslo."
        said = visitor.say("Hello Oslo.", "v-2")
        carl.catch_up(said)
        assert carl.text(said) == "Hello Oslo."
        said = carl.say("Welcome, I am Carl.", "c-1")
        visitor.catch_up(said)
        assert visitor.text(said) == "Welcome, I am Carl."


def test_each_centres_page_carries_the_other_centres_pins(
    client: Client, two_centres: tuple[Centre, Centre, VisitorChat]
) -> None:
    """The visitor's client verifies the receiving centre against that centre's pin, which the
    page carries as it carries its own (PROTOCOL.md §8.6)."""
    a, b, _ = two_centres
    client.cookies.clear()
    at_a = client.get("/en/chat").text
    assert f'<meta name="trygg-pin" content="{a.pin.hex()}">' in at_a
    assert f'<meta name="trygg-network-pins" content="oslo:{b.pin.hex()}">' in at_a
    at_b = client.get("/c/oslo/en/chat").text
    assert f'<meta name="trygg-pin" content="{b.pin.hex()}">' in at_b
    assert f'<meta name="trygg-network-pins" content="main:{a.pin.hex()}">' in at_b


def test_an_offer_ends_with_its_counsellor_a_conversation_taken_by_another_does_not_move(
    client: Client, two_centres: tuple[Centre, Centre, VisitorChat]
) -> None:
    a, b, chat = two_centres
    with _socket(client, "/ws") as v_raw, staff_socket(client, a, "anna") as a_raw:
        visitor = _visitor(v_raw, chat)
        anna_sock = Socket(a_raw)
        anna_sock.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "as"})
        anna = Party(open_conversation(a.staff["anna"].identity, chat.genesis, a.anchors), anna_sock, chat)  # type: ignore[arg-type]
        claimed = anna.put("claim", anna.conv.claim(), "claim")
        visitor.catch_up(claimed)
        anna_sock.send(_frame(chat, "offer_move", "offer", centre="oslo"))
        anna_sock.until("move_offered", ref="offer")
        # She returns it to the queue: the offer cannot be taken up while it waits there...
        released = anna.put(
            "release", anna.conv.commit([a.staff["anna"].certificate, a.staff["bodil"].certificate]), "rel"
        )  # type: ignore[list-item]
        visitor.catch_up(released)
        visitor.conv.know_centre(b.trust)
        assert visitor.refused("move", visitor.conv.move(_directory(b)), "queued") == "not_allowed"
        # ... nor once a colleague has taken it: the offer was Anna's.
        with staff_socket(client, a, "bodil") as b_raw:
            bodil_sock = Socket(b_raw)
            bodil_sock.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "bs"})
            bodil = Party(
                open_conversation(a.staff["bodil"].identity, chat.genesis, a.anchors), bodil_sock, chat
            )  # type: ignore[arg-type]
            bodil.catch_up(released)
            taken = bodil.put("claim", bodil.conv.claim(), "b-claim")
            visitor.catch_up(taken)
            assert _stored(client, chat).move_to_id is None
            assert visitor.refused("move", visitor.conv.move(_directory(b)), "taken") == "not_allowed"
            assert _stored(client, chat).centre_id.bytes == a.centre_id
