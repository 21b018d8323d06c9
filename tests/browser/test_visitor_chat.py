"""The visitor's chat in a real browser, with a counsellor played from Python over the websocket.

The centre is set up through the live server's HTTP API (tests/chat_helpers.py over httpx);
the counsellor is the `crypto` package behind a `websockets` client, so every byte the page
sends is checked by the other implementation.  Every request body and websocket frame the page
sends or receives is captured, and the plaintext typed must never appear in any of them, in
the SQLite file, or in the server log.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx  # the one HTTP client (Starlette's TestClient uses it too)
import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

from crypto import ContentType, Conversation
from tests.browser.pages import (
    Wire,
    assert_accessible,
    assert_never_in_clear,
    conversation_id,
    leave_quickly,
    mine,
    send,
    start_chat,
    tab_to,
    theirs,
)
from tests.browser.staff_helpers import LiveVisitor
from tests.chat_helpers import PASSWORD, Centre, Socket, b64, build_centre, staff_view, text, unb64
from tests.live_server import LiveServer

SECRET = "kanarifugl-{}"
WAIT = 30_000  # each test's plaintext carries this marker


@pytest.fixture(scope="module")
def centre(live_server: LiveServer) -> Iterator[Centre]:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        yield build_centre(
            http,
            live_server.url,
            lambda: live_server.create_admin("admin", PASSWORD),
            {"anna": "counsellor", "bodil": "counsellor"},
        )


class _Raw:
    """The websockets client with the method names tests/chat_helpers.Socket expects."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection

    def send_text(self, data: str) -> None:
        self.connection.send(data)

    def receive_text(self) -> str:
        data = self.connection.recv(timeout=20)
        return data if isinstance(data, str) else data.decode()


class Counsellor:
    """A counsellor's client: the Python protocol implementation over a real websocket."""

    def __init__(self, connection: Any, centre: Centre, name: str) -> None:
        self.centre = centre
        self.name = name
        member = centre.staff[name]
        self.socket = Socket(_Raw(connection))
        self.conversation: Conversation | None = None
        self.conversation_id = ""
        self.member_id = member.account_id.hex
        self.texts: list[str] = []
        self.data: list[Any] = []

    def follow(self, conversation_id: str) -> None:
        """Sync the conversation from the start and open it from its genesis."""
        self.conversation_id = conversation_id
        self.socket.send({"type": "sync", "conversation": conversation_id, "after": -1, "ref": "sync"})
        self.socket.until("synced", ref="sync")
        genesis = self.socket.until("message", conversation=conversation_id)
        assert genesis["seq"] == 0
        self.conversation = staff_view(self.centre, self.name, unb64(genesis["message"]))

    def next_message(self) -> dict[str, Any]:
        """Receive the next stored message; returns the frame (texts are collected)."""
        assert self.conversation is not None
        frame = self.socket.until("message", conversation=self.conversation_id)
        received = self.conversation.receive(unb64(frame["message"]))
        if received.content_type == ContentType.TEXT and received.body is not None:
            self.texts.append(received.body.decode())
        if received.content_type == ContentType.APP_JSON and received.body is not None:
            self.data.append(json.loads(received.body))
        return frame

    def read_until(self, words: str) -> None:
        while words not in self.texts:
            self.next_message()

    def claim(self) -> None:
        assert self.conversation is not None
        self.socket.send(
            {
                "type": "claim",
                "conversation": self.conversation_id,
                "client_id": str(uuid.uuid4()),
                "message": b64(self.conversation.claim()),
                "ref": "claim",
            }
        )
        seq = self.socket.until("ack", ref="claim")["seq"]
        while self.conversation.next_seq <= seq:
            self.next_message()

    def say(self, words: str) -> int:
        assert self.conversation is not None
        ref = f"say-{len(self.texts)}"
        self.socket.send(
            {
                "type": "send",
                "conversation": self.conversation_id,
                "client_id": str(uuid.uuid4()),
                "message": b64(text(self.conversation, words)),
                "ref": ref,
            }
        )
        seq = int(self.socket.until("ack", ref=ref)["seq"])
        while self.conversation.next_seq <= seq:
            self.next_message()
        return seq

    def typing(self) -> None:
        self.socket.send({"type": "typing", "conversation": self.conversation_id})

    def receipt(self, delivered: int, read: int) -> None:
        self.socket.send(
            {"type": "receipt", "conversation": self.conversation_id, "delivered": delivered, "read": read}
        )

    def status(self, wanted: str) -> dict[str, Any]:
        return self.socket.until("conversation", conversation=self.conversation_id, status=wanted)


@contextlib.contextmanager
def counsellor(live_server: LiveServer, centre: Centre, name: str) -> Iterator[Counsellor]:
    """A counsellor connected over a websocket with their session cookie."""
    cookie = centre.staff[name].person.cookie_header()
    with connect(
        live_server.url.replace("http", "ws", 1) + "/ws",
        origin=live_server.url,
        additional_headers={"Cookie": cookie},
        compression=None,
    ) as connection:
        yield Counsellor(connection, centre, name)


@pytest.fixture
def wire(page: Any) -> Wire:
    captured = Wire()
    captured.watch(page)
    return captured


@pytest.fixture
def secret() -> str:
    return SECRET.format(uuid.uuid4().hex[:8])


def test_start_wait_claim_talk_and_reload(
    page: Any, browser_context: Any, live_server: LiveServer, centre: Centre, wire: Wire, secret: str
) -> None:
    browser_context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(live_server.url + "/en/")
    page.click("#start-chat")
    page.wait_for_selector("#view-start:not([hidden]) #start:not([disabled])")
    assert_accessible(page, "the chat's start")
    page.click("#start")
    page.wait_for_selector("#view-code:not([hidden])", timeout=30_000)
    code = page.inner_text("#resume-code")
    page.click("#copy-code")
    expect(page.locator("#copy-status")).to_have_text("Copied.")
    assert_accessible(page, "the resume code")
    assert page.evaluate("navigator.clipboard.readText()") == code
    assert page.is_disabled("#continue")
    page.check("#written-down")
    page.click("#continue")
    page.wait_for_selector("#view-chat:not([hidden])")
    # The code is shown once: it is no longer anywhere in the page, and not kept in storage.
    assert code not in page.content()
    stored = page.evaluate("sessionStorage.getItem('trygg.visitor')")
    assert code not in stored
    assert code.replace("-", "") not in stored
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == []
    # Waiting: place in the queue and an honest estimate (or the honest absence of one).
    status = page.locator("#chat-status")
    status.get_by_text(re.compile(r"You are number \d+ in the queue\.")).wait_for()
    assert re.search(
        r"We cannot estimate the wait right now\.|Estimated wait: about (1 minute|\d+ minutes)\.",
        status.inner_text(),
    )
    assert_accessible(page, "waiting")

    opening = f"{secret} I do not know where to start"
    send(page, opening)
    mine(page, opening).locator(".receipt", has_text="Sent").wait_for()

    with counsellor(live_server, centre, "anna") as anna:
        anna.follow(conversation_id(page))
        anna.read_until(opening)
        anna.claim()
        status.get_by_text("You are talking to Anna.").wait_for()
        member = page.locator("#counsellors .member")
        # Until her claim is read, everyone the conversation was opened to is listed (they can read).
        expect(member).to_have_count(1, timeout=WAIT)
        assert member.locator(".member-name").inner_text() == "Anna"
        identity = centre.staff["anna"].identity
        assert identity is not None
        from crypto import fingerprint

        full = fingerprint(identity.member_id, identity.sig_public, identity.kem_public)
        assert member.locator(".fingerprint").text_content() == full
        assert " ".join(full.split()[:2]) in member.locator("summary").inner_text()

        anna.typing()
        page.locator("#typing", has_text="Anna is writing…").wait_for()
        assert_accessible(page, "talking, someone writing")
        reply = f"{secret} Hi, I am Anna. Take your time."
        reply_seq = anna.say(reply)
        theirs(page, reply).wait_for()
        assert page.inner_text("#typing") == ""
        # A screen reader hears it: the message lands in the live region, with who wrote it.
        expect(page.locator("#announcer[aria-live=polite]")).to_contain_text(f"Anna: {reply}")
        # The visitor's page reports what it received and read.
        seen = anna.socket.until("receipt", read=reply_seq)
        assert seen["delivered"] == reply_seq
        assert seen["member"] != anna.member_id
        # The counsellor's receipts show on the visitor's own message: delivered, then read.
        opening_seq = int(mine(page, opening).get_attribute("data-seq") or "0")
        anna.receipt(opening_seq, opening_seq - 1)
        mine(page, opening).locator(".receipt", has_text="Delivered").wait_for()
        anna.receipt(reply_seq, reply_seq)
        mine(page, opening).locator(".receipt", has_text="Read").wait_for()
        assert_accessible(page, "talking")

        # The visitor's typing reaches the counsellor (without any of the words).
        second = f"{secret} thank you"
        page.locator("#message-text").press_sequentially(second[:5])
        assert anna.socket.until("typing")["member"] == "visitor"
        send(page, second)
        anna.read_until(second)

        # Closing the tab's page and coming back (a reload): the same conversation, whole history.
        page.reload()
        page.wait_for_selector("#view-chat:not([hidden])")
        for words in (opening, second):
            mine(page, words).wait_for()
        theirs(page, reply).wait_for()
        assert page.locator("#messages li.message").count() == 3
        third = f"{secret} after the reload"
        send(page, third)
        anna.read_until(third)
        anna.say(f"{secret} still here")
        theirs(page, f"{secret} still here").wait_for()
        # After the reload only what is new is read out, not the history the page caught up on.
        expect(page.locator("#announcer")).to_have_text(f"Anna: {secret} still here")
        assert anna.texts.count(third) == 1
    assert page.locator("#quick-exit").is_visible()
    assert_never_in_clear(live_server, wire, secret)


def test_the_chat_with_the_keyboard_only(
    page: Any, live_server: LiveServer, centre: Centre, secret: str
) -> None:
    """From the front page to a conversation and its deletion with Tab, Shift+Tab, Enter and
    Space only, the focus always visible; a new message lands in the live region."""
    page.goto(live_server.url + "/en/")
    tab_to(page, "#quick-exit")  # the first stop: leaving is always one key away
    tab_to(page, "#start-chat")
    page.keyboard.press("Enter")
    page.wait_for_selector("#view-start:not([hidden]) #start:not([disabled])")
    tab_to(page, "#need-interpreter")
    tab_to(page, "#start")
    tab_to(page, "#need-interpreter", back=True)  # Shift+Tab three times or more does not leave
    tab_to(page, "#start")
    page.keyboard.press("Enter")
    page.wait_for_selector("#view-code:not([hidden])", timeout=WAIT)
    assert page.evaluate("document.activeElement.id") == "code-heading", "the new view is announced"
    tab_to(page, "#written-down")
    page.keyboard.press("Space")
    assert page.is_checked("#written-down")
    tab_to(page, "#continue")
    page.keyboard.press("Enter")
    page.wait_for_selector("#view-chat:not([hidden])")
    tab_to(page, "#message-text")
    words = f"{secret} typed without a mouse"
    page.keyboard.type(words)
    page.keyboard.press("Enter")
    mine(page, words).locator(".receipt", has_text="Sent").wait_for(timeout=WAIT)
    assert page.evaluate("document.activeElement.id") == "message-text", "ready for the next message"
    with counsellor(live_server, centre, "anna") as anna:
        anna.follow(conversation_id(page))
        anna.read_until(words)
        anna.claim()
        reply = f"{secret} I am here."
        anna.say(reply)
        expect(page.locator("#announcer")).to_contain_text(f"Anna: {reply}")
        tab_to(page, "#delete")
        page.keyboard.press("Enter")
        page.wait_for_selector("#confirm-delete:not([hidden])")
        assert page.evaluate("document.activeElement.id") == "confirm-heading"
        tab_to(page, "#delete-no")
        page.keyboard.press("Space")
        assert page.is_hidden("#confirm-delete")
        assert page.evaluate("document.activeElement.id") == "delete", "focus goes back where it was"
        page.keyboard.press("Enter")
        page.wait_for_selector("#confirm-delete:not([hidden])")
        tab_to(page, "#delete-yes")
        page.keyboard.press("Enter")
        page.wait_for_selector("#view-gone:not([hidden])", timeout=WAIT)
        anna.status("deleted")
    assert page.evaluate("document.activeElement.id") == "gone-heading"
    assert page.url == live_server.url + "/en/chat", "no key press left the page by accident"


def claimed_chat(page: Any, live_server: LiveServer, anna: Counsellor, secret: str) -> str:
    """A chat started in the page and claimed by the counsellor; returns the resume code."""
    code = start_chat(page, live_server)
    anna.follow(conversation_id(page))
    anna.claim()
    page.locator("#chat-status", has_text="You are talking to Anna.").wait_for()
    return code


def test_the_place_in_the_queue_is_pushed(
    page: Any, http: httpx.Client, live_server: LiveServer, centre: Centre, wire: Wire
) -> None:
    """Needs the server's pushed `standing` frame (the server half of issue 11). The page asks
    once per connection; after that only a push can move it (there is no polling any more)."""
    ahead = LiveVisitor(http, live_server, centre)  # queued before the page's visitor
    start_chat(page, live_server)
    status = page.locator("#chat-status")
    status.get_by_text(re.compile(r"You are number \d+ in the queue\.")).wait_for()
    found = re.search(r"You are number (\d+)", status.inner_text())
    assert found
    position = int(found.group(1))
    assert position >= 2
    with counsellor(live_server, centre, "bodil") as bodil:
        bodil.follow(ahead.id)
        bodil.claim()
    status.get_by_text(f"You are number {position - 1} in the queue.").wait_for(timeout=10_000)
    assert len([r for r in wire.requests if "/api/visitor/queue" in r]) == 1
    assert wire.frames_of("standing")
    ahead.close()


def test_network_loss_delivers_the_unsent_message_exactly_once(
    page: Any, live_server: LiveServer, centre: Centre, wire: Wire, secret: str
) -> None:
    with counsellor(live_server, centre, "anna") as anna:
        claimed_chat(page, live_server, anna, secret)
        page.context.set_offline(True)
        page.locator("#connection", has_text="No connection.").wait_for()
        offline = f"{secret} written while offline"
        send(page, offline)
        pending = page.locator("#outbox li.pending", has_text=offline)
        pending.locator(".receipt", has_text="Waiting for the connection…").wait_for()
        # Meanwhile the counsellor writes: the page must catch up before its message goes.
        anna.say(f"{secret} are you still there?")
        assert anna.texts.count(offline) == 0  # the page is offline: its message is still waiting
        page.context.set_offline(False)
        mine(page, offline).locator(".receipt", has_text="Sent").wait_for(timeout=30_000)
        theirs(page, f"{secret} are you still there?").wait_for()
        assert pending.count() == 0
        anna.read_until(offline)
        assert page.locator("#messages li.message.mine", has_text=offline).count() == 1
        sent_frames = [f for f in wire.frames_of("send")]
        assert len({f["client_id"] for f in sent_frames}) == 1  # one message, one client_id throughout
    # A fresh look at the stored log: the message is there exactly once.
    with counsellor(live_server, centre, "anna") as again:
        again.follow(conversation_id(page))
        while True:
            frame = again.next_message()
            if offline in again.texts:
                break
        again.socket.send({"type": "ping", "ref": "p"})
        again.socket.until("pong", ref="p")
        while any(f.get("type") == "message" for f in again.socket.pending):
            again.next_message()
        assert again.texts.count(offline) == 1
        assert frame["seq"] > 0
    assert_never_in_clear(live_server, wire, secret)


def test_resume_from_another_device_with_the_code(
    page: Any,
    new_page: Any,
    live_server: LiveServer,
    centre: Centre,
    wire: Wire,
    secret: str,
) -> None:
    with counsellor(live_server, centre, "anna") as anna:
        first = f"{secret} first words"
        code = start_chat(page, live_server)
        send(page, first)
        mine(page, first).wait_for()
        anna.follow(conversation_id(page))
        anna.read_until(first)
        anna.claim()
        reply = f"{secret} an answer to read later"
        anna.say(reply)
        theirs(page, reply).wait_for()

        device = new_page()  # another device: a fresh browser profile
        wire.watch(device)
        device.goto(live_server.url + "/en/")
        device.goto(live_server.url + "/en/chat")
        device.click("#have-code")
        device.wait_for_url("**/en/resume")
        expect(device.locator("#resume-submit")).to_be_enabled()
        # A typo (two symbols swapped) is caught in the page, before any network call.
        symbols = code.replace("-", "")
        swap = next(i for i in range(len(symbols) - 1) if symbols[i] != symbols[i + 1])
        typo = symbols[:swap] + symbols[swap + 1] + symbols[swap] + symbols[swap + 2 :]
        before = len(wire.requests)
        device.fill("#code", typo)
        device.click("#resume-submit")
        device.locator("#code-error", has_text="There is a typo in the code.").wait_for()
        device.fill("#code", symbols[:12])
        device.press("#code", "Enter")
        device.locator("#code-error", has_text="A code has 20 letters and digits").wait_for()
        device.fill("#code", symbols[:19] + "U")
        device.press("#code", "Enter")
        device.locator("#code-error", has_text="cannot be in a code").wait_for()
        assert device.get_attribute("#code", "aria-invalid") == "true"
        assert_accessible(device, "resume, a wrong code")
        assert wire.requests[before:] == []
        # The right code, typed in small letters without dashes.
        device.fill("#code", code.lower().replace("-", " "))
        device.click("#resume-submit")
        device.wait_for_url("**/en/chat", timeout=30_000)
        device.wait_for_selector("#view-chat:not([hidden])")
        mine(device, first).wait_for()
        theirs(device, reply).wait_for()
        device.locator("#chat-status", has_text="You are talking to Anna.").wait_for()
        # One history entry: the resume page was replaced by the chat.
        assert device.evaluate("history.length") == 3
        later = f"{secret} written on the other device"
        send(device, later)
        anna.read_until(later)
        mine(page, later).wait_for()  # the first tab sees it too
        assert device.evaluate("localStorage.length") == 0
    assert_never_in_clear(live_server, wire, secret)


def test_end_then_delete_everything(
    page: Any, live_server: LiveServer, centre: Centre, wire: Wire, secret: str
) -> None:
    page.set_viewport_size({"width": 320, "height": 640})
    with counsellor(live_server, centre, "anna") as anna:
        code = claimed_chat(page, live_server, anna, secret)
        words = f"{secret} please delete this later"
        send(page, words)
        anna.read_until(words)
        # Usable at 320 px: nothing wider than the screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        page.click("#end")
        anna.status("closed")
        page.locator("#chat-status", has_text="This conversation has ended.").wait_for()
        assert page.is_disabled("#message-text")
        assert page.locator("#end").is_hidden()
        mine(page, words).wait_for()  # still readable
        assert_accessible(page, "ended")
        # Delete asks first, and can be cancelled.
        page.click("#delete")
        page.locator("#confirm-delete", has_text="It cannot be undone").wait_for()
        assert_accessible(page, "asked to confirm the deletion")
        page.click("#delete-no")
        assert page.locator("#confirm-delete").is_hidden()
        page.click("#delete")
        page.click("#delete-yes")
        page.locator("#view-gone", has_text="The conversation has been deleted.").wait_for()
        assert_accessible(page, "deleted")
        anna.status("deleted")
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0
    assert page.locator("#messages li").count() == 0
    assert words not in page.content()
    # The code no longer opens anything.
    page.goto(live_server.url + "/en/resume")
    expect(page.locator("#resume-submit")).to_be_enabled()
    page.fill("#code", code)
    page.click("#resume-submit")
    page.locator("#code-error", has_text="No conversation matches this code.").wait_for(timeout=30_000)
    assert_accessible(page, "resume, an unknown code")
    assert_never_in_clear(live_server, wire, secret)


def test_keep_me_signed_in_survives_closing_the_tab(
    page: Any, browser_context: Any, live_server: LiveServer, centre: Centre, secret: str
) -> None:
    start_chat(page, live_server, keep=True)
    assert page.evaluate("sessionStorage.length") == 0
    assert page.evaluate("localStorage.getItem('trygg.visitor')") is not None
    words = f"{secret} kept on this device"
    send(page, words)
    mine(page, words).locator(".receipt", has_text="Sent").wait_for()
    page.close()
    again = browser_context.new_page()
    again.goto(live_server.url + "/en/chat")
    mine(again, words).wait_for()
    again.click("#delete")
    again.click("#delete-yes")
    again.locator("#view-gone").wait_for()
    assert again.evaluate("localStorage.length + sessionStorage.length") == 0
    again.close()


@pytest.mark.parametrize("how", ["button", "escape"])
def test_quick_exit_without_a_network_still_forgets_a_kept_chat(
    page: Any, browser_context: Any, live_server: LiveServer, centre: Centre, how: str
) -> None:
    """With "keep me signed in" the chat lives in localStorage; quick exit relied on /exit's
    Clear-Site-Data to erase it, so with the network down (or the server not answering) the
    token and key state stayed and the next person to open the page saw the whole chat."""
    start_chat(page, live_server, keep=True)
    assert page.evaluate("localStorage.getItem('trygg.visitor')") is not None
    browser_context.set_offline(True)
    with page.expect_event("requestfailed", predicate=lambda request: request.url.endswith("/exit")):
        leave_quickly(page, how)
    browser_context.set_offline(False)
    again = browser_context.new_page()
    again.goto(live_server.url + "/en/chat")
    again.wait_for_selector("#view-start:not([hidden])")
    assert again.evaluate("localStorage.length + sessionStorage.length") == 0
    again.close()


def test_without_keep_nothing_outlives_the_tab(
    page: Any, browser_context: Any, live_server: LiveServer
) -> None:
    start_chat(page, live_server)
    page.close()
    again = browser_context.new_page()
    again.goto(live_server.url + "/en/chat")
    again.wait_for_selector("#view-start:not([hidden])")
    assert again.evaluate("localStorage.length + sessionStorage.length") == 0
    again.close()


def test_server_restart_loses_nothing(
    page: Any, live_server: LiveServer, centre: Centre, wire: Wire, secret: str
) -> None:
    before = f"{secret} before the restart"
    with counsellor(live_server, centre, "anna") as anna:
        claimed_chat(page, live_server, anna, secret)
        send(page, before)
        anna.read_until(before)
    live_server.stop()
    page.locator("#connection", has_text="No connection.").wait_for()
    during = f"{secret} written while the server was down"
    send(page, during)
    page.locator("#outbox li.pending", has_text=during).wait_for()
    live_server.start()
    mine(page, during).locator(".receipt", has_text="Sent").wait_for(timeout=45_000)
    with counsellor(live_server, centre, "anna") as anna:
        anna.follow(conversation_id(page))
        anna.read_until(during)
        reply = f"{secret} after the restart"
        anna.say(reply)
        theirs(page, reply).wait_for()
        assert anna.texts.count(during) == 1
        assert anna.texts.count(before) == 1
    assert page.locator("#messages li.message.mine", has_text=during).count() == 1
    assert_never_in_clear(live_server, wire, secret)


def test_interpreter_request_travels_encrypted(
    page: Any, live_server: LiveServer, centre: Centre, wire: Wire
) -> None:
    page.goto(live_server.url + "/en/chat")
    assert page.locator("#interpreter-choice").is_hidden()
    page.check("#need-interpreter")
    page.select_option("#interpreter-language", "ti")
    assert_accessible(page, "asking for an interpreter")
    page.click("#start")
    page.wait_for_selector("#view-code:not([hidden])", timeout=30_000)
    page.check("#written-down")
    page.click("#continue")
    page.locator("#messages .system", has_text="You asked for an interpreter: Tigrinya.").wait_for()
    with counsellor(live_server, centre, "bodil") as bodil:
        bodil.follow(conversation_id(page))
        while not bodil.data:
            bodil.next_message()
        assert bodil.data == [{"kind": "interpreter_request", "language": "ti"}]
    assert not any("interpreter_request" in item for item in wire.items)


@pytest.mark.parametrize("browser_context", ["sv-SE"], indirect=True)
def test_swedish_at_320px(page: Any, live_server: LiveServer, centre: Centre) -> None:
    page.set_viewport_size({"width": 320, "height": 640})
    width = "document.documentElement.scrollWidth"
    page.goto(live_server.url + "/sv/chat")
    assert page.evaluate(width) <= 320
    page.click("#start")
    page.wait_for_selector("#view-code:not([hidden])", timeout=30_000)
    assert page.locator("#code-heading").inner_text() == "Skriv ner din kod"
    assert page.evaluate(width) <= 320
    assert_accessible(page, "sv: the resume code")
    page.check("#written-down")
    page.click("#continue")
    page.locator("#chat-status", has_text=re.compile(r"Du är nummer \d+ i kön\.")).wait_for()
    expect(page.locator("#connection")).to_have_text("")
    send(page, "hej")
    mine(page, "hej").locator(".receipt", has_text="Skickat").wait_for()
    assert page.evaluate(width) <= 320
    assert_accessible(page, "sv: waiting")
    page.goto(live_server.url + "/sv/resume")
    assert page.evaluate(width) <= 320
    expect(page.locator("#resume-submit")).to_be_enabled()
    page.fill("#code", "ABCD")
    page.press("#code", "Enter")
    page.locator("#code-error", has_text="En kod har 20 bokstäver och siffror").wait_for()
    assert_accessible(page, "sv: resume, a wrong code")
