"""Staff people on the live server: accounts made over HTTP, keys made and used in Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.conftest import RECORD_VIOLATIONS, Problems
from tests.chat_helpers import PASSWORD, Person
from tests.live_server import LiveServer

PASSPHRASE = "a long and private passphrase"
ADMIN_PASSPHRASE = "the centre's own long passphrase"
INVITE_RE = re.compile(r'id="invite-url" class="copy-field" readonly value="[^"]*(/staff/invite/[^"]+)"')
KEY_TIMEOUT = 60_000  # 600 000 PBKDF2 rounds in a headless browser on a busy machine


@pytest.fixture(name="http")
def http_fixture(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A plain HTTP client for the live server (each `Person` keeps its own cookies over it)."""
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


@pytest.fixture(name="new_page")
def new_page_fixture(browser: Any, problems: Problems, live_server: LiveServer) -> Iterator[Any]:
    """Pages in fresh browser profiles (each like another device), all watched for CSP problems."""
    contexts: list[Any] = []
    pages: list[Any] = []

    def make() -> Any:
        context = browser.new_context(locale="en-GB")
        context.add_init_script(RECORD_VIOLATIONS)
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        pages.append(page)
        return page

    yield make
    for page in pages:
        problems.collect(page)
    for context in contexts:
        context.close()
    assert not problems.items, problems.items


def admin_person(http: httpx.Client, live_server: LiveServer, username: str) -> Person:
    """An administrator (made with the CLI), logged in over HTTP."""
    live_server.create_admin(username, PASSWORD)
    person = Person(http, live_server.url)
    person.login(username)
    return person


def invite(admin: Person, http: httpx.Client, username: str, role: str = "counsellor") -> Person:
    """Invite `username` (display name: the user name in title case) and accept it over HTTP."""
    response = admin.form(
        "/staff/admin/invites",
        {"role": role, "display_name": username.title()},
        token_from="/staff/admin/staff",
    )
    match = INVITE_RE.search(response.text)
    assert match, response.text
    person = Person(http, admin.origin)
    accepted = person.form(
        match.group(1), {"username": username, "password": PASSWORD, "password_again": PASSWORD}
    )
    assert accepted.status_code == 303, accepted.text
    return person


def log_in(page: Any, base_url: str, username: str) -> None:
    page.goto(base_url + "/staff/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url("**/staff/")


def ready(page: Any) -> None:
    page.wait_for_selector("body[data-ready=yes]", state="attached", timeout=KEY_TIMEOUT)


def create_key_in_browser(page: Any, base_url: str, passphrase: str = PASSPHRASE) -> str:
    """First time on /staff/keys: choose a passphrase, make the key; returns its fingerprint."""
    page.goto(base_url + "/staff/keys")
    ready(page)
    page.fill("#new-passphrase", passphrase)
    page.fill("#new-passphrase-again", passphrase)
    page.click("#create-key")
    page.wait_for_selector("#key-status", state="visible", timeout=KEY_TIMEOUT)
    return str(page.inner_text("#fingerprint"))


def unlock_key_in_browser(page: Any, base_url: str, passphrase: str = PASSPHRASE) -> str:
    page.goto(base_url + "/staff/keys")
    ready(page)
    if page.is_visible("#key-status"):
        return str(page.inner_text("#fingerprint"))
    page.fill("#passphrase", passphrase)
    page.click("#unlock")
    page.wait_for_selector("#key-status", state="visible", timeout=KEY_TIMEOUT)
    return str(page.inner_text("#fingerprint"))


def create_centre_key_in_browser(page: Any, base_url: str, passphrase: str = ADMIN_PASSPHRASE) -> None:
    page.goto(base_url + "/staff/admin/keys")
    ready(page)
    page.fill("#admin-passphrase", passphrase)
    page.fill("#admin-passphrase-again", passphrase)
    page.click("#create-centre-key")
    page.wait_for_selector("#centre-unlocked", state="visible", timeout=KEY_TIMEOUT)


def unlock_centre_key_in_browser(page: Any, base_url: str, passphrase: str = ADMIN_PASSPHRASE) -> None:
    page.goto(base_url + "/staff/admin/keys")
    ready(page)
    page.fill("#centre-passphrase", passphrase)
    page.click("#unlock-centre-key")
    page.wait_for_selector("#centre-unlocked", state="visible", timeout=KEY_TIMEOUT)


def certify_and_publish(page: Any) -> str:
    page.click("#certify-publish")
    page.wait_for_selector("#admin-done:not([hidden]), #admin-error:not([hidden])", timeout=KEY_TIMEOUT)
    assert page.is_hidden("#admin-error"), page.inner_text("#admin-error")
    return str(page.inner_text("#admin-done"))
