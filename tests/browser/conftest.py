"""Real-browser tests: Debian's Chromium driven by Python Playwright.

Every page a test opens records Content-Security-Policy violations and script
errors; any of them fails the test, and so does a CSP report reaching the
server. The fixtures every browser test may ask for by name live here; what
tests share besides fixtures is in pages.py and staff_helpers.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx  # the one HTTP client (Starlette's TestClient uses it too)
import pytest

from tests.live_server import LiveServer
from tests.services import chromium_path, missing

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
]
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.effectiveDirective} blocked ${e.blockedURI}`);
});
"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("Python Playwright is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        yield instance
        instance.close()


@dataclass
class Problems:
    """What went wrong in the pages of one test."""

    items: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda error: self.items.append(f"page error: {error}"))
        page.on(
            "console",
            lambda message: (
                self.items.append(f"console: {message.text}")
                if (message.type == "error" and "Content Security Policy" in message.text)
                or "Integrity" in message.text
                else None
            ),
        )

    def collect(self, page: Any) -> None:
        # The page may have navigated to a site we do not control: nothing to collect there.
        with contextlib.suppress(Exception):
            self.items.extend(page.evaluate("window.__violations || []"))


@pytest.fixture
def browser_context(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh, private browser profile (like a new private window)."""
    locale = getattr(request, "param", "en-GB")
    context = browser.new_context(locale=locale)
    context.add_init_script(RECORD_VIOLATIONS)
    yield context
    context.close()


@pytest.fixture
def problems() -> Problems:
    return Problems()


@pytest.fixture
def page(browser_context: Any, problems: Problems, live_server: LiveServer) -> Iterator[Any]:
    page = browser_context.new_page()
    problems.watch(page)
    log_before = live_server.log().count("csp violation")
    yield page
    problems.collect(page)
    assert not problems.items, problems.items
    assert live_server.log().count("csp violation") == log_before, "the browser reported a CSP violation"


@pytest.fixture(name="new_page")
def new_page_fixture(browser: Any, problems: Problems, live_server: LiveServer) -> Iterator[Any]:
    """Pages in fresh browser profiles (each like another device), all watched for CSP problems."""
    contexts: list[Any] = []
    pages: list[Any] = []

    def make() -> Any:
        context = browser.new_context(locale="en-GB")
        context.add_init_script(RECORD_VIOLATIONS)
        contexts.append(context)
        page = context.new_page()
        problems.watch(page)
        pages.append(page)
        return page

    yield make
    for page in pages:
        problems.collect(page)
    for context in contexts:
        context.close()
    assert not problems.items, problems.items


@pytest.fixture(name="http")
def http_fixture(live_server: LiveServer) -> Iterator[httpx.Client]:
    """A plain HTTP client for the live server (each `Person` keeps its own cookies over it)."""
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client
