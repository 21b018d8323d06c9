"""Issue 6 in Chromium: a visitor, a counsellor and an interpreter, each in their own browser.

Mid-chat the visitor asks for an interpreter (Tigrinya, a dialect, remote); the counsellor
claims the chat, reads the decrypted request and invites Ivan; the visitor sees his name and
security number and first says no (the counsellor sees it), then, on a second invitation, lets
him in without the earlier messages. Ivan's page lists the conversation; he cannot read what
was written before; the three talk. The counsellor removes him: his page says he left, and
nothing written afterwards reaches it. No sentence is ever in clear on the wire, in the
database or in the log, and Ivan's page never has a queue.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx  # the one HTTP client (Starlette's TestClient uses it too)
import pytest
from playwright.sync_api import expect

from crypto import fingerprint
from tests.browser.pages import (
    WAIT,
    SocketTap,
    Wire,
    assert_never_in_clear,
    conversation_id,
    message,
    mine,
    open_dashboard,
    open_interpreter_page,
    queue_item,
    send,
    send_from_staff,
    start_chat,
    theirs,
)
from tests.browser.staff_helpers import staffed_centre
from tests.chat_helpers import Centre
from tests.live_server import LiveServer


@pytest.fixture(scope="module")
def centre(live_server: LiveServer) -> Iterator[Centre]:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        yield staffed_centre(http, live_server, {"anna": "counsellor", "ivan": "interpreter"})


def invite_ivan(anna: Any) -> None:
    if not anna.locator("#interpreter").evaluate("node => node.open"):
        anna.click("#interpreter summary")
    options = anna.locator("#interpreter-to option").all_inner_texts()
    anna.select_option("#interpreter-to", label=next(o for o in options if o.startswith("Ivan")))
    anna.click("#invite-interpreter")


def test_visitor_consents_interpreter_joins_talks_and_is_removed(
    new_page: Any, live_server: LiveServer, centre: Centre
) -> None:
    marker = f"tolkeord{uuid.uuid4().hex[:8]}"
    said: list[str] = []

    def sentence(words: str) -> str:
        said.append(f"{marker} {words}")
        return said[-1]

    wire = Wire()
    ivan_wire = Wire()
    csp_reports = live_server.log().count("csp violation")
    anna = open_dashboard(new_page, live_server, "anna", wire)
    tap = SocketTap()  # between Ivan's page and the server

    def tapped(page: Any) -> None:
        tap.install(page)
        ivan_wire.watch(page)

    ivan = open_interpreter_page(new_page, live_server, "ivan", wire, before=tapped)
    expect(ivan.locator("#queue")).to_have_count(0)  # an interpreter never has a queue
    ivan.locator("#none-yet").wait_for()

    # 1. The visitor starts a chat, writes, and then asks for an interpreter mid-chat.
    visitor = new_page()
    wire.watch(visitor)
    start_chat(visitor, live_server)
    chat_id = conversation_id(visitor)
    before = sentence("something only the counsellor should read")
    send(visitor, before)
    mine(visitor, before).locator(".receipt", has_text="Sent").wait_for(timeout=WAIT)
    visitor.click("#ask-interpreter summary")
    visitor.fill("#chat-interpreter-language-filter", "tigr")
    expect(visitor.locator("#chat-interpreter-language option")).to_have_count(1)
    expect(visitor.locator("#chat-interpreter-language")).to_have_value("ti")
    visitor.fill("#chat-interpreter-dialect", "Eritrean")
    visitor.check('input[name="chat-interpreter-mode"][value="remote"]')
    visitor.click("#interpreter-send")
    visitor.locator(
        "#messages .system",
        has_text="You asked for an interpreter: Tigrinya, dialect: Eritrean, remote (phone or video).",
    ).wait_for(timeout=WAIT)

    # 2. Anna sees the whole request, decrypted, on the queue item; she claims the chat.
    request = "Interpreter: ትግርኛ (Tigrinya), dialect: Eritrean, remote (phone or video)"
    queue_item(anna, chat_id).locator(".tag.interpreter", has_text=request).wait_for(timeout=WAIT)
    anna.locator(f"#take-{chat_id}:not([disabled])").wait_for(timeout=WAIT)
    anna.click(f"#take-{chat_id}")
    message(anna, before).wait_for(timeout=WAIT)
    expect(anna.locator("#chat-header")).to_contain_text(request)
    visitor.locator("#chat-status", has_text="You are talking to Anna.").wait_for(timeout=WAIT)

    # 3. Anna invites Ivan; the visitor sees who he is and says no thanks.
    invite_ivan(anna)
    status = anna.locator("#interpreter-status li", has_text="Ivan")
    status.filter(has_text="waiting for the visitor's consent").wait_for(timeout=WAIT)
    consent = visitor.locator("#consent")
    consent.wait_for(timeout=WAIT)
    ivan_member = centre.staff["ivan"].identity
    number = fingerprint(ivan_member.member_id, ivan_member.sig_public, ivan_member.kem_public)
    expect(visitor.locator("#consent-who")).to_have_text("Ivan (Interpreter) asks to join the conversation.")
    expect(visitor.locator("#consent-fingerprint")).to_have_text(number)
    expect(visitor.locator("#consent-language")).to_contain_text("Tigrinya, dialect: Eritrean")
    expect(visitor.locator("#consent-history")).not_to_be_checked()
    visitor.click("#consent-no")
    expect(consent).to_be_hidden()
    status.filter(has_text="the visitor declined").wait_for(timeout=WAIT)
    visitor.locator("#messages .system", has_text="You said no thanks to Ivan.").wait_for(timeout=WAIT)
    expect(ivan.locator("#my-conversations li")).to_have_count(0)

    # 4. Invited again, the visitor lets him in, without what was written before.
    invite_ivan(anna)
    status.filter(has_text="waiting for the visitor's consent").wait_for(timeout=WAIT)
    consent.wait_for(timeout=WAIT)
    expect(visitor.locator("#consent-fingerprint")).to_have_text(number)
    expect(visitor.locator("#consent-history")).not_to_be_checked()
    visitor.click("#consent-yes")
    visitor.locator("#messages .system", has_text="Ivan (interpreter) has joined the conversation.").wait_for(
        timeout=WAIT
    )
    member = visitor.locator("#counsellors .member", has_text="Ivan")
    member.wait_for(timeout=WAIT)
    expect(member.locator(".fingerprint")).to_have_text(number)
    status.filter(has_text="joined").wait_for(timeout=WAIT)
    anna.locator("#messages li.system", has_text="Ivan (interpreter) joined the conversation.").wait_for(
        timeout=WAIT
    )

    # 5. Ivan's page lists the conversation; he cannot read the earlier messages.
    tab = ivan.locator(f'#my-conversations button[data-conversation="{chat_id}"]')
    tab.wait_for(timeout=WAIT)
    tab.click()
    ivan.locator("#messages li.earlier-hidden").wait_for(timeout=WAIT)
    ivan.locator("#messages li.system", has_text="Ivan (interpreter) joined the conversation.").wait_for(
        timeout=WAIT
    )
    expect(ivan.locator("#messages li", has_text=before)).to_have_count(0)

    # 6. The three talk: everyone reads everyone.
    from_visitor = sentence("thank you for coming")
    send(visitor, from_visitor)
    message(anna, from_visitor).wait_for(timeout=WAIT)
    message(ivan, from_visitor).wait_for(timeout=WAIT)
    from_ivan = sentence("I will translate everything")
    ivan.locator("#message-input").press_sequentially(from_ivan[:5])
    visitor.locator("#typing", has_text="Ivan is writing…").wait_for(timeout=WAIT)
    send_from_staff(ivan, from_ivan)
    theirs(visitor, from_ivan).wait_for(timeout=WAIT)
    message(anna, from_ivan).wait_for(timeout=WAIT)
    from_anna = sentence("welcome, Ivan")
    send_from_staff(anna, from_anna)
    theirs(visitor, from_anna).wait_for(timeout=WAIT)
    message(ivan, from_anna).wait_for(timeout=WAIT)

    # 7. Anna removes Ivan: his page says he left; nothing afterwards reaches it.
    anna.click("#remove-interpreter")
    left = anna.locator("#messages li.system", has_text="Ivan (interpreter) left the conversation.")
    left.wait_for(timeout=WAIT)
    removed_at = int(left.get_attribute("data-seq") or "0")
    visitor.locator("#messages .system", has_text="Ivan (interpreter) has left the conversation.").wait_for(
        timeout=WAIT
    )
    ivan.locator("#chat-notice", has_text="You have left this conversation.").wait_for(timeout=WAIT)
    expect(ivan.locator("#message-input")).to_be_disabled()
    after = sentence("now only between us again")
    send_from_staff(anna, after)
    theirs(visitor, after).wait_for(timeout=WAIT)
    after_visitor = sentence("yes, just us")
    send(visitor, after_visitor)
    message(anna, after_visitor).wait_for(timeout=WAIT)
    tap.round_trip(ivan_wire)  # whatever the server had for Ivan's page by now has reached it
    assert not [f for f in tap.to_page if f.get("type") == "message" and f.get("seq", 0) >= removed_at]
    expect(ivan.locator("#messages li", has_text=after)).to_have_count(0)
    expect(ivan.locator("#messages li", has_text=after_visitor)).to_have_count(0)
    expect(visitor.locator("#counsellors .member", has_text="Ivan")).to_have_count(0)

    # Ivan's page never asked for the queue; nothing written was ever in clear.
    assert not ivan_wire.frames_of("queue")
    assert not any(re.search(r'"type":\s*"queue"', item) for item in ivan_wire.items)
    assert len(said) == 6
    assert_never_in_clear(live_server, wire, marker, *said)
    assert not any("interpreter_request" in item or "Eritrean" in item for item in wire.items)
    assert live_server.log().count("csp violation") == csp_reports, "the browser reported a CSP violation"


def test_history_shared_interpreter_leaves_then_visitor_removes(
    new_page: Any, live_server: LiveServer, centre: Centre
) -> None:
    """Asked for in the waiting room; let in with the history; Ivan leaves (Anna's dashboard
    commits it); let in again, and this time the visitor removes him herself."""
    words = f"tidligere {uuid.uuid4().hex[:8]}"
    wire = Wire()
    anna = open_dashboard(new_page, live_server, "anna", wire)
    ivan = open_interpreter_page(new_page, live_server, "ivan", wire)
    visitor = new_page()
    wire.watch(visitor)
    visitor.goto(live_server.url + "/en/chat")
    visitor.check("#need-interpreter")
    visitor.fill("#interpreter-language-filter", "ትግ")
    expect(visitor.locator("#interpreter-language")).to_have_value("ti")
    visitor.select_option("#interpreter-gender", "female")
    visitor.check('input[name="interpreter-mode"][value="in_person"]')
    visitor.click("#start")
    visitor.wait_for_selector("#view-code:not([hidden])", timeout=WAIT)
    visitor.check("#written-down")
    visitor.click("#continue")
    visitor.locator("#messages .system", has_text="Tigrinya, in person, preferably a woman.").wait_for(
        timeout=WAIT
    )
    chat_id = conversation_id(visitor)
    send(visitor, words)

    anna.locator(f"#take-{chat_id}:not([disabled])").wait_for(timeout=WAIT)
    anna.click(f"#take-{chat_id}")
    message(anna, words).wait_for(timeout=WAIT)
    expect(anna.locator("#chat-header")).to_contain_text("in person, preferably a woman")

    # Let in with what was written before: Ivan reads the earlier message.
    invite_ivan(anna)
    visitor.locator("#consent").wait_for(timeout=WAIT)
    visitor.check("#consent-history")
    visitor.click("#consent-yes")
    visitor.locator("#messages .system", has_text="can now read what was written before").wait_for(
        timeout=WAIT
    )
    tab = ivan.locator(f'#my-conversations button[data-conversation="{chat_id}"]')
    tab.wait_for(timeout=WAIT)
    tab.click()
    message(ivan, words).wait_for(timeout=WAIT)
    expect(ivan.locator("#messages li.earlier-hidden")).to_have_count(0)

    # Ivan leaves: his remove proposal; Anna's dashboard commits it.
    ivan.click("#leave")
    anna.locator("#messages li.system", has_text="Ivan (interpreter) asked to leave.").wait_for(timeout=WAIT)
    anna.locator("#messages li.system", has_text="Ivan (interpreter) left the conversation.").wait_for(
        timeout=WAIT
    )
    ivan.locator("#chat-notice", has_text="You have left this conversation.").wait_for(timeout=WAIT)
    visitor.locator("#messages .system", has_text="Ivan (interpreter) has left the conversation.").wait_for(
        timeout=WAIT
    )

    # Invited again and let in (no history this time); the visitor removes him herself.
    invite_ivan(anna)
    visitor.locator("#consent").wait_for(timeout=WAIT)
    visitor.click("#consent-yes")
    remove = visitor.locator("#counsellors .member", has_text="Ivan").locator("button.remove-member")
    remove.wait_for(timeout=WAIT)
    remove.click()
    expect(visitor.locator(".system", has_text="Ivan (interpreter) has left")).to_have_count(2, timeout=WAIT)
    expect(anna.locator("#messages li.system", has_text="Ivan (interpreter) left")).to_have_count(
        2, timeout=WAIT
    )
    expect(visitor.locator("#counsellors .member", has_text="Ivan")).to_have_count(0)
    after = f"etterpaa {uuid.uuid4().hex[:8]}"
    send(visitor, after)
    message(anna, after).wait_for(timeout=WAIT)
    assert_never_in_clear(live_server, wire, words, after)
