"""Conversations that outlive a member who must go or misbehaves, with the visitor's page in a
real browser and the staff played from Python (the `crypto` package over the websocket), so
every commit the page makes is checked by the other implementation.

- A counsellor is deactivated mid-chat: the server pushes `rekey_needed`, the visitor's page
  re-keys without her, and the conversation goes on with the counsellor who remains.
- An interpreter's client sends a correctly signed message that does not decrypt: the page
  shows "A message could not be read." in its place and the visitor and counsellor keep talking.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx  # the one HTTP client (Starlette's TestClient uses it too)
import pytest
from playwright.sync_api import expect

from crypto import ContentType, Conversation, encode_add_proposal
from crypto import primitives as p
from crypto.keyschedule import signature_input
from tests.browser.pages import WAIT, assert_accessible, conversation_id, mine, send, start_chat, theirs
from tests.chat_helpers import PASSWORD, Centre, Socket, b64, build_centre, live_socket, staff_view, unb64
from tests.live_server import LiveServer


@pytest.fixture(scope="module")
def centre(live_server: LiveServer) -> Iterator[Centre]:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        yield build_centre(
            http,
            live_server.url,
            lambda: live_server.create_admin("admin", PASSWORD),
            {"anna": "counsellor", "bodil": "counsellor", "cleo": "counsellor", "ivan": "interpreter"},
        )


class Staff:
    """A staff member's client: the Python protocol implementation over a real websocket."""

    def __init__(self, socket: Socket, centre: Centre, name: str) -> None:
        self.socket = socket
        self.centre = centre
        self.name = name
        self.conversation: Conversation | None = None
        self.id = ""
        self.texts: list[str] = []
        self.commits: list[Any] = []  # (frame, received) of every commit read
        self.frames: list[dict[str, Any]] = []  # every message frame read
        self.refs = 0

    def follow(self, conversation: str) -> None:
        self.id = conversation
        self.socket.send({"type": "sync", "conversation": conversation, "after": -1, "ref": "sync"})
        self.socket.until("synced", ref="sync")
        genesis = self.socket.until("message", conversation=conversation)
        self.conversation = staff_view(self.centre, self.name, unb64(genesis["message"]))

    def read(self) -> Any:
        """The next stored message, applied."""
        assert self.conversation is not None
        frame = self.socket.until("message", conversation=self.id)
        self.frames.append(frame)
        received = self.conversation.receive(unb64(frame["message"]))
        if received.kind == "application" and received.content_type == ContentType.TEXT and received.body:
            self.texts.append(received.body.decode())
        if received.kind == "commit":
            self.commits.append((frame, received))
        return received

    def read_until(self, done: Any) -> None:
        while not done():
            self.read()

    def store(self, kind: str, message: bytes, **extra: Any) -> int:
        """Send at the head; returns the seq once our own echo has been applied."""
        assert self.conversation is not None
        self.refs += 1
        ref = f"{self.name}{self.refs}"
        frame = {"type": kind, "conversation": self.id, "client_id": str(uuid.uuid4()), "ref": ref}
        self.socket.send({**frame, "message": b64(message), **extra})
        seq = int(self.socket.until("ack", ref=ref)["seq"])
        self.read_until(lambda: self.conversation is not None and self.conversation.next_seq > seq)
        return seq

    def take(self, page: Any, conversation: str) -> None:
        """Follow and claim the page's conversation; the page says who answers."""
        self.follow(conversation)
        assert self.conversation is not None
        self.store("claim", self.conversation.claim())
        name = self.name.title()
        page.locator("#chat-status", has_text=f"You are talking to {name}.").wait_for(timeout=WAIT)

    def say(self, words: str) -> int:
        assert self.conversation is not None
        return self.store("send", self.conversation.encrypt(ContentType.TEXT, words.encode()))


@contextlib.contextmanager
def staff(live_server: LiveServer, centre: Centre, name: str) -> Iterator[Staff]:
    with contextlib.ExitStack() as stack:
        socket = live_socket(stack, live_server.url, centre.staff[name].person.cookie_header())
        yield Staff(socket, centre, name)


def admin_form(centre: Centre, path: str) -> None:
    answer = centre.admin.form(path, {}, token_from="/staff/admin/staff")
    assert answer.status_code == 303


def test_a_counsellor_deactivated_mid_chat_the_page_re_keys_and_goes_on(
    page: Any, live_server: LiveServer, centre: Centre
) -> None:
    anna_id = centre.staff["anna"].account_id
    marker = uuid.uuid4().hex[:8]
    start_chat(page, live_server)
    chat = conversation_id(page)
    try:
        with staff(live_server, centre, "anna") as anna, staff(live_server, centre, "bodil") as bodil:
            anna.take(page, chat)
            assert anna.conversation is not None
            bodil_cert = centre.staff["bodil"].certificate
            assert bodil_cert is not None
            to = centre.staff["bodil"].account_id.hex
            anna.store("transfer", anna.conversation.add_member(bodil_cert), to=to)  # a team of two
            bodil.follow(chat)
            bodil.read_until(lambda: bodil.conversation is not None and bodil.conversation.can_read)
            before = f"before {marker}"
            send(page, before)
            bodil.read_until(lambda: before in bodil.texts)

            admin_form(centre, f"/staff/admin/staff/{anna_id}/deactivate")
            # The page's chat core re-keys without her; Bodil reads the commit.
            bodil.read_until(lambda: any(anna_id.bytes in r.removed for _, r in bodil.commits))
            frame, commit = next((f, r) for f, r in bodil.commits if anna_id.bytes in r.removed)
            assert bodil.conversation is not None
            assert commit.sender_id == bodil.conversation.visitor_id  # made by the visitor's page
            after = f"after {marker}"
            bodil.say(after)
            theirs(page, after).wait_for(timeout=WAIT)
            still = f"still going {marker}"
            send(page, still)
            mine(page, still).locator(".receipt", has_text="Sent").wait_for(timeout=WAIT)
            bodil.read_until(lambda: still in bodil.texts)
            expect(page.locator("#chat-error")).to_be_hidden()
            assert_accessible(page, "the chat after a re-key without a deactivated counsellor")
        # Her copy of the conversation gets no key for the new epoch.
        assert anna.conversation is not None
        for seen in bodil.frames:  # her socket is closed: what she would have been sent
            if anna.conversation.next_seq == seen["seq"] <= frame["seq"]:
                anna.conversation.receive(unb64(seen["message"]))
        assert not anna.conversation.is_member
        assert not anna.conversation.can_read
    finally:
        admin_form(centre, f"/staff/admin/staff/{anna_id}/reactivate")  # the module's other tests


def test_an_interpreter_sending_signed_garbage_does_not_stop_the_chat(
    page: Any, live_server: LiveServer, centre: Centre
) -> None:
    marker = uuid.uuid4().hex[:8]
    start_chat(page, live_server)
    chat = conversation_id(page)
    with staff(live_server, centre, "cleo") as cleo, staff(live_server, centre, "ivan") as ivan:
        cleo.take(page, chat)
        assert cleo.conversation is not None
        ivan_cert = centre.staff["ivan"].certificate
        assert ivan_cert is not None
        cleo.store("send", cleo.conversation.encrypt(ContentType.PROPOSAL, encode_add_proposal(ivan_cert)))
        page.locator("#consent").wait_for(timeout=WAIT)
        page.click("#consent-yes")
        page.locator(
            "#messages .system", has_text="Ivan (interpreter) has joined the conversation."
        ).wait_for(timeout=WAIT)
        ivan.follow(chat)
        ivan.read_until(lambda: ivan.conversation is not None and ivan.conversation.can_read)
        # Ivan's client sends garbage: a real message with its ciphertext changed, signed again.
        member = centre.staff["ivan"].identity
        assert member is not None
        assert ivan.conversation is not None
        good = ivan.conversation.encrypt(ContentType.TEXT, f"hidden {marker}".encode())
        tbs = bytearray(good[:-64])
        tbs[-1] ^= 1
        garbage = bytes(tbs) + p.ed25519_sign(member.sig_private, signature_input("application", bytes(tbs)))
        ivan.store("send", garbage)
        page.locator("#messages .system.unreadable", has_text="A message could not be read.").wait_for(
            timeout=WAIT
        )
        assert_accessible(page, "a message that could not be read")
        from_visitor = f"still talking {marker}"
        send(page, from_visitor)
        cleo.read_until(lambda: from_visitor in cleo.texts)
        from_cleo = f"me too {marker}"
        cleo.say(from_cleo)
        theirs(page, from_cleo).wait_for(timeout=WAIT)
        expect(page.locator("#chat-error")).to_be_hidden()
        expect(page.locator("#messages li", has_text=f"hidden {marker}")).to_have_count(0)
