"""Booking in Chromium on the live server (docs/BOOKING.md), from both sides.

A counsellor with weekly availability and a calendar feed; a visitor books from the front
page (the note, contact details and interpreter request sealed in the browser), loses a
slot to someone faster (409, the times are refreshed), books another, writes the code down,
and downloads a discreet invite.  The counsellor opens the booking's details on their own
device on /staff/bookings and sees it in the feed; the visitor comes back with the code on
another device, cancels, gets the cancellation file, and the feed shows it cancelled.
Every request body and websocket frame is captured: the note and the contact details never
appear in them, in the SQLite files or in the server log.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx  # the one HTTP client (Starlette's TestClient uses it too)
import pytest
from icalendar import Calendar

from tests.browser.pages import Wire, assert_accessible, assert_never_in_clear, caught_up, start_chat, tab_to
from tests.browser.staff_helpers import PHRASE, log_in, staffed_centre
from tests.chat_helpers import Person, b64
from tests.live_server import LiveServer, NeutralSite

WAIT = 30_000
KEY_WAIT = 90_000
CENTRE_NAME = "Kriseteam Vest"
ADDRESS = "Storgata 17, 0184 Oslo"
FEED_RE = re.compile(r'<code id="feed-url">([^<]+)</code>')


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, neutral_site: NeutralSite) -> Iterator[LiveServer]:
    """The service with a distinctive centre name (it must not reach a discreet invite)."""
    server = LiveServer(
        tmp_path_factory.mktemp("live-booking"),
        TRYGG_EXIT_URL=f"{neutral_site.url}/weather",
        TRYGG_CENTRE_NAME=CENTRE_NAME,
        TRYGG_BOOKINGS_PER_CLIENT_PER_HOUR="200",
    ).start()
    yield server
    server.stop()


_FEEDS: dict[str, str] = {}


def set_up_centre(http: httpx.Client, live_server: LiveServer) -> str:
    """Once per server: a counsellor (carla) available every day 08:00–20:00, a calendar feed,
    and all three kinds offered.  Returns the feed's URL."""
    if live_server.url in _FEEDS:
        return _FEEDS[live_server.url]
    centre = staffed_centre(http, live_server, {"carla": "counsellor", "ivan": "interpreter"})
    carla = centre.staff["carla"].person
    for weekday in range(7):
        added = carla.form(
            "/staff/availability/rules",
            {"weekday": str(weekday), "starts": "08:00", "ends": "20:00"},
            token_from="/staff/availability",
        )
        assert added.status_code == 303, added.text
    made = carla.form("/staff/availability/feed", {}, token_from="/staff/availability")
    match = FEED_RE.search(made.text)
    assert match, made.text
    policy = centre.admin.form(
        "/staff/admin/booking",
        {
            "slot_minutes": "60",
            "buffer_minutes": "15",
            "min_notice_hours": "24",
            "horizon_days": "28",
            "max_future_bookings": "3",
            "address": ADDRESS,
            "video_link": "https://video.example.org/room",
            "phone": "on",
        },
    )
    assert policy.status_code == 303, policy.text
    _FEEDS[live_server.url] = match.group(1)
    return match.group(1)


def feed_event(http: httpx.Client, feed_url: str, reference: str) -> Any:
    http.cookies.clear()
    response = http.get(feed_url)
    assert response.status_code == 200, response.text
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["METHOD"]) == "PUBLISH"
    events = [
        e
        for e in calendar.walk("VEVENT")
        if reference in str(e.get("SUMMARY", "")) + str(e.get("DESCRIPTION", ""))
    ]
    assert len(events) == 1, response.text
    return events[0]


def download(page: Any, selector: str) -> bytes:
    with page.expect_download(timeout=WAIT) as info:
        page.click(selector)
    path = info.value.path()
    assert path is not None
    return Path(path).read_bytes()


def take_slot(http: httpx.Client, live_server: LiveServer, start: str) -> str:
    """Someone else books `start` first, straight through the API (any well-formed sealed box)."""
    return book_by_api(http, live_server, start)[1]


def book_by_api(http: httpx.Client, live_server: LiveServer, start: str) -> tuple[str, str]:
    """A booking at `start` made straight through the API: its holder token and reference."""
    http.cookies.clear()
    headers = {"origin": live_server.url}
    holder = http.post(
        "/api/booking/holders",
        json={"lookup": os.urandom(16).hex(), "verifier": b64(os.urandom(32))},
        headers=headers,
    )
    assert holder.status_code == 201, holder.text
    sealed = bytes([2, 1]) + os.urandom(96 + 12 + 272)
    booked = http.post(
        "/api/booking/bookings",
        json={
            "start": start,
            "kind": "phone",
            "payload": b64(sealed),
            "fuller_invite": False,
            "same_counsellor": False,
        },
        headers={**headers, "authorization": f"Bearer {holder.json()['token']}"},
    )
    assert booked.status_code == 201, booked.text
    return str(holder.json()["token"]), str(booked.json()["booking"]["reference"])


def test_book_see_and_cancel(new_page: Any, http: httpx.Client, live_server: LiveServer) -> None:
    feed_url = set_up_centre(http, live_server)
    carla = Person(http, live_server.url)
    carla.login("carla")
    wire = Wire()
    tag = uuid.uuid4().hex[:10]
    note = f"Jeg trenger å snakke om det som skjedde {tag}"
    phone = f"+47 9{int(tag[:6], 16) % 10_000_000:07d}"
    email = f"someone.{tag}@example.org"
    dialect = f"Asmara-{tag[:4]}"

    # --- the visitor books from the front page ------------------------------------------------
    visitor = new_page()
    wire.watch(visitor)
    visitor.set_viewport_size({"width": 320, "height": 640})
    visitor.goto(live_server.url + "/en/")
    visitor.click("#book")
    visitor.wait_for_url("**/en/book")
    visitor.wait_for_selector("#view-slots:not([hidden]) button.slot", timeout=WAIT)
    assert visitor.is_visible("#quick-exit")
    assert visitor.evaluate("document.documentElement.scrollWidth") <= 320
    assert_accessible(visitor, "free times at 320 px")
    first = visitor.locator("button.slot").first
    taken_start = first.get_attribute("data-start")
    assert taken_start
    assert taken_start.endswith("Z")
    first.click()
    visitor.wait_for_selector("#view-details:not([hidden])")
    assert visitor.evaluate("document.documentElement.scrollWidth") <= 320
    kinds = visitor.eval_on_selector_all("input[name=kind]", "nodes => nodes.map(n => n.value)")
    assert kinds == ["in_person", "phone", "video"]
    assert ADDRESS in visitor.inner_text("#kind-address")
    visitor.check("#kind-in_person")
    visitor.check("#need-interpreter")
    visitor.select_option("#interpreter-language", "ti")
    visitor.fill("#interpreter-dialect", dialect)
    visitor.check("#mode-remote")
    visitor.select_option("#interpreter-gender", "female")
    visitor.fill("#note", note)
    visitor.fill("#contact-phone", phone)
    visitor.fill("#contact-email", email)
    assert not visitor.is_checked("#fuller-invite"), "the discreet invite is the default"
    assert_accessible(visitor, "the booking's details")
    visitor.click("#book-submit")
    visitor.wait_for_selector("#view-code:not([hidden])", timeout=WAIT)
    code = visitor.inner_text("#booking-code").strip()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){4}", code), code
    assert visitor.is_disabled("#confirm-booking")
    assert_accessible(visitor, "the booking code")
    visitor.check("#written-down")

    # Someone else is faster: the slot is gone; the visitor is told and picks another.
    take_slot(http, live_server, taken_start)
    visitor.click("#confirm-booking")
    visitor.wait_for_selector("#slots-error:not([hidden])", timeout=WAIT)
    assert "no longer available" in visitor.inner_text("#slots-error")
    visitor.wait_for_selector("#view-slots:not([hidden]) button.slot", timeout=WAIT)
    assert_accessible(visitor, "the time was taken")
    assert visitor.locator(f'button.slot[data-start="{taken_start}"]').count() == 0
    assert visitor.inner_text("#booking-code") == "", "the code is shown only once"
    visitor.locator("button.slot").first.click()
    visitor.wait_for_selector("#view-details:not([hidden])")
    assert visitor.input_value("#note") == note, "the details are kept"
    visitor.click("#book-submit")
    visitor.wait_for_selector("#view-done:not([hidden])", timeout=WAIT)
    reference = visitor.inner_text("#done-reference").strip()
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}", reference), reference
    assert visitor.inner_text("#done-kind") == "In person"
    assert visitor.evaluate("document.documentElement.scrollWidth") <= 320
    assert_accessible(visitor, "booked")

    invite = download(visitor, "#download-invite")
    calendar = Calendar.from_ical(invite)
    assert str(calendar["METHOD"]) == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "Appointment"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert reference in str(event["DESCRIPTION"])
    assert "LOCATION" not in event
    text = invite.decode()
    for word in (CENTRE_NAME, ADDRESS, "Storgata", "crime", "abuse", "victim", note, email):
        assert word.lower() not in text.lower(), word
    assert visitor.evaluate("localStorage.length") == 0, "nothing is kept after the tab closes"

    # --- the counsellor opens the details on their own device -------------------------------------
    counsellor = new_page()
    wire.watch(counsellor)
    log_in(counsellor, live_server.url, "carla")
    counsellor.click("#nav-bookings")
    counsellor.wait_for_url("**/staff/bookings")
    counsellor.wait_for_selector("body[data-ready=locked]", state="attached", timeout=WAIT)
    counsellor.fill("#recovery-phrase", PHRASE)
    counsellor.click("#unlock")
    counsellor.wait_for_selector("body[data-ready=yes]", state="attached", timeout=KEY_WAIT)
    row = counsellor.locator(f'tr[data-reference="{reference}"]')
    details = row.locator("td.details").inner_text()
    assert_accessible(counsellor, "the counsellor's bookings")
    assert note in details
    assert phone in details
    assert email in details
    assert "ትግርኛ" in details
    assert dialect in details
    assert "on the phone or video" in details
    assert "a woman preferred" in details
    assert row.locator("td.kind").inner_text() == "In person"
    assert row.get_attribute("data-status") == "confirmed"
    staff_ics = carla.request("GET", f"/staff/bookings/{reference}/invite.ics")
    assert staff_ics.status_code == 200
    assert str(Calendar.from_ical(staff_ics.content)["METHOD"]) == "REQUEST"

    event = feed_event(http, feed_url, reference)
    assert str(event["STATUS"]) == "CONFIRMED"
    sequence = int(event["SEQUENCE"])

    # --- the visitor comes back on another device with the code, and cancels ------------------------
    other = new_page()
    wire.watch(other)
    other.goto(live_server.url + "/en/booking")
    other.wait_for_selector("#view-code:not([hidden])", timeout=WAIT)
    assert_accessible(other, "bookings: the code")
    other.fill("#code", code.lower().replace("-", " "))
    other.click("#code-submit")
    item = other.locator(f'li[data-reference="{reference}"]')
    item.wait_for(timeout=WAIT)
    assert item.get_attribute("data-status") == "confirmed"
    assert other.evaluate("document.documentElement.scrollWidth") <= other.viewport_size["width"]
    assert_accessible(other, "the list of bookings")
    before = item.locator(".booking-when").inner_text()
    item.locator("button.reschedule").click()
    other.wait_for_selector("#view-reschedule:not([hidden]) button.slot", timeout=WAIT)
    assert_accessible(other, "moving a booking")
    other.locator("button.slot").nth(3).click()
    other.wait_for_selector("#list-message:not([hidden])", timeout=WAIT)
    assert "moved" in other.inner_text("#list-message")
    item = other.locator(f'li[data-reference="{reference}"]')
    assert item.locator(".booking-when").inner_text() != before
    moved = feed_event(http, feed_url, reference)
    assert int(moved["SEQUENCE"]) == sequence + 1
    sequence = int(moved["SEQUENCE"])
    item.locator("button.cancel").click()
    item.locator("button.cancel-yes").wait_for()
    assert_accessible(other, "asked to confirm a cancellation")
    item.locator("button.cancel-yes").click()
    other.wait_for_selector(f'li[data-reference="{reference}"][data-status="cancelled"]', timeout=WAIT)
    assert_accessible(other, "cancelled")
    cancellation = download(other, f'li[data-reference="{reference}"] button.download')
    cancelled = Calendar.from_ical(cancellation)
    assert str(cancelled["METHOD"]) == "CANCEL"
    (gone,) = cancelled.walk("VEVENT")
    assert str(gone["STATUS"]) == "CANCELLED"

    event = feed_event(http, feed_url, reference)
    assert str(event["STATUS"]) == "CANCELLED"
    assert int(event["SEQUENCE"]) > sequence

    counsellor.reload()
    counsellor.wait_for_selector("body[data-ready=yes]", state="attached", timeout=KEY_WAIT)
    assert counsellor.locator(f'tr[data-reference="{reference}"]').get_attribute("data-status") == "cancelled"

    # An admin sees the booking on /staff/bookings, without the sealed details.
    admin = new_page()
    wire.watch(admin)
    log_in(admin, live_server.url, "admin")
    admin.goto(live_server.url + "/staff/bookings")
    admin.wait_for_selector("body[data-ready=yes]", state="attached", timeout=WAIT)
    admin_row = admin.locator(f'tr[data-reference="{reference}"]')
    assert admin_row.locator("td.counsellor").inner_text() == "Carla"
    assert admin_row.locator("td.details").count() == 0
    assert note not in admin.content()
    assert_accessible(admin, "an admin's bookings")

    assert any('"payload"' in item for item in wire.items), "the booking request was not captured"
    assert_never_in_clear(live_server, wire, note, phone, email, dialect, tag)


def test_book_from_a_chat(new_page: Any, http: httpx.Client, live_server: LiveServer) -> None:
    """From a chat in the same tab: no new code, the booking is tied to the conversation and
    noted in it (an encrypted APP_JSON message), and /booking lists it without a code."""
    set_up_centre(http, live_server)
    wire = Wire()
    tag = uuid.uuid4().hex[:10]
    note = f"Fra chatten {tag}"
    visitor = new_page()
    wire.watch(visitor)
    visitor.goto(live_server.url + "/en/")
    visitor.click("#start-chat")
    visitor.wait_for_url("**/en/chat")
    visitor.click("#start")
    visitor.wait_for_selector("#view-code:not([hidden])", timeout=WAIT)
    visitor.check("#written-down")
    visitor.click("#continue")
    visitor.wait_for_selector("#view-chat:not([hidden])")
    conversation = json.loads(visitor.evaluate("sessionStorage.getItem('trygg.visitor')"))["conversation"]

    visitor.goto(live_server.url + "/en/")
    visitor.click("#book")
    visitor.wait_for_url("**/en/book")
    visitor.wait_for_selector("#view-slots:not([hidden]) button.slot", timeout=WAIT)
    assert visitor.is_visible("#chat-linked")
    assert visitor.is_hidden("#same-counsellor-choice"), "no counsellor has taken the chat yet"
    visitor.locator("button.slot").nth(2).click()
    visitor.check("#kind-phone")
    visitor.fill("#note", note)
    visitor.click("#book-submit")
    visitor.wait_for_selector("#view-done:not([hidden])", timeout=WAIT)
    assert visitor.is_hidden("#view-code"), "a chat needs no new code"
    assert visitor.is_visible("#done-from-chat")
    reference = visitor.inner_text("#done-reference").strip()
    visitor.wait_for_selector("#book-app[data-chat-noted]", state="attached", timeout=WAIT)
    assert visitor.get_attribute("#book-app", "data-chat-noted") == "yes"
    sent = [json.loads(item) for item in wire.items if item.startswith('{"type":"send"')]
    assert [frame["conversation"] for frame in sent] == [conversation]
    assert any(item.startswith("{") and '"type":"ack"' in item for item in wire.items)

    carla = Person(http, live_server.url)
    carla.login("carla")
    listed = {b["reference"]: b for b in carla.api("GET", "/api/staff/bookings").json()["bookings"]}
    assert listed[reference]["from_chat"] is True
    assert listed[reference]["kind"] == "phone"

    # Back in the chat, the booking shows once (it was posted from /book, not again from here).
    visitor.goto(live_server.url + "/en/chat")
    visitor.wait_for_selector(f'#messages .system:has-text("{reference}")', timeout=WAIT)
    caught_up(visitor)  # had the page posted it again, that would be in the transcript now
    assert visitor.locator(f'#messages .system:has-text("{reference}")').count() == 1
    assert visitor.evaluate("sessionStorage.getItem('trygg.booked')") is None

    visitor.goto(live_server.url + "/en/booking")
    visitor.wait_for_selector(f'li[data-reference="{reference}"]', timeout=WAIT)
    assert visitor.is_hidden("#view-code")
    assert visitor.evaluate("localStorage.length") == 0
    assert any('"payload"' in item for item in wire.items), "the booking request was not captured"
    assert_never_in_clear(live_server, wire, note, tag)


def test_booking_with_the_keyboard_only(new_page: Any, http: httpx.Client, live_server: LiveServer) -> None:
    """Book, see the booking, move it and cancel it with Tab, Shift+Tab, Enter and Space only,
    the focus always visible."""
    set_up_centre(http, live_server)
    page = new_page()
    page.goto(live_server.url + "/en/")
    tab_to(page, "#book")
    page.keyboard.press("Enter")
    page.wait_for_selector("#view-slots:not([hidden]) button.slot", timeout=WAIT)
    tab_to(
        page, f'button.slot[data-start="{page.locator("button.slot").nth(7).get_attribute("data-start")}"]'
    )
    page.keyboard.press("Enter")
    page.wait_for_selector("#view-details:not([hidden])")
    assert page.evaluate("document.activeElement.id") == "details-heading"
    tab_to(page, "#kind-in_person")  # the first kind is chosen; arrows would change it
    tab_to(page, "#need-interpreter")
    page.keyboard.press("Space")
    page.wait_for_selector("#interpreter-choice:not([hidden])")
    tab_to(page, "#interpreter-language")
    tab_to(page, "#need-interpreter", back=True)
    page.keyboard.press("Space")  # no interpreter after all
    page.wait_for_selector("#interpreter-choice[hidden]", state="attached")
    tab_to(page, "#book-submit")
    page.keyboard.press("Enter")
    page.wait_for_selector("#view-code:not([hidden])", timeout=WAIT)
    tab_to(page, "#written-down")
    page.keyboard.press("Space")
    tab_to(page, "#confirm-booking")
    page.keyboard.press("Enter")
    page.wait_for_selector("#view-done:not([hidden])", timeout=WAIT)
    reference = page.inner_text("#done-reference").strip()
    assert page.evaluate("document.activeElement.id") == "done-heading"

    tab_to(page, "#manage-link")
    page.keyboard.press("Enter")
    item = page.locator(f'li[data-reference="{reference}"]')
    item.wait_for(timeout=WAIT)
    tab_to(page, f'li[data-reference="{reference}"] button.reschedule')
    page.keyboard.press("Enter")
    page.wait_for_selector("#view-reschedule:not([hidden]) button.slot", timeout=WAIT)
    tab_to(
        page, f'button.slot[data-start="{page.locator("button.slot").nth(8).get_attribute("data-start")}"]'
    )
    page.keyboard.press("Space")
    page.wait_for_selector("#list-message:not([hidden])", timeout=WAIT)
    tab_to(page, f'li[data-reference="{reference}"] button.cancel')
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.tagName") == "H2", "the question has the focus"
    tab_to(page, f'li[data-reference="{reference}"] button.cancel-yes')
    page.keyboard.press("Enter")
    page.wait_for_selector(f'li[data-reference="{reference}"][data-status="cancelled"]', timeout=WAIT)
    assert page.url == live_server.url + "/en/booking"


def book_from_chat(visitor: Any, live_server: LiveServer, slot: int) -> str:
    """In a tab that has a chat: book the `slot`th free time by phone; back in the chat once the
    booking is noted there. Returns the booking's reference."""
    visitor.goto(live_server.url + "/en/book")
    visitor.wait_for_selector("#view-slots:not([hidden]) button.slot", timeout=WAIT)
    assert visitor.is_visible("#chat-linked")
    visitor.locator("button.slot").nth(slot).click()
    visitor.check("#kind-phone")
    visitor.click("#book-submit")
    visitor.wait_for_selector("#view-done:not([hidden])", timeout=WAIT)
    reference = str(visitor.inner_text("#done-reference")).strip()
    visitor.wait_for_selector("#book-app[data-chat-noted=yes]", state="attached", timeout=WAIT)
    visitor.goto(live_server.url + "/en/chat")
    visitor.wait_for_selector(f'#messages .system:has-text("{reference}")', timeout=WAIT)
    return reference


@pytest.mark.parametrize("choice", ["keep", "cancel"])
def test_deleting_the_chat_lets_go_of_its_booking(
    new_page: Any, http: httpx.Client, live_server: LiveServer, choice: str
) -> None:
    """The visitor who booked from a chat and then deletes it is asked about the appointment:
    kept, it stays booked but nothing in this tab reaches it any more; cancelled, it is
    cancelled. Either way the tab holds nothing afterwards (the cancel case chose "keep me
    signed in", so localStorage had the chat), and /en/booking shows nothing."""
    set_up_centre(http, live_server)
    visitor = new_page()
    start_chat(visitor, live_server, keep=choice == "cancel")
    reference = book_from_chat(visitor, live_server, slot=5 if choice == "keep" else 6)
    assert visitor.evaluate("sessionStorage.getItem('trygg.booking')")

    visitor.click("#delete")
    visitor.wait_for_selector("#confirm-delete:not([hidden]) #delete-bookings:not([hidden])", timeout=WAIT)
    assert reference in visitor.inner_text("#delete-bookings-list")
    assert "phone us and give the reference" in visitor.inner_text("#delete-bookings")
    assert visitor.is_checked("#delete-keep"), "keeping is the default, as on the server"
    assert_accessible(visitor, "deleting a chat with a booking")
    if choice == "cancel":
        visitor.check("#delete-cancel")
    visitor.click("#delete-yes")
    visitor.wait_for_selector("#view-gone:not([hidden])", timeout=WAIT)
    gone = visitor.inner_text("#gone-text")
    assert ("still stands" in gone) if choice == "keep" else ("appointment cancelled" in gone), gone
    assert reference not in visitor.content(), "nothing of it is left on the page"
    assert visitor.evaluate("[sessionStorage.length, localStorage.length]") == [0, 0]

    visitor.goto(live_server.url + "/en/booking")
    visitor.wait_for_selector("#view-code:not([hidden])", timeout=WAIT)
    assert visitor.locator("#bookings li").count() == 0
    visitor.goto(live_server.url + "/en/chat")
    visitor.wait_for_selector("#view-start:not([hidden])", timeout=WAIT)
    assert visitor.evaluate("[sessionStorage.length, localStorage.length]") == [0, 0]

    carla = Person(http, live_server.url)
    carla.login("carla")
    listed = {b["reference"]: b for b in carla.api("GET", "/api/staff/bookings").json()["bookings"]}
    assert listed[reference]["status"] == ("confirmed" if choice == "keep" else "cancelled")
    assert listed[reference]["from_chat"] is False


def test_deleting_a_chat_without_bookings_asks_nothing_about_them(page: Any, live_server: LiveServer) -> None:
    start_chat(page, live_server)
    page.click("#delete")
    page.wait_for_selector("#confirm-delete:not([hidden])", timeout=WAIT)
    assert page.is_hidden("#delete-bookings")
    with page.expect_request(lambda r: r.method == "DELETE") as deleted:
        page.click("#delete-yes")
    assert deleted.value.url.endswith("/api/visitor/conversation?bookings=keep")
    page.wait_for_selector("#view-gone:not([hidden])", timeout=WAIT)
    assert "has been deleted" in page.inner_text("#gone-text")
    assert page.evaluate("[sessionStorage.length, localStorage.length]") == [0, 0]


def test_two_tabs_change_one_booking(new_page: Any, http: httpx.Client, live_server: LiveServer) -> None:
    """Both tabs show one booking and both move it: the second is told the booking changed
    meanwhile and sees it as it is now; a cancel from a view that is out of date is refused too."""
    set_up_centre(http, live_server)
    http.cookies.clear()
    days = http.get("/api/booking/slots", params={"days": "14"}).json()["days"]
    token, reference = book_by_api(http, live_server, days[-2]["slots"][0]["start"])
    mine = {"authorization": f"Bearer {token}"}
    (made,) = http.get("/api/booking/bookings", headers=mine).json()["bookings"]
    tabs = []
    for _ in range(2):
        tab = new_page()
        tab.goto(live_server.url + "/en/booking")
        tab.wait_for_selector("#manage-app[data-ready=yes]", state="attached", timeout=WAIT)
        tab.evaluate(
            "(token) => sessionStorage.setItem('trygg.booking', JSON.stringify({v: 1, token}))", token
        )
        tab.reload()
        tab.locator(f'li[data-reference="{reference}"] button.reschedule').wait_for(timeout=WAIT)
        tabs.append(tab)
    first, second = tabs
    for tab in tabs:
        tab.locator(f'li[data-reference="{reference}"] button.reschedule').click()
        tab.wait_for_selector("#view-reschedule:not([hidden]) button.slot", timeout=WAIT)
    first.locator("button.slot").nth(1).click()
    first.wait_for_selector("#list-message:not([hidden])", timeout=WAIT)
    moved_to = first.locator(f'li[data-reference="{reference}"] .booking-when').inner_text()

    second.locator("button.slot").nth(2).click()
    second.wait_for_selector("#view-list:not([hidden]) #list-error:not([hidden])", timeout=WAIT)
    assert "changed in another window or on another device" in second.inner_text("#list-error")
    assert_accessible(second, "the booking changed meanwhile")
    assert second.locator(f'li[data-reference="{reference}"] .booking-when').inner_text() == moved_to
    assert second.is_hidden("#list-message")

    # The first tab moves it again; the second, showing the version before, tries to cancel.
    first.locator(f'li[data-reference="{reference}"] button.reschedule').click()
    first.wait_for_selector("#view-reschedule:not([hidden]) button.slot", timeout=WAIT)
    first.locator("button.slot").nth(3).click()
    first.wait_for_selector("#list-message:not([hidden])", timeout=WAIT)
    item = second.locator(f'li[data-reference="{reference}"]')
    loaded = second.get_attribute("#manage-app", "data-loaded")
    item.locator("button.cancel").click()
    item.locator("button.cancel-yes").click()
    second.wait_for_selector(f'#manage-app:not([data-loaded="{loaded}"])', state="attached", timeout=WAIT)
    assert "changed in another window" in second.inner_text("#list-error")
    assert second.locator(f'li[data-reference="{reference}"] .booking-when').inner_text() != moved_to
    assert second.locator(f'li[data-reference="{reference}"]').get_attribute("data-status") == "confirmed"
    (booking,) = http.get("/api/booking/bookings", headers=mine).json()["bookings"]
    assert booking["status"] == "confirmed"
    assert booking["sequence"] == made["sequence"] + 2, "two moves, no lost or extra change"


def test_a_counsellor_attaches_an_interpreter_to_a_booking(
    new_page: Any, http: httpx.Client, live_server: LiveServer
) -> None:
    """Carla picks Ivan for a booking on /staff/bookings; Ivan sees it on his own page, in his
    calendar feed and as an invite, without the visitor's sealed details; then she takes him off."""
    set_up_centre(http, live_server)
    http.cookies.clear()
    days = http.get("/api/booking/slots", params={"days": "14"}).json()["days"]
    reference = take_slot(http, live_server, days[-1]["slots"][-1]["start"])

    carla = new_page()
    log_in(carla, live_server.url, "carla")
    carla.goto(live_server.url + "/staff/bookings")
    carla.wait_for_selector("body[data-ready]", state="attached", timeout=WAIT)
    if carla.get_attribute("body", "data-ready") == "locked":
        carla.fill("#recovery-phrase", PHRASE)
        carla.click("#unlock")
    carla.wait_for_selector("body[data-ready=yes]", state="attached", timeout=KEY_WAIT)
    row = carla.locator(f'tr[data-reference="{reference}"]')
    row.locator("select.pick-interpreter").select_option(label="Ivan")
    row.locator("td.interpreter", has_text="Saved").wait_for(timeout=WAIT)

    # Ivan, in his own browser: the booking, the counsellor's name, no details, no queue.
    ivan = new_page()
    log_in(ivan, live_server.url, "ivan")
    ivan.goto(live_server.url + "/staff/bookings")
    ivan.wait_for_selector("body[data-ready=yes]", state="attached", timeout=WAIT)
    his = ivan.locator(f'tr[data-reference="{reference}"]')
    assert his.locator("td.counsellor").inner_text() == "Carla"
    assert his.locator("td.details").count() == 0
    assert ivan.locator("#queue").count() == 0
    person = Person(http, live_server.url)
    person.login("ivan")
    invite = person.request("GET", f"/staff/bookings/{reference}/invite.ics")
    assert invite.status_code == 200
    assert str(Calendar.from_ical(invite.content)["METHOD"]) == "REQUEST"
    made = person.form("/staff/availability/feed", {}, token_from="/staff/availability")
    match = FEED_RE.search(made.text)
    assert match, made.text
    event = feed_event(http, match.group(1), reference)
    assert str(event["STATUS"]) == "CONFIRMED"

    # Carla takes him off again: the booking leaves his list.
    carla.reload()
    carla.wait_for_selector("body[data-ready=yes]", state="attached", timeout=KEY_WAIT)
    row = carla.locator(f'tr[data-reference="{reference}"]')
    assert row.locator("select.pick-interpreter").input_value() != ""
    row.locator("select.pick-interpreter").select_option(value="")
    row.locator("td.interpreter", has_text="Saved").wait_for(timeout=WAIT)
    mine = person.request("GET", "/api/staff/bookings").json()["bookings"]
    assert reference not in [b["reference"] for b in mine]
