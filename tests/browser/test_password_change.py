"""Changing one's password and an admin's forced reset, in Chromium: other browsers are logged out."""

from __future__ import annotations

from typing import Any

import httpx2 as httpx

from tests.browser.staff_helpers import admin_person, invite, log_in
from tests.conftest import PASSWORD
from tests.live_server import LiveServer

NEW = "another long passphrase 42"
NEWER = "and yet another one, 43"


def on_login_page(page: Any, url: str) -> bool:
    page.goto(url + "/staff/")
    return bool(page.url.endswith("/staff/login"))


def test_change_password_then_forced_reset(
    new_page: Any, live_server: LiveServer, http: httpx.Client
) -> None:
    url = live_server.url
    admin = admin_person(http, live_server, "pwadmin")
    invite(admin, http, "pwcora")
    desk, laptop = new_page(), new_page()
    log_in(desk, url, "pwcora")
    log_in(laptop, url, "pwcora")

    desk.click("#change-password-link")
    desk.wait_for_url("**/staff/password")
    desk.fill("#current_password", "not my password")
    desk.fill("#new_password", NEW)
    desk.fill("#new_password_again", NEW)
    desk.click("#change-password")
    assert desk.inner_text("#form-error") == "The current password is not right."
    desk.fill("#current_password", PASSWORD)
    desk.fill("#new_password", NEW)
    desk.fill("#new_password_again", NEW)
    desk.click("#change-password")
    desk.wait_for_url("**/staff/password?changed=1")
    assert "logged out everywhere else" in desk.inner_text("#password-changed")
    assert on_login_page(laptop, url)  # the other browser's session ended
    assert not on_login_page(desk, url)  # this one continues with a new session

    # The admin forces a reset: Cora is logged out here too and sets a new password by the link.
    admin_page = new_page()
    log_in(admin_page, url, "pwadmin")
    admin_page.goto(url + "/staff/admin/staff")
    admin_page.click('#staff-table tr[data-username="pwcora"] .reset-password')
    admin_page.wait_for_selector("#reset-notice")
    link = admin_page.input_value("#invite-url")
    assert on_login_page(desk, url)

    desk.goto(link)
    assert "reset the password of the account pwcora" in desk.inner_text("main")
    desk.fill("#password", NEWER)
    desk.fill("#password_again", NEWER)
    desk.click("#create-account")
    desk.wait_for_url("**/staff/")
    assert desk.inner_text("#welcome") == "Hello, Pwcora"
