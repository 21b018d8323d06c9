"""Which real services the tests may use, and what to do when one is missing.

A test that needs PostgreSQL, Redis, Chromium or Node skips with a clear
reason when it is absent; with TRYGG_TEST_REQUIRE_SERVICES=1 (set by .ci/run)
the same absence fails the test instead, so CI can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REQUIRE_ALL = os.environ.get("TRYGG_TEST_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")


def missing(reason: str) -> None:
    """Skip (or, in CI, fail) because a service this test needs is not available."""
    if REQUIRE_ALL:
        pytest.fail(f"required service missing: {reason}", pytrace=False)
    pytest.skip(reason)


def need_postgres() -> str:
    if not POSTGRES_URL.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
        missing("PostgreSQL not configured: set TEST_DATABASE_URL=postgresql://user@host/db")
    return POSTGRES_URL


def need_redis() -> str:
    if not REDIS_URL:
        missing("Redis not configured: set TEST_REDIS_URL=redis://127.0.0.1:6379/0")
    return REDIS_URL


def chromium_path() -> str:
    """Debian's chromium if present, else the one `playwright install chromium` put in place."""
    for candidate in (os.environ.get("TRYGG_CHROMIUM", ""), "/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if candidate and Path(candidate).exists():
            return candidate
    missing("Chromium not found: apt-get install chromium (or set TRYGG_CHROMIUM)")
    return ""


def node_path() -> str:
    found = shutil.which("node")
    if not found:
        missing("Node.js not found: install node (20 or newer) for the JavaScript tests")
    return found or ""
