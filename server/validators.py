"""Every check of a field that arrives from outside, for HTTP handlers and websocket frames alike.

A validator takes the raw value (from a JSON body, a frame, a path) and returns it typed,
or raises `Invalid`: an HTTP-shaped error (422 `bad_fields`) wherever HTTP code meets it,
which `realtime/frames.py` turns into the websocket's `bad_frame` error frame.  Sizes are
bounded before anything is decoded.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any

from starlette.requests import Request

from server.errors import PublicError
from server.i18n import N_, is_language
from server.models import KINDS

BAD_FIELDS = N_("The request could not be understood.")
NO_SUCH_PAGE = N_("This page does not exist.")
NO_SUCH_BOOKING = N_("No booking with this reference was found for your code.")
BAD_TIME = N_("Enter times as HH:MM, the start before the end.")
MAX_MESSAGE_BYTES = 131_072
MAX_SEALED_BOOKING = 16 * 1024
_HEX_ID = re.compile(r"^[0-9a-f]{32}$")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_REFERENCE_CHARS = frozenset("0123456789ABCDEFGHJKMNPQRSTVWXYZ")  # Crockford base 32


class Invalid(PublicError):
    """A field that is not what it must be; `detail` says what, in English, for developers."""

    def __init__(self, detail: str) -> None:
        super().__init__(422, BAD_FIELDS, code="bad_fields")
        self.detail = detail


# --- ids, numbers, text ------------------------------------------------------------------


def hex_id(value: Any) -> uuid.UUID:
    """A conversation, staff or other id: 32 lowercase hex digits."""
    if not isinstance(value, str) or not _HEX_ID.fullmatch(value):
        raise Invalid("ids are 32 lowercase hex digits")
    return uuid.UUID(hex=value)


def lookup_id(value: Any) -> str:
    """A resume or booking code's lookup id (hex, kept as text)."""
    if not isinstance(value, str) or not _HEX_ID.fullmatch(value):
        raise Invalid("lookup must be 32 lowercase hex digits")
    return value


def sequence(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not -1 <= value < 2**31:
        raise Invalid("sequence numbers are integers from -1")
    return value


def booking_sequence(value: Any) -> int:
    """A booking's SEQUENCE as the client last saw it (a change is refused if it has moved on)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**31:
        raise Invalid("sequence must be a whole number")
    return value


def client_id(value: Any) -> str:
    if isinstance(value, str) and len(value) == 36:
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise Invalid("client_id must be a UUID")


def text(max_length: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not 1 <= len(value) <= max_length:
            raise Invalid(f"expected text of at most {max_length} characters")
        return value

    return check


def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("expected true or false")
    return value


def language(value: Any) -> str:
    """An interface language: nb, sv or en."""
    if not isinstance(value, str) or not is_language(value):
        raise Invalid("language must be nb, sv or en")
    return value


def instant(value: Any) -> datetime:
    """An ISO 8601 UTC instant such as 2027-03-29T07:00:00Z."""
    if not isinstance(value, str) or len(value) > 40:
        raise Invalid("expected an ISO 8601 time")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("expected an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise Invalid("the time needs a zone (Z)")
    return parsed.astimezone(UTC)


def booking_kind(value: Any) -> str:
    if value not in KINDS:
        raise Invalid("kind must be in_person, phone or video")
    return str(value)


def optional_hex_id(value: Any) -> uuid.UUID | None:
    """An id, or null (e.g. detaching an interpreter)."""
    return None if value is None else hex_id(value)


# --- binary values (base64url without padding) -----------------------------------------------


def b64u(value: Any, max_bytes: int = MAX_MESSAGE_BYTES) -> bytes:
    """Decode base64url without padding, refusing anything over `max_bytes`."""
    if not isinstance(value, str) or len(value) > (max_bytes * 4) // 3 + 4:
        raise Invalid("expected base64url text")
    try:
        data = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise Invalid("expected base64url text") from None
    if not data or len(data) > max_bytes:
        raise Invalid("binary value has the wrong size")
    return data


def b64u_up_to(max_bytes: int) -> Callable[[Any], bytes]:
    """A base64url validator for values of at most `max_bytes` (key backups, sealed replies)."""

    def check(value: Any) -> bytes:
        return b64u(value, max_bytes)

    return check


def b64u_exactly(size: int) -> Callable[[Any], bytes]:
    """A base64url validator for values of exactly `size` bytes (public keys, verifiers)."""

    def check(value: Any) -> bytes:
        raw = b64u(value, size)
        if len(raw) != size:
            raise Invalid(f"expected {size} bytes")
        return raw

    return check


def to_b64u(data: bytes) -> str:
    """The inverse of `b64u`: what the server sends of binary values."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def verifier(value: Any) -> str:
    """A resume or booking code's access verifier (32 bytes), kept as the text sent."""
    b64u_exactly(32)(value)
    return str(value)


def sealed_booking(value: Any) -> bytes:
    """A sealed booking payload's structure (docs/BOOKING.md); its contents are not ours to read."""
    data = b64u(value, MAX_SEALED_BOOKING)
    if len(data) < 2 or data[0] != 1 or not 1 <= data[1] <= 64:
        raise Invalid("not a sealed booking payload")
    if len(data) < 2 + data[1] * 96 + 12 + 16:
        raise Invalid("sealed booking payload too short")
    return data


def certificates(value: Any) -> dict[uuid.UUID, bytes]:
    """Staff ids mapped to the certificates an admin just made for them."""
    if not isinstance(value, dict) or len(value) > 255:
        raise Invalid("certificates map staff ids to certificates")
    return {hex_id(k): b64u(v, 1024) for k, v in value.items()}


# --- forms and addresses ---------------------------------------------------------------------


def clock_time(raw: str) -> time:
    """HH:MM from a form field (a 422 with a message the form shows)."""
    if not _CLOCK.fullmatch(raw):
        raise PublicError(422, BAD_TIME)
    return time.fromisoformat(raw)


def page_language(request: Request) -> str:
    """The language in a visitor page's path (/nb/…, /sv/…, /en/…); any other is a 404."""
    value = str(request.path_params["lang"])
    if not is_language(value):
        raise PublicError(404, NO_SUCH_PAGE)
    return value


def booking_reference(request: Request) -> str:
    """A booking reference from the path, any case, with or without its dash; else a 404."""
    raw = str(request.path_params["reference"]).upper().replace("-", "")
    if len(raw) != 8 or not set(raw) <= _REFERENCE_CHARS:
        raise PublicError(404, NO_SUCH_BOOKING, code="not_found")
    return raw
