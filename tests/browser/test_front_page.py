"""The visitor front page and quick exit, in a real browser."""

from __future__ import annotations

from typing import Any

import pytest

from tests.live_server import LiveServer, NeutralSite


@pytest.mark.parametrize(
    ("browser_context", "heading", "chat"),
    [
        ("nb-NO", "Snakk med noen, trygt og uten å oppgi navnet ditt", "Start anonym chat"),
        ("sv-SE", "Prata med någon, tryggt och utan att uppge ditt namn", "Starta anonym chatt"),
        ("en-GB", "Talk to someone, safely and without giving your name", "Start anonymous chat"),
    ],
    indirect=["browser_context"],
)
def test_front_page_in_the_browser_language(
    page: Any, live_server: LiveServer, heading: str, chat: str
) -> None:
    page.goto(live_server.url + "/")
    assert page.locator("h1").inner_text() == heading
    assert page.locator("#start-chat").inner_text() == chat
    assert page.locator("#quick-exit").is_visible()
    assert page.context.cookies() == []


def test_language_switch(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/en/")
    page.click("a[hreflang=sv]")
    page.wait_for_url("**/sv/")
    assert page.locator("html").get_attribute("lang") == "sv"
    page.click("a[hreflang=nb]")
    page.wait_for_url("**/nb/")
    assert "Åpningstider" in page.content()
    assert page.evaluate("localStorage.length") == 0
    assert page.context.cookies() == []


def _leave_and_check(page: Any, live_server: LiveServer, neutral_site: NeutralSite, how: str) -> None:
    page.goto(neutral_site.url + "/start")
    page.goto(live_server.url + "/en/")
    page.evaluate("sessionStorage.setItem('draft', 'something private')")
    page.wait_for_load_state("load")
    if how == "button":
        page.click("#quick-exit")
    elif how == "escape":
        page.keyboard.press("Escape")
    else:
        for _ in range(3):
            page.keyboard.press("Shift")
    page.wait_for_url(neutral_site.url + "/weather")
    assert page.title() == "Weather"
    page.go_back()
    page.wait_for_load_state()
    # The back button leads to the page before, never back to Trygg.
    assert page.url == neutral_site.url + "/start"
    page.goto(live_server.url + "/en/")
    assert page.evaluate("sessionStorage.length") == 0


@pytest.mark.parametrize("how", ["button", "escape", "shift-three-times"])
def test_quick_exit(page: Any, live_server: LiveServer, neutral_site: NeutralSite, how: str) -> None:
    _leave_and_check(page, live_server, neutral_site, how)


def test_two_shift_presses_do_not_leave(page: Any, live_server: LiveServer) -> None:
    page.goto(live_server.url + "/en/")
    page.keyboard.press("Shift")
    page.keyboard.press("a")
    page.keyboard.press("Shift")
    page.keyboard.press("Shift")
    # Leaving starts in the key handler itself (the page hides at once): it has not started.
    assert not page.evaluate("document.documentElement.classList.contains('exiting')")
    assert page.url.startswith(live_server.url)


def test_csp_violations_are_caught(browser_context: Any, live_server: LiveServer, problems: Any) -> None:
    """The harness itself: a blocked resource is noticed (so the other tests mean something)."""
    page = browser_context.new_page()
    problems.watch(page)
    page.goto(live_server.url + "/en/")
    page.evaluate("""() => { const img = document.createElement('img');
                     img.src = 'https://evil.example/pixel.png'; document.body.append(img); }""")
    page.wait_for_function("() => window.__violations.some((v) => v.startsWith('img-src'))")
    problems.collect(page)
    assert any("img-src" in item for item in problems.items), problems.items
    with pytest.raises(Exception, match="TrustedHTML"):
        page.evaluate("document.body.innerHTML = '<b>x</b>'")


def test_staff_login_and_logout(page: Any, live_server: LiveServer) -> None:
    live_server.create_admin("browser.admin", "correct horse battery staple")
    page.goto(live_server.url + "/staff/login")
    page.fill("#username", "browser.admin")
    page.fill("#password", "wrong password!!")
    page.click("#login")
    assert page.locator("#form-error").inner_text() == "Wrong user name or password."
    page.fill("#password", "correct horse battery staple")
    page.click("#login")
    page.wait_for_url("**/staff/")
    assert page.locator("#welcome").inner_text() == "Hello, Browser.Admin"
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["trygg-session"]["httpOnly"]
    assert cookies["trygg-session"]["sameSite"] == "Strict"
    page.click("#logout")
    page.wait_for_url("**/staff/login")
    page.goto(live_server.url + "/staff/")
    assert page.url.endswith("/staff/login")
