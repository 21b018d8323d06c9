"""Validation of websocket frames from clients: the schema of each type.

Every client frame is a JSON object with a known `type` and exactly the
fields that type allows, each checked for type and size by the validators of
server/validators.py.  Anything else is a `FrameError` with a stable code,
answered with an error frame, never a crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected, WebSocketState

from server.jsonapi import loads
from server.validators import Field, Invalid, b64u, client_id, hex_id, pattern_string, sequence, text

MAX_FRAME_BYTES = 200 * 1024
_REF = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
REF_SCHEMA = {"anyOf": [pattern_string(_REF.pattern), {"type": "null"}]}  # null: no ref


class FrameError(Exception):
    """A frame the server will not act on; `code` is sent back to the client."""

    def __init__(self, code: str, detail: str = "", ref: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.ref = ref  # the frame's own ref, when it had a valid one: the error answers it


# type -> {field: validator}; every field listed is required, nothing else is allowed.
SCHEMAS: dict[str, dict[str, Field[Any]]] = {
    "hello": {"token": text(100)},
    "sync": {"conversation": hex_id, "after": sequence},
    "send": {"conversation": hex_id, "client_id": client_id, "message": b64u},
    "typing": {"conversation": hex_id},
    "receipt": {"conversation": hex_id, "delivered": sequence, "read": sequence},
    "queue": {},
    "assignments": {},
    "claim": {"conversation": hex_id, "client_id": client_id, "message": b64u},
    "transfer": {"conversation": hex_id, "to": hex_id, "client_id": client_id, "message": b64u},
    "release": {"conversation": hex_id, "client_id": client_id, "message": b64u},
    "commit": {"conversation": hex_id, "client_id": client_id, "message": b64u},
    "offer_move": {"conversation": hex_id, "centre": text(40)},
    "decline_move": {"conversation": hex_id},
    "move": {"conversation": hex_id, "client_id": client_id, "message": b64u},
    "close": {"conversation": hex_id, "outcome": text(32)},
    "ping": {},
}


def frame_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of one client frame type (for the fuzzers and anyone writing a client)."""
    fields = SCHEMAS[kind]
    return {
        "type": "object",
        "properties": {
            "type": {"const": kind},
            "ref": REF_SCHEMA,
            **{name: check.schema for name, check in fields.items()},
        },
        "required": ["type", *fields],
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class Frame:
    type: str
    fields: dict[str, Any]
    ref: str | None


async def receive_frame(websocket: WebSocket) -> str | None:
    """Like `receive_text`, but a binary frame gives None (then `parse_binary`'s error frame)
    instead of a KeyError that dropped the connection without a close frame."""
    if websocket.application_state != WebSocketState.CONNECTED:
        raise WebSocketDisconnected("the websocket is closed")
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    return text if isinstance(text, str) else None


def parse_binary() -> Frame:
    """Binary frames are refused: every client frame is JSON text."""
    raise FrameError("bad_frame", "frames are JSON text, not binary")


def parse(raw: str | bytes) -> Frame:
    """A validated frame, or FrameError."""
    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError("too_large")
    try:
        data = loads(raw)
    except ValueError:
        raise FrameError("bad_frame", "not JSON") from None
    if not isinstance(data, dict):
        raise FrameError("bad_frame", "a frame is a JSON object")
    ref = data.pop("ref", None)
    if ref is not None and (not isinstance(ref, str) or not _REF.fullmatch(ref)):
        raise FrameError("bad_frame", "ref must be a short identifier")
    kind = data.pop("type", None)
    schema = SCHEMAS.get(kind) if isinstance(kind, str) else None
    if schema is None:
        raise FrameError("unknown_type", ref=ref)
    if set(data) != set(schema):
        detail = f"{kind} takes exactly: {', '.join(sorted(schema)) or 'no fields'}"
        raise FrameError("bad_frame", detail, ref)
    try:
        return Frame(kind, {name: check(data[name]) for name, check in schema.items()}, ref)
    except Invalid as error:
        raise FrameError("bad_frame", error.detail, ref) from None
