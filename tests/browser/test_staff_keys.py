"""Staff keys in Chromium: a counsellor makes a key, the admin certifies it, a second device unlocks it."""

from __future__ import annotations

import re
from typing import Any

import httpx2 as httpx  # the one HTTP client (Starlette's TestClient uses it too)
from playwright.sync_api import expect

from crypto import Role, create_staff_identity
from tests.browser.pages import assert_accessible
from tests.browser.staff_helpers import (
    KEY_TIMEOUT,
    PHRASE,
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

PHRASES: dict[str, str] = {}  # centre-key recovery phrases made in this module, by admin


def anchor_row(page: Any, name: str) -> Any:
    cell = page.locator("td", has_text=re.compile(rf"^{re.escape(name)}$"))
    return page.locator("#anchor-rows tr").filter(has=cell)


def change_anchor(page: Any, name: str) -> None:
    """Add or remove `name`'s key as an anchor on the unlocked admin keys page."""
    before = anchor_row(page, name).get_attribute("data-anchor")
    anchor_row(page, name).locator("button.anchor-change").click()
    page.wait_for_selector("#admin-done:not([hidden]), #admin-error:not([hidden])", timeout=KEY_TIMEOUT)
    assert page.is_hidden("#admin-error"), page.inner_text("#admin-error")
    expect(anchor_row(page, name)).not_to_have_attribute("data-anchor", str(before))


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
    centre_phrase = create_centre_key_in_browser(admin_page, url)
    PHRASES["keyadmin"] = centre_phrase
    # The first anchor is pinned on first use: the page shows the fingerprint and the line that
    # puts it into the configuration; the server's pin is the one the next pages carry.
    trust = http.get("/api/trust").json()
    assert len(trust["roots"]) == 1
    assert admin_page.inner_text("#trust-fingerprint") == trust["short_pin"]
    assert admin_page.inner_text("#pin-line") == f"TRYGG_TRUST_PIN={trust['pin']}"
    assert anchor_row(admin_page, "Keyadmin").get_attribute("data-anchor") == "yes"
    assert_accessible(admin_page, "the trust root, first anchor pinned")
    admin_page.reload()
    ready(admin_page)
    assert admin_page.get_attribute('meta[name="trygg-pin"]', "content") == trust["pin"]

    cara = new_page()
    log_in(cara, url, "cara")
    assert cara.is_visible("#nav-keys")
    fingerprint, phrase = create_key_in_browser(cara, url)
    assert len(fingerprint.split()) == 6
    assert cara.get_attribute("#certified", "data-certified") == "no"
    assert_accessible(cara, "my key, not certified yet")

    # The admin sees the same fingerprint, and the banner says a key is waiting.
    admin_page.reload()
    ready(admin_page)
    assert "waiting" in banner_problems(admin_page)
    row = admin_page.locator("#keys-rows tr", has_text="Cara")
    assert row.locator(".fingerprint").inner_text() == fingerprint
    assert row.get_attribute("data-certified") == "no"
    assert_accessible(admin_page, "the centre's keys, one waiting")
    # The centre key was forgotten with the page: it must be unlocked again.
    assert admin_page.is_disabled("#certify-publish")
    unlock_centre_key_in_browser(admin_page, url, centre_phrase)
    assert "1" in certify_and_publish(admin_page)
    assert admin_page.locator("#keys-rows tr", has_text="Cara").get_attribute("data-certified") == "yes"
    assert "number 1" in admin_page.inner_text("#directory-summary").lower()
    assert banner_problems(admin_page) == []

    cara.reload()
    ready(cara)
    assert cara.get_attribute("#certified", "data-certified") == "yes"
    assert cara.inner_text("#fingerprint") == fingerprint

    # A second device: the recovery phrase unlocks the backup from the server; another does not.
    other = new_page()
    log_in(other, url, "cara")
    other.goto(url + "/staff/keys")
    ready(other)
    assert other.is_visible("#unlock-form")
    assert other.get_attribute("#recovery-phrase", "type") == "password"
    other.fill("#recovery-phrase", PHRASE)  # a valid phrase, not hers
    other.click("#unlock")
    other.wait_for_selector("#key-error:not([hidden])", timeout=60_000)
    assert "does not open" in other.inner_text("#key-error")
    assert_accessible(other, "unlocking my key, a wrong phrase")
    # Typed as people type: capitals, extra spaces, a dash, four-letter prefixes.
    words = phrase.split()
    typed = "  ".join(w[:4].upper() if i % 2 else w for i, w in enumerate(words[:8])) + " - " + words[8]
    assert unlock_key_in_browser(other, url, typed) == fingerprint
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


def test_the_recovery_phrase_is_shown_once_checked_and_never_kept(
    new_page: Any, live_server: LiveServer, http: httpx.Client
) -> None:
    url = live_server.url
    finn = invite(admin_person(http, live_server, "phraseadmin"), http, "finn")
    page = new_page()
    log_in(page, url, "finn")
    page.goto(url + "/staff/keys")
    ready(page)
    page.click("#create-key")
    page.wait_for_selector("#phrase-panel", state="visible")
    words = page.locator("#phrase-words li").all_inner_texts()
    assert len(words) == 9
    assert all(w.isascii() and w.isalpha() and w.islower() for w in words)
    assert page.is_hidden("#create-form")

    # Nothing leaves the browser before the check is passed.
    page.click("#phrase-written")
    fields = page.locator("#check-words input")
    assert fields.count() == 3
    positions = [int(fields.nth(i).get_attribute("data-position") or 0) for i in range(3)]
    assert positions == sorted(set(positions))
    assert all(1 <= n <= 9 for n in positions)
    assert page.is_hidden("#phrase-panel")
    for i, n in enumerate(positions):
        fields.nth(i).fill(words[n - 1])
    wrong = positions[-1]
    others = [w for w in ("zoo", "zebra") if w != words[wrong - 1]]
    fields.nth(2).fill(others[0])
    page.click("#phrase-confirm")
    page.wait_for_selector("#key-error:not([hidden])")
    assert f"Word {wrong} is not" in page.inner_text("#key-error")
    assert finn.api("GET", "/api/staff/keys").json()["backup"] is None

    # Back to the words (not yet saved), then the check as people type: capitals, a prefix.
    page.click("#phrase-back")
    assert page.locator("#phrase-words li").all_inner_texts() == words
    page.click("#phrase-written")
    fields = page.locator("#check-words input")
    for i in range(fields.count()):
        word = words[int(fields.nth(i).get_attribute("data-position") or 0) - 1]
        fields.nth(i).fill(f" {word[:4].upper()} " if len(word) > 4 else word.title())
    page.click("#phrase-confirm")
    page.wait_for_selector("#key-status", state="visible", timeout=KEY_TIMEOUT)
    assert finn.api("GET", "/api/staff/keys").json()["backup"] is not None
    # Shown once: gone from the page, never stored by this origin.
    assert page.locator("#phrase-words li").count() == 0
    assert " ".join(words) not in page.content()
    stored = page.evaluate("() => JSON.stringify({...localStorage}) + JSON.stringify({...sessionStorage})")
    assert not any(w in stored for w in words if len(w) > 4)

    # A typo is caught before any slow work, and said plainly.
    page.click("#forget-key")
    page.wait_for_selector("#unlock-form", state="visible")
    not_the_check_word = "zoo" if words[8] != "zoo" else "zebra"
    for typed, said in [
        (" ".join(words[:8]), "nine words"),
        (" ".join([*words[:7], "qqqq", words[8]]), "not in the word list"),
        (" ".join([*words[:8], not_the_check_word]), "belong together"),
    ]:
        page.fill("#recovery-phrase", typed)
        page.click("#unlock")
        page.wait_for_selector("#key-error:not([hidden])")
        assert said in page.inner_text("#key-error"), page.inner_text("#key-error")
    page.check(".phrase-toggle")
    assert page.get_attribute("#recovery-phrase", "type") == "text"


def test_deactivation_asks_for_a_new_directory_and_refusals_are_explained(
    new_page: Any, live_server: LiveServer, http: httpx.Client
) -> None:
    url = live_server.url
    admin = admin_person(http, live_server, "keyadmin2")
    dora = invite(admin, http, "dora")
    invite(admin, http, "egil")

    admin_page = new_page()
    log_in(admin_page, url, "keyadmin2")
    centre_phrase = create_centre_key_in_browser(admin_page, url)  # every admin has their own
    for name in ("dora", "egil"):
        page = new_page()
        log_in(page, url, name)
        create_key_in_browser(page, url)
    admin_page.reload()
    ready(admin_page)
    unlock_centre_key_in_browser(admin_page, url, centre_phrase)
    first = PHRASES.get("keyadmin")
    if first:
        # A second admin's key is no anchor: a login alone cannot certify. An anchor adds it.
        assert admin_page.is_visible("#not-anchor")
        anchor_page = new_page()
        log_in(anchor_page, url, "keyadmin")
        unlock_centre_key_in_browser(anchor_page, url, first)
        assert anchor_row(anchor_page, "Keyadmin2").get_attribute("data-anchor") == "no"
        change_anchor(anchor_page, "Keyadmin2")
        assert "anchors have changed" in anchor_page.inner_text("#admin-done")
        assert len(http.get("/api/trust").json()["roots"]) == 2
        unlock_centre_key_in_browser(admin_page, url, centre_phrase)
        assert admin_page.is_hidden("#not-anchor")
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
    unlock_centre_key_in_browser(admin_page, url, centre_phrase)
    certify_and_publish(admin_page)
    assert banner_problems(admin_page) == []

    if first:
        # The first admin leaves: the second removes their key from the anchors. Cara's
        # certificate (signed by the first) no longer verifies: the page will not sign it into a
        # directory again, and certifies her anew instead.
        change_anchor(admin_page, "Keyadmin")
        assert len(http.get("/api/trust").json()["roots"]) == 3
        cara_row = admin_page.locator("#keys-rows tr", has_text="Cara")
        assert cara_row.get_attribute("data-certified") == "no"
        assert "does not verify" in cara_row.inner_text()
        certify_and_publish(admin_page)
        assert admin_page.locator("#keys-rows tr", has_text="Cara").get_attribute("data-certified") == "yes"
        assert banner_problems(admin_page) == []
