"""Issue 16's done-when, in a real browser: a visitor chooses a centre of the network, chats
there, is moved to a second centre with her consent (her client re-keys the conversation to
that centre's counsellors, verified against that centre's own pin; the history goes along
because she says so), talks to a counsellor there, and books a time there."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest
from playwright.sync_api import expect

from crypto import Role, create_staff_identity, export_staff_backup
from tests.browser.pages import (
    Wire,
    _ready_at,
    assert_accessible,
    caught_up,
    conversation_id,
    message,
    mine,
    open_dashboard,
    send,
    send_from_staff,
    take,
    theirs,
)
from tests.browser.staff_helpers import PHRASE, log_in, staffed_centre
from tests.chat_helpers import OPEN_BOOKING_POLICY, PASSWORD, Centre, Person, b64, build_centre
from tests.live_server import LiveServer

WAIT = 30_000
BERGEN = "Støttesenteret Bergen"


@pytest.fixture(scope="module")
def bergen(live_server: LiveServer) -> Iterator[Centre]:
    """The first centre (admin, anna) and Bergen (bea, carl: available every day, phone bookings)."""
    made = live_server.cli(
        "centre", "create", "--slug", "bergen", "--name", BERGEN, "--region", "Vestland", "--first-admin", "Bea",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    link = re.search(r"(https?://\S+/staff/invite/\S+)", made.stdout)
    assert link
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        staffed_centre(http, live_server, {"anna": "counsellor"})

        def accept() -> None:
            answer = Person(http, live_server.url).form(
                link.group(1), {"username": "bea", "password": PASSWORD, "password_again": PASSWORD}
            )
            assert answer.status_code == 303, answer.text

        centre = build_centre(http, live_server.url, accept, {}, "/c/bergen", "bea")
        carl = centre.invite("carl", "counsellor")
        carl.identity = create_staff_identity(centre.centre_id, carl.account_id.bytes, Role.COUNSELLOR)
        keys = {
            "kem_public": b64(carl.identity.kem_public),
            "sig_public": b64(carl.identity.sig_public),
            "backup": b64(export_staff_backup(carl.identity, PHRASE)),
        }
        assert carl.person.api("PUT", "/api/staff/keys", keys).status_code == 204
        centre.publish()
        assert centre.admin.form("/staff/admin/booking", OPEN_BOOKING_POLICY).status_code == 303
        for weekday in range(7):
            answer = carl.person.form(
                "/staff/availability/rules",
                {"weekday": str(weekday), "starts": "00:00", "ends": "23:59"},
                token_from="/staff/availability",
            )
            assert answer.status_code == 303, answer.text
        yield centre


def test_a_visitor_is_moved_to_a_second_centre_with_her_consent_and_books_there(
    new_page: Any, live_server: LiveServer, bergen: Centre
) -> None:
    wire = Wire()
    visitor = new_page()
    wire.watch(visitor)
    # She chooses the first centre on the network's front page, and chats there.
    visitor.goto(live_server.url + "/en/")
    expect(visitor.locator("#centre-list li.centre")).to_have_count(2)
    visitor.click('li[data-slug="main"] h2 a')
    visitor.wait_for_url("**/c/main/en/")
    visitor.click("#start-chat")
    visitor.wait_for_url("**/c/main/en/chat")
    visitor.click("#start")
    visitor.wait_for_selector("#view-code:not([hidden])", timeout=WAIT)
    visitor.check("#written-down")
    visitor.click("#continue")
    visitor.wait_for_selector("#view-chat:not([hidden])")
    expect(visitor.locator("#connection")).to_have_text("")
    conversation = conversation_id(visitor)
    send(visitor, "I have just moved to Bergen")

    anna = open_dashboard(new_page, live_server, "anna", wire)
    take(anna, conversation)
    expect(message(anna, "I have just moved to Bergen")).to_be_visible(timeout=WAIT)
    send_from_staff(anna, "Then the centre in Bergen is closer to you")
    expect(theirs(visitor, "Then the centre in Bergen is closer to you")).to_be_visible(timeout=WAIT)

    # Anna offers the move; the visitor sees which centre. First she stays: nothing changes.
    anna.click("#move summary")
    anna.select_option("#move-to", "bergen")
    anna.click("#move-go")
    visitor.wait_for_selector("#move:not([hidden])", timeout=WAIT)
    expect(visitor.locator("#move-who")).to_contain_text(BERGEN)
    visitor.click("#move-no")
    visitor.wait_for_selector("#move", state="hidden")
    send(visitor, "I would rather stay for now")
    expect(message(anna, "I would rather stay for now")).to_be_visible(timeout=WAIT)
    # Offered again, she says yes, with the history.
    anna.click("#move summary")
    anna.select_option("#move-to", "bergen")
    anna.click("#move-go")
    visitor.wait_for_selector("#move:not([hidden])", timeout=WAIT)
    expect(visitor.locator("#move-who")).to_contain_text(BERGEN)
    assert not visitor.is_checked("#move-history"), "the history stays unless she says so"
    assert_accessible(visitor, "the offer of a move")
    visitor.check("#move-history")
    visitor.click("#move-yes")
    visitor.wait_for_selector("#moved-note:not([hidden])", timeout=WAIT)
    expect(visitor.locator("#moved-note")).to_contain_text(BERGEN)
    expect(visitor.locator("#connection")).to_have_text("", timeout=WAIT)

    # Carl at Bergen takes it from Bergen's queue and reads what came before (shared by her).
    carl = new_page()
    wire.watch(carl)
    log_in(carl, live_server.url + "/c/bergen", "carl")
    _ready_at(carl, live_server.url + "/c/bergen/staff/chat")
    take(carl, conversation)
    expect(message(carl, "I have just moved to Bergen")).to_be_visible(timeout=WAIT)
    send(visitor, "Hello Bergen")
    expect(message(carl, "Hello Bergen")).to_be_visible(timeout=WAIT)
    send_from_staff(carl, "Welcome, I am Carl")
    expect(theirs(visitor, "Welcome, I am Carl")).to_be_visible(timeout=WAIT)
    caught_up(visitor)
    expect(mine(visitor, "Hello Bergen")).to_be_visible()
    # A reload opens it at Bergen's address, where her token works, with everything readable.
    visitor.reload()
    visitor.wait_for_selector("#view-chat:not([hidden])", timeout=WAIT)
    assert "/c/bergen/en/chat" in visitor.url
    expect(theirs(visitor, "Welcome, I am Carl")).to_be_visible(timeout=WAIT)
    expect(mine(visitor, "I have just moved to Bergen")).to_be_visible(timeout=WAIT)
    caught_up(visitor)
    # Anna reads nothing written after the move.
    assert message(anna, "Hello Bergen").count() == 0
    wire.assert_never("I have just moved to Bergen", "Hello Bergen", "Welcome, I am Carl")

    # She books a time there, at Bergen.
    visitor.goto(live_server.url + "/c/bergen/en/book")
    visitor.wait_for_selector("#view-slots:not([hidden]) button.slot", timeout=WAIT)
    visitor.locator("button.slot").first.click()
    visitor.wait_for_selector("#view-details:not([hidden])")
    visitor.check("#kind-phone")
    visitor.fill("#contact-phone", "+47 91234567")
    visitor.click("#book-submit")  # from her chat: booked for it, no separate code
    visitor.wait_for_selector("#view-done:not([hidden])", timeout=WAIT)
    reference = visitor.inner_text("#done-reference").strip()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", reference), reference
    booked = bergen.staff["carl"].person.api("GET", "/api/staff/bookings").json()
    assert reference in str(booked)
