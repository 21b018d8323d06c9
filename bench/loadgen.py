"""One load-generator process, driven by the benchmark (bench/chat_bench.py) over stdin/stdout.

Each command is one JSON line in, one JSON line out.  A generator owns a share of the
conversations: for each, a visitor socket (the sender) and a counsellor socket (the
receiver; a counsellor follows several conversations on one socket, as the dashboard does).
The same code drives Trygg and the reference relays; only `setup` differs:

- Trygg: conversations are made with the real protocol (crypto/): a visitor genesis through
  POST /api/visitor/conversations, the counsellor's claim commit over the websocket; every
  message is a real application object (encrypted and signed by the visitor's Conversation,
  seq/prev_hash chained), built before the timed window starts (`prepare`), because Python
  encryption (~0.12 ms a message with the sender's own bookkeeping) would otherwise be
  part of what is measured.
- Relays: random bytes of the same length as a Trygg message (they check nothing).

Sending is open loop: message m of a step leaves at start + m / rate whatever the server
does, each conversation's messages in order on its own socket.  Latency is the time from
just before the visitor's `send` to the arrival of the `message` frame at the counsellor's
socket (both sockets live in this process: one clock).  The counsellor does not decrypt.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from bench.procstat import raise_nofile

MESSAGE_BODY = 900  # bytes of text: pads to the protocol's 1 KiB bucket, ~1.2 KB on the wire


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def open_socket(url: str, cookie: str = "") -> ClientConnection:
    """A websocket as a page of that origin opens it (Trygg checks Origin), no compression."""
    headers = {"Cookie": cookie} if cookie else None
    origin = "http://" + url.split("://", 1)[1].split("/", 1)[0]
    return await connect(
        url,
        origin=origin,  # type: ignore[arg-type]
        additional_headers=headers,
        compression=None,
        ping_interval=None,
        open_timeout=60,
        close_timeout=2,
        max_size=2**22,
        proxy=None,
    )


@dataclass
class Conv:
    id: str
    token: str
    seq_offset: int  # the seq of the k-th message this generator sends is seq_offset + k
    visitor_url: str
    crypto: Any = None  # the visitor's crypto.Conversation (Trygg only)
    visitor: Sock | None = None
    counsellor: Sock | None = None
    pending: list[str] = field(default_factory=list)  # prepared frames, in order
    send_t: list[float] = field(default_factory=list)
    ack_t: list[float] = field(default_factory=list)
    dlv_t: list[float] = field(default_factory=list)
    setup_messages: dict[int, bytes] = field(default_factory=dict)
    setup_event: asyncio.Event = field(default_factory=asyncio.Event)
    duplicates: int = 0

    @property
    def head(self) -> int:
        """The last seq sent in this conversation (as far as this generator knows)."""
        return self.seq_offset + len(self.send_t) - 1

    @property
    def acked_head(self) -> int:
        """The last seq acknowledged (stored) with everything before it acknowledged too."""
        k = 0
        while k < len(self.ack_t) and self.ack_t[k]:
            k += 1
        return self.seq_offset + k - 1


class Sock:
    """A socket whose frames are dispatched to the conversations as they arrive."""

    def __init__(self, gen: Generator, ws: ClientConnection, role: str, cookie: str = "") -> None:
        self.gen = gen
        self.ws = ws
        self.role = role
        self.cookie = cookie
        self.waiters: dict[tuple[str, str | None], asyncio.Future[dict[str, Any]]] = {}
        self.task = asyncio.create_task(self._read())

    def expect(self, kind: str, ref: str | None) -> asyncio.Future[dict[str, Any]]:
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters[(kind, ref)] = future
        return future

    async def request(self, frame: dict[str, Any], reply: str, wait: float = 60) -> dict[str, Any]:
        future = self.expect(reply, frame.get("ref"))
        await self.ws.send(json.dumps(frame))
        return await asyncio.wait_for(future, wait)

    async def _read(self) -> None:
        gen = self.gen
        counts = gen.frames[self.role]
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                now = time.perf_counter()
                frame = json.loads(raw)
                kind = frame.get("type")
                counts[kind] += 1
                if kind == "message":
                    conv = gen.convs.get(frame["conversation"])
                    if conv is None:
                        continue
                    k = frame["seq"] - conv.seq_offset
                    if k < 0:
                        conv.setup_messages[frame["seq"]] = unb64(frame["message"])
                        conv.setup_event.set()
                    elif self.role == "counsellor" and k < len(conv.dlv_t):
                        if conv.dlv_t[k]:
                            conv.duplicates += 1
                        else:
                            conv.dlv_t[k] = now
                    continue
                if kind == "ack" and frame.get("ref", "").startswith("m"):
                    conv = gen.convs.get(frame["conversation"])
                    if conv is not None:
                        k = int(frame["ref"][1:])
                        if k < len(conv.ack_t) and not conv.ack_t[k]:
                            conv.ack_t[k] = now
                    continue
                if kind == "error":
                    gen.errors[frame.get("code", "?")] += 1
                    gen.last_error = frame
                waiter = self.waiters.pop((kind, frame.get("ref")), None)
                if waiter is None and kind == "error":
                    for key in [key for key in self.waiters if key[1] == frame.get("ref")]:
                        failed = self.waiters.pop(key)
                        if not failed.done():
                            failed.set_exception(RuntimeError(f"error frame: {frame}"))
                    continue
                if waiter is not None and not waiter.done():
                    waiter.set_result(frame)


STABLE_SECONDS = 10.0  # web/static/js/shared/reconnecting-socket.js STABLE_MS


class StormClient:
    """A browser tab that follows conversations and reconnects like web/static/js's
    ReconnectingSocket (exponential back-off with jitter: half to all of 0.5 s x 2^attempt,
    at most 20 s, the visitor page's timing; started again only after a connection that stayed
    up 10 s), then syncs after the last seq it has."""

    def __init__(self, gen: Generator, url: str, token: str, cookie: str, convs: list[Conv]) -> None:
        self.gen = gen
        self.url = url
        self.token = token
        self.cookie = cookie
        self.cursor = {conv.id: conv.head for conv in convs}
        self.received: dict[str, Counter[int]] = {conv.id: Counter() for conv in convs}
        self.paused = False  # frames arriving now die with the tab (not consumed)
        self.armed = False  # reconnect when the connection goes
        self.targets: dict[str, int] = {}
        self.cursor_start: dict[str, int] = dict(self.cursor)
        self.caught_up_at = 0.0
        self.connected_at = 0.0
        self.attempts = 0
        self.ws: ClientConnection | None = None
        self.task: asyncio.Task[None] | None = None

    async def open(self) -> None:
        self.ws = await self._connect()

    async def _connect(self) -> ClientConnection:
        self.attempts += 1
        ws = await open_socket(self.url, self.cookie)
        if self.token:
            await ws.send(json.dumps({"type": "hello", "token": self.token, "ref": "h"}))
            while json.loads(await ws.recv()).get("type") != "welcome":
                pass
        for conv_id, after in self.cursor.items():
            await ws.send(json.dumps({"type": "sync", "conversation": conv_id, "after": after, "ref": "s"}))
        return ws

    def start(self) -> None:
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        attempt = 0
        while True:
            ws = self.ws
            if ws is not None:
                try:
                    async for raw in ws:
                        self._frame(raw)
                except ConnectionClosed:
                    pass
            if not self.armed:
                return
            self.ws = None
            self.paused = False
            if time.perf_counter() - self.connected_at >= STABLE_SECONDS:
                attempt = 0  # as the browser: the back-off starts again after a stable connection
            while self.ws is None:
                base = min(20.0, 0.5 * 2**attempt)
                attempt += 1
                await asyncio.sleep(base / 2 + random.random() * base / 2)  # as the browser does
                try:
                    self.ws = await self._connect()
                except (OSError, ConnectionClosed, InvalidHandshake, TimeoutError, InvalidStatus):
                    self.ws = None
            self.connected_at = time.perf_counter()

    def _frame(self, raw: str | bytes) -> None:
        if self.paused:
            return
        frame = json.loads(raw)
        if frame.get("type") != "message":
            return
        conv_id = frame["conversation"]
        seq = frame["seq"]
        counts = self.received.get(conv_id)
        if counts is None:
            return
        counts[seq] += 1
        if seq > self.cursor[conv_id]:
            self.cursor[conv_id] = seq
        if self.targets and not self.caught_up_at and self.done():
            self.caught_up_at = time.perf_counter()

    def done(self) -> bool:
        return all(self.cursor[c] >= target for c, target in self.targets.items())


class Generator:
    def __init__(self) -> None:
        self.convs: dict[str, Conv] = {}
        self.order: list[Conv] = []
        self.counsellor_socks: list[Sock] = []
        self.frames: dict[str, Counter[str]] = {"visitor": Counter(), "counsellor": Counter()}
        self.errors: Counter[str] = Counter()
        self.last_error: dict[str, Any] | None = None
        self.origin = ""
        self.cookies: list[str] = []
        self.kind = ""
        self.message_len = 0
        self.idle_sockets: list[ClientConnection] = []
        self.storm: list[StormClient] = []

    # --- setup -------------------------------------------------------------------

    async def setup(self, cmd: dict[str, Any]) -> dict[str, Any]:
        started = time.perf_counter()
        self.origin = cmd["origin"]
        self.kind = cmd["kind"]
        count = cmd["conversations"]
        per = cmd["per_counsellor"]
        visitor_urls, counsellor_urls = cmd["visitor_urls"], cmd["counsellor_urls"]
        groups = [list(range(i, min(i + per, count))) for i in range(0, count, per)]
        if self.kind == "trygg":
            await self._create_trygg(cmd, count, visitor_urls)
        else:
            for i in range(count):
                cid = uuid.uuid4().hex
                conv = Conv(cid, cid, 1, visitor_urls[i % len(visitor_urls)])
                self._add(conv)
            self.message_len = cmd.get("message_len", 1199)
        # Counsellors: claim (Trygg) and follow their conversations.
        counsellors = cmd.get("counsellors") or [{"cookie": ""} for _ in groups]
        self.cookies = [who.get("cookie", "") for who in counsellors[: len(groups)]]
        await asyncio.gather(
            *(
                self._counsellor(counsellors[n], counsellor_urls[n % len(counsellor_urls)], group)
                for n, group in enumerate(groups)
            )
        )
        # Visitors: hello, sync; Trygg visitors take in the genesis and the claim.
        sem = asyncio.Semaphore(20)

        async def visitor(conv: Conv) -> None:
            async with sem:
                ws = await open_socket(conv.visitor_url)
                sock = conv.visitor = Sock(self, ws, "visitor")
                await sock.request({"type": "hello", "token": conv.token, "ref": "h"}, "welcome")
                after = -1 if self.kind == "trygg" else 0
                await sock.request(
                    {"type": "sync", "conversation": conv.id, "after": after, "ref": "s"}, "synced"
                )
                if self.kind == "trygg":
                    while len(conv.setup_messages) < conv.seq_offset:
                        conv.setup_event.clear()
                        await asyncio.wait_for(conv.setup_event.wait(), 60)
                    for seq in range(conv.crypto.next_seq, conv.seq_offset):
                        conv.crypto.receive(conv.setup_messages[seq])

        await asyncio.gather(*(visitor(conv) for conv in self.order))
        return {"conversations": len(self.order), "seconds": time.perf_counter() - started}

    def _add(self, conv: Conv) -> None:
        self.convs[conv.id] = conv
        self.order.append(conv)

    async def _create_trygg(self, cmd: dict[str, Any], count: int, visitor_urls: list[str]) -> None:
        import httpx2 as httpx

        from crypto import ContentType, generate_resume_code
        from crypto import testing as crypto_testing

        centre = cmd["centre"]
        centre_id = bytes.fromhex(centre["centre_id"])
        directory = unb64(centre["directory"])
        anchors = [unb64(a) for a in centre["anchors"]]
        sem = asyncio.Semaphore(4)
        async with httpx.AsyncClient(base_url=cmd["http"], timeout=60) as http:

            async def one(i: int) -> None:
                code = generate_resume_code()
                keys = crypto_testing.derive_resume_keys_with_iterations(code, centre_id, 1000)
                created = crypto_testing.create_conversation_with(
                    directory, anchors, int(time.time()), keys, os.urandom
                )
                assert created.visitor_state is not None
                cid = created.conversation.conversation_id.hex()
                body = {
                    "conversation": cid,
                    "lookup": keys.lookup_id.hex(),
                    "verifier": b64(keys.access_verifier),
                    "state": b64(created.visitor_state),
                    "genesis": b64(created.genesis),
                    "language": "en",
                }
                async with sem:
                    response = await http.post(
                        "/api/visitor/conversations", json=body, headers={"origin": self.origin}
                    )
                if response.status_code != 201:
                    raise RuntimeError(f"creating a conversation: {response.status_code} {response.text}")
                conv = Conv(cid, response.json()["token"], 2, visitor_urls[i % len(visitor_urls)])
                conv.crypto = created.conversation
                conv.setup_messages[0] = created.genesis
                self._add(conv)

            for i in range(count):  # in order, so that conversation i is order[i]
                await one(i)
        sample = self.order[0].crypto
        probe = sample.encrypt(ContentType.TEXT, b"x" * MESSAGE_BODY)
        self.message_len = len(probe)
        # `probe` was never sent or taken in: the conversation's head is unchanged.

    async def _counsellor(self, who: dict[str, Any], url: str, group: list[int]) -> None:
        ws = await open_socket(url, who.get("cookie", ""))
        sock = Sock(self, ws, "counsellor", who.get("cookie", ""))
        self.counsellor_socks.append(sock)
        convs = [self.order[i] for i in group]
        for conv in convs:
            conv.counsellor = sock
        if self.kind == "trygg":
            from crypto import Role, open_conversation
            from crypto.identity import member_from_private_bytes

            identity = member_from_private_bytes(
                bytes.fromhex(who["id"]),
                Role.COUNSELLOR,
                bytes.fromhex(who["centre_id"]),
                bytes.fromhex(who["kem"]),
                bytes.fromhex(who["sig"]),
            )
            anchors = [unb64(a) for a in who["anchors"]]
            for n, conv in enumerate(convs):
                staff_view = open_conversation(identity, conv.setup_messages[0], anchors)
                frame = {
                    "type": "claim",
                    "conversation": conv.id,
                    "client_id": str(uuid.uuid4()),
                    "message": b64(staff_view.claim()),
                    "ref": f"c{n}",
                }
                await sock.request(frame, "ack")
        after = 1 if self.kind == "trygg" else 0
        for n, conv in enumerate(convs):
            await sock.request(
                {"type": "sync", "conversation": conv.id, "after": after, "ref": f"s{n}"}, "synced"
            )

    # --- steps -------------------------------------------------------------------------

    def _plan(self, rate: float, duration: float) -> int:
        return max(1, round(rate * duration)) if rate > 0 else 0

    async def prepare(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Build the frames of the next step (encrypted now, outside the timed window)."""
        started = time.perf_counter()
        total = self._plan(cmd["rate"], cmd["duration"])
        n = len(self.order)
        for m in range(total):
            conv = self.order[m % n]
            k = len(conv.send_t) + len(conv.pending)
            if self.kind == "trygg":
                from crypto import ContentType

                words = f"{m:08d} ".encode() + os.urandom(MESSAGE_BODY // 2).hex().encode()
                data = conv.crypto.encrypt(ContentType.TEXT, words[:MESSAGE_BODY])
                conv.crypto.receive(data)  # the sender's own bookkeeping: advances its head
            else:
                data = os.urandom(self.message_len)
            conv.pending.append(
                json.dumps(
                    {
                        "type": "send",
                        "conversation": conv.id,
                        "client_id": str(uuid.uuid4()),
                        "message": b64(data),
                        "ref": f"m{k}",
                    }
                )
            )
        return {"messages": total, "seconds": time.perf_counter() - started, "message_len": self.message_len}

    async def run(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Send the prepared frames on schedule, then wait until each is acked and delivered."""
        rate, duration = cmd["rate"], cmd["duration"]
        t0 = cmd["start_at"] - time.monotonic() + time.perf_counter()  # same instant, perf clock
        t1 = t0 + duration
        n = len(self.order)
        first = {conv.id: len(conv.send_t) for conv in self.order}
        frames_before = {role: Counter(c) for role, c in self.frames.items()}
        lags: list[float] = []

        for conv in self.order:
            grow = len(conv.pending)
            conv.send_t.extend([0.0] * grow)
            conv.ack_t.extend([0.0] * grow)
            conv.dlv_t.extend([0.0] * grow)

        async def sender(i: int, conv: Conv) -> None:
            frames, conv.pending = conv.pending, []
            k0 = first[conv.id]
            assert conv.visitor is not None
            ws = conv.visitor.ws
            for j, text in enumerate(frames):
                due = t0 + (j * n + i) / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                now = time.perf_counter()
                lags.append(now - due)
                conv.send_t[k0 + j] = now
                await ws.send(text)

        await asyncio.gather(*(sender(i, conv) for i, conv in enumerate(self.order)))
        sent_done = time.perf_counter()
        deadline = max(t1, sent_done) + cmd.get("drain_timeout", 60)

        def outstanding() -> int:
            return sum(
                1
                for conv in self.order
                for k in range(first[conv.id], len(conv.send_t))
                if not conv.ack_t[k] or not conv.dlv_t[k]
            )

        while outstanding() and time.perf_counter() < deadline:  # noqa: ASYNC110 (polling is the point)
            await asyncio.sleep(0.05)
        drained = time.perf_counter()
        await asyncio.sleep(0.1)  # let a stray duplicate show itself

        latencies, ack_latencies = [], []
        delivered_in, acked_in, sent, missing, unacked = 0, 0, 0, 0, 0
        for conv in self.order:
            for k in range(first[conv.id], len(conv.send_t)):
                sent += 1
                s, a, d = conv.send_t[k], conv.ack_t[k], conv.dlv_t[k]
                if d:
                    latencies.append(round((d - s) * 1000, 3))
                    delivered_in += t0 <= d <= t1
                else:
                    missing += 1
                if a:
                    ack_latencies.append(round((a - s) * 1000, 3))
                    acked_in += t0 <= a <= t1
                else:
                    unacked += 1
        lags.sort()
        return {
            "sent": sent,
            "delivered_in_window": delivered_in,
            "acked_in_window": acked_in,
            "latencies": latencies,
            "ack_latencies": ack_latencies,
            "not_delivered": missing,
            "not_acked": unacked,
            "duplicates": sum(conv.duplicates for conv in self.order),
            "send_lag_p99_ms": round(lags[int(len(lags) * 0.99)] * 1000, 3) if lags else 0.0,
            "sending_seconds": sent_done - t0,
            "drain_seconds": max(0.0, drained - max(t1, sent_done)),
            "frames": {
                role: dict(self.frames[role] - frames_before[role]) for role in ("visitor", "counsellor")
            },
            "errors": dict(self.errors),
            "last_error": self.last_error,
        }

    # --- idle connections ------------------------------------------------------------

    async def idle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """Open `count` visitor sockets (hello + sync at the head), then leave them idle."""
        count, url = cmd["count"], cmd["url"]
        sem = asyncio.Semaphore(cmd.get("concurrency", 50))
        failures: Counter[str] = Counter()
        await asyncio.sleep(max(0.0, cmd.get("start_at", 0) - time.monotonic()))
        started = time.perf_counter()

        async def one(i: int) -> None:
            conv = self.order[i % len(self.order)]
            async with sem:
                try:
                    ws = await open_socket(url)
                    await ws.send(json.dumps({"type": "hello", "token": conv.token, "ref": "h"}))
                    while json.loads(await ws.recv()).get("type") != "welcome":
                        pass
                    await ws.send(
                        json.dumps({"type": "sync", "conversation": conv.id, "after": conv.head, "ref": "s"})
                    )
                    while json.loads(await ws.recv()).get("type") != "synced":
                        pass
                    self.idle_sockets.append(ws)
                except Exception as error:
                    failures[type(error).__name__] += 1

        await asyncio.gather(*(one(i) for i in range(count)))
        return {
            "opened": count - sum(failures.values()),
            "failures": dict(failures),
            "seconds": time.perf_counter() - started,
            "total_open": len(self.idle_sockets),
        }

    async def close_idle(self, _cmd: dict[str, Any]) -> dict[str, Any]:
        sockets, self.idle_sockets = self.idle_sockets, []
        sem = asyncio.Semaphore(200)

        async def close(ws: ClientConnection) -> None:
            async with sem:
                with contextlib.suppress(Exception):
                    await ws.close()

        await asyncio.gather(*(close(ws) for ws in sockets))
        return {"closed": len(sockets)}

    # --- reconnect storm -----------------------------------------------------------------

    async def storm_open(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """`count` tabs: one per counsellor (following its conversations), the rest visitors."""
        count, urls = cmd["count"], cmd["urls"]
        clients: list[StormClient] = []
        for n, sock in enumerate(self.counsellor_socks[:count]):
            convs = [conv for conv in self.order if conv.counsellor is sock]
            clients.append(StormClient(self, urls[n % len(urls)], "", sock.cookie, convs))
        for i in range(count - len(clients)):
            conv = self.order[i % len(self.order)]
            clients.append(StormClient(self, urls[i % len(urls)], conv.token, "", [conv]))
        sem = asyncio.Semaphore(50)
        failures: Counter[str] = Counter()

        async def one(client: StormClient) -> None:
            async with sem:
                try:
                    await client.open()
                    client.start()
                except Exception as error:
                    failures[type(error).__name__] += 1

        started = time.perf_counter()
        await asyncio.gather(*(one(c) for c in clients))
        self.storm = [c for c in clients if c.task is not None]
        return {
            "opened": len(self.storm),
            "failures": dict(failures),
            "seconds": time.perf_counter() - started,
        }

    async def storm_write(self, cmd: dict[str, Any]) -> dict[str, Any]:
        """The tabs stop taking frames in; then every conversation gets `per_conv` new messages."""
        for client in self.storm:
            client.paused = True
            client.cursor_start = dict(client.cursor)
        total = cmd["per_conv"] * len(self.order)
        await self.prepare({"rate": total, "duration": 1})
        # All at once (each conversation's in order on its socket); the server takes its time.
        started = time.perf_counter()
        result = await self.run(
            {
                "rate": 1e6,
                "duration": total / 1e6,
                "start_at": time.monotonic(),
                "drain_timeout": cmd.get("timeout", 600),
            }
        )
        return {
            "written": result["sent"],
            "not_acked": result["not_acked"],
            "seconds": time.perf_counter() - started,
            "errors": result["errors"],
            "last_error": result["last_error"],
        }

    async def storm_arm(self, _cmd: dict[str, Any]) -> dict[str, Any]:
        """From now on the tabs reconnect when their connection goes; the writers are closed."""
        dropped = 0
        for client in self.storm:
            # Only what was acknowledged must arrive (an unacknowledged send may be lost).
            client.targets = {conv_id: self.convs[conv_id].acked_head for conv_id in client.cursor}
            client.armed = True
            if client.task is not None and client.task.done():
                dropped += 1  # the server closed it before the restart: it reconnects too
                client.start()
        for sock in self.counsellor_socks + [c.visitor for c in self.order if c.visitor]:
            sock.task.cancel()
            with contextlib.suppress(Exception):
                await sock.ws.close()
        missed = sum(
            client.targets[conv_id] - client.cursor[conv_id]
            for client in self.storm
            for conv_id in client.cursor
        )
        return {"missed_messages": missed, "dropped_before_restart": dropped}

    async def storm_wait(self, cmd: dict[str, Any]) -> dict[str, Any]:
        deadline = time.perf_counter() + cmd["timeout"]
        while time.perf_counter() < deadline and not all(c.caught_up_at for c in self.storm):  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # duplicates arriving late still count
        lost = duplicated = 0
        for client in self.storm:
            for conv_id, counts in client.received.items():
                expected = range(client.cursor_start[conv_id] + 1, client.targets[conv_id] + 1)
                lost += sum(1 for seq in expected if counts[seq] == 0)
                duplicated += sum(n - 1 for n in counts.values() if n > 1)
        to_perf = time.monotonic() - time.perf_counter()
        return {
            "clients": len(self.storm),
            "caught_up": sum(1 for c in self.storm if c.caught_up_at),
            "caught_up_at": [c.caught_up_at + to_perf for c in self.storm if c.caught_up_at],
            "connected_at": [c.connected_at + to_perf for c in self.storm if c.connected_at],
            "lost": lost,
            "duplicated": duplicated,
            "connected": sum(1 for c in self.storm if c.connected_at),
            "behind": sorted(
                (sum(c.targets[k] - c.cursor[k] for k in c.targets), len(c.targets), bool(c.token))
                for c in self.storm
                if not c.caught_up_at
            )[:20],
            "attempts": sum(c.attempts for c in self.storm),
        }

    async def storm_close(self, _cmd: dict[str, Any]) -> dict[str, Any]:
        for client in self.storm:
            client.armed = False
            if client.task:
                client.task.cancel()
            if client.ws is not None:
                with contextlib.suppress(Exception):
                    await client.ws.close()
        self.storm = []
        return {}


async def main() -> None:
    raise_nofile(int(os.environ.get("BENCH_NOFILE", "65536")))
    gen = Generator()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            return
        cmd = json.loads(line)
        name = cmd["cmd"]
        if name == "quit":
            reply: dict[str, Any] = {}
        else:
            try:
                reply = await getattr(gen, name)(cmd)
            except Exception as error:
                reply = {"error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
        if name == "quit":
            return


if __name__ == "__main__":
    asyncio.run(main())
