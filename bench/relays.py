"""Reference relays: the least a chat server must do for the load the benchmark offers.

They speak the subset of Trygg's websocket frames the load generators use, so the very
same generators drive them and Trygg:

    hello {token}                      -> welcome
    sync {conversation, after}         -> synced; the socket now follows the conversation
    send {conversation, client_id, message, ref}
                                       -> ack {seq} to the sender, then
                                          message {conversation, seq, message, at} to every
                                          socket following the conversation (the sender too)

Nothing is stored, checked or authenticated: this is the floor under any real server.

    python -m bench.relays websockets --port 8101
    python -m bench.relays starlette --port 8102 [--ws auto|websockets|websockets-sansio|wsproto]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
from datetime import UTC, datetime
from typing import Any

from bench.procstat import raise_nofile


class Relay:
    """Conversation -> followers, and a sequence counter per conversation."""

    def __init__(self) -> None:
        self.followers: dict[str, set[Any]] = {}
        self.seq: dict[str, int] = {}

    def handle(self, connection: Any, raw: str | bytes, mine: set[str]) -> tuple[str | None, str, set[Any]]:
        """(reply to the sender, frame to fan out, who gets it)."""
        frame = json.loads(raw)
        kind = frame.get("type")
        ref = frame.get("ref")
        if kind == "hello":
            return json.dumps({"type": "welcome", "conversation": frame["token"], "ref": ref}), "", set()
        if kind == "sync":
            conversation = frame["conversation"]
            self.followers.setdefault(conversation, set()).add(connection)
            mine.add(conversation)
            return json.dumps({"type": "synced", "conversation": conversation, "ref": ref}), "", set()
        if kind == "send":
            conversation = frame["conversation"]
            seq = self.seq[conversation] = self.seq.get(conversation, 0) + 1
            ack = json.dumps(
                {
                    "type": "ack",
                    "ref": ref,
                    "client_id": frame["client_id"],
                    "conversation": conversation,
                    "seq": seq,
                }
            )
            out = json.dumps(
                {
                    "type": "message",
                    "conversation": conversation,
                    "seq": seq,
                    "message": frame["message"],
                    "at": datetime.now(UTC).isoformat(),
                }
            )
            return ack, out, self.followers.get(conversation, set())
        if kind == "ping":
            return json.dumps({"type": "pong", "ref": ref}), "", set()
        return json.dumps({"type": "error", "code": "unknown_type", "ref": ref}), "", set()

    def forget(self, connection: Any, mine: set[str]) -> None:
        for conversation in mine:
            followers = self.followers.get(conversation)
            if followers is not None:
                followers.discard(connection)
                if not followers:
                    del self.followers[conversation]


async def serve_websockets(port: int) -> None:
    from websockets.asyncio.server import broadcast, serve

    relay = Relay()

    async def handler(connection: Any) -> None:
        mine: set[str] = set()
        try:
            async for raw in connection:
                reply, out, followers = relay.handle(connection, raw, mine)
                if reply is not None:
                    await connection.send(reply)
                if out:
                    broadcast(followers, out)
        finally:
            relay.forget(connection, mine)

    async with serve(handler, "127.0.0.1", port, compression=None, ping_interval=None, backlog=2048):
        await asyncio.Future()


def starlette_app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    relay = Relay()

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        mine: set[str] = set()
        try:
            while True:
                raw = await websocket.receive_text()
                reply, out, followers = relay.handle(websocket, raw, mine)
                if reply is not None:
                    await websocket.send_text(reply)
                for follower in list(followers):
                    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                        await follower.send_text(out)
        except WebSocketDisconnect:
            pass
        finally:
            relay.forget(websocket, mine)

    async def healthz(_request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/healthz", healthz), WebSocketRoute("/ws", endpoint)])


def serve_starlette(port: int, ws: str) -> None:
    import uvicorn

    # The same uvicorn options as `python -m server serve` (server/cli.py), plus the ws choice;
    # uvicorn's listen backlog (2048) is also the bare relay's.
    config = uvicorn.Config(
        starlette_app(),
        host="127.0.0.1",
        port=port,
        access_log=False,
        log_config=None,
        server_header=False,
        date_header=False,
        ws=ws,  # type: ignore[arg-type]
        ws_per_message_deflate=False,
    )
    uvicorn.Server(config).run()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("kind", choices=["websockets", "starlette"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ws", default="auto")
    args = parser.parse_args()
    raise_nofile(65536)
    if args.kind == "websockets":
        asyncio.run(serve_websockets(args.port))
    else:
        serve_starlette(args.port, args.ws)


if __name__ == "__main__":
    main()
