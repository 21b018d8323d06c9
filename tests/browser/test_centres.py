"""A visitor choosing a centre of a network in a real browser, chatting there (under the centre's
/c/<slug>/ prefix: pages, API calls and the websocket), and leaving quickly with nothing kept."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx  # the one HTTP client (Starlette's TestClient uses it too)
import pytest
from playwright.sync_api import expect
from websockets.sync.client import connect

from tests.browser.pages import assert_accessible, leave_quickly
from tests.chat_helpers import PASSWORD, Centre, Person, Socket, WebsocketsAdapter, build_centre
from tests.live_server import LiveServer, NeutralSite

WAIT = 30_000


@pytest.fixture(scope="module")
def oslo(live_server: LiveServer) -> Iterator[Centre]:
    """The first centre (admin, anna) and a second, Oslo (bea, carl), made with the command line."""
    made = live_server.cli(
        "centre", "create", "--slug", "oslo", "--name", "Støttesenteret Oslo", "--region", "Oslo",
        "--first-admin", "Bea",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    link = re.search(r"(https?://\S+/staff/invite/\S+)", made.stdout)
    assert link
    with httpx.Client(base_url=live_server.url, timeout=30) as http:
        build_centre(
            http, live_server.url, lambda: live_server.create_admin("admin", PASSWORD), {"anna": "counsellor"}
        )

        def accept() -> None:
            answer = Person(http, live_server.url).form(
                link.group(1), {"username": "bea", "password": PASSWORD, "password_again": PASSWORD}
            )
            assert answer.status_code == 303, answer.text

        yield build_centre(http, live_server.url, accept, {"carl": "counsellor"}, "/c/oslo", "bea")


def queue_of(live_server: LiveServer, centre: Centre, name: str, prefix: str) -> list[str]:
    """What a counsellor of the centre under `prefix` sees in its queue (over its websocket)."""
    url = live_server.url.replace("http", "ws", 1) + f"{prefix}/ws"
    cookie = {"Cookie": centre.staff[name].person.cookie_header()}
    with connect(url, origin=live_server.url, additional_headers=cookie) as connection:  # type: ignore[call-overload]
        socket = Socket(WebsocketsAdapter(connection))
        socket.send({"type": "queue", "ref": "q"})
        return [item["conversation"] for item in socket.until("queue", ref="q")["items"]]


def test_a_visitor_chooses_a_centre_chats_there_and_leaves_without_a_trace(
    page: Any, live_server: LiveServer, oslo: Centre, neutral_site: NeutralSite
) -> None:
    page.goto(neutral_site.url + "/start")
    page.goto(live_server.url + "/en/")
    expect(page.locator("#centre-list li.centre")).to_have_count(2)
    assert_accessible(page, "the network's choice of centre")
    page.select_option("#filter-region", "Oslo")
    page.click("#centre-filter button[type=submit]")
    expect(page.locator("#centre-list li.centre")).to_have_count(1)
    page.click('li[data-slug="oslo"] h2 a')
    page.wait_for_url("**/c/oslo/en/")
    expect(page.locator(".brand")).to_have_text("Støttesenteret Oslo")
    page.click("#start-chat")
    page.wait_for_url("**/c/oslo/en/chat")
    page.click("#start")
    page.wait_for_selector("#view-code:not([hidden])", timeout=WAIT)
    page.check("#written-down")
    page.click("#continue")
    page.wait_for_selector("#view-chat:not([hidden])")
    expect(page.locator("#connection")).to_have_text("")
    stored = page.evaluate("sessionStorage.getItem('trygg.visitor')")
    conversation = re.search(r'"conversation":"([0-9a-f]{32})"', stored or "")
    assert conversation
    # The conversation is Oslo's, wrapped to Oslo's staff: in Oslo's queue, not the first centre's.
    assert conversation.group(1) in queue_of(live_server, oslo, "carl", "/c/oslo")
    leave_quickly(page, "button")
    page.wait_for_url(neutral_site.url + "/weather")
    page.go_back()
    page.wait_for_load_state()
    assert page.url == neutral_site.url + "/start"  # the choice of centre is not in the history
    page.goto(live_server.url + "/c/oslo/en/")
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0  # nor in storage
    assert page.context.cookies() == []
