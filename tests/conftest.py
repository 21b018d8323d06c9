"""Fixtures: real apps on real databases (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from server.app import create_app
from server.db import upgrade_database
from server.models import StaffAccount
from server.resources import Resources
from server.settings import Settings, load_settings
from tests.chat_helpers import ORIGIN, Centre, build_centre
from tests.live_server import LiveServer, NeutralSite
from tests.services import need_postgres, need_redis

T = TypeVar("T")
BASE_URL = ORIGIN  # what a TestClient calls itself
PASSWORD = "correct horse battery staple"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def app_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment a test app is configured from."""
    return {
        "TRYGG_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "TRYGG_PASSWORD_HASHING": "fast-insecure-for-tests",
        "TRYGG_MIGRATE_ON_START": "false",
        "TRYGG_DEFAULT_LANGUAGE": "en",
        **extra,
    }


def run_async(coroutine: Awaitable[T]) -> T:
    """Run a coroutine to completion, even when this thread already runs a loop (Playwright's)."""

    async def wrapper() -> T:
        return await coroutine

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, wrapper()).result()


def eventually(check: Callable[[], T], timeout: float = 15.0, interval: float = 0.1) -> T:
    """Ask `check` until it returns something true (and return that), or fail after `timeout` s.

    For conditions that become true with time (an expiry), never a fixed wait.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"still {result!r} after {timeout} s")
        time.sleep(interval)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: the quick tests report first."""
    items.sort(key=lambda item: "tests/browser/" in str(item.path))


# --- databases ----------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is much faster)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade_database(f"sqlite+aiosqlite:///{path}")
    return path


def _admin_url(url: str, database: str) -> str:
    return (
        make_url(url)
        .set(drivername="postgresql+asyncpg", database=database)
        .render_as_string(hide_password=False)
    )


async def _pg_execute(url: str, *statements: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated PostgreSQL database used as a template for one fresh database per test."""
    base = need_postgres()
    maintenance = _admin_url(base, make_url(base).database or "test")
    name = f"trygg_template_{uuid.uuid4().hex[:8]}"  # unique: test runs may overlap on one server
    run_async(
        _pg_execute(maintenance, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")
    )
    upgrade_database(_admin_url(base, name))
    yield name
    run_async(_pg_execute(maintenance, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test, on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "trygg.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template = request.getfixturevalue("postgres_template")
    base = need_postgres()
    maintenance = _admin_url(base, make_url(base).database or "test")
    name = f"trygg_t_{uuid.uuid4().hex[:12]}"
    run_async(_pg_execute(maintenance, f"CREATE DATABASE {name} TEMPLATE {template}"))
    yield _admin_url(base, name)
    run_async(_pg_execute(maintenance, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


# --- apps and clients ---------------------------------------------------------


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    def build(**extra: str) -> Settings:
        return load_settings(app_env(tmp_path / "data", database_url, **extra))

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def app(settings: Settings) -> Starlette:
    return create_app(settings)


@dataclass
class Staff:
    account: StaffAccount
    password: str


class Client(TestClient):
    """A TestClient with helpers for CSRF-protected forms and running service code."""

    @property
    def res(self) -> Resources:
        value = self.app.state.resources  # type: ignore[attr-defined]
        assert isinstance(value, Resources)
        return value

    def run(self, function: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run async code on the app's event loop (same engine, same database)."""
        assert self.portal is not None
        return self.portal.call(function, *args)

    def csrf(self, path: str = "/staff/login") -> str:
        """The CSRF token from the form on `path` (setting the pre-login cookie if needed)."""
        page = self.get(path)
        match = CSRF_RE.search(page.text)
        assert match, f"no CSRF token on {path} ({page.status_code})"
        return match.group(1)

    def post_form(self, path: str, data: dict[str, str], token_from: str | None = None, **kw: Any) -> Any:
        token = self.csrf(token_from or path)
        return self.post(path, data={**data, "csrf_token": token}, **kw)

    def make_staff(self, username: str, role: str = "admin", password: str = PASSWORD) -> Staff:
        from server.services.accounts import create_admin

        async def create() -> StaffAccount:
            account = await create_admin(self.res, username, username.title(), password, "en")
            if role != "admin":
                async with self.res.db.begin() as session:
                    live = await session.get(StaffAccount, account.id)
                    assert live is not None
                    live.role = role
                    account.role = role
            return account

        return Staff(self.run(create), password)

    def switch_browser(self) -> dict[str, str]:
        """Forget this browser's cookies (returning them), as if another person were using it."""
        saved = dict(self.cookies.items())
        self.cookies.clear()
        return saved

    def login(self, username: str, password: str = PASSWORD) -> Any:
        response = self.post_form(
            "/staff/login", {"username": username, "password": password}, follow_redirects=False
        )
        assert response.status_code == 303, response.text
        return response


@pytest.fixture
def client(app: Starlette) -> Iterator[Client]:
    with Client(app, base_url=BASE_URL) as test_client:
        yield test_client


@pytest.fixture
def centre(client: Client) -> Centre:
    """An admin, two counsellors (anna, bodil) and an interpreter (ivan), with certified,
    published keys: what a chat needs (a test module may define its own)."""
    return build_centre(
        client,
        BASE_URL,
        lambda: client.make_staff("admin"),
        {"anna": "counsellor", "bodil": "counsellor", "ivan": "interpreter"},
    )


@pytest.fixture
def redis_pair(tmp_path: Path, database_url: str) -> Iterator[tuple[Client, Client]]:
    """Two apps on one database and one Redis, as two server processes would be."""
    env = app_env(tmp_path / "data", database_url, TRYGG_REDIS_URL=need_redis())
    with (
        Client(create_app(load_settings(env)), base_url=BASE_URL) as one,
        Client(create_app(load_settings(env)), base_url=BASE_URL) as two,
    ):
        yield one, two


@pytest.fixture(scope="session")
def neutral_site() -> Iterator[NeutralSite]:
    site = NeutralSite()
    yield site
    site.stop()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, neutral_site: NeutralSite) -> Iterator[LiveServer]:
    """The real service, started once per test module, on SQLite (browser tests start many chats
    from this one machine, so the per-client hourly limit on new conversations is raised)."""
    server = LiveServer(
        tmp_path_factory.mktemp("live"),
        TRYGG_EXIT_URL=f"{neutral_site.url}/weather",
        TRYGG_CONVERSATIONS_PER_CLIENT_PER_HOUR="500",
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def fuzz_site(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One live centre per database for all the fuzzers (tests/fuzzing.py), set up once."""
    from tests.fuzzing import site_on

    with site_on(request.param, tmp_path_factory.mktemp(f"fuzz-{request.param}")) as site:
        yield site
