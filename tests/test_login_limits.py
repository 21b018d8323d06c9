"""Staff login limits under concurrency, and device cookies, through the real HTTP login.

Attempts are reserved before the password is hashed, so however many wrong logins
arrive at once, no more passwords are checked than the limit allows; a browser that
has logged in to the account before (its device cookie) keeps its own allowance, so
the owner gets in while the attacker is locked out.  On SQLite and PostgreSQL, in one
process (memory) and in several app instances sharing one Redis.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
from starlette.applications import Starlette

from server.app import create_app
from server.passwords import Passwords
from server.security.devices import DeviceCookies
from server.settings import load_settings
from tests.chat_helpers import Person
from tests.conftest import BASE_URL, CSRF_RE, PASSWORD, Client, app_env
from tests.services import need_redis

WRONG = "not the password at all"
DEVICE = "trygg-device"


class CountingPasswords(Passwords):
    """The app's own hasher, counting every verification (the expensive work the limits guard)."""

    def __init__(self, inner: Passwords) -> None:
        self.__dict__.update(inner.__dict__)
        self.verified = 0

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        self.verified += 1
        return await super().verify(stored_hash, password)


def counting(client: Client) -> CountingPasswords:
    counter = CountingPasswords(client.res.passwords)
    client.res.passwords = counter
    return counter


@dataclass
class Browser:
    """A pre-login page's CSRF cookie and token, reusable for many simultaneous posts."""

    cookies: dict[str, str]
    token: str


def browser(client: Client, **cookies: str) -> Browser:
    client.cookies.clear()
    page = client.get("/staff/login")
    match = CSRF_RE.search(page.text)
    assert match
    jar = {**dict(client.cookies.items()), **cookies}
    client.cookies.clear()
    return Browser(jar, match.group(1))


def address(number: int, net: int = 198) -> tuple[str, int]:
    return (f"{net}.51.{number // 250}.{number % 250 + 1}", 40000 + number)


async def post_login(
    app: Starlette, who: Browser, username: str, password: str, client_address: tuple[str, int]
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=client_address)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, cookies=who.cookies) as http:
        return await http.post(
            "/staff/login", data={"username": username, "password": password, "csrf_token": who.token}
        )


@dataclass(frozen=True)
class Attempt:
    who: Browser
    username: str
    password: str
    where: tuple[str, int]


def at_once(client: Client, attempts: list[Attempt], start: float = 0.0) -> list[httpx.Response]:
    """Every attempt posted to the app's login at the same moment (at `start`, time.monotonic())."""

    async def run() -> list[httpx.Response]:
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        return list(
            await asyncio.gather(
                *(post_login(client.app, a.who, a.username, a.password, a.where) for a in attempts)
            )
        )

    return client.run(run)


def owner_device(client: Client, username: str) -> str:
    """Log in once as the owner (from the owner's own browser) and keep the device cookie it sets."""
    owner = Person(client, BASE_URL)
    owner.login(username)
    value = owner.jar.get(DEVICE)
    assert value, owner.jar
    return value


def statuses(answers: list[httpx.Response]) -> dict[int, int]:
    found: dict[int, int] = {}
    for answer in answers:
        found[answer.status_code] = found.get(answer.status_code, 0) + 1
    return found


# --- one process ------------------------------------------------------------------------------


def test_a_hundred_simultaneous_wrong_logins_check_five_passwords(client: Client) -> None:
    client.make_staff("ada")
    counter = counting(client)
    attacker = browser(client)

    answers = at_once(client, [Attempt(attacker, "ada", WRONG, address(0))] * 100)
    limit = client.res.settings.login_attempts_per_account
    assert counter.verified == limit == 5
    assert statuses(answers) == {400: limit, 429: 100 - limit}
    refused = next(a for a in answers if a.status_code == 429)
    assert "Too many failed attempts for this user name" in refused.text
    assert int(refused.headers["retry-after"]) > 0


def test_forty_wrong_logins_from_forty_addresses_check_five_passwords(client: Client) -> None:
    client.make_staff("ada")
    counter = counting(client)
    attacker = browser(client)

    answers = at_once(client, [Attempt(attacker, "ada", WRONG, address(n)) for n in range(40)])
    assert counter.verified == 5
    assert statuses(answers) == {400: 5, 429: 35}


def test_the_per_client_limit_holds_across_accounts_at_once(make_settings: Any) -> None:
    with Client(create_app(make_settings(TRYGG_LOGIN_ATTEMPTS_PER_CLIENT="7")), base_url=BASE_URL) as client:
        counter = counting(client)
        attacker = browser(client)

        answers = at_once(client, [Attempt(attacker, f"user{n}", WRONG, address(1)) for n in range(60)])
        assert counter.verified == 7
        assert statuses(answers) == {400: 7, 429: 53}
        assert (
            "Too many login attempts from this device"
            in next(a for a in answers if a.status_code == 429).text
        )


def test_the_owner_with_a_device_cookie_gets_in_while_an_attacker_is_locked_out(client: Client) -> None:
    client.make_staff("ada")
    device = owner_device(client, "ada")
    counter = counting(client)
    attacker = browser(client)
    owner = browser(client, **{DEVICE: device})

    attempts = [Attempt(attacker, "ada", WRONG, address(9))] * 60
    attempts.insert(30, Attempt(owner, "ada", PASSWORD, address(9)))  # from the same address even
    answers = at_once(client, attempts)
    mine = answers.pop(30)
    assert mine.status_code == 303, mine.text
    assert counter.verified == 5 + 1
    assert statuses(answers) == {400: 5, 429: 55}

    # Locked out for untrusted browsers, the right password included; the owner's browser still gets in.
    assert client.run(post_login, client.app, browser(client), "ada", PASSWORD, address(2)).status_code == 429
    again = client.run(post_login, client.app, owner, "ada", PASSWORD, address(3))
    assert again.status_code == 303
    assert again.cookies.get(DEVICE)  # renewed at every login


def test_a_device_cookies_own_failures_are_limited_per_cookie(client: Client) -> None:
    client.make_staff("ada")
    client.make_staff("bea")
    device = owner_device(client, "ada")
    counter = counting(client)
    stolen = browser(client, **{DEVICE: device})
    limit = client.res.settings.login_attempts_per_device

    answers = at_once(client, [Attempt(stolen, "ada", WRONG, address(4))] * (limit + 30))
    assert counter.verified == limit == 10
    assert statuses(answers) == {400: limit, 429: 30}
    assert (
        "Too many failed attempts from this browser" in next(a for a in answers if a.status_code == 429).text
    )
    # That browser is locked out of this account, with the right password too …
    assert client.run(post_login, client.app, stolen, "ada", PASSWORD, address(4)).status_code == 429
    # … but the cookie's failures did not spend the account's allowance for other browsers,
    assert client.run(post_login, client.app, browser(client), "ada", PASSWORD, address(5)).status_code == 303
    # and the cookie is worth nothing for another account.
    assert client.run(post_login, client.app, stolen, "bea", PASSWORD, address(4)).status_code == 303


def test_a_forged_or_foreign_device_cookie_is_untrusted(client: Client) -> None:
    client.make_staff("ada")
    client.make_staff("bea")
    genuine = owner_device(client, "ada")
    account, nonce, expiry, mac = genuine.split(".")
    forged = [
        f"{account}.{nonce}.{int(expiry) + 1}.{mac}",  # a longer life
        f"{account}.{'0' * 32}.{expiry}.{mac}",  # another nonce
        f"{uuid.uuid4().hex}.{nonce}.{expiry}.{mac}",  # another account
        f"{account}.{nonce}.{expiry}.{'A' * 43}",
        f"{account}.{nonce}.{expiry}.{mac[:-1]}+",  # not even base64url
        "x" * 5000,
        owner_device(client, "bea"),  # a real cookie, for someone else
    ]
    for value in forged:
        counter = counting(client)
        attempt = client.run(
            post_login, client.app, browser(client, **{DEVICE: value}), "ada", WRONG, address(6)
        )
        assert attempt.status_code in (400, 429)
        assert counter.verified <= 1
    # Seven wrong attempts from "trusted-looking" browsers all went to the untrusted allowance (5).
    locked = client.run(post_login, client.app, browser(client), "ada", PASSWORD, address(7))
    assert locked.status_code == 429
    assert (
        client.run(
            post_login, client.app, browser(client, **{DEVICE: genuine}), "ada", PASSWORD, address(7)
        ).status_code
        == 303
    )


def test_device_cookie_flags_and_expiry(make_settings: Any) -> None:
    settings = make_settings(TRYGG_PUBLIC_URL="https://chat.example.org", TRYGG_DEVICE_COOKIE_DAYS="30")
    with Client(create_app(settings), base_url="https://chat.example.org") as client:
        client.make_staff("ada")
        response = client.login("ada")
        cookies = [c for c in response.headers.get_list("set-cookie") if c.startswith("__Host-trygg-device=")]
        assert len(cookies) == 1, response.headers.get_list("set-cookie")
        flags = cookies[0].lower()
        for flag in ("httponly", "secure", "samesite=strict", "path=/", f"max-age={30 * 86400}"):
            assert flag in flags, flags
        assert "domain=" not in flags
        # Logging out ends the session, not the browser's trust.
        client.post("/staff/logout", data={"csrf_token": client.csrf("/staff/")})
        assert client.cookies.get("__Host-trygg-device")


def test_device_entries_expire_and_one_browser_holds_several_accounts() -> None:
    now = [1_000_000.0]
    devices = DeviceCookies(b"k" * 32, days=1, clock=lambda: now[0])
    ada, bea = uuid.uuid4(), uuid.uuid4()
    value = devices.issue(None, ada, "hash-a")
    value = devices.issue(value, bea, "hash-b")
    assert devices.trusted(value, ada, "hash-a")
    assert devices.trusted(value, bea, "hash-b")
    assert devices.trusted(value, ada, "hash-a-changed") is None  # a new password ends the trust
    assert devices.trusted(devices.without(value, ada), ada, "hash-a") is None
    for _ in range(10):
        value = devices.issue(value, uuid.uuid4(), "h")
    assert value.count("~") == 4  # five accounts at most, newest first
    assert devices.trusted(value, ada, "hash-a") is None
    fresh = devices.issue(None, ada, "hash-a")
    now[0] += 86400 + 1
    assert devices.trusted(fresh, ada, "hash-a") is None


# --- several processes sharing one Redis -----------------------------------------------------


@contextmanager
def apps_sharing_redis(tmp_path: Path, database_url: str, count: int) -> Iterator[list[Client]]:
    env = app_env(tmp_path / "data", database_url, TRYGG_REDIS_URL=need_redis())
    with ExitStack() as stack:
        yield [
            stack.enter_context(Client(create_app(load_settings(env)), base_url=BASE_URL))
            for _ in range(count)
        ]


def test_wrong_logins_spread_over_three_processes_check_five_passwords(
    tmp_path: Path, database_url: str
) -> None:
    with apps_sharing_redis(tmp_path, database_url, 3) as clients:
        first = clients[0]
        username = f"u{uuid.uuid4().hex[:10]}"  # Redis outlives the test: keys of its own
        first.make_staff(username)
        device = owner_device(first, username)
        counters = [counting(c) for c in clients]
        attacker = browser(first)
        owner = browser(first, **{DEVICE: device})
        net = 10 + secrets.randbelow(200)  # Redis outlives the test: addresses of its own too
        started = time.monotonic() + 0.2

        def burst(client: Client) -> list[httpx.Response]:  # every process at once
            return at_once(
                client, [Attempt(attacker, username, WRONG, address(n, net)) for n in range(30)], started
            )

        with ThreadPoolExecutor(max_workers=3) as pool:
            answers = [a for part in pool.map(burst, clients) for a in part]
        assert sum(c.verified for c in counters) == 5
        assert statuses(answers) == {400: 5, 429: 85}
        for client in clients:  # every process agrees: untrusted browsers are locked out, the owner is not
            assert (
                client.run(
                    post_login, client.app, browser(client), username, PASSWORD, address(99)
                ).status_code
                == 429
            )
            assert (
                client.run(post_login, client.app, owner, username, PASSWORD, address(99)).status_code == 303
            )
