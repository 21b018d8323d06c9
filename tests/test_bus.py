"""The Redis bus: installations that share one Redis never hear each other's events."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from server.realtime.bus import RedisBus, Subscription
from server.settings import SettingsError, load_settings
from tests.conftest import app_env
from tests.services import need_redis


def test_the_namespace_follows_the_database(tmp_path: Path) -> None:
    """Every process of one installation shares its database, so they agree; others differ."""

    def prefix(url: str, **extra: str) -> str:
        return load_settings(app_env(tmp_path, url, **extra)).redis_prefix

    one = prefix("postgresql://postgres@127.0.0.1:5432/one")
    assert one == prefix("postgresql+asyncpg://postgres@127.0.0.1:5432/one")
    assert one != prefix("postgresql://postgres@127.0.0.1:5432/two")
    assert prefix("postgresql://x@h/one", TRYGG_REDIS_NAMESPACE="staging") == "trygg:staging:"
    with pytest.raises(SettingsError, match="TRYGG_REDIS_NAMESPACE"):
        prefix("postgresql://x@h/one", TRYGG_REDIS_NAMESPACE="a:b")


@pytest.mark.redis
def test_two_installations_on_one_redis_do_not_hear_each_other() -> None:
    url = need_redis()

    async def scenario() -> tuple[list[str], list[str]]:
        redis = Redis.from_url(url)
        ours, theirs = RedisBus(redis, "trygg:ours:"), RedisBus(redis, "trygg:theirs:")
        await ours.start()
        await theirs.start()
        try:
            heard_ours, heard_theirs = ours.subscription(), theirs.subscription()
            heard_ours.add("queue")
            heard_theirs.add("queue")
            await theirs.publish("queue", {"kind": "queue", "from": "theirs"})
            await ours.publish("queue", {"kind": "queue", "from": "ours"})
            got_ours = [(await asyncio.wait_for(heard_ours.get(), 5))[1]["from"]]
            got_theirs = [(await asyncio.wait_for(heard_theirs.get(), 5))[1]["from"]]
            await asyncio.sleep(0.2)  # anything crossing over would have arrived by now
            got_ours += [e["from"] for _, e in _drain(heard_ours)]
            got_theirs += [e["from"] for _, e in _drain(heard_theirs)]
            return got_ours, got_theirs
        finally:
            await ours.stop()
            await theirs.stop()
            await redis.aclose()

    assert asyncio.run(scenario()) == (["ours"], ["theirs"])


def _drain(subscription: Subscription) -> list[tuple[str, dict[str, Any]]]:
    items = []
    while (item := subscription.pop()) is not None:
        items.append(item)
    return items
