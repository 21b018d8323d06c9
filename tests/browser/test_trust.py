"""Whom the pages trust, in Chromium (issue 14): the visitor sees everyone who can read and the
centre's fingerprint; the counsellor sees the conversation code the visitor's client computes; a
visitor shown a directory that is not in the public log is caught by the counsellor's dashboard;
and an anchor written into the database is refused by the visitor's and the staff pages.

The last test breaks the centre's trust root on purpose, so it runs last in this module.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx  # the one HTTP client (Starlette's TestClient uses it too)
import pytest
from playwright.sync_api import expect

from crypto import cosign_trust_root, generate_admin_key, sign_directory
from tests.browser.pages import (
    WAIT,
    Wire,
    assert_accessible,
    conversation_id,
    open_dashboard,
    queue_item,
    send,
    start_chat,
    take,
)
from tests.browser.staff_helpers import PHRASE, LiveVisitor, log_in, staffed_centre
from tests.chat_helpers import Centre, b64
from tests.live_server import LiveServer

COUNSELLORS = ("anna", "bodil", "cleo", "dina")


@pytest.fixture(scope="module")
def centre(live_server: LiveServer) -> Iterator[Centre]:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        yield staffed_centre(http, live_server, dict.fromkeys(COUNSELLORS, "counsellor"))


def test_the_visitor_sees_everyone_who_can_read_and_the_centre_fingerprint(
    page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    start_chat(page, live_server)
    short = http.get("/api/trust").json()["short_pin"]
    expect(page.locator("#centre-fingerprint")).to_contain_text(short)
    assert "leaflet" in page.inner_text("#centre-fingerprint")
    # Before the first message: all four counsellors, none hidden, each with a security number.
    members = page.locator("#counsellors .member")
    expect(members).to_have_count(len(COUNSELLORS), timeout=WAIT)
    names = sorted(members.locator(".member-name").all_inner_texts())
    assert names == [name.title() for name in COUNSELLORS]
    assert "4 people can read this conversation" in page.inner_text("#counsellors")
    assert_accessible(page, "who can read, before the first message")


def test_the_counsellor_sees_the_conversation_code_the_visitor_computes(
    new_page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    anna = open_dashboard(new_page, live_server, "anna", Wire())
    visitor = LiveVisitor(http, live_server, centre)
    visitor.say("hello")
    queue_item(anna, visitor.id).wait_for(timeout=WAIT)
    take(anna, visitor.id)
    visitor.read_until(2)  # her claim: the epoch both codes are computed from
    expected = visitor.chat.conversation.conversation_code(centre.staff["anna"].account_id.bytes)
    expect(anna.locator("#chat-header")).to_contain_text(f"Conversation code {expected}", timeout=WAIT)
    assert anna.is_hidden("#trust-alarm")
    visitor.close()


def test_visitor_and_counsellor_see_the_same_conversation_code(
    page: Any, new_page: Any, live_server: LiveServer, centre: Centre
) -> None:
    anna = open_dashboard(new_page, live_server, "anna", Wire())
    start_chat(page, live_server)
    send(page, "can we compare codes?")
    conversation = conversation_id(page)
    queue_item(anna, conversation).wait_for(timeout=WAIT)
    assert page.is_hidden("#conversation-code")  # nobody to compare with while waiting
    take(anna, conversation)
    shown = page.locator("#conversation-code")
    expect(shown).to_contain_text("Anna", timeout=WAIT)
    code = re.search(r"(\d{4}(?: \d{4}){4})", shown.inner_text())
    assert code, shown.inner_text()
    expect(anna.locator("#chat-header")).to_contain_text(f"Conversation code {code.group(1)}", timeout=WAIT)
    assert_accessible(page, "the conversation code shown to the visitor")


def test_a_directory_not_in_the_log_is_caught_by_the_dashboard(
    new_page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    # The server shows one visitor a directory staff are never shown: signed by a real anchor
    # (a stolen key, or a directory made and never published) and listing only Anna — the
    # visitor's words then go to her alone, away from the colleagues who would notice.
    now = int(time.time())
    only_anna = [centre.staff["anna"].certificate]
    shadowed = sign_directory(
        centre.admin_key, centre.centre_id, centre.serial + 1, now - 60, now + 86_400, only_anna
    )
    honest = centre.directory
    anna = open_dashboard(new_page, live_server, "anna", Wire())
    try:
        centre.directory = shadowed
        fooled = LiveVisitor(http, live_server, centre)
    finally:
        centre.directory = honest
    fooled.say("is anyone there?")
    alarm = anna.locator(f'#trust-alarm li[data-problem="log_genesis"][data-conversation="{fooled.id}"]')
    alarm.wait_for(timeout=WAIT)
    assert anna.is_visible("#trust-alarm")
    assert "not in the public log" in alarm.inner_text()
    assert_accessible(anna, "the dashboard alarmed by an unlogged directory")
    # Opened, the conversation says so too, above its messages.
    take(anna, fooled.id)
    expect(anna.locator("#chat-notice")).to_contain_text("not in the public log", timeout=WAIT)
    # An honest conversation raises nothing.
    honest_visitor = LiveVisitor(http, live_server, centre)
    honest_visitor.say("hello")
    queue_item(anna, honest_visitor.id).wait_for(timeout=WAIT)
    assert anna.locator(f'#trust-alarm li[data-conversation="{honest_visitor.id}"]').count() == 0
    fooled.close()
    honest_visitor.close()


def test_the_visitor_refuses_a_directory_that_is_not_the_newest_logged(
    page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    """A server (here: the network, rewriting one answer) that shows a visitor a directory signed
    by a real anchor but never logged, or an older edition, gets no conversation."""
    now = int(time.time())
    only_anna = [centre.staff["anna"].certificate]
    unlogged = sign_directory(
        centre.admin_key, centre.centre_id, centre.serial + 5, now - 60, now + 86_400, only_anna
    )
    published = http.get("/api/directory").json()

    def serve(route: Any) -> None:
        route.fulfill(json={**published, "directory": b64(unlogged)})

    page.route("**/api/directory", serve)
    page.goto(live_server.url + "/en/chat")
    page.click("#start")
    page.wait_for_selector("#view-error:not([hidden])", timeout=WAIT)
    assert "could not confirm the centre's keys" in page.inner_text("#error-text")
    page.unroute("**/api/directory")


def test_an_older_directory_replayed_to_staff_raises_the_alarm(
    new_page: Any, live_server: LiveServer, http: httpx.Client, centre: Centre
) -> None:
    old = http.get("/api/directory").json()
    centre.publish()  # a newer edition: the old one is still signed and unexpired, and logged

    def serve(route: Any) -> None:
        route.fulfill(json={**http.get("/api/directory").json(), "directory": old["directory"]})

    anna = open_dashboard(
        new_page, live_server, "anna", Wire(), before=lambda p: p.route("**/api/directory", serve)
    )
    anna.locator('#trust-alarm li[data-problem="log_old_directory"]').wait_for(timeout=WAIT)
    assert "not the newest" in anna.inner_text("#trust-alarm")


def test_an_anchor_written_into_the_database_is_refused(
    page: Any, new_page: Any, live_server: LiveServer, centre: Centre
) -> None:
    """Runs last: the centre's root chain is broken from here on."""
    shadow = generate_admin_key()
    forged = cosign_trust_root(centre.draft_root([centre.admin_key.public, shadow.public], 1), shadow)
    with sqlite3.connect(live_server.data_dir / "trygg.sqlite3") as db:
        db.execute(
            "INSERT INTO trust_roots (centre_id, version, signed, created_at) VALUES (?, ?, ?, ?)",
            (centre.centre_id, len(centre.roots) + 1, forged, "2026-11-30 12:00:00.000000"),
        )
    # The visitor's page refuses to encrypt to anyone, and says why.
    page.goto(live_server.url + "/en/chat")
    page.click("#start")
    page.wait_for_selector("#view-error:not([hidden])", timeout=WAIT)
    assert "could not confirm the centre's keys" in page.inner_text("#error-text")
    assert_accessible(page, "the chat refused: the centre's keys do not chain to the pin")
    # The counsellor's dashboard refuses too, loudly.
    staff = new_page()
    log_in(staff, live_server.url, "anna")
    staff.goto(live_server.url + "/staff/chat")
    staff.wait_for_selector("body[data-ready]", state="attached", timeout=WAIT)
    if staff.get_attribute("body", "data-ready") == "locked":
        staff.fill("#recovery-phrase", PHRASE)
        staff.click("#unlock")
    staff.locator('#trust-alarm li[data-problem="bad_root"]').wait_for(timeout=60_000)
    assert staff.is_hidden("#dashboard")
    assert_accessible(staff, "the dashboard refusing a forged anchor")
