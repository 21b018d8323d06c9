"""Every staff page in Bokmål, Swedish and English through axe-core (WCAG 2.2 AA), plus the
visitor states the other tests reach only in English, in the other two languages.

The states the other browser tests reach are checked where they are reached (assert_accessible
in tests/browser/pages.py), and every visitor page in every language by the history test
(test_visitor_history.py); this walks what no other test shows: each staff page as an admin, a
counsellor and an interpreter see it in each language, key locked and unlocked, the staff error
page, the visitor's chat and booking steps in nb and sv, and the visitor's error views.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2 as httpx  # the one HTTP client (Starlette's TestClient uses it too)
import pytest

from tests.browser.pages import WAIT, assert_accessible, send
from tests.browser.staff_helpers import INVITE_RE, PHRASE, log_in, staffed_centre
from tests.chat_helpers import Centre
from tests.live_server import LiveServer

LANGS = ["nb", "sv", "en"]
# Who sees which pages (each in their own browser), and the pages that unlock a key first.
PAGES = {
    "admin": [
        "/staff/",
        "/staff/admin/staff",
        "/staff/admin/hours",
        "/staff/admin/booking",
        "/staff/admin/keys",
        "/staff/admin/load",
        "/staff/bookings",
        "/staff/password",
        "/staff/no-such-page",
    ],
    "carla": ["/staff/chat", "/staff/bookings", "/staff/availability", "/staff/keys"],
    "ivan": ["/staff/interpret", "/staff/availability"],
}
UNLOCKS = {"/staff/chat", "/staff/interpret", "/staff/bookings", "/staff/keys"}
# Pages other tests already check in English, in the states they reach (CI time: not twice).
CHECKED_IN_ENGLISH = {
    "/staff/",
    "/staff/admin/staff",
    "/staff/admin/keys",
    "/staff/admin/load",
    "/staff/bookings",
    "/staff/password",
    "/staff/chat",
    "/staff/interpret",
    "/staff/keys",
}
# What each page's script marks when it has done its work (the other pages have no script to wait for).
DONE = {"/staff/admin/keys": "body[data-ready]", "/staff/admin/load": "body[data-refreshed]"}


@pytest.fixture(scope="module")
def centre(live_server: LiveServer) -> Iterator[Centre]:
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        yield staffed_centre(http, live_server, {"carla": "counsellor", "ivan": "interpreter"})


def speak(page: Any, url: str, lang: str) -> None:
    """Choose the staff member's language on the home page (kept with their account)."""
    page.goto(url + "/staff/")
    page.select_option("#language", lang)
    page.click("#language ~ button[type=submit]")
    page.wait_for_function(
        "(lang) => document.documentElement?.lang === lang", arg=lang
    )  # null mid-navigation


def settled(page: Any, path: str) -> None:
    """The page's script is done: key unlocked (or asked for) and what it loads is shown."""
    wanted = "body[data-ready]" if path in UNLOCKS else DONE.get(path)
    if wanted:
        page.wait_for_selector(wanted, state="attached", timeout=WAIT)
    if page.locator("#directory-banner").count():
        page.wait_for_selector("#directory-banner[data-checked]", state="attached", timeout=WAIT)


def test_every_staff_page_in_every_language(new_page: Any, live_server: LiveServer, centre: Centre) -> None:
    url = live_server.url
    checked = 0
    for name, paths in PAGES.items():
        page = new_page()
        log_in(page, url, name)
        unlocked = False
        for lang in LANGS:
            speak(page, url, lang)
            for path in paths:
                if lang == "en" and path in CHECKED_IN_ENGLISH and (path not in UNLOCKS or unlocked):
                    continue
                page.goto(url + path)
                settled(page, path)
                where = f"{name} {lang} {path}"
                if path in UNLOCKS and page.get_attribute("body", "data-ready") == "locked":
                    assert not unlocked, f"{where}: the key stays unlocked for the session"
                    assert_accessible(page, where + " (key locked)")
                    page.fill("#recovery-phrase", PHRASE)
                    page.click("#unlock")
                    page.wait_for_selector("body[data-ready=yes]", state="attached", timeout=60_000)
                    unlocked = True
                if path != "/staff/no-such-page":  # no route, no staff session read: the browser's language
                    assert page.evaluate("document.documentElement.lang") == lang, where
                assert_accessible(page, where)
                checked += 1
    assert checked >= 2 * sum(len(paths) for paths in PAGES.values())


@pytest.mark.parametrize("browser_context", ["nb-NO", "sv-SE", "en-GB"], indirect=True)
def test_logged_out_staff_pages(page: Any, live_server: LiveServer, centre: Centre) -> None:
    """The login page (in the browser's language), a wrong password, and an invitation."""
    made = centre.admin.form(
        "/staff/admin/invites",
        {"role": "counsellor", "display_name": "Nora"},
        token_from="/staff/admin/staff",
    )
    match = INVITE_RE.search(made.text)
    assert match, made.text
    page.goto(live_server.url + "/staff/login")
    assert_accessible(page, "login")
    page.fill("#username", "nobody")
    page.fill("#password", "wrong password!!")
    page.click("#login")
    page.wait_for_selector("#form-error")
    assert_accessible(page, "login, refused")
    page.goto(live_server.url + match.group(1))
    assert_accessible(page, "an invitation")


@pytest.mark.parametrize("lang", ["nb", "sv"])
def test_visitor_states_in_other_languages(
    new_page: Any, live_server: LiveServer, centre: Centre, lang: str
) -> None:
    """The chat (code, waiting, asked to delete, deleted) and booking (no free times here: the
    centre has no availability) in nb and sv; English is covered where the flows are tested."""
    page = new_page()
    page.goto(f"{live_server.url}/{lang}/chat")
    page.click("#start")
    page.wait_for_selector("#view-code:not([hidden])", timeout=WAIT)
    assert_accessible(page, f"{lang}: the resume code")
    page.check("#written-down")
    page.click("#continue")
    page.wait_for_selector("#view-chat:not([hidden])")
    send(page, "hei")
    page.locator("#messages li.message.mine[data-seq]").wait_for(timeout=WAIT)
    assert_accessible(page, f"{lang}: waiting")
    page.click("#delete")
    page.wait_for_selector("#confirm-delete:not([hidden])")
    assert_accessible(page, f"{lang}: asked to delete")
    page.click("#delete-yes")
    page.wait_for_selector("#view-gone:not([hidden])", timeout=WAIT)
    assert_accessible(page, f"{lang}: deleted")

    page.goto(f"{live_server.url}/{lang}/book")
    page.wait_for_selector("#book-app[data-ready=yes]", state="attached", timeout=WAIT)
    assert_accessible(page, f"{lang}: booking, no free times")
    page.goto(f"{live_server.url}/{lang}/booking")
    page.wait_for_selector("#manage-app[data-ready=yes]", state="attached", timeout=WAIT)
    page.fill("#code", "ABCD")
    page.press("#code", "Enter")
    page.wait_for_selector("#code-error:not([hidden])")
    assert_accessible(page, f"{lang}: bookings, a wrong code")


def test_visitor_error_views(page: Any, live_server: LiveServer, centre: Centre) -> None:
    """What a visitor sees when the service cannot be reached: the chat and the booking page."""
    page.route("**/api/directory", lambda route: route.fulfill(status=503, json={"error": "unavailable"}))
    page.route(
        "**/api/booking/options", lambda route: route.fulfill(status=503, json={"error": "unavailable"})
    )
    for lang in LANGS:
        page.goto(f"{live_server.url}/{lang}/chat")
        page.click("#start")
        page.wait_for_selector("#view-error:not([hidden])", timeout=WAIT)
        assert page.evaluate("document.activeElement.id") == "error-heading"
        assert_accessible(page, f"{lang}: the chat could not start")
        page.goto(f"{live_server.url}/{lang}/book")
        page.wait_for_selector("#view-error:not([hidden])", timeout=WAIT)
        assert_accessible(page, f"{lang}: the booking could not be made")
