"""What the server refuses before storing (PROTOCOL.md §11), and revocation that re-keys (§8.5),
through the real websocket and HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from typing import Any

import pytest

from crypto import MAX_CLOCK_SKEW, Role, generate_resume_code, sign_directory, verify_directory
from crypto import testing as crypto_testing
from crypto.certificates import Directory, parse_certificate
from server.services import conversations, rekey
from tests.chat_helpers import (
    Centre,
    Person,
    Socket,
    VisitorChat,
    b64,
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


def commit_frame(
    chat: VisitorChat, message: bytes, ref: str, kind: str = "commit", **extra: Any
) -> dict[str, Any]:
    return {
        "type": kind,
        "conversation": chat.id.hex,
        "client_id": str(uuid.uuid4()),
        "message": b64(message),
        "ref": ref,
        **extra,
    }


def directory_now(centre: Centre, without: frozenset[str] = frozenset()) -> Directory:
    """The current directory as a client verifies it, less the certificates of `without`
    (what a client does with the members a `rekey_needed` frame names)."""
    directory = verify_directory(centre.directory, centre.anchors, int(time.time()))
    gone = {centre.staff[name].account_id.bytes for name in without}
    return dataclasses.replace(
        directory, certificates=tuple(c for c in directory.certificates if c.staff_id not in gone)
    )


def republish_without(centre: Centre, name: str) -> None:
    """`name` makes new keys (the server drops their certificate) and the admin publishes a
    directory without them: their old certificate is no longer listed."""
    member = centre.staff[name]
    centre.give_keys(member, Role.COUNSELLOR)
    member.certificate = None
    member.identity = None  # so Centre.publish does not certify the new key
    now = int(time.time())
    centre.serial += 1
    listed = [m.certificate for m in centre.staff.values() if m.certificate is not None]
    centre.directory = sign_directory(
        centre.admin_key, centre.centre_id, centre.serial, now - 60, now + 86_400, listed
    )
    answer = centre.admin.api(
        "POST", "/api/admin/directory", {"certificates": {}, "directory": b64(centre.directory)}
    )
    assert answer.status_code == 204, answer.text


def deactivate(centre: Centre, name: str) -> None:
    account = centre.staff[name].account_id
    answer = centre.admin.form(
        f"/staff/admin/staff/{account}/deactivate", {}, token_from="/staff/admin/staff"
    )
    assert answer.status_code == 303


def rekey_mark(client: Client, chat: VisitorChat) -> Any:
    conversation = client.run(conversations.get, client.res, chat.id)
    assert conversation is not None
    return conversation.rekey_needed_at


# --- issue 14: the server verifies every stored message ------------------------------------------


def test_a_message_with_a_bad_signature_is_refused(client: Client, centre: Centre, chat: VisitorChat) -> None:
    with visitor_socket(client) as raw:
        visitor = Socket(raw)
        hello(visitor, chat)
        good = text(chat.conversation, "signed by me")
        forged = good[:-1] + bytes([good[-1] ^ 1])
        visitor.send(send_frame(chat, forged, ref="bad"))
        assert visitor.until("error", ref="bad")["code"] == "bad_signature"
        assert stored_count(client, chat.id) == 1
        visitor.send(send_frame(chat, good, ref="good"))
        assert visitor.until("ack", ref="good")["seq"] == 1


def test_a_genesis_badly_signed_or_dated_is_refused(client: Client, centre: Centre) -> None:
    now = int(time.time())
    for name, when, tamper, code in (
        ("forged", now, True, "bad_signature"),
        ("future", now + 3600, False, "bad_time"),
    ):
        code_text = generate_resume_code()
        keys = crypto_testing.derive_resume_keys_with_iterations(code_text, centre.centre_id, 1000)
        created = crypto_testing.create_conversation_with(
            centre.directory, centre.anchors, when, keys, os.urandom
        )
        genesis = created.genesis[:-1] + bytes([created.genesis[-1] ^ 1]) if tamper else created.genesis
        body = {
            "conversation": created.conversation.conversation_id.hex(),
            "lookup": keys.lookup_id.hex(),
            "verifier": b64(keys.access_verifier),
            "state": b64(created.visitor_state or b""),
            "genesis": b64(genesis),
            "language": "en",
        }
        client.cookies.clear()
        answer = client.post("/api/visitor/conversations", json=body, headers={"origin": BASE_URL})
        assert (name, answer.status_code) == (name, 400), answer.text
        assert code in answer.text


def test_a_forged_commit_signature_is_refused(client: Client, centre: Centre, chat: VisitorChat) -> None:
    anna = staff_view(centre, "anna", chat.genesis)
    claim = anna.claim()
    with staff_socket(client, centre, "anna") as raw:
        counsellor = Socket(raw)
        counsellor.send(commit_frame(chat, claim[:-1] + bytes([claim[-1] ^ 1]), "bad", kind="claim"))
        assert counsellor.until("error", ref="bad")["code"] == "bad_signature"
        counsellor.send(commit_frame(chat, claim, "good", kind="claim"))
        assert counsellor.until("ack", ref="good")["seq"] == 1


def test_commits_dated_away_from_the_server_clock_are_refused(
    client: Client, centre: Centre, chat: VisitorChat
) -> None:
    anna = staff_view(centre, "anna", chat.genesis)
    now = int(time.time())
    with staff_socket(client, centre, "anna") as raw:
        counsellor = Socket(raw)
        # (A client raises its clock to the current epoch's time, never below: the server's bound
        # is what stops a commit dated ahead, or behind a clock that is wrong.)
        for ref, when in (("future", now + 3600), ("ahead", now + MAX_CLOCK_SKEW + 60)):
            counsellor.send(commit_frame(chat, anna.claim(when), ref, kind="claim"))
            assert counsellor.until("error", ref=ref)["code"] == "bad_time"
        assert stored_count(client, chat.id) == 1
        counsellor.send(commit_frame(chat, anna.claim(), "now", kind="claim"))
        assert counsellor.until("ack", ref="now")["seq"] == 1


def test_a_staff_member_no_longer_listed_stores_nothing_and_the_queue_is_rewrapped(
    client: Client, centre: Centre, chat: VisitorChat
) -> None:
    bodil = staff_view(centre, "bodil", chat.genesis)
    claim = bodil.claim()
    with visitor_socket(client) as v_raw:
        visitor = Socket(v_raw)
        hello(visitor, chat)
        visitor.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "sync"})
        visitor.until("synced", ref="sync")
        republish_without(centre, "bodil")
        bodil_id = centre.staff["bodil"].account_id.bytes.hex()
        needed = visitor.until("rekey_needed", conversation=chat.id.hex)
        assert needed["members"] == [bodil_id]
        assert needed["action"] == "requeue"
        assert rekey_mark(client, chat) is not None
        with staff_socket(client, centre, "bodil") as b_raw:
            Socket(b_raw).send(commit_frame(chat, claim, "late", kind="claim"))
            assert Socket(b_raw).until("error", ref="late")["code"] == "revoked"
        # A requeue that keeps her is refused (her account has no certified key any more: the
        # server cannot place her); one without her is stored and clears the mark.
        keeping = chat.conversation.requeue(_with_old(centre, chat))
        visitor.send(commit_frame(chat, keeping, "keeping"))
        assert visitor.until("error", ref="keeping")["code"] == "bad_message"
        visitor.send(commit_frame(chat, chat.conversation.requeue(directory_now(centre)), "requeue"))
        assert visitor.until("ack", ref="requeue")["seq"] == 1
        commit = chat.conversation.receive(unb64(visitor.messages(chat.id, 1)[0]["message"]))
        assert centre.staff["bodil"].account_id.bytes in commit.removed
        assert rekey_mark(client, chat) is None
    with staff_socket(client, centre, "bodil") as b_raw:
        Socket(b_raw).send({"type": "sync", "conversation": chat.id.hex, "after": -1, "ref": "gone"})
        assert Socket(b_raw).until("error", ref="gone")["code"] == "forbidden"
    # Anna, still listed, claims it from the new queue epoch.
    anna = staff_view(centre, "anna", chat.genesis)
    with staff_socket(client, centre, "anna") as a_raw:
        a = Socket(a_raw)
        a.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        receive_all(anna, a.messages(chat.id, 1))
        assert anna.can_read
        a.send(claim_frame(anna, chat, "claim"))
        assert a.until("ack", ref="claim")["seq"] == 2


def _with_old(centre: Centre, chat: VisitorChat) -> Directory:
    """A directory as it was before: still listing bodil's old certificate (which the server
    no longer accepts)."""
    old = chat.conversation.members
    directory = directory_now(centre)
    certificates = {c.raw: c for c in directory.certificates}
    for member in old:
        if member.certificate is not None and member.certificate not in certificates:
            certificates[member.certificate] = parse_certificate(member.certificate)
    ordered = tuple(sorted(certificates.values(), key=lambda c: c.staff_id))
    return dataclasses.replace(directory, certificates=ordered)


def _team(client: Client, centre: Centre, chat: VisitorChat) -> tuple[Any, Any]:
    """Anna claims and hands over to Bodil, who keeps her: the visitor, Anna and Bodil."""
    anna = staff_view(centre, "anna", chat.genesis)
    with staff_socket(client, centre, "anna") as raw:
        a = Socket(raw)
        a.send(claim_frame(anna, chat))
        a.until("ack", ref="c")
        a.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        receive_all(anna, a.messages(chat.id, 1))
        bodil_cert = centre.staff["bodil"].certificate
        assert bodil_cert is not None
        to = centre.staff["bodil"].account_id.hex
        a.send(commit_frame(chat, anna.add_member(bodil_cert), "t", kind="transfer", to=to))
        assert a.until("ack", ref="t")["seq"] == 2
        receive_all(anna, a.messages(chat.id, 1))
    bodil = staff_view(centre, "bodil", chat.genesis)
    return anna, bodil


# --- issue 12: revocation that re-keys ----------------------------------------------------------


def test_deactivation_marks_the_conversation_and_the_visitor_re_keys_without_them(
    client: Client, centre: Centre, chat: VisitorChat
) -> None:
    anna, bodil = _team(client, centre, chat)
    anna_id = centre.staff["anna"].account_id
    with visitor_socket(client) as v_raw, staff_socket(client, centre, "bodil") as b_raw:
        visitor, b = Socket(v_raw), Socket(b_raw)
        hello(visitor, chat)
        visitor.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        receive_all(chat.conversation, visitor.messages(chat.id, 2))
        b.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        receive_all(bodil, b.messages(chat.id, 2))
        deactivate(centre, "anna")
        for socket in (visitor, b):
            needed = socket.until("rekey_needed", conversation=chat.id.hex)
            assert needed == {
                "type": "rekey_needed",
                "conversation": chat.id.hex,
                "members": [anna_id.bytes.hex()],
                "renewed": [],
                "action": "rekey",
            }
        # The directory still lists her (nobody has published since): a re-key that keeps her
        # is refused, the one the client makes without the members the frame names is stored.
        visitor.send(commit_frame(chat, chat.conversation.rekey(directory_now(centre)), "keeping"))
        assert visitor.until("error", ref="keeping")["code"] == "bad_certificate"
        visitor.send(
            commit_frame(chat, chat.conversation.rekey(directory_now(centre, frozenset({"anna"}))), "rekey")
        )
        assert visitor.until("ack", ref="rekey")["seq"] == 3
        frame = visitor.messages(chat.id, 1)[0]
        commit = chat.conversation.receive(unb64(frame["message"]))
        assert list(commit.removed) == [anna_id.bytes]
        assert rekey_mark(client, chat) is None
        receive_all(bodil, b.messages(chat.id, 1))
        b.send(send_frame(chat, text(bodil, "still here"), ref="b1"))
        assert b.until("ack", ref="b1")["seq"] == 4
        said = visitor.messages(chat.id, 1)
        assert receive_all(chat.conversation, said) == ["still here"]
    # The new epoch was not wrapped to her: her copy cannot read it.
    anna.receive(unb64(frame["message"]))
    assert not anna.is_member
    assert not anna.can_read
    # Even let in again, the server gives her nothing more of this conversation.
    answer = centre.admin.form(
        f"/staff/admin/staff/{anna_id}/reactivate", {}, token_from="/staff/admin/staff"
    )
    assert answer.status_code == 303
    client.cookies.clear()
    again = Person(client, BASE_URL)
    again.login("anna")
    centre.staff["anna"].person = again
    with staff_socket(client, centre, "anna") as a_raw:
        a = Socket(a_raw)
        a.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "after"})
        assert a.until("error", ref="after")["code"] == "forbidden"
        a.send(send_frame(chat, b"\x02" * 200, ref="write"))
        assert a.until("error", ref="write")["code"] == "forbidden"


def test_when_the_counsellor_must_go_the_conversation_goes_back_to_the_queue(
    client: Client, centre: Centre, chat: VisitorChat
) -> None:
    anna = staff_view(centre, "anna", chat.genesis)
    with staff_socket(client, centre, "anna") as raw:
        Socket(raw).send(claim_frame(anna, chat))
        Socket(raw).until("ack", ref="c")
    deactivate(centre, "anna")
    assert rekey_mark(client, chat) is not None
    with visitor_socket(client) as v_raw:
        visitor = Socket(v_raw)
        hello(visitor, chat)
        # A client that comes online later hears it when it syncs.
        visitor.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        needed = visitor.until("rekey_needed", conversation=chat.id.hex)
        assert needed["action"] == "requeue"
        chat.conversation.receive(unb64(visitor.messages(chat.id, 1)[0]["message"]))
        requeue = chat.conversation.requeue(directory_now(centre, frozenset({"anna"})))
        visitor.send(commit_frame(chat, requeue, "requeue"))
        assert visitor.until("ack", ref="requeue")["seq"] == 2
    stored = client.run(conversations.get, client.res, chat.id)
    assert stored is not None
    assert (stored.status, stored.counsellor_id, stored.rekey_needed_at) == ("queued", None, None)
    bodil = staff_view(centre, "bodil", chat.genesis)
    with staff_socket(client, centre, "bodil") as b_raw:
        b = Socket(b_raw)
        b.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        receive_all(bodil, b.messages(chat.id, 2))
        b.send(claim_frame(bodil, chat, "claim"))
        assert b.until("ack", ref="claim")["seq"] == 3


def test_a_counsellor_who_must_go_can_neither_read_nor_close_nor_offer_a_move(
    client: Client, centre: Centre, chat: VisitorChat
) -> None:
    """Unlisted but still active and logged in: on the socket she had open and on a new one,
    `sync` gives her nothing more and she cannot end or hand on the visitor's chat (`revoked`)."""
    anna = staff_view(centre, "anna", chat.genesis)
    with staff_socket(client, centre, "anna") as raw:
        a = Socket(raw)
        a.send(claim_frame(anna, chat))
        a.until("ack", ref="c")
        a.send({"type": "sync", "conversation": chat.id.hex, "after": 0, "ref": "before"})
        a.until("synced", ref="before")
        republish_without(centre, "anna")
        a.send({"type": "close", "conversation": chat.id.hex, "outcome": "other", "ref": "x"})
        assert a.until("error", ref="x")["code"] == "revoked"
        a.send({"type": "offer_move", "conversation": chat.id.hex, "centre": "elsewhere", "ref": "m"})
        assert a.until("error", ref="m")["code"] == "revoked"
        a.send({"type": "sync", "conversation": chat.id.hex, "after": -1, "ref": "s"})
        assert a.until("error", ref="s")["code"] == "revoked"
    with staff_socket(client, centre, "anna") as raw:
        a = Socket(raw)
        a.send({"type": "sync", "conversation": chat.id.hex, "after": -1, "ref": "s2"})
        assert a.until("error", ref="s2")["code"] == "revoked"
        a.send({"type": "close", "conversation": chat.id.hex, "outcome": "other", "ref": "x2"})
        assert a.until("error", ref="x2")["code"] in ("revoked", "forbidden")
    stored = client.run(conversations.get, client.res, chat.id)
    assert stored is not None
    assert stored.status == "active"
    assert stored.rekey_needed_at is not None


def test_a_requeue_must_list_exactly_the_counsellors_certified_now(
    client: Client, centre: Centre, chat: VisitorChat
) -> None:
    """A queued conversation's re-wrap cannot quietly leave out a counsellor (a stealth claim)."""
    anna_cert = centre.staff["anna"].certificate
    assert anna_cert is not None
    with visitor_socket(client) as v_raw:
        visitor = Socket(v_raw)
        hello(visitor, chat)
        visitor.send(commit_frame(chat, chat.conversation.commit([anna_cert]), "narrow"))
        assert visitor.until("error", ref="narrow")["code"] == "not_allowed"
        visitor.send(commit_frame(chat, chat.conversation.requeue(directory_now(centre)), "full"))
        assert visitor.until("ack", ref="full")["seq"] == 1


def test_a_member_certified_anew_is_renewed_not_removed(
    client: Client, centre: Centre, chat: VisitorChat
) -> None:
    """Bodil makes new keys and the admin certifies them: the re-key replaces her entry by her
    new certificate (§8.5 renew), and she reads on with her new keys."""
    _team(client, centre, chat)
    bodil = centre.staff["bodil"]
    old_identity = bodil.identity
    with visitor_socket(client) as v_raw:
        visitor = Socket(v_raw)
        hello(visitor, chat)
        visitor.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        receive_all(chat.conversation, visitor.messages(chat.id, 2))
        centre.give_keys(bodil, Role.COUNSELLOR)
        bodil.certificate = None
        centre.publish()  # certifies her new key, lists the new certificate
        needed = visitor.until("rekey_needed", conversation=chat.id.hex)
        bodil_hex = bodil.account_id.bytes.hex()
        assert (needed["members"], needed["renewed"], needed["action"]) == ([bodil_hex], [bodil_hex], "rekey")
        visitor.send(commit_frame(chat, chat.conversation.rekey(directory_now(centre)), "renew"))
        assert visitor.until("ack", ref="renew")["seq"] == 3
        commit = chat.conversation.receive(unb64(visitor.messages(chat.id, 1)[0]["message"]))
        assert bodil.account_id.bytes in commit.added
        assert rekey_mark(client, chat) is None
        visitor.send(send_frame(chat, text(chat.conversation, "with your new keys"), ref="v"))
        visitor.until("ack", ref="v")
    assert old_identity is not None
    renewed = staff_view(centre, "bodil", chat.genesis)  # her new identity
    with staff_socket(client, centre, "bodil") as b_raw:
        b = Socket(b_raw)
        b.send({"type": "sync", "conversation": chat.id.hex, "after": 0})
        assert receive_all(renewed, b.messages(chat.id, 4)) == ["with your new keys"]


def test_an_expired_certificate_makes_its_member_go(
    client: Client, centre: Centre, chat: VisitorChat
) -> None:
    """Judged at a time the committer cannot choose: the server's clock (here: a year on, when
    the certificates the centre made have expired)."""

    async def leaving(when: int) -> tuple[bytes, ...]:
        async with client.res.db() as db:
            directory = await rekey.current_directory(db)
            return await rekey.must_go(db, chat.id, directory, when)

    now = int(time.time())
    assert client.run(leaving, now) == ()
    staff = {centre.staff[name].account_id.bytes for name in ("anna", "bodil")}
    assert set(client.run(leaving, now + 400 * 86_400)) == staff
