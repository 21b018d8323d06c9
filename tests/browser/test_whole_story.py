"""The whole story of issue 4 in Chromium: a visitor and counsellors, each in their own browser.

A visitor starts an anonymous chat from the front page and writes down the resume code; a
counsellor (her key unlocked in her own browser) claims it from the live queue; they write both
ways with typing indicators and read receipts; the visitor's network drops and what was typed
meanwhile arrives exactly once; the visitor resumes in a new browser profile with the code and
sees the whole history; the counsellor transfers to a colleague with a note; the colleague
carries on and closes with an outcome; the visitor deletes everything and the colleague's
dashboard says so.  Every request body and websocket frame of every page is captured: no
sentence written ever appears in them, in the SQLite file (with its WAL) or in the server log.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx  # the one HTTP client (Starlette's TestClient uses it too)
import pytest
from playwright.sync_api import expect

from tests.browser.pages import (
    WAIT,
    Wire,
    assert_never_in_clear,
    conversation_id,
    message,
    mine,
    open_dashboard,
    queue_item,
    send,
    send_from_staff,
    settled,
    start_chat,
    theirs,
    type_until_seen,
)
from tests.browser.staff_helpers import staffed_centre
from tests.chat_helpers import Centre
from tests.live_server import LiveServer


@pytest.fixture(scope="module")
def centre(live_server: LiveServer) -> Iterator[Centre]:
    """Exactly two counsellors: a transfer and a return to the queue then have the same member
    list ({visitor, Anna, Bodil}); only the counsellor's signed handover marker tells them apart."""
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        yield staffed_centre(http, live_server, {"anna": "counsellor", "bodil": "counsellor"})


def test_the_whole_story(new_page: Any, live_server: LiveServer, centre: Centre) -> None:
    marker = f"vitnesord{uuid.uuid4().hex[:8]}"  # in every sentence: found nowhere in clear
    said: list[str] = []

    def sentence(words: str) -> str:
        said.append(f"{marker} {words}")
        return said[-1]

    wire = Wire()  # every page of every browser profile
    visitor_wire = Wire()  # the first visitor page only
    csp_reports = live_server.log().count("csp violation")

    # The counsellors are at work: logged in, keys unlocked in their own browsers.
    anna = open_dashboard(new_page, live_server, "anna", wire)
    bodil = open_dashboard(new_page, live_server, "bodil", wire)

    # 1. The visitor starts from the front page, writes down the code and waits in the queue.
    visitor = new_page()
    wire.watch(visitor)
    visitor_wire.watch(visitor)
    code = start_chat(visitor, live_server)
    chat_id = conversation_id(visitor)
    status = visitor.locator("#chat-status")
    status.get_by_text(re.compile(r"You are number \d+ in the queue\.")).wait_for(timeout=WAIT)
    opening = sentence("I do not know where to start")
    send(visitor, opening)
    mine(visitor, opening).locator(".receipt", has_text="Sent").wait_for(timeout=WAIT)

    # 2. Anna sees it in the live queue and claims it; she reads what was written while waiting.
    queue_item(anna, chat_id).wait_for(timeout=WAIT)
    queue_item(bodil, chat_id).wait_for(timeout=WAIT)
    anna.locator("#on-duty li", has_text="Bodil").wait_for(timeout=WAIT)  # a colleague to hand over to
    anna.locator(f"#take-{chat_id}:not([disabled])").wait_for(timeout=WAIT)
    anna.click(f"#take-{chat_id}")
    message(anna, opening).wait_for(timeout=WAIT)
    status.get_by_text("You are talking to Anna.").wait_for(timeout=WAIT)
    expect(queue_item(bodil, chat_id)).to_have_count(0, timeout=WAIT)

    # 3. Both ways, with typing indicators and read receipts.
    reply = sentence("Hi, I am Anna. Take your time.")
    type_until_seen(anna, "#message-input", reply, visitor.locator("#typing", has_text="Anna is writing…"))
    send_from_staff(anna, reply)
    theirs(visitor, reply).wait_for(timeout=WAIT)
    reply_seq = settled(anna, reply).get_attribute("data-seq")
    anna.locator(f'#messages li[data-seq="{reply_seq}"][data-status="read"]').wait_for(timeout=WAIT)

    answer = sentence("thank you, it happened last night")
    type_until_seen(
        visitor, "#message-text", answer, anna.locator("#typing", has_text="The visitor is writing…")
    )
    send(visitor, answer)
    message(anna, answer).wait_for(timeout=WAIT)
    mine(visitor, answer).locator(".receipt", has_text="Read").wait_for(timeout=WAIT)

    # 4. The visitor's network goes; what she writes meanwhile arrives once it is back, once.
    sent_before = {f["client_id"] for f in visitor_wire.frames_of("send")}
    visitor.context.set_offline(True)
    visitor.locator("#connection", has_text="No connection.").wait_for(timeout=WAIT)
    offline = sentence("written while the network was gone")
    send(visitor, offline)
    pending = visitor.locator("#outbox li.pending", has_text=offline)
    pending.locator(".receipt", has_text="Waiting for the connection…").wait_for(timeout=WAIT)
    meanwhile = sentence("are you still there?")
    send_from_staff(anna, meanwhile)
    anna.locator("#messages li.mine:not(.pending)", has_text=meanwhile).wait_for(timeout=WAIT)
    visitor.context.set_offline(False)
    mine(visitor, offline).locator(".receipt", has_text="Sent").wait_for(timeout=WAIT)
    theirs(visitor, meanwhile).wait_for(timeout=WAIT)
    expect(pending).to_have_count(0)
    message(anna, offline).wait_for(timeout=WAIT)
    still = sentence("yes, I am back")
    send(visitor, still)
    message(anna, still).wait_for(timeout=WAIT)
    expect(message(anna, offline)).to_have_count(1)
    expect(mine(visitor, offline)).to_have_count(1)
    sent_after = {f["client_id"] for f in visitor_wire.frames_of("send")} - sent_before
    assert len(sent_after) == 2, sent_after  # the offline message and the next: one client_id each

    # 5. On another device (a new browser profile) the code opens the whole history.
    device = new_page()
    wire.watch(device)
    device.goto(live_server.url + "/en/")
    device.goto(live_server.url + "/en/chat")
    device.click("#have-code")
    device.wait_for_url("**/en/resume")
    expect(device.locator("#resume-submit")).to_be_enabled()
    device.fill("#code", code)
    device.click("#resume-submit")
    device.wait_for_url("**/en/chat", timeout=WAIT)
    device.wait_for_selector("#view-chat:not([hidden])")
    for words in (opening, answer, offline, still):
        mine(device, words).wait_for(timeout=WAIT)
    for words in (reply, meanwhile):
        theirs(device, words).wait_for(timeout=WAIT)
    expect(device.locator("#messages li.message")).to_have_count(6)
    device.locator("#chat-status", has_text="You are talking to Anna.").wait_for(timeout=WAIT)
    resumed = sentence("now on my other phone")
    send(device, resumed)
    message(anna, resumed).wait_for(timeout=WAIT)
    mine(visitor, resumed).wait_for(timeout=WAIT)  # the first tab sees it too

    # 6. Anna transfers to Bodil with a note; Bodil reads the history and carries on.
    note = sentence("note: asked about a safe place to stay")
    anna.click("#transfer summary")
    options = anna.locator("#transfer-to option").all_inner_texts()
    anna.select_option("#transfer-to", label=next(o for o in options if o.startswith("Bodil")))
    anna.fill("#transfer-note", note)
    anna.click("#transfer-go")
    anna.locator("#chat-notice", has_text="transferred to Bodil").wait_for(timeout=WAIT)
    bodil.locator(f'#my-conversations button[data-conversation="{chat_id}"]').wait_for(timeout=WAIT)
    for words in (opening, reply, offline, resumed, note):
        message(bodil, words).wait_for(timeout=WAIT)
    bodil.locator("#messages li.system", has_text="Anna left").wait_for(timeout=60_000)
    bodil.locator("#messages li.system", has_text="Bodil joined the conversation.").wait_for(timeout=WAIT)
    expect(bodil.locator("#messages li.system", has_text="returned the conversation")).to_have_count(0)
    theirs(device, note).wait_for(timeout=WAIT)
    device.locator("#messages li.system", has_text="Bodil has joined the conversation.").wait_for(
        timeout=WAIT
    )
    device.locator("#chat-status", has_text="You are talking to Bodil.").wait_for(timeout=WAIT)
    hello = sentence("Hello, I am Bodil and I have read everything.")
    send_from_staff(bodil, hello)
    theirs(device, hello).wait_for(timeout=WAIT)
    theirs(visitor, hello).wait_for(timeout=WAIT)
    thanks = sentence("good, thank you Bodil")
    send(device, thanks)
    message(bodil, thanks).wait_for(timeout=WAIT)

    # 7. Bodil closes with an outcome; the visitor is told, and can still read.
    bodil.click("#close summary")
    bodil.select_option("#outcome", "support_given")
    bodil.click("#close-go")
    bodil.locator("#chat-notice", has_text="closed").wait_for(timeout=WAIT)
    device.locator("#chat-status", has_text="This conversation has ended.").wait_for(timeout=WAIT)
    expect(device.locator("#message-text")).to_be_disabled()
    mine(device, thanks).wait_for()

    # 8. The visitor deletes it; Bodil's dashboard says so and forgets the content.
    device.click("#delete")
    device.locator("#confirm-delete", has_text="It cannot be undone").wait_for(timeout=WAIT)
    device.click("#delete-yes")
    device.locator("#view-gone", has_text="The conversation has been deleted.").wait_for(timeout=WAIT)
    bodil.locator("#chat-notice", has_text="deleted this conversation").wait_for(timeout=WAIT)
    expect(bodil.locator("#messages li")).to_have_count(0)
    expect(bodil.locator("#message-input")).to_be_disabled()
    assert device.evaluate("sessionStorage.length + localStorage.length") == 0

    # Nothing written was ever in clear: not on the wire, not in the database, not in the log.
    assert len(said) == 10
    assert len(wire.items) > 50
    assert_never_in_clear(live_server, wire, marker, *said)
    assert live_server.log().count("csp violation") == csp_reports, "the browser reported a CSP violation"


def test_two_counsellors_tell_a_return_to_the_queue_from_a_transfer(
    new_page: Any, live_server: LiveServer, centre: Centre
) -> None:
    """With two counsellors both moves re-key to {visitor, Anna, Bodil}; labels follow the marker."""
    wire = Wire()
    anna = open_dashboard(new_page, live_server, "anna", wire)
    bodil = open_dashboard(new_page, live_server, "bodil", wire)
    visitor = new_page()
    wire.watch(visitor)
    start_chat(visitor, live_server)
    chat_id = conversation_id(visitor)
    words = f"tvaa-raadgivere {uuid.uuid4().hex[:8]}"
    send(visitor, words)

    anna.locator(f"#take-{chat_id}:not([disabled])").wait_for(timeout=WAIT)
    anna.click(f"#take-{chat_id}")
    message(anna, words).wait_for(timeout=WAIT)
    visitor.locator("#chat-status", has_text="You are talking to Anna.").wait_for(timeout=WAIT)

    # Anna returns it to the queue: the visitor waits again, nobody "joins".
    anna.click("#release")
    anna.locator("#queue-notice", has_text="back in the queue").wait_for(timeout=WAIT)  # the release settled
    queue_item(bodil, chat_id).wait_for(timeout=WAIT)
    visitor.locator("#chat-status").get_by_text(re.compile(r"in the queue")).wait_for(timeout=WAIT)

    # Bodil takes it: her transcript says Anna returned it, then that she took it.
    bodil.locator(f"#take-{chat_id}:not([disabled])").wait_for(timeout=WAIT)
    bodil.click(f"#take-{chat_id}")
    message(bodil, words).wait_for(timeout=WAIT)
    system = bodil.locator("#messages li.system")
    system.filter(has_text="Anna returned the conversation to the queue.").wait_for(timeout=WAIT)
    system.filter(has_text="Bodil took the conversation.").wait_for(timeout=WAIT)
    expect(system.filter(has_text="Bodil joined")).to_have_count(0)
    visitor.locator("#chat-status", has_text="You are talking to Bodil.").wait_for(timeout=WAIT)
    notes = visitor.locator("#messages li.system")
    expect(notes.filter(has_text="Bodil has joined")).to_have_count(0)

    # Bodil transfers it to Anna: the same member list as the release, read as a transfer.
    bodil.click("#transfer summary")
    options = bodil.locator("#transfer-to option").all_inner_texts()
    bodil.select_option("#transfer-to", label=next(o for o in options if o.startswith("Anna")))
    bodil.click("#transfer-go")
    anna.locator(f'#my-conversations button[data-conversation="{chat_id}"]').wait_for(timeout=WAIT)
    anna.click(f'#my-conversations button[data-conversation="{chat_id}"]')
    anna_system = anna.locator("#messages li.system")
    anna_system.filter(has_text="Anna joined the conversation.").wait_for(timeout=WAIT)
    anna_system.filter(has_text="Bodil left").wait_for(timeout=60_000)
    expect(anna_system.filter(has_text="Bodil returned")).to_have_count(0)
    notes.filter(has_text="Anna has joined the conversation.").wait_for(timeout=WAIT)
    visitor.locator("#chat-status", has_text="You are talking to Anna.").wait_for(timeout=WAIT)
    assert_never_in_clear(live_server, wire, words)
