"""How the service runs: the one place that builds uvicorn's configuration (`trygg serve`, the Procfile).

What it adds to uvicorn, so that one client cannot hold the process:

- **Connections are counted before anything is read.**  At most `max_connections` at once
  (HTTP and websockets together).  When they are all taken, a new connection takes the place
  of the one that has waited longest for its request headers to finish (a slow or stalled
  client), or, if none is waiting, gets `503` and is closed at once, so its file descriptor
  is free again before the next accept.  At most
  `connections_per_client` HTTP connections from one address (not counted for a trusted
  reverse proxy, which speaks for many people: its own limits apply, docs/DEPLOYMENT.md).
- **Requests must arrive in bounded time.**  The request line and headers within
  `header_timeout_seconds` of the connection opening (or of the previous response), the body
  within `body_timeout_seconds` of the headers; an idle keep-alive connection closes after
  `keepalive_seconds`.  A client sending a header line every 10 s is cut off.
- **Answers must be read in bounded time.**  A client that stops reading (its receive window
  full, writing paused) for `body_timeout_seconds` is cut off at once (reset: closing gracefully
  would wait for it to read), so a slow reader cannot hold its connection for ever; websockets
  too (a websocket whose client reads nothing is otherwise never closed: even the keep-alive
  ping's timeout only closes it gracefully).
- **The file descriptors fit.**  At start the soft RLIMIT_NOFILE is raised to what the caps
  need (up to the hard limit); if it cannot be, the caps are lowered to fit and a warning says
  so, so the process never runs out of descriptors (`socket.accept() out of system resource`).
- Websocket frames are limited to the frame limit of server/realtime/frames.py (a larger one
  closes the socket with 1009 before it is read); per-message deflate is off
  (encrypted payloads do not compress, and it costs memory per connection).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import ipaddress
import logging
import resource
import secrets
from typing import Any, ClassVar

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from server.realtime.frames import MAX_FRAME_BYTES
from server.security.clients import client_network
from server.settings import Settings

log = logging.getLogger("trygg.serve")
BACKLOG = 128  # pending connections in the kernel, and the most accepted in one loop tick
FD_RESERVE = 128  # database and Redis connections, SQLite's WAL files, logs, static files
BUSY = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class TrustedProxies:
    """The addresses in FORWARDED_ALLOW_IPS (as uvicorn reads them): `*`, addresses or networks."""

    def __init__(self, raw: str | list[str]) -> None:
        items = raw if isinstance(raw, list) else [item.strip() for item in raw.split(",")]
        self.everyone = "*" in items
        self.networks = []
        for item in items:
            try:
                self.networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                continue  # e.g. a unix socket path: never a TCP peer

    def __contains__(self, host: str) -> bool:
        if self.everyone:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


class ConnectionGuard:
    """Counts the process's connections, and HTTP connections per client address, in memory.

    Addresses are counted under a keyed hash (a random key per process), never kept as such.
    """

    def __init__(self, settings: Settings, proxies: TrustedProxies | None) -> None:
        self.max_connections = settings.max_connections
        self.per_client = settings.connections_per_client
        self.header_timeout = float(settings.header_timeout_seconds)
        self.body_timeout = float(settings.body_timeout_seconds)
        self.proxies = proxies
        self._key = secrets.token_bytes(16)
        self._per_client: dict[bytes, int] = {}
        self._waiting: dict[GuardedH11Protocol, None] = {}  # for request headers, oldest first
        self.evicted = 0  # cut off to make room, and not yet gone (their descriptors close soon)

    def client_key(self, peer: Any) -> bytes | None:
        """Who to count this peer as; None for a trusted proxy (or a peer without an address)."""
        if not isinstance(peer, tuple) or not peer:
            return None
        host = str(peer[0])
        if self.proxies is not None and host in self.proxies:
            return None
        return hashlib.blake2b(client_network(host).encode(), key=self._key, digest_size=16).digest()

    def admit(self, open_connections: int, key: bytes | None) -> str | None:
        """None if a new connection may stay (counted; room made if need be), else the limit it hit."""
        if key is not None and self._per_client.get(key, 0) >= self.per_client:
            return "connections_per_client"
        if open_connections >= self.max_connections and not self.evict_oldest():
            return "connections_full"
        if key is not None:
            self._per_client[key] = self._per_client.get(key, 0) + 1
        return None

    def release(self, key: bytes | None) -> None:
        if key is None:
            return
        count = self._per_client.get(key, 0) - 1
        if count > 0:
            self._per_client[key] = count
        else:
            self._per_client.pop(key, None)

    def waiting(self, connection: GuardedH11Protocol, waits: bool) -> None:
        """Note whether a connection is waiting for request headers (and since when: the order)."""
        self._waiting.pop(connection, None)
        if waits:
            self._waiting[connection] = None

    def evict_oldest(self) -> bool:
        """Cut off the connection that has waited longest for its headers; False if none waits."""
        while self._waiting:
            connection = next(iter(self._waiting))
            del self._waiting[connection]
            if connection.cut("evicted"):
                return True
        return False


class StalledReader:
    """Cuts off a connection whose client stopped reading: once writing has been paused (the
    transport's buffer full) for the given time, the connection is reset (closing it gracefully
    would wait for the buffer to drain, that is for ever)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, transport: asyncio.Transport, owner: object) -> None:
        self.loop, self.transport, self.owner = loop, transport, owner
        self.deadline: asyncio.TimerHandle | None = None

    def paused(self, seconds: float) -> None:
        if self.deadline is None:
            self.deadline = self.loop.call_later(seconds, self._cut)

    def resumed(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    def _cut(self) -> None:
        self.deadline = None
        if self.transport.is_closing() or self.transport.get_protocol() is not self.owner:
            return
        log.info("slow request cut off", extra={"throttle": "read_timeout"})
        self.transport.abort()


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websocket protocol, cutting off a client that stops reading what it is sent."""

    read_timeout: ClassVar[float]

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._stalled = StalledReader(self.loop, transport, self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stalled.resumed()
        super().connection_lost(exc)

    def pause_writing(self) -> None:
        super().pause_writing()
        self._stalled.paused(self.read_timeout)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._stalled.resumed()


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with the guard's caps and read deadlines."""

    guard: ClassVar[ConnectionGuard]

    _deadline: asyncio.TimerHandle | None = None
    _client_key: bytes | None = None
    _counted = False
    _reading_body = False
    _evicted = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        open_connections = len(self.connections) - self.guard.evicted
        super().connection_made(transport)
        self._stalled = StalledReader(self.loop, transport, self)
        key = self.guard.client_key(transport.get_extra_info("peername"))
        refused = self.guard.admit(open_connections, key)
        if refused is not None:
            log.warning("connection refused", extra={"throttle": refused})
            transport.write(BUSY)
            transport.close()
            return
        self._client_key, self._counted = key, True
        self._arm(self.guard.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._stalled.resumed()
        self._uncount()
        if self._evicted:
            self.guard.evicted -= 1
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.get_protocol() is not self:
            return  # upgraded to a websocket: no timer here, it would keep this protocol alive
        state = self.conn.their_state
        if state is h11.SEND_BODY and not self._reading_body:
            self._reading_body = True
            self._arm(self.guard.body_timeout)
        elif state is not h11.IDLE and state is not h11.SEND_BODY:
            self._disarm()  # the whole request is in: the application answers in its own time

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._reading_body = False
            self._arm(self.guard.header_timeout)  # the next request on this connection, if any

    def pause_writing(self) -> None:
        super().pause_writing()
        self._stalled.paused(self.guard.body_timeout)

    def resume_writing(self) -> None:
        super().resume_writing()
        self._stalled.resumed()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._disarm()
        self._uncount()  # websockets have their own caps (server/realtime/hub.py)
        super().handle_websocket_upgrade(event)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)
        self.guard.waiting(self, not self._reading_body)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.guard.waiting(self, False)

    def _uncount(self) -> None:
        if self._counted:
            self._counted = False
            self.guard.release(self._client_key)

    def _too_slow(self) -> None:
        self._deadline = None
        if self.conn.their_state is h11.SEND_BODY:
            self.cut("body_timeout")
        elif self.conn.their_state is h11.IDLE:
            self.cut("header_timeout")

    def cut(self, why: str) -> bool:
        """Close a connection whose request is too slow (408 if no answer has begun); False if it
        was closing already."""
        self._disarm()
        if self.transport.is_closing() or self.transport.get_protocol() is not self:
            return False
        log.info("slow request cut off", extra={"throttle": why})
        if why == "evicted":
            self._evicted = True
            self.guard.evicted += 1
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(TIMED_OUT)
        self.transport.close()
        return True


def guarded_protocol(guard: ConnectionGuard) -> type[GuardedH11Protocol]:
    """The protocol class for one server, bound to its guard."""
    return type("TryggH11Protocol", (GuardedH11Protocol,), {"guard": guard})


@dataclasses.dataclass(frozen=True)
class Budget:
    """What the descriptor limit allows: the (possibly lowered) caps and the limit in force."""

    max_connections: int
    max_websockets: int
    limit: int
    needed: int


def descriptor_budget(settings: Settings) -> Budget:
    """Raise the soft RLIMIT_NOFILE to what the caps need if allowed; lower the caps if not."""
    needed = settings.max_connections + BACKLOG + FD_RESERVE
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return Budget(settings.max_connections, settings.max_websockets, needed, needed)
    connections = max(10, soft - BACKLOG - FD_RESERVE)
    # Websockets keep the share of connections they were given, so plain requests keep theirs.
    websockets = max(1, connections * settings.max_websockets // settings.max_connections)
    log.warning(
        "file descriptor limit too low for the configured connection caps: caps lowered",
        extra={
            "rlimit_nofile": soft,
            "needed": needed,
            "max_connections": connections,
            "max_websockets": websockets,
            "advice": "raise LimitNOFILE (systemd) or ulimit -n to at least the needed value",
        },
    )
    return Budget(connections, websockets, soft, needed)


def uvicorn_config(settings: Settings, host: str, port: int, proxy_headers: bool) -> uvicorn.Config:
    """The whole run configuration for one server process (the app included)."""
    from server.app import create_app

    budget = descriptor_budget(settings)
    settings = dataclasses.replace(
        settings, max_connections=budget.max_connections, max_websockets=budget.max_websockets
    )
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        access_log=False,
        log_config=None,
        proxy_headers=proxy_headers,
        server_header=False,
        date_header=False,
        backlog=BACKLOG,
        timeout_keep_alive=settings.keepalive_seconds,
        ws=type(
            "TryggWebSocketProtocol",
            (GuardedWebSocketProtocol,),
            {"read_timeout": float(settings.body_timeout_seconds)},
        ),
        ws_per_message_deflate=False,
        ws_max_size=MAX_FRAME_BYTES,  # a larger frame is refused (1009) before it is read
    )
    proxies = TrustedProxies(config.forwarded_allow_ips) if proxy_headers else None
    config.http = guarded_protocol(ConnectionGuard(settings, proxies))
    return config


def serve(settings: Settings, host: str, port: int, proxy_headers: bool) -> None:
    """Run the service in this process until it is told to stop."""
    uvicorn.Server(uvicorn_config(settings, host, port, proxy_headers)).run()
