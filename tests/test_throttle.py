"""Rate limiting: the in-memory limiter, and the Redis one shared by several processes."""

from __future__ import annotations

import uuid
from pathlib import Path

from server.app import create_app
from server.security.clients import ClientHasher
from server.security.throttle import MemoryLimiter
from server.settings import load_settings
from tests.conftest import BASE_URL, Client, app_env, run_async
from tests.services import need_redis


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_memory_limiter_sliding_window() -> None:
    clock = FakeClock()
    limiter = MemoryLimiter(limit=2, window=60, clock=clock)

    async def scenario() -> None:
        assert (await limiter.check("k")).allowed
        await limiter.hit("k")
        clock.now += 10
        await limiter.hit("k")
        verdict = await limiter.check("k")
        assert not verdict.allowed
        assert verdict.retry_after == 50
        assert (await limiter.check("other")).allowed
        clock.now += 51  # the first hit has left the window
        assert (await limiter.check("k")).allowed
        await limiter.reset("k")
        assert (await limiter.check("k")).allowed

    run_async(scenario())


def test_client_hasher_never_shows_the_address() -> None:
    scope = {"client": ("192.0.2.44", 5555)}
    one, two = ClientHasher(), ClientHasher()
    assert one(scope) == one(scope)
    assert "192.0.2.44" not in one(scope)
    assert one(scope) != two(scope)  # random per process when nothing is shared
    shared = ClientHasher(b"s" * 32), ClientHasher(b"s" * 32)
    assert shared[0](scope) == shared[1](scope)  # processes sharing Redis agree
    assert shared[0](scope) != ClientHasher(b"t" * 32)(scope)
    assert one({"client": None})


def test_redis_limiter_is_shared_between_processes(tmp_path: Path, database_url: str) -> None:
    redis_url = need_redis()
    env = app_env(tmp_path / "data", database_url, TRYGG_REDIS_URL=redis_url)
    first, second = create_app(load_settings(env)), create_app(load_settings(env))
    username = f"u{uuid.uuid4().hex[:10]}"
    with Client(first, base_url=BASE_URL) as one, Client(second, base_url=BASE_URL) as two:
        one.make_staff(username)
        limit = one.res.settings.login_attempts_per_account
        for attempt in range(limit):
            client = one if attempt % 2 else two
            response = client.post_form("/staff/login", {"username": username, "password": "wrong wrong"})
            assert response.status_code == 400
        for client in (one, two):
            blocked = client.post_form(
                "/staff/login", {"username": username, "password": "correct horse battery staple"}
            )
            assert blocked.status_code == 429
            assert "Too many failed attempts" in blocked.text
