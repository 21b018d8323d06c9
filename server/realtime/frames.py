"""Validation of websocket frames from clients: schema, sizes, encodings.

Every client frame is a JSON object with a known `type` and exactly the
fields that type allows, each checked for type and size.  Anything else is a
`FrameError` with a stable code, answered with an error frame, never a crash.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_FRAME_BYTES = 200 * 1024
MAX_MESSAGE_BYTES = 131_072
_HEX_ID = re.compile(r"^[0-9a-f]{32}$")
_REF = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class FrameError(Exception):
    """A frame the server will not act on; `code` is sent back to the client."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail


def conversation_id(value: Any) -> uuid.UUID:
    if not isinstance(value, str) or not _HEX_ID.fullmatch(value):
        raise FrameError("bad_frame", "conversation must be 32 lowercase hex digits")
    return uuid.UUID(hex=value)


def staff_id(value: Any) -> uuid.UUID:
    return conversation_id(value)


def sequence(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not -1 <= value < 2**31:
        raise FrameError("bad_frame", "sequence numbers are integers from -1")
    return value


def client_id(value: Any) -> str:
    if isinstance(value, str) and len(value) == 36:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise FrameError("bad_frame", "client_id must be a UUID")


def b64u(value: Any, max_bytes: int = MAX_MESSAGE_BYTES) -> bytes:
    """Decode base64url without padding, refusing anything over `max_bytes`."""
    if not isinstance(value, str) or len(value) > (max_bytes * 4) // 3 + 4:
        raise FrameError("bad_frame", "expected base64url text")
    try:
        data = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise FrameError("bad_frame", "expected base64url text") from None
    if not data or len(data) > max_bytes:
        raise FrameError("bad_frame", "binary value has the wrong size")
    return data


def text(max_length: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not 1 <= len(value) <= max_length:
            raise FrameError("bad_frame", f"expected text of at most {max_length} characters")
        return value

    return check


# type -> {field: validator}; every field listed is required, nothing else is allowed.
SCHEMAS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "hello": {"token": text(100)},
    "sync": {"conversation": conversation_id, "after": sequence},
    "send": {"conversation": conversation_id, "client_id": client_id, "message": b64u},
    "typing": {"conversation": conversation_id},
    "receipt": {"conversation": conversation_id, "delivered": sequence, "read": sequence},
    "queue": {},
    "assignments": {},
    "claim": {"conversation": conversation_id, "client_id": client_id, "message": b64u},
    "transfer": {"conversation": conversation_id, "to": staff_id, "client_id": client_id, "message": b64u},
    "release": {"conversation": conversation_id, "client_id": client_id, "message": b64u},
    "commit": {"conversation": conversation_id, "client_id": client_id, "message": b64u},
    "close": {"conversation": conversation_id, "outcome": text(32)},
    "ping": {},
}


@dataclass(frozen=True)
class Frame:
    type: str
    fields: dict[str, Any]
    ref: str | None


def parse(raw: str | bytes) -> Frame:
    """A validated frame, or FrameError."""
    if len(raw) > MAX_FRAME_BYTES:
        raise FrameError("too_large")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise FrameError("bad_frame", "not JSON") from None
    if not isinstance(data, dict):
        raise FrameError("bad_frame", "a frame is a JSON object")
    ref = data.pop("ref", None)
    if ref is not None and (not isinstance(ref, str) or not _REF.fullmatch(ref)):
        raise FrameError("bad_frame", "ref must be a short identifier")
    kind = data.pop("type", None)
    schema = SCHEMAS.get(kind) if isinstance(kind, str) else None
    if schema is None:
        raise FrameError("unknown_type")
    if set(data) != set(schema):
        raise FrameError("bad_frame", f"{kind} takes exactly: {', '.join(sorted(schema)) or 'no fields'}")
    return Frame(kind, {name: check(data[name]) for name, check in schema.items()}, ref)


def encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
