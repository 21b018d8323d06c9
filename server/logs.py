"""Structured logs (one JSON object per line) that never carry a client address.

What is logged per request: method, route template (not the path or query string),
status and duration.  Never an IP address, a request body, a cookie or a
header.  As a second line of defence a filter removes anything that looks
like an IP address from every record, including those of uvicorn itself.

Some fields can carry text from outside (a CSP report's directive, an exception
message), so every string in every record is made safe to read in a terminal or a
log viewer: control, format and bidirectional characters (Unicode categories C*,
e.g. U+202E RIGHT-TO-LEFT OVERRIDE and U+2066–U+2069) and line/paragraph separators
are removed, and each field is cut to `MAX_FIELD` characters.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import unicodedata
from typing import Any, ClassVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_IPV4 = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])")
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
MAX_FIELD = 1000
_UNSAFE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def clean(text: str, limit: int = MAX_FIELD) -> str:
    """`text` without control, format, bidi or unassigned characters and line separators, with
    anything shaped like an address scrubbed, cut to `limit` characters."""
    if not text.isprintable():  # False for every C* category, Zl and Zp (and other spaces than " ")
        text = "".join(ch for ch in text if unicodedata.category(ch) not in _UNSAFE)
    text = scrub(text)  # after stripping: U+200B inside an address must not hide it from the scrub
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _safe(value: object) -> object:
    """A JSON-ready copy of a log field with every string in it cleaned."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list | tuple):
        return [_safe(item) for item in value[:50]]
    if isinstance(value, dict):
        return {clean(str(key), 100): _safe(item) for key, item in list(value.items())[:50]}
    return clean(str(value))


def scrub(text: str) -> str:
    """Replace anything shaped like an IPv4 or IPv6 address."""
    return _IPV6.sub("[address]", _IPV4.sub("[address]", text))


class ScrubAddresses(logging.Filter):
    """Removes IP addresses from the message and its arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(str(record.msg))
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(scrub(a) if isinstance(a, str) else _scrub_value(a) for a in args)
        return True


def _scrub_value(value: object) -> object:
    if isinstance(value, tuple):  # uvicorn passes (host, port) for the client
        return "[address]"
    return value


class ThrottleRepeats(logging.Filter):
    """At most one line per `every` seconds for each kind of resource-exhaustion message.

    A flood of refused connections must not become a flood of log lines (one client once
    wrote 35 MB in 12 s this way).  Kinds are named by a record's `throttle` field, or by
    the start of messages from asyncio and uvicorn that one client can repeat at will; the
    line that gets through says how many of its kind were left out before it (`suppressed`).
    """

    FOREIGN: ClassVar[dict[str, str]] = {
        "socket.accept() out of system resource": "accept_out_of_resources",
        "Exceeded concurrency limit.": "concurrency_limit",
        "Invalid HTTP request received.": "invalid_http_request",
        "Unsupported upgrade request.": "unsupported_upgrade",
    }

    def __init__(self, every: float = 10.0, clock: Any = time.monotonic) -> None:
        super().__init__()
        self.every = every
        self._clock = clock
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def _kind(self, record: logging.LogRecord) -> str | None:
        kind = getattr(record, "throttle", None)
        if isinstance(kind, str):
            return kind
        message = str(record.msg)
        for start, name in self.FOREIGN.items():
            if message.startswith(start):
                return name
        return None

    def filter(self, record: logging.LogRecord) -> bool:
        kind = self._kind(record)
        if kind is None:
            return True
        now = self._clock()
        last = self._last.get(kind)
        if last is not None and now - last < self.every:
            self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
            return False
        self._last[kind] = now
        record.throttle = kind
        record.suppressed = self._suppressed.pop(kind, 0)
        return True


class QuietWebsockets(logging.Filter):
    """The INFO lines for every websocket are left out: uvicorn's `[accepted]` and the websockets
    library's "connection open" / "connection closed" (ten thousand reconnecting browsers would
    write ten thousand lines each); refusals and errors still get through."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not record.name.startswith(("uvicorn", "websockets")):
            return True
        said = str(record.msg)  # the websockets library logs on uvicorn's logger, or its own
        return not (
            said.endswith('"WebSocket %s" [accepted]') or said in {"connection open", "connection closed"}
        )


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": clean(record.name, 100),
            "message": _safe(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[clean(key, 100)] = _safe(value)
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = clean(record.exc_info[0].__name__, 100)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str) -> None:
    """Send every log record to stderr as scrubbed JSON."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    handler.addFilter(ScrubAddresses())
    handler.addFilter(ThrottleRepeats())
    handler.addFilter(QuietWebsockets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True


class RequestLogMiddleware:
    """One line per request: method, route template (never the raw path or query), status, ms."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger("trygg.request")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = getattr(scope.get("route"), "path", None)
            if route != "/static/{path:path}":
                # The route template, never the raw path: tokens in URLs stay out of the log.
                # A websocket's line is DEBUG: one INFO line per connection is a flood in a storm.
                self.log.log(
                    logging.INFO if scope["type"] == "http" else logging.DEBUG,
                    "request",
                    extra={
                        "method": scope.get("method", "WS"),
                        "route": route or "(no route)",
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    },
                )
