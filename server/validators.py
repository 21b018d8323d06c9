"""Every check of a field that arrives from outside, for HTTP handlers and websocket frames alike.

A validator takes the raw value (from a JSON body, a frame, a query string, a path) and returns
it typed, or raises `Invalid`: an HTTP-shaped error (422 `bad_fields`) wherever HTTP code meets
it, which `realtime/frames.py` turns into the websocket's `bad_frame` error frame.  Sizes are
bounded before anything is decoded; digits, dates and times are ASCII, and every date or instant
lies in the years 2000-2199, so no arithmetic on one can overflow.

Each validator is a `Field`: the check and the JSON Schema of what it accepts, side by side,
built from the same patterns and limits.  The OpenAPI description (server/openapi.py) and the
fuzzers (tests/test_fuzz_*.py) are generated from those schemas.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any, Generic, TypeVar

from starlette.requests import Request

from server.errors import PublicError
from server.i18n import N_, is_language
from server.models import KINDS
from server.settings import LANGUAGES

T = TypeVar("T")
BAD_FIELDS = N_("The request could not be understood.")
NO_SUCH_PAGE = N_("This page does not exist.")
NO_SUCH_BOOKING = N_("No booking with this reference was found for your code.")
BAD_TIME = N_("Enter times as HH:MM, the start before the end.")
MAX_MESSAGE_BYTES = 131_072
MAX_SEALED_BOOKING = 16 * 1024
# Patterns are written in the common subset of Python's re and ECMA-262 (JSON Schema's dialect),
# with [0-9] rather than \d (which in Python also matches other scripts' digits).
_HEX_ID = re.compile(r"^[0-9a-f]{32}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_B64U_CHAR = "[A-Za-z0-9_-]"
_B64U = re.compile(rf"^(?:{_B64U_CHAR}{{4}})*(?:{_B64U_CHAR}{{2,3}})?$")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_CONTROL = re.compile(r"[\u0000-\u001f\u007f]")
_NO_CONTROL = r"^[^\u0000-\u001f\u007f]*$"
_YEAR_MONTH_DAY = r"2[01][0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
DATE = rf"^{_YEAR_MONTH_DAY}$"
INSTANT = (
    rf"^{_YEAR_MONTH_DAY}[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{{1,6}})?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_DATE = re.compile(DATE)
_INSTANT = re.compile(INSTANT)
_REFERENCE = r"^-*(?:[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]-*){8}$"  # Crockford base 32, dashes anywhere


class Invalid(PublicError):
    """A field that is not what it must be; `detail` says what, in English, for developers."""

    def __init__(self, detail: str) -> None:
        super().__init__(422, BAD_FIELDS, code="bad_fields")
        self.detail = detail


class Field(Generic[T]):
    """A validator together with the JSON Schema of every value it can accept.

    The schema is what the OpenAPI description (server/openapi.py) and the fuzzers publish
    and generate from.  It is built from the same constants as the check (a pattern, a
    length, a range), and it may be looser than the check (a sealed payload's inner
    structure, a calendar date's day of the month) but never stricter: whatever the check
    accepts, the schema allows (tests/test_validators.py checks this property).
    """

    def __init__(self, check: Callable[[Any], T], schema: dict[str, Any]) -> None:
        self.check = check
        self.schema = schema
        self.__doc__ = check.__doc__

    def __call__(self, value: Any) -> T:
        return self.check(value)


def described(schema: dict[str, Any]) -> Callable[[Callable[[Any], T]], Field[T]]:
    """Make a validator function a `Field` with `schema`."""

    def wrap(check: Callable[[Any], T]) -> Field[T]:
        return Field(check, schema)

    return wrap


def pattern_string(pattern: str, **extra: Any) -> dict[str, Any]:
    """A string schema for a compiled pattern (written so Python and ECMA-262 read it alike)."""
    return {"type": "string", "pattern": pattern, **extra}


def ascii_digits(value: str) -> bool:
    """True for 0-9 only: str.isdigit also takes ² and Arabic-Indic digits, which int() then refuses."""
    return value.isascii() and value.isdigit()


def ascii_int(raw: str, low: int, high: int) -> int | None:
    """A whole number written in ASCII digits (at most 9 of them) within [low, high], else None."""
    if not ascii_digits(raw) or len(raw) > 9:
        return None
    number = int(raw)
    return number if low <= number <= high else None


# --- ids, numbers, text ------------------------------------------------------------------

HEX_ID_SCHEMA = pattern_string(_HEX_ID.pattern)


@described(HEX_ID_SCHEMA)
def hex_id(value: Any) -> uuid.UUID:
    """A conversation, staff or other id: 32 lowercase hex digits."""
    if not isinstance(value, str) or not _HEX_ID.fullmatch(value):
        raise Invalid("ids are 32 lowercase hex digits")
    return uuid.UUID(hex=value)


@described(HEX_ID_SCHEMA)
def lookup_id(value: Any) -> str:
    """A resume or booking code's lookup id (hex, kept as text)."""
    if not isinstance(value, str) or not _HEX_ID.fullmatch(value):
        raise Invalid("lookup must be 32 lowercase hex digits")
    return value


def integer(low: int, high: int, detail: str) -> Field[int]:
    """A JSON integer in [low, high] (never true/false, never 1.0)."""

    def check(value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise Invalid(detail)
        return value

    return Field(check, {"type": "integer", "minimum": low, "maximum": high})


sequence = integer(-1, 2**31 - 1, "sequence numbers are integers from -1")
# A booking's SEQUENCE as the client last saw it (a change is refused if it has moved on).
booking_sequence = integer(0, 2**31 - 1, "sequence must be a whole number")


@described(pattern_string(_UUID.pattern))
def client_id(value: Any) -> str:
    """A client's id for a message (a UUID, any case; kept in lowercase)."""
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise Invalid("client_id must be a UUID")
    return value.lower()


def text(max_length: int) -> Field[str]:
    """One line of text: 1 to `max_length` characters, no control characters."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or not 1 <= len(value) <= max_length or _CONTROL.search(value):
            raise Invalid(f"expected text of at most {max_length} characters")
        return value

    return Field(check, pattern_string(_NO_CONTROL, minLength=1, maxLength=max_length))


@described({"type": "boolean"})
def flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("expected true or false")
    return value


@described({"type": "string", "enum": list(LANGUAGES)})
def language(value: Any) -> str:
    """An interface language: nb, sv or en."""
    if not isinstance(value, str) or not is_language(value):
        raise Invalid("language must be nb, sv or en")
    return value


@described(pattern_string(INSTANT, format="date-time"))
def instant(value: Any) -> datetime:
    """An RFC 3339 instant with its offset, such as 2027-03-29T07:00:00Z, in the years 2000-2199."""
    if not isinstance(value, str) or not _INSTANT.fullmatch(value):
        raise Invalid("expected an RFC 3339 time (2027-03-29T07:00:00Z) in the years 2000-2199")
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("expected an RFC 3339 time (2027-03-29T07:00:00Z) in the years 2000-2199") from None
    return parsed.astimezone(UTC)  # years 2000-2199 with offsets under a day: no overflow


@described({"type": "string", "enum": list(KINDS)})
def booking_kind(value: Any) -> str:
    if value not in KINDS:
        raise Invalid("kind must be in_person, phone or video")
    return str(value)


@described({"anyOf": [HEX_ID_SCHEMA, {"type": "null"}]})
def optional_hex_id(value: Any) -> uuid.UUID | None:
    """An id, or null (e.g. detaching an interpreter)."""
    return None if value is None else hex_id(value)


# --- binary values (base64url without padding) -----------------------------------------------


def b64u_length(size: int) -> int:
    """Characters of `size` bytes in base64url without padding."""
    return -(-size * 4 // 3)


def b64u_schema(min_bytes: int, max_bytes: int) -> dict[str, Any]:
    """Base64url text of `min_bytes` to `max_bytes` bytes.  The pattern gives the alphabet (and an
    exact length where there is one); the check also refuses lengths of 4n+1, which no byte
    string has, and which a schema would only say with a pattern generators choke on."""
    low, high = b64u_length(min_bytes), b64u_length(max_bytes)
    pattern = f"^{_B64U_CHAR}{{{low}}}$" if low == high else f"^{_B64U_CHAR}*$"
    return pattern_string(pattern, minLength=low, maxLength=high, contentEncoding="base64url")


def _decode_b64u(value: Any, min_bytes: int, max_bytes: int) -> bytes:
    """Strict base64url without padding, `min_bytes` to `max_bytes` long (length checked first)."""
    if (
        not isinstance(value, str)
        or not b64u_length(min_bytes) <= len(value) <= b64u_length(max_bytes)
        or not _B64U.fullmatch(value)
    ):
        raise Invalid(f"expected base64url text of {min_bytes} to {max_bytes} bytes")
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def b64u_up_to(max_bytes: int) -> Field[bytes]:
    """A base64url validator for values of 1 to `max_bytes` bytes (key backups, sealed replies)."""
    return Field(lambda value: _decode_b64u(value, 1, max_bytes), b64u_schema(1, max_bytes))


def b64u_exactly(size: int) -> Field[bytes]:
    """A base64url validator for values of exactly `size` bytes (public keys, verifiers)."""
    return Field(lambda value: _decode_b64u(value, size, size), b64u_schema(size, size))


# A message, genesis or directory: at most MAX_MESSAGE_BYTES.
b64u = b64u_up_to(MAX_MESSAGE_BYTES)


def to_b64u(data: bytes) -> str:
    """The inverse of `b64u`: what the server sends of binary values."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@described(b64u_schema(32, 32))
def verifier(value: Any) -> str:
    """A resume or booking code's access verifier (32 bytes), kept as the text sent."""
    _decode_b64u(value, 32, 32)
    return str(value)


_SEALED_MIN = 2 + 96 + 12 + 16


@described(b64u_schema(_SEALED_MIN, MAX_SEALED_BOOKING))
def sealed_booking(value: Any) -> bytes:
    """A sealed booking payload's structure (docs/BOOKING.md); its contents are not ours to read."""
    data = _decode_b64u(value, _SEALED_MIN, MAX_SEALED_BOOKING)
    if data[0] != 2 or not 1 <= data[1] <= 64:  # version 2: bound to its reference and kind
        raise Invalid("not a sealed booking payload")
    if len(data) < 2 + data[1] * 96 + 12 + 16:
        raise Invalid("sealed booking payload too short")
    return data


_CERTIFICATE = b64u_up_to(1024)


@described(
    {
        "type": "object",
        "maxProperties": 255,
        "propertyNames": HEX_ID_SCHEMA,
        "additionalProperties": _CERTIFICATE.schema,
    }
)
def certificates(value: Any) -> dict[uuid.UUID, bytes]:
    """Staff ids mapped to the certificates an admin just made for them."""
    if not isinstance(value, dict) or len(value) > 255:
        raise Invalid("certificates map staff ids to certificates")
    return {hex_id(k): _CERTIFICATE(v) for k, v in value.items()}


# --- query parameters and addresses (text from a URL) -----------------------------------------


@described(pattern_string(DATE, format="date"))
def calendar_date(value: Any) -> date:
    """A date written YYYY-MM-DD in the years 2000-2199 (far enough either way for any booking)."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise Invalid("expected a date YYYY-MM-DD in the years 2000-2199")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid("expected a date YYYY-MM-DD in the years 2000-2199") from None


def whole_number(low: int, high: int) -> Field[int]:
    """A whole number from a query string: ASCII digits only, in [low, high]."""

    def check(value: Any) -> int:
        number = ascii_int(value, low, high) if isinstance(value, str) else None
        if number is None:
            raise Invalid(f"expected a whole number from {low} to {high}")
        return number

    return Field(check, {"type": "integer", "minimum": low, "maximum": high})


def one_of(*choices: str) -> Field[str]:
    """One of a few fixed words."""

    def check(value: Any) -> str:
        if value not in choices:
            raise Invalid(f"expected one of {', '.join(choices)}")
        return str(value)

    return Field(check, {"type": "string", "enum": list(choices)})


@described({"type": "string"})
def any_text(value: Any) -> str:
    """Any text (used where an unknown value falls back to a default, like `lang`)."""
    if not isinstance(value, str):
        raise Invalid("expected text")
    return value


# --- forms and addresses ---------------------------------------------------------------------


def clock_time(raw: str) -> time:
    """HH:MM from a form field, ASCII digits only (a 422 with a message the form shows)."""
    if not _CLOCK.fullmatch(raw):
        raise PublicError(422, BAD_TIME)
    return time.fromisoformat(raw)


def page_language(request: Request) -> str:
    """The language in a visitor page's path (/nb/…, /sv/…, /en/…); any other is a 404."""
    value = str(request.path_params["lang"])
    if not is_language(value):
        raise PublicError(404, NO_SUCH_PAGE)
    return value


@described(pattern_string(_REFERENCE))
def reference(value: Any) -> str:
    """A booking reference, any case, with or without its dash (ASCII only), normalised."""
    if not isinstance(value, str) or not re.fullmatch(_REFERENCE, value):
        raise Invalid("a booking reference has 8 characters of Crockford base 32")
    return value.upper().replace("-", "")


def booking_reference(request: Request) -> str:
    """The booking reference in the path; any other is a 404."""
    try:
        return reference(request.path_params["reference"])
    except Invalid:
        raise PublicError(404, NO_SUCH_BOOKING, code="not_found") from None
