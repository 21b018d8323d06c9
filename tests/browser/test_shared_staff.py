"""One login at two centres in a real browser: the second centre's admin adds a counsellor of the
first centre on the staff page and certifies her key on that centre's keys page; her key page
says she is certified there and not (yet) at home."""

from __future__ import annotations

import re
from typing import Any

import httpx2 as httpx  # the one HTTP client (Starlette's TestClient uses it too)

from tests.browser.pages import assert_accessible
from tests.browser.staff_helpers import (
    admin_person,
    certify_and_publish,
    create_centre_key_in_browser,
    create_key_in_browser,
    invite,
    log_in,
    ready,
)
from tests.chat_helpers import PASSWORD, Person
from tests.live_server import LiveServer


def test_a_second_centres_admin_adds_and_certifies_a_counsellor_of_the_first(
    new_page: Any, live_server: LiveServer, http: httpx.Client
) -> None:
    url, bergen = live_server.url, live_server.url + "/c/bergen"
    made = live_server.cli(
        "centre", "create", "--slug", "bergen", "--name", "Bergen", "--first-admin", "Berit"
    )
    assert made.returncode == 0, made.stderr
    link = re.search(r"(https?://\S+/staff/invite/\S+)", made.stdout)
    assert link
    accepted = Person(http, url).form(
        link.group(1), {"username": "berit", "password": PASSWORD, "password_again": PASSWORD}
    )
    assert accepted.status_code == 303, accepted.text
    invite(admin_person(http, live_server, "homeadmin"), http, "cara")  # a counsellor at home

    cara = new_page()
    log_in(cara, url, "cara")
    create_key_in_browser(cara, url)

    berit = new_page()
    log_in(berit, bergen, "berit")
    berit.goto(bergen + "/staff/admin/staff")
    berit.fill("#shared-username", "cara")
    berit.select_option("#shared-role", "counsellor")
    berit.click("#add-shared button[type=submit]")
    berit.wait_for_selector('#shared-staff-table tr[data-username="cara"]')
    assert_accessible(berit, "staff from other centres")

    create_centre_key_in_browser(berit, bergen)
    row = berit.locator("#keys-rows tr", has_text="Cara")
    assert row.get_attribute("data-certified") == "no"
    certify_and_publish(berit)
    assert berit.locator("#keys-rows tr", has_text="Cara").get_attribute("data-certified") == "yes"

    cara.goto(bergen + "/staff/keys")
    ready(cara)
    assert cara.get_attribute("#certified", "data-certified") == "yes"  # certified at Bergen ...
    cara.goto(url + "/staff/keys")
    ready(cara)
    assert cara.get_attribute("#certified", "data-certified") == "no"  # ... not (yet) at home
