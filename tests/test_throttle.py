"""Rate limiting: the in-memory limiter, and the Redis one shared by several processes (reservations).

The limits as people meet them are in tests/test_login_limits.py and tests/test_limits.py.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from redis.asyncio import Redis

from server.app import create_app
from server.security.clients import ClientHasher
from server.security.throttle import MemoryLimiter, RedisLimiter
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


def test_the_redis_reservation_is_atomic_across_connections() -> None:
    url = need_redis()
    key = uuid.uuid4().hex

    async def race() -> tuple[int, int, int]:
        connections = [Redis.from_url(url) for _ in range(4)]
        try:
            limiters = [RedisLimiter(r, "test-race", 7, 60) for r in connections]
            verdicts = await asyncio.gather(*(limiters[n % 4].reserve(key) for n in range(100)))
            allowed = [v for v in verdicts if v.allowed]
            await limiters[0].release(key, allowed[0].ticket)  # an outcome that cost nothing
            after_release = await limiters[1].reserve(key)
            refused = await limiters[2].reserve(key)
            await limiters[3].reset(key)
            return len(allowed), int(after_release.allowed), int(refused.allowed)
        finally:
            for connection in connections:
                await connection.aclose()

    assert asyncio.run(race()) == (7, 1, 0)


def test_memory_reservations_release_and_expire() -> None:
    now = [100.0]
    limiter = MemoryLimiter(limit=2, window=60, clock=lambda: now[0])

    async def scenario() -> None:
        one = await limiter.reserve("k")
        now[0] += 10
        two = await limiter.reserve("k")
        assert one.allowed
        assert two.allowed
        assert one.ticket != two.ticket
        full = await limiter.reserve("k")
        assert (full.allowed, full.retry_after) == (False, 50)
        await limiter.release("k", two.ticket)
        assert (await limiter.reserve("k")).allowed
        now[0] += 51  # the first reservation leaves the window
        assert (await limiter.reserve("k")).allowed
        assert not (await limiter.reserve("k")).allowed

    asyncio.run(scenario())
