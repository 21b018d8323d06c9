"""Back never leads back to Trygg after quick exit, whatever links the visitor followed.
(Every visitor page, in every language, is also checked here at 320 px and with axe-core.)

Script cannot erase history, so every navigation inside the visitor pages must replace the
tab's entry (web/static/js/visitor/links.js) and quick exit replaces the last one. Here every
link on every visitor page, in every language, is followed — visible ones by a real click,
those in views not shown yet (the chat's "Book a consultation", its error and "done" views)
by the element's own click() — and the browser's Navigation API says how each navigation
would change history ("replace", never "push"); the navigation itself is then held back so
the next link can be tried on the same page. On each page one link is also followed for real
and the tab's history is read from the browser (what Back and Forward can reach); then the
visitor leaves — by the button, Esc and Shift three times in turn — and presses Back.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.pages import assert_accessible, leave_quickly
from tests.live_server import LiveServer, NeutralSite

LANGS = ["nb", "sv", "en"]
PAGES = ["/", "/chat", "/book", "/booking", "/resume", "/no-such-page"]
WAYS_OUT = itertools.cycle(["button", "escape", "shift"])
LINKS = "a[href]:not(#quick-exit)"

# Every navigation the page starts, as the Navigation API sees it; held back while asked to.
RECORD_NAVIGATIONS = """
window.__navigations = [];
window.navigation?.addEventListener("navigate", (event) => {
  window.__navigations.push({ type: event.navigationType, url: event.destination.url });
  if (window.__hold && event.cancelable) event.preventDefault();
});
"""


def history(page: Any) -> list[str]:
    """The tab's session history as the browser keeps it (what Back and Forward can reach)."""
    session = page.context.new_cdp_session(page)
    try:
        entries = session.send("Page.getNavigationHistory")["entries"]
    finally:
        session.detach()
    return [str(entry["url"]) for entry in entries if entry["url"] != "about:blank"]


def follow_every_link(page: Any, here: str) -> int:
    """Click every link on the page; each must replace the entry. Returns how many there were."""
    hrefs = page.eval_on_selector_all(LINKS, "links => links.map((a) => a.href)")
    assert hrefs, here
    page.evaluate("window.__hold = true")
    for index, href in enumerate(hrefs):
        page.evaluate("window.__navigations = []")
        link = page.locator(LINKS).nth(index)
        if link.is_visible():
            link.click()
        else:
            link.evaluate("(a) => a.click()")
        page.wait_for_function("window.__navigations.length > 0")
        assert page.evaluate("window.__navigations") == [{"type": "replace", "url": href}], f"{here} → {href}"
        assert page.url == here
    page.evaluate("window.__hold = false")
    return len(hrefs)


@pytest.mark.parametrize("lang", LANGS)
def test_every_link_replaces_history_and_back_after_quick_exit_leaves_trygg(
    page: Any, live_server: LiveServer, neutral_site: NeutralSite, lang: str
) -> None:
    page.add_init_script(RECORD_NAVIGATIONS)
    page.set_viewport_size({"width": 320, "height": 640})
    start = neutral_site.url + "/start"
    followed = 0
    page.goto(start)
    page.goto(f"{live_server.url}/{lang}/")
    for number, path in enumerate(PAGES):
        here = f"{live_server.url}/{lang}{path}"
        if page.url != here:
            page.evaluate("(url) => location.replace(url)", here)
            page.wait_for_url(here)
        assert history(page) == [start, here]
        # While here: a phone 320 px wide scrolls only down, and axe finds nothing (WCAG 2.2 AA).
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, here
        assert_accessible(page, here)
        followed += follow_every_link(page, here)

        # One link for real (a different one on each page): still one entry of ours.
        visible = page.locator(f"{LINKS}:visible")
        link = visible.nth(followed % visible.count())
        href = link.evaluate("(a) => a.href")
        with page.expect_navigation(url=href):
            link.click()
        assert history(page) == [start, href]
        if number % 3 != LANGS.index(lang):
            continue
        # Two pages per language (all six over the three), each way out twice: then Back.
        way = next(WAYS_OUT)
        leave_quickly(page, way)
        page.wait_for_url(neutral_site.url + "/weather")
        assert history(page) == [start, neutral_site.url + "/weather"], way
        page.go_back()
        expect(page).to_have_url(start)
        page.goto(f"{live_server.url}/{lang}/")
    assert followed >= 30


def test_a_form_without_a_script_replaces_too(page: Any, live_server: LiveServer) -> None:
    """A GET form no script handles navigates by replacing; one that would post goes nowhere."""
    page.add_init_script(RECORD_NAVIGATIONS)
    page.goto(live_server.url + "/en/")
    page.evaluate("""() => {
      window.__hold = true;
      const form = (method, action) => {
        const made = Object.assign(document.createElement("form"), { method, action });
        made.append(Object.assign(document.createElement("input"), { name: "q", value: "x y" }));
        document.querySelector("main").append(made);
        return made;
      };
      form("post", "/en/chat").requestSubmit();
      setTimeout(() => form("get", "/en/book").requestSubmit(), 0);
    }""")
    page.wait_for_function("window.__navigations.length > 0")
    # Had the first (a POST) gone anywhere, its navigation would be the first one here.
    assert page.evaluate("window.__navigations") == [
        {"type": "replace", "url": live_server.url + "/en/book?q=x+y"}
    ]
