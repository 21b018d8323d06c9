"""Staff accounts through HTTP: login, logout, sessions, throttling, invitations, deactivation."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, update

from server.models import AuditEvent, StaffAccount, StaffSession, utcnow
from server.services.tokens import token_hash
from tests.conftest import PASSWORD, Client

INVITE_RE = re.compile(r'id="invite-url" class="copy-field" readonly value="([^"]+)"')


def session_count(client: Client) -> int:
    async def count() -> int:
        async with client.res.db() as db:
            return int(await db.scalar(select(func.count()).select_from(StaffSession)) or 0)

    return client.run(count)


def test_login_and_logout(client: Client) -> None:
    client.make_staff("ada")
    response = client.login("ada")
    assert response.headers["location"] == "/staff/"
    cookie = response.headers["set-cookie"]
    assert "trygg-session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Path=/" in cookie
    home = client.get("/staff/")
    assert home.status_code == 200
    assert "Hello, Ada" in home.text
    logout = client.post("/staff/logout", data={"csrf_token": client.csrf("/staff/")}, follow_redirects=False)
    assert logout.status_code == 303
    assert session_count(client) == 0
    assert client.get("/staff/", follow_redirects=False).headers["location"] == "/staff/login"


def test_wrong_password_and_unknown_user_get_the_same_answer(client: Client) -> None:
    client.make_staff("ada")
    wrong = client.post_form("/staff/login", {"username": "ada", "password": "nope nope nope"})
    unknown = client.post_form("/staff/login", {"username": "nobody", "password": "nope nope nope"})
    assert wrong.status_code == unknown.status_code == 400
    assert "Wrong user name or password." in wrong.text
    assert "Wrong user name or password." in unknown.text
    assert session_count(client) == 0


def test_session_cookie_is_secure_with_host_prefix_outside_localhost(make_settings) -> None:  # type: ignore[no-untyped-def]
    from server.app import create_app

    app = create_app(make_settings(TRYGG_PUBLIC_URL="https://chat.example.org"))
    with Client(app, base_url="https://chat.example.org") as client:
        client.make_staff("ada")
        response = client.login("ada")
        cookie = response.headers["set-cookie"]
        assert cookie.startswith("__Host-trygg-session=")
        assert "Secure" in cookie
        assert "HttpOnly" in cookie
        assert "max-age=63072000" in client.get("/").headers["strict-transport-security"]


def test_login_rotates_the_session(client: Client) -> None:
    client.make_staff("ada")
    client.login("ada")
    first = client.cookies.get("trygg-session")
    client.login("ada")
    second = client.cookies.get("trygg-session")
    assert first
    assert second
    assert first != second
    assert session_count(client) == 1  # the old session ended
    client.cookies.clear()
    client.cookies.set("trygg-session", first)
    assert client.get("/staff/", follow_redirects=False).status_code == 303


def test_idle_and_absolute_expiry(client: Client) -> None:
    client.make_staff("ada")
    client.login("ada")
    token = client.cookies.get("trygg-session")
    assert token

    def age(**fields: object) -> None:
        async def change() -> None:
            async with client.res.db.begin() as db:
                await db.execute(
                    update(StaffSession).where(StaffSession.token_hash == token_hash(token)).values(**fields)
                )

        client.run(change)

    age(last_seen_at=utcnow() - timedelta(minutes=client.res.settings.session_idle_minutes - 2))
    assert client.get("/staff/").status_code == 200  # still within the idle limit, and touched
    age(last_seen_at=utcnow() - timedelta(minutes=client.res.settings.session_idle_minutes + 1))
    assert client.get("/staff/", follow_redirects=False).status_code == 303
    assert session_count(client) == 0

    client.login("ada")
    token = client.cookies.get("trygg-session")
    assert token
    age(created_at=utcnow() - timedelta(hours=client.res.settings.session_max_hours, minutes=1))
    assert client.get("/staff/", follow_redirects=False).status_code == 303


def test_per_account_throttling(client: Client) -> None:
    client.make_staff("ada")
    limit = client.res.settings.login_attempts_per_account
    for _ in range(limit):
        assert (
            client.post_form("/staff/login", {"username": "ada", "password": "wrong wrong"}).status_code
            == 400
        )
    blocked = client.post_form("/staff/login", {"username": "ada", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Too many failed attempts for this user name" in blocked.text
    assert int(blocked.headers["retry-after"]) > 0
    # Unknown names are throttled the same way, so throttling reveals nothing.
    for _ in range(limit):
        client.post_form("/staff/login", {"username": "ghost", "password": "wrong wrong"})
    assert client.post_form("/staff/login", {"username": "ghost", "password": "x"}).status_code == 429


def test_per_client_throttling(make_settings) -> None:  # type: ignore[no-untyped-def]
    from server.app import create_app

    app = create_app(make_settings(TRYGG_LOGIN_ATTEMPTS_PER_CLIENT="3"))
    with Client(app, base_url="http://localhost:8000") as client:
        for name in ("a1x", "b2x", "c3x"):
            client.post_form("/staff/login", {"username": name, "password": "wrong wrong"})
        blocked = client.post_form("/staff/login", {"username": "d4x", "password": "wrong"})
        assert blocked.status_code == 429
        assert "Too many login attempts from this device" in blocked.text


def test_non_admin_cannot_open_admin_pages(client: Client) -> None:
    client.make_staff("cora", role="counsellor")
    client.login("cora")
    for path in ("/staff/admin/staff", "/staff/admin/hours"):
        assert client.get(path).status_code == 403
    token = client.csrf("/staff/")
    assert (
        client.post(
            "/staff/admin/invites", data={"csrf_token": token, "role": "admin", "display_name": "X"}
        ).status_code
        == 403
    )


def test_admin_pages_need_login(client: Client) -> None:
    response = client.get("/staff/admin/staff", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login"


def invite(client: Client, role: str = "counsellor", name: str = "Cora Counsellor") -> str:
    response = client.post_form(
        "/staff/admin/invites", {"role": role, "display_name": name}, token_from="/staff/admin/staff"
    )
    assert response.status_code == 200, response.text
    match = INVITE_RE.search(response.text)
    assert match
    return match.group(1).removeprefix("http://localhost:8000")


def test_invitation_is_single_use_and_creates_the_account(client: Client) -> None:
    client.make_staff("ada")
    client.login("ada")
    link = invite(client)
    client.switch_browser()
    page = client.get(link)
    assert page.status_code == 200
    assert "Welcome, Cora Counsellor" in page.text
    data = {"username": "cora", "password": PASSWORD, "password_again": PASSWORD}
    created = client.post_form(link, data, follow_redirects=False)
    assert created.status_code == 303
    assert "Hello, Cora Counsellor" in client.get("/staff/").text
    client.switch_browser()
    assert client.get(link).status_code == 404
    assert (
        client.post_form("/staff/login", data | {"username": "x"}, token_from="/staff/login").status_code
        == 400
    )
    again = client.post(link, data={**data, "username": "cora2", "csrf_token": client.csrf()})
    assert again.status_code == 404
    assert "not valid" in again.text


def test_invitation_bad_input(client: Client) -> None:
    client.make_staff("ada")
    client.login("ada")
    assert (
        "Choose a role."
        in client.post_form(
            "/staff/admin/invites", {"role": "king", "display_name": "X"}, token_from="/staff/admin/staff"
        ).text
    )
    assert (
        "Enter a name"
        in client.post_form(
            "/staff/admin/invites", {"role": "admin", "display_name": " "}, token_from="/staff/admin/staff"
        ).text
    )
    link = invite(client)
    client.switch_browser()
    cases = [
        ({"username": "cora", "password": PASSWORD, "password_again": PASSWORD + "x"}, "not the same"),
        ({"username": "cora", "password": "short", "password_again": "short"}, "at least 12"),
        ({"username": "C O R A", "password": PASSWORD, "password_again": PASSWORD}, "A user name has"),
        ({"username": "ada", "password": PASSWORD, "password_again": PASSWORD}, "taken"),
        ({"username": "cora", "password": "cora" * 4, "password_again": "cora" * 4}, "must not contain"),
    ]
    for data, message in cases:
        response = client.post_form(link, data)
        assert response.status_code in {409, 422}, (data, response.status_code)
        assert message in response.text
    assert client.get(link).status_code == 200  # failures do not use up the invitation
    assert client.get("/staff/invite/not-a-real-token").status_code == 404


def test_expired_invitation_is_refused(client: Client) -> None:
    from server.models import StaffInvite

    client.make_staff("ada")
    client.login("ada")
    link = invite(client)

    async def expire() -> None:
        async with client.res.db.begin() as db:
            await db.execute(update(StaffInvite).values(expires_at=utcnow() - timedelta(seconds=1)))

    client.run(expire)
    client.switch_browser()
    assert client.get(link).status_code == 404


def test_deactivation_ends_sessions_at_once(client: Client) -> None:
    client.make_staff("ada")
    cora = client.make_staff("cora", role="counsellor")
    client.login("cora")
    cora_cookies = client.switch_browser()
    client.login("ada")
    token = client.csrf("/staff/admin/staff")
    response = client.post(
        f"/staff/admin/staff/{cora.account.id}/deactivate", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    admin_cookies = client.switch_browser()
    for name, value in cora_cookies.items():
        client.cookies.set(name, value)
    assert client.get("/staff/", follow_redirects=False).status_code == 303
    client.cookies.clear()
    blocked = client.post_form("/staff/login", {"username": "cora", "password": PASSWORD})
    assert blocked.status_code == 400
    for name, value in admin_cookies.items():
        client.cookies.set(name, value)
    token = client.csrf("/staff/admin/staff")
    assert (
        client.post(
            f"/staff/admin/staff/{cora.account.id}/reactivate", data={"csrf_token": token}
        ).status_code
        == 200
    )
    client.switch_browser()
    client.login("cora")

    async def audit() -> list[str]:
        async with client.res.db() as db:
            return list(await db.scalars(select(AuditEvent.action).order_by(AuditEvent.at)))

    assert "account.deactivate" in client.run(audit)
    assert "account.reactivate" in client.run(audit)


def test_admin_cannot_deactivate_self_and_unknown_ids_are_404(client: Client) -> None:
    ada = client.make_staff("ada")
    client.login("ada")
    token = client.csrf("/staff/admin/staff")
    assert (
        client.post(f"/staff/admin/staff/{ada.account.id}/deactivate", data={"csrf_token": token}).status_code
        == 409
    )
    assert (
        client.post(
            "/staff/admin/staff/00000000-0000-4000-8000-000000000000/deactivate", data={"csrf_token": token}
        ).status_code
        == 404
    )
    assert (
        client.post("/staff/admin/staff/not-a-uuid/deactivate", data={"csrf_token": token}).status_code == 404
    )


def test_opening_hours_are_edited_and_shown(client: Client) -> None:
    client.make_staff("ada")
    client.login("ada")
    data = {f"opens_{d}": "" for d in range(7)} | {f"closes_{d}": "" for d in range(7)}
    data |= {"opens_0": "08:30", "closes_0": "16:00"}
    saved = client.post_form("/staff/admin/hours", data, follow_redirects=False)
    assert saved.status_code == 303
    front = client.get("/en/").text
    assert "08:30–16:00" in front
    assert front.count("Closed") == 6
    for bad in (
        {"opens_1": "25:00", "closes_1": "26:00"},
        {"opens_1": "12:00", "closes_1": "11:00"},
        {"opens_1": "09:00"},
    ):
        response = client.post_form("/staff/admin/hours", data | bad)
        assert response.status_code == 422
        assert "HH:MM" in response.text
    assert "08:30–16:00" in client.get("/en/").text  # bad input changed nothing


def test_create_admin_command(tmp_path: Path) -> None:
    env = {**os.environ, "TRYGG_DATA_DIR": str(tmp_path), "TRYGG_PASSWORD_HASHING": "fast-insecure-for-tests"}
    command = [sys.executable, "-m", "server", "create-admin", "root.admin", "--password-stdin"]
    made = subprocess.run(
        command, input=PASSWORD + "\n", env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert made.returncode == 0, made.stderr
    assert "administrator 'root.admin' created" in made.stdout
    again = subprocess.run(
        command, input=PASSWORD + "\n", env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert again.returncode == 1
    assert "That user name is taken." in again.stderr
    weak = subprocess.run(
        [*command[:4], "other", "--password-stdin"],
        input="short\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert weak.returncode == 1
    assert "at least 12" in weak.stderr


def test_password_is_stored_as_argon2id(client: Client) -> None:
    client.make_staff("ada")

    async def stored() -> str:
        async with client.res.db() as db:
            return str(await db.scalar(select(StaffAccount.password_hash)))

    assert client.run(stored).startswith("$argon2id$")
