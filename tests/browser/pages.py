"""What the browser tests share about the pages: driving the visitor's chat and the staff
pages, capturing everything on the wire, and a tap between a page and the server's websocket.

Every wait here is on a condition (an element, a frame, an answer), never a fixed time.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.browser.staff_helpers import PHRASE, log_in
from tests.live_server import LiveServer
from tests.services import missing

WAIT = 30_000


# --- the wire ------------------------------------------------------------------------------


@dataclass
class Wire:
    """Everything the pages sent and received over the network, as text."""

    items: list[str] = field(default_factory=list)  # request bodies and websocket frames
    requests: list[str] = field(default_factory=list)  # "METHOD url"
    sockets: list[Any] = field(default_factory=list)  # the pages' websockets, newest last

    def watch(self, page: Any) -> None:
        def on_request(request: Any) -> None:
            self.requests.append(f"{request.method} {request.url}")
            if request.post_data:
                self.items.append(request.post_data)

        def on_socket(socket: Any) -> None:
            self.sockets.append(socket)
            socket.on("framesent", lambda payload: self.items.append(str(payload)))
            socket.on("framereceived", lambda payload: self.items.append(str(payload)))

        page.on("request", on_request)
        page.on("websocket", on_socket)

    def frames_of(self, kind: str) -> list[dict[str, Any]]:
        found = []
        for item in self.items:
            if item.startswith("{") and f'"type":"{kind}"' in item.replace(" ", ""):
                found.append(json.loads(item))
        return found

    def assert_never(self, *words: str) -> None:
        joined = "\n".join(self.items + self.requests)
        assert len(self.items) > 20
        for word in words:
            assert word not in joined, word


def assert_never_in_clear(live_server: LiveServer, wire: Wire, *plaintexts: str) -> None:
    """Not on the wire, not in the database files (with the WAL), not in the server's log."""
    stored = b"".join(
        path.read_bytes() for path in Path(live_server.data_dir).glob("trygg.sqlite3*") if path.is_file()
    )
    assert stored, "no database file found"
    assert wire.items, "nothing was captured"
    log = live_server.log()
    joined = "\n".join(wire.items + wire.requests)
    for words in plaintexts:
        assert words not in joined, words
        assert words.encode() not in stored, words
        assert words not in log, words


class SocketTap:
    """Sits between a page and the server's websocket: sees every frame, can hold back `message`
    frames (or those `holding` picks) to the page, and can ask the server for a round trip the
    page never sees."""

    def __init__(self) -> None:
        self.hold = False
        self.holding: Callable[[dict[str, Any]], bool] = lambda frame: frame.get("type") == "message"
        self.held: list[str] = []
        self.to_server: list[dict[str, Any]] = []
        self.to_page: list[dict[str, Any]] = []
        self.route: Any = None
        self.server: Any = None
        self.trips = 0

    def install(self, page: Any) -> None:
        page.route_web_socket(re.compile(r".*/ws$"), self._handle)

    def _handle(self, route: Any) -> None:
        self.route = route
        self.server = route.connect_to_server()

        def upstream(text: Any) -> None:
            self.to_server.append(json.loads(text))
            self.server.send(text)

        def downstream(text: Any) -> None:
            frame = json.loads(text)
            self.to_page.append(frame)
            if self.hold and self.holding(frame):
                self.held.append(text)
                return
            route.send(text)  # a `pong` too: the page ignores it, and tests can wait for it

        route.on_message(upstream)
        self.server.on_message(downstream)

    def release(self) -> None:
        self.hold = False
        for text in self.held:
            self.route.send(text)
        self.held.clear()

    def wait_for(self, wire: Wire, wanted: Callable[[dict[str, Any]], bool], timeout: float = WAIT) -> None:
        """Until a frame from the server that `wanted` accepts has reached the tap."""
        if any(wanted(frame) for frame in self.to_page):
            return
        wire.sockets[-1].wait_for_event(
            "framereceived", predicate=lambda payload: wanted(json.loads(str(payload))), timeout=timeout
        )

    def round_trip(self, wire: Wire) -> None:
        """A ping on the page's connection and its answer: everything the server had queued for
        this connection before it read the ping has been sent by then."""
        self.trips += 1
        ref = f"tap-{self.trips}"
        self.server.send(json.dumps({"type": "ping", "ref": ref}))
        self.wait_for(wire, lambda frame: frame.get("type") == "pong" and frame.get("ref") == ref)


# --- accessibility --------------------------------------------------------------------------

# WCAG 2.2 level AA as axe-core tags its rules (A and AA of 2.0, 2.1 and 2.2).
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
_AXE: list[str] = []


def axe_script() -> str:
    """axe-core, as the `axe-playwright-python` package ships it (read once)."""
    if not _AXE:
        try:
            from axe_playwright_python.base import AXE_SCRIPT
        except ImportError:
            missing("axe-playwright-python is not installed (pip install -e '.[test]')")
        _AXE.append(AXE_SCRIPT)
    return _AXE[0]


def accessibility_problems(page: Any) -> list[str]:
    """What axe-core finds against WCAG 2.2 AA in the page as it is now, one line per rule."""
    if page.evaluate("typeof window.axe") == "undefined":
        page.evaluate(axe_script())  # through the debugging protocol: the page's CSP does not apply
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_AA,
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(
            " ".join(node["target"]) + " " + node.get("failureSummary", "").replace("\n", " ")
            for node in v["nodes"][:5]
        )
        for v in result["violations"]
    ]


def assert_accessible(page: Any, where: str = "") -> None:
    """No WCAG 2.2 AA violation that axe-core can find in the page's current state."""
    problems = accessibility_problems(page)
    assert not problems, f"{where or page.url}:\n" + "\n".join(problems)


# What has the keyboard focus, and whether a sighted keyboard user can see where it is.
FOCUS = """(selector) => {
  const el = document.activeElement;
  if (!el || el === document.body) return { matches: false, visible: true, what: "the page" };
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  const ring = el.matches(":focus-visible") && style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
  return { matches: el.matches(selector), visible: ring && box.width > 0 && box.height > 0, what: el.outerHTML.slice(0, 120) };
}"""


def tab_to(page: Any, selector: str, *, back: bool = False, limit: int = 60) -> None:
    """Press Tab (or Shift+Tab) until `selector` has the focus; every stop on the way must show
    a visible focus ring (WCAG 2.4.7) on something that takes up space."""
    key = "Shift+Tab" if back else "Tab"
    for _ in range(limit):
        page.keyboard.press(key)
        focus = page.evaluate(FOCUS, selector)
        assert focus["visible"], f"no visible focus on {focus['what']}"
        if focus["matches"]:
            return
    raise AssertionError(f"{selector} not reached with {key} in {limit} presses")


# --- the visitor's pages ------------------------------------------------------------------


def leave_quickly(page: Any, how: str) -> None:
    """Quick exit the way a visitor would: the button, Esc, or Shift three times."""
    if how == "button":
        page.click("#quick-exit")
    elif how == "escape":
        page.keyboard.press("Escape")
    else:
        for _ in range(3):
            page.keyboard.press("Shift")


def start_chat(page: Any, live_server: LiveServer, keep: bool = False) -> str:
    """From the front page to the chat; returns the resume code shown."""
    page.goto(live_server.url + "/en/")
    page.click("#start-chat")
    page.wait_for_url("**/en/chat")
    page.click("#start")
    page.wait_for_selector("#view-code:not([hidden])", timeout=WAIT)
    code = str(page.inner_text("#resume-code"))
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){4}", code), code
    assert page.is_disabled("#continue")
    page.check("#written-down")
    if keep:
        page.check("#keep-signed-in")
    page.click("#continue")
    page.wait_for_selector("#view-chat:not([hidden])")
    expect(page.locator("#connection")).to_have_text("")
    return code


def conversation_id(page: Any) -> str:
    stored = page.evaluate("sessionStorage.getItem('trygg.visitor') || localStorage.getItem('trygg.visitor')")
    value = json.loads(stored)
    assert isinstance(value, dict)
    return str(value["conversation"])


def send(page: Any, words: str) -> None:
    page.fill("#message-text", words)
    page.press("#message-text", "Enter")


def mine(page: Any, words: str) -> Any:
    return page.locator("#messages li.message.mine", has_text=words)


def theirs(page: Any, words: str) -> Any:
    return page.locator("#messages li.message.theirs", has_text=words)


def caught_up(page: Any) -> None:
    """The visitor's page has followed the conversation to its end and sent all it had."""
    page.wait_for_selector("#chat-app[data-synced=yes][data-unsent='0']", state="attached", timeout=WAIT)


# --- the staff pages -----------------------------------------------------------------------


def open_staff_page(
    new_page: Callable[[], Any], live_server: LiveServer, name: str, wire: Wire, path: str, before: Any = None
) -> Any:
    """Log `name` in, open `path`, unlock their key, and wait for the socket."""
    page = new_page()
    wire.watch(page)
    if before is not None:
        before(page)
    log_in(page, live_server.url, name)
    return _ready_at(page, live_server.url + path)


def another_tab(page: Any, live_server: LiveServer, wire: Wire, path: str = "/staff/chat") -> Any:
    """The same browser (its session and unlocked key) with `path` open in a second tab."""
    other = page.context.new_page()
    wire.watch(other)
    return _ready_at(other, live_server.url + path)


def _ready_at(page: Any, url: str) -> Any:
    """Open a staff page, unlock the key if asked, and wait for the socket."""
    page.goto(url)
    page.wait_for_selector("body[data-ready]", state="attached", timeout=WAIT)
    if page.get_attribute("body", "data-ready") == "locked":
        page.fill("#recovery-phrase", PHRASE)
        page.click("#unlock")
    page.wait_for_selector("body[data-ready=yes]", state="attached", timeout=60_000)
    page.wait_for_selector("#connection[data-state=online]", timeout=WAIT)
    return page


def open_dashboard(
    new_page: Callable[[], Any], live_server: LiveServer, name: str, wire: Wire, before: Any = None
) -> Any:
    return open_staff_page(new_page, live_server, name, wire, "/staff/chat", before)


def open_interpreter_page(
    new_page: Callable[[], Any], live_server: LiveServer, name: str, wire: Wire, before: Any = None
) -> Any:
    return open_staff_page(new_page, live_server, name, wire, "/staff/interpret", before)


def queue_item(page: Any, conversation: str) -> Any:
    return page.locator(f'#queue li[data-conversation="{conversation}"]')


def tab(page: Any, conversation: str) -> Any:
    return page.locator(f'#my-conversations button[data-conversation="{conversation}"]')


def message(page: Any, words: str) -> Any:
    return page.locator("#messages li", has_text=words)


def settled(page: Any, words: str) -> Any:
    """My message on a staff page once the server has it (shown with its seq, no longer pending)."""
    return page.locator("#messages li.mine:not(.pending)", has_text=words)


def type_until_seen(page: Any, selector: str, words: str, seen: Any) -> None:
    """Type into `selector` key by key, as a person does, until `seen` (the other side's typing
    indicator) shows.  Typing notices are paced (chat/signals.js) and keys typed before the
    page's socket is online send none, so a burst of a few keys at once may tell nobody."""
    deadline = time.monotonic() + WAIT / 1000
    typed = 0
    while True:
        page.locator(selector).press(words[typed % len(words)])
        typed += 1
        try:
            seen.wait_for(timeout=400)
            return
        except PlaywrightTimeout:
            if time.monotonic() > deadline:
                raise


def send_from_staff(page: Any, words: str) -> None:
    page.fill("#message-input", words)
    page.press("#message-input", "Enter")


def take(page: Any, conversation: str) -> None:
    """Claim a queued conversation on the dashboard and wait until it is open there."""
    page.locator(f"#take-{conversation}:not([disabled])").wait_for(timeout=WAIT)
    page.click(f"#take-{conversation}")
    page.wait_for_selector(f'#chat-view[data-conversation="{conversation}"]:not([hidden])', timeout=WAIT)


def click_together(pages: list[Any], selector: str) -> None:
    """Click `selector` on every page at the same wall-clock instant."""
    at = int(time.time() * 1000) + 400
    for page in pages:
        page.evaluate(
            "([selector, at]) => setTimeout(() => document.querySelector(selector)?.click(), at - Date.now())",
            [selector, at],
        )
