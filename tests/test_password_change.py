"""Changing one's own staff password, and an admin forcing a reset, through the staff pages.

A change needs the current password, follows the invitation's strength rules, ends
every other session (the changing browser gets a new one), announces `session_ended`
on the bus and is audited.  A forced reset ends every session, makes the old password
useless, and gives the admin a fresh single-use link through which the person sets a
new password; also audited.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from server.models import AuditEvent, StaffAccount, StaffInvite, StaffSession
from server.realtime import events as bus_events
from server.realtime.bus import Subscription
from tests.chat_helpers import Browser, Person, logged_in
from tests.conftest import BASE_URL, PASSWORD, Client

NEW = "a brand new passphrase 7"
INVITE_RE = re.compile(r'id="invite-url" class="copy-field" readonly value="([^"]+)"')
SESSION = "trygg-session"
DEVICE = "trygg-device"


def browser(client: Client, username: str, password: str = PASSWORD) -> Browser:
    person = Browser(client)
    person.login(username, password)
    return person


def change(person: Person, current: str, new: str, again: str | None = None) -> Any:
    return person.form(
        "/staff/password",
        {
            "current_password": current,
            "new_password": new,
            "new_password_again": new if again is None else again,
        },
    )


def sessions_of(client: Client, account_id: uuid.UUID) -> int:
    async def count() -> int:
        async with client.res.db() as db:
            query = (
                select(func.count()).select_from(StaffSession).where(StaffSession.account_id == account_id)
            )
            return int(await db.scalar(query) or 0)

    return client.run(count)


def audit(client: Client) -> list[tuple[str, uuid.UUID | None, uuid.UUID | None]]:
    async def load() -> list[tuple[str, uuid.UUID | None, uuid.UUID | None]]:
        async with client.res.db() as db:
            rows = await db.execute(
                select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.subject_id).order_by(AuditEvent.at)
            )
            return [(row[0], row[1], row[2]) for row in rows]

    return client.run(load)


def password_hash(client: Client, account_id: uuid.UUID) -> str:
    async def load() -> str:
        async with client.res.db() as db:
            account = await db.get(StaffAccount, account_id)
            assert account is not None
            return account.password_hash

    return client.run(load)


def listen(client: Client, account_id: uuid.UUID) -> Subscription:
    async def subscribe() -> Subscription:
        subscription = client.res.bus.subscription()
        subscription.add(bus_events.staff_channel(account_id))
        return subscription

    return client.run(subscribe)


def next_event(client: Client, subscription: Subscription) -> tuple[str, dict[str, Any]]:
    async def get() -> tuple[str, dict[str, Any]]:
        return await asyncio.wait_for(subscription.get(), 2)

    return client.run(get)


def error_text(response: Any) -> str:
    match = re.search(r'id="form-error">([^<]*)<', response.text)
    assert match, response.text
    return match.group(1)


# --- changing one's own password ----------------------------------------------------------------


@pytest.mark.parametrize("role", ["counsellor", "interpreter", "admin"])
def test_every_staff_member_changes_their_password_and_other_sessions_end(client: Client, role: str) -> None:
    ada = client.make_staff("ada", role=role)
    here, elsewhere, third = browser(client, "ada"), browser(client, "ada"), browser(client, "ada")
    assert 'href="/staff/password"' in here.request("GET", "/staff/").text
    old_session, old_device = here.jar[SESSION], elsewhere.jar[DEVICE]
    events = listen(client, ada.account.id)

    done = change(here, PASSWORD, NEW)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/staff/password?changed=1"
    page = here.request("GET", "/staff/password?changed=1")
    assert "Your password has been changed. You have been logged out everywhere else." in page.text

    assert here.jar[SESSION] != old_session  # the changing browser's session was rotated …
    assert logged_in(here)
    assert not logged_in(elsewhere)  # … and every other one ended
    assert not logged_in(third)
    stale = Browser(client)
    stale.jar = {SESSION: old_session}
    assert not logged_in(stale)
    assert sessions_of(client, ada.account.id) == 1

    assert next_event(client, events) == (
        bus_events.staff_channel(ada.account.id),
        {"kind": "session_ended", "staff_id": ada.account.id.hex, "reason": "password_changed"},
    )
    assert ("account.password_change", ada.account.id, ada.account.id) in audit(client)
    stored = password_hash(client, ada.account.id)
    assert stored.startswith("$argon2id$")
    # The other browsers' device cookies no longer count as trusted: the password they knew is gone.
    assert client.res.devices.trusted(old_device, ada.account.id, stored) is None
    assert client.res.devices.trusted(here.jar[DEVICE], ada.account.id, stored)

    assert Browser(client).form("/staff/login", {"username": "ada", "password": PASSWORD}).status_code == 400
    browser(client, "ada", NEW)


def test_refused_changes_change_nothing(client: Client) -> None:
    ada = client.make_staff("ada", role="counsellor")
    here, elsewhere = browser(client, "ada"), browser(client, "ada")
    before = password_hash(client, ada.account.id)
    cases = [
        (("a wrong password", NEW, None), "The current password is not right."),
        ((PASSWORD, "short", None), "The password must be at least 12 characters long."),
        ((PASSWORD, "aaaaaaaaaaaaaaaa", None), "The password is too easy to guess."),
        ((PASSWORD, "my name is ada, hello", None), "The password must not contain the user name."),
        ((PASSWORD, PASSWORD, None), "The new password must be different from the current one."),
        ((PASSWORD, NEW, NEW + "!"), "The two passwords are not the same."),
    ]
    for (current, new, again), message in cases:
        refused = change(here, current, new, again)
        assert refused.status_code == 422, refused.text
        assert error_text(refused) == message
    assert password_hash(client, ada.account.id) == before
    assert logged_in(here)
    assert logged_in(elsewhere)
    assert not [row for row in audit(client) if row[0] == "account.password_change"]


def test_wrong_current_passwords_are_limited_per_account(client: Client) -> None:
    client.make_staff("ada", role="counsellor")
    hijacked, own = browser(client, "ada"), browser(client, "ada")
    limit = client.res.settings.login_attempts_per_account
    for _ in range(limit):
        assert change(hijacked, "a guess at it", NEW).status_code == 422
    refused = change(hijacked, "a guess at it", NEW)
    assert refused.status_code == 429
    assert error_text(refused) == "Too many wrong passwords. Try again in 15 minutes."
    assert int(refused.headers["retry-after"]) > 0
    assert change(own, PASSWORD, NEW).status_code == 429  # per account: guessing cannot go on elsewhere
    assert logged_in(own)


def test_the_password_form_needs_a_session_and_a_csrf_token(client: Client) -> None:
    client.make_staff("ada", role="counsellor")
    anonymous = Browser(client)
    assert (
        anonymous.request("GET", "/staff/password", follow_redirects=False).headers["location"]
        == "/staff/login"
    )
    form = {"current_password": PASSWORD, "new_password": NEW, "new_password_again": NEW}
    here = browser(client, "ada")
    no_token = here.request("POST", "/staff/password", data=form, follow_redirects=False)
    assert no_token.status_code == 403
    token = here.csrf("/staff/password")
    cross_site = here.request(
        "POST",
        "/staff/password",
        data={**form, "csrf_token": token},
        headers={"origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert cross_site.status_code == 403
    forged = here.request(
        "POST", "/staff/password", data={**form, "csrf_token": "x" * 43}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert (
        anonymous.form("/staff/password", form, token_from="/staff/login").headers["location"]
        == "/staff/login"
    )
    browser(client, "ada")  # still the old password


# --- an admin forces a reset ---------------------------------------------------------------------


def reset(admin: Person, account_id: uuid.UUID) -> Any:
    return admin.form(f"/staff/admin/staff/{account_id}/reset", {}, token_from="/staff/admin/staff")


def reset_link(response: Any) -> str:
    assert response.status_code == 200, response.text
    match = INVITE_RE.search(response.text)
    assert match, response.text
    return match.group(1).removeprefix(BASE_URL)


def accounts(client: Client) -> int:
    async def count() -> int:
        async with client.res.db() as db:
            return int(await db.scalar(select(func.count()).select_from(StaffAccount)) or 0)

    return client.run(count)


def test_an_admin_forces_a_reset_and_the_person_sets_a_new_password_through_a_fresh_link(
    client: Client,
) -> None:
    admin_account = client.make_staff("admin")
    cora = client.make_staff("cora", role="counsellor")
    admin = browser(client, "admin")
    laptop, phone = browser(client, "cora"), browser(client, "cora")
    events = listen(client, cora.account.id)

    answer = reset(admin, cora.account.id)
    link = reset_link(answer)
    assert "Cora has been logged out everywhere." in answer.text
    assert "password reset" in admin.request("GET", "/staff/admin/staff").text  # among open links
    assert not logged_in(laptop)
    assert not logged_in(phone)
    assert sessions_of(client, cora.account.id) == 0
    assert next_event(client, events)[1] == {
        "kind": "session_ended",
        "staff_id": cora.account.id.hex,
        "reason": "password_reset",
    }
    assert ("account.force_reset", admin_account.account.id, cora.account.id) in audit(client)
    # The old password opens nothing, and says so exactly as any wrong password does.
    old = Browser(client).form("/staff/login", {"username": "cora", "password": PASSWORD})
    assert old.status_code == 400
    assert "Wrong user name or password." in old.text
    # Not from her own browser with its device cookie either (that trust ended with the password).
    assert laptop.form("/staff/login", {"username": "cora", "password": PASSWORD}).status_code == 400

    cora_again = Browser(client)
    page = cora_again.request("GET", link)
    assert page.status_code == 200
    assert "An administrator has reset the password of the account cora. Choose a new password." in page.text
    assert 'id="username"' not in page.text
    weak = cora_again.form(link, {"username": "someone-else", "password": "short", "password_again": "short"})
    assert weak.status_code == 422
    assert error_text(weak) == "The password must be at least 12 characters long."
    differ = cora_again.form(link, {"password": NEW, "password_again": NEW + "?"})
    assert differ.status_code == 422
    done = cora_again.form(link, {"username": "someone-else", "password": NEW, "password_again": NEW})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/staff/"
    assert "Hello, Cora" in cora_again.request("GET", "/staff/").text
    assert accounts(client) == 2  # a reset link never makes a new account
    assert ("account.password_reset", cora.account.id, cora.account.id) in audit(client)
    assert Browser(client).request("GET", link).status_code == 404  # once only
    browser(client, "cora", NEW)
    assert Browser(client).form("/staff/login", {"username": "cora", "password": PASSWORD}).status_code == 400


def test_only_the_newest_reset_link_works(client: Client) -> None:
    client.make_staff("admin")
    cora = client.make_staff("cora", role="counsellor")
    admin = browser(client, "admin")
    first = reset_link(reset(admin, cora.account.id))
    second = reset_link(reset(admin, cora.account.id))
    assert Browser(client).request("GET", first).status_code == 404
    person = Browser(client)
    assert person.form(second, {"password": NEW, "password_again": NEW}).status_code == 303

    async def open_links() -> int:
        async with client.res.db() as db:
            query = select(func.count()).select_from(StaffInvite).where(StaffInvite.used_at.is_(None))
            return int(await db.scalar(query) or 0)

    assert client.run(open_links) == 0


def test_who_may_force_a_reset(client: Client) -> None:
    admin_account = client.make_staff("admin")
    client.make_staff("cora", role="counsellor")
    dora = client.make_staff("dora", role="counsellor")
    admin = browser(client, "admin")
    own = reset(admin, admin_account.account.id)
    assert own.status_code == 409
    assert error_text(own) == "To change your own password, use “Change password”."
    counsellor = browser(client, "cora")
    assert reset(counsellor, dora.account.id).status_code == 403
    assert reset(admin, uuid.uuid4()).status_code == 404
    deactivated = admin.form(
        f"/staff/admin/staff/{dora.account.id}/deactivate", {}, token_from="/staff/admin/staff"
    )
    assert deactivated.status_code == 303
    refused = reset(admin, dora.account.id)
    assert refused.status_code == 409
    assert error_text(refused) == "This account is deactivated."
    assert logged_in(counsellor)  # nothing happened to anyone
    assert logged_in(admin)
    assert not [row for row in audit(client) if row[0] == "account.force_reset"]
    browser(client, "cora")  # her password still works
