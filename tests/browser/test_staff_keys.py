"""Staff keys in Chromium: a counsellor makes a key, the admin certifies it, a second device unlocks it."""

from __future__ import annotations

import re
from typing import Any

import httpx2 as httpx  # the one HTTP client (Starlette's TestClient uses it too)

from crypto import Role, create_staff_identity
from tests.browser.staff_helpers import (
    PASSPHRASE,
    admin_person,
    certify_and_publish,
    create_centre_key_in_browser,
    create_key_in_browser,
    invite,
    log_in,
    ready,
    unlock_centre_key_in_browser,
    unlock_key_in_browser,
)
from tests.chat_helpers import b64
from tests.live_server import LiveServer


def banner_problems(page: Any) -> list[str]:
    page.wait_for_selector("#directory-banner[data-checked]", state="attached")
    return [str(li.get_attribute("data-problem")) for li in page.query_selector_all("#directory-problems li")]


def test_create_certify_and_unlock_on_a_second_device(
    new_page: Any, live_server: LiveServer, http: httpx.Client
) -> None:
    url = live_server.url
    admin = admin_person(http, live_server, "keyadmin")
    invite(admin, http, "cara")

    admin_page = new_page()
    log_in(admin_page, url, "keyadmin")
    create_centre_key_in_browser(admin_page, url)

    cara = new_page()
    log_in(cara, url, "cara")
    assert cara.is_visible("#nav-keys")
    fingerprint = create_key_in_browser(cara, url)
    assert len(fingerprint.split()) == 6
    assert cara.get_attribute("#certified", "data-certified") == "no"

    # The admin sees the same fingerprint, and the banner says a key is waiting.
    admin_page.reload()
    ready(admin_page)
    assert "waiting" in banner_problems(admin_page)
    row = admin_page.locator("#keys-rows tr", has_text="Cara")
    assert row.locator(".fingerprint").inner_text() == fingerprint
    assert row.get_attribute("data-certified") == "no"
    # The centre key was forgotten with the page: it must be unlocked again.
    assert admin_page.is_disabled("#certify-publish")
    unlock_centre_key_in_browser(admin_page, url)
    assert "1" in certify_and_publish(admin_page)
    assert admin_page.locator("#keys-rows tr", has_text="Cara").get_attribute("data-certified") == "yes"
    assert "number 1" in admin_page.inner_text("#directory-summary").lower()
    assert banner_problems(admin_page) == []

    cara.reload()
    ready(cara)
    assert cara.get_attribute("#certified", "data-certified") == "yes"
    assert cara.inner_text("#fingerprint") == fingerprint

    # A second device: the passphrase unlocks the backup from the server; a wrong one does not.
    other = new_page()
    log_in(other, url, "cara")
    other.goto(url + "/staff/keys")
    ready(other)
    assert other.is_visible("#unlock-form")
    other.fill("#passphrase", "not the right passphrase at all")
    other.click("#unlock")
    other.wait_for_selector("#key-error:not([hidden])", timeout=60_000)
    assert "does not open" in other.inner_text("#key-error")
    assert unlock_key_in_browser(other, url, PASSPHRASE) == fingerprint
    # Kept for the session: a reload does not ask again ...
    other.reload()
    ready(other)
    assert other.is_visible("#key-status")
    # ... and logging out forgets it.
    other.click("#logout")
    other.wait_for_url("**/staff/login")
    log_in(other, url, "cara")
    other.goto(url + "/staff/keys")
    ready(other)
    assert other.is_visible("#unlock-form")

    # The published directory names Cara with the key made in her browser.
    published = http.get("/api/directory").json()
    assert published["directory"] is not None
    assert len(published["anchors"]) == 1


def test_deactivation_asks_for_a_new_directory_and_refusals_are_explained(
    new_page: Any, live_server: LiveServer, http: httpx.Client
) -> None:
    url = live_server.url
    admin = admin_person(http, live_server, "keyadmin2")
    dora = invite(admin, http, "dora")
    invite(admin, http, "egil")

    admin_page = new_page()
    log_in(admin_page, url, "keyadmin2")
    create_centre_key_in_browser(admin_page, url)  # every admin has their own (several anchors)
    for name in ("dora", "egil"):
        page = new_page()
        log_in(page, url, name)
        create_key_in_browser(page, url)
    admin_page.reload()
    ready(admin_page)
    unlock_centre_key_in_browser(admin_page, url)
    certify_and_publish(admin_page)

    # Dora changes her key elsewhere while the admin's page still shows the old one.
    info = dora.api("GET", "/api/staff/keys").json()
    fresh = create_staff_identity(
        bytes.fromhex(info["centre_id"]), bytes.fromhex(info["staff_id"]), Role.COUNSELLOR
    )
    changed = dora.api(
        "PUT",
        "/api/staff/keys",
        {
            "kem_public": b64(fresh.kem_public),
            "sig_public": b64(fresh.sig_public),
            "backup": b64(b"\x01" * 64),
        },
    )
    assert changed.status_code == 204
    # The stale list certifies nothing new but lists Dora's old certificate: refused, explained.
    admin_page.click("#certify-publish")
    admin_page.wait_for_selector("#admin-error:not([hidden])", timeout=60_000)
    assert "must list exactly" in admin_page.inner_text("#admin-error")
    # The list was reloaded: Dora's new key waits; publishing again works.
    assert admin_page.locator("#keys-rows tr", has_text="Dora").get_attribute("data-certified") == "no"
    certify_and_publish(admin_page)

    # Deactivating Egil leaves him in the published directory: every admin page says so.
    staff_page = admin.request("GET", "/staff/admin/staff").text
    egil_id = re.search(
        r'data-username="egil">.*?/staff/admin/staff/([0-9a-f-]+)/deactivate', staff_page, re.S
    )
    assert egil_id
    admin.form(f"/staff/admin/staff/{egil_id.group(1)}/deactivate", {}, token_from="/staff/admin/staff")
    admin_page.goto(url + "/staff/admin/hours")
    assert "lists_deactivated" in banner_problems(admin_page)
    assert "Egil" in admin_page.inner_text("#directory-banner")
    unlock_centre_key_in_browser(admin_page, url)
    certify_and_publish(admin_page)
    assert banner_problems(admin_page) == []
