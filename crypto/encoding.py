"""Canonical binary encoding (big-endian integers, length-prefixed bytes) and strict base64url."""

from __future__ import annotations

import base64
import binascii
import re

from .constants import MAX_OBJECT
from .errors import ErrorCode, ProtocolError, guarded

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


class Reader:
    """Consume a byte string field by field; every read is bounds-checked."""

    def __init__(self, data: bytes) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ProtocolError(ErrorCode.MALFORMED)
        self._data = bytes(data)
        self._pos = 0

    @property
    def position(self) -> int:
        return self._pos

    def take(self, n: int) -> bytes:
        if self._pos + n > len(self._data):
            raise ProtocolError(ErrorCode.TRUNCATED)
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def u64(self) -> int:
        return int.from_bytes(self.take(8), "big")

    def opaque(self, width: int, max_len: int, min_len: int = 0) -> bytes:
        """A byte string with a ``width``-byte length prefix; too long is OVERSIZE."""
        n = int.from_bytes(self.take(width), "big")
        if n > max_len:
            raise ProtocolError(ErrorCode.OVERSIZE)
        if n < min_len:
            raise ProtocolError(ErrorCode.MALFORMED)
        return self.take(n)

    def consumed(self, start: int = 0) -> bytes:
        """The bytes read so far from ``start`` (used to recover signed prefixes)."""
        return self._data[start : self._pos]

    def finish(self) -> None:
        if self._pos != len(self._data):
            raise ProtocolError(ErrorCode.MALFORMED)


class Writer:
    """Build a canonical encoding; a wrong-length field or out-of-range integer is MALFORMED."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def raw(self, data: bytes) -> Writer:
        self._buf += data
        return self

    def fixed(self, data: bytes, n: int) -> Writer:
        if len(data) != n:
            raise ProtocolError(ErrorCode.MALFORMED)
        self._buf += data
        return self

    def uint(self, value: int, width: int) -> Writer:
        if not 0 <= value < 1 << (8 * width):
            raise ProtocolError(ErrorCode.MALFORMED)
        self._buf += value.to_bytes(width, "big")
        return self

    def u8(self, value: int) -> Writer:
        return self.uint(value, 1)

    def u16(self, value: int) -> Writer:
        return self.uint(value, 2)

    def u32(self, value: int) -> Writer:
        return self.uint(value, 4)

    def u64(self, value: int) -> Writer:
        return self.uint(value, 8)

    def opaque(self, data: bytes, width: int) -> Writer:
        self.uint(len(data), width)
        self._buf += data
        return self

    def getvalue(self) -> bytes:
        return bytes(self._buf)


def header(object_type: int, version: int, suite: int) -> bytes:
    return bytes([version, suite, object_type])


@guarded
def b64encode(data: bytes) -> str:
    """base64url without padding (RFC 4648 §5), the transport form of every object."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@guarded
def b64decode(text: str, max_len: int = MAX_OBJECT) -> bytes:
    """Strict base64url: no padding, no whitespace, canonical trailing bits, bounded length."""
    if not isinstance(text, str):
        raise ProtocolError(ErrorCode.MALFORMED)
    if len(text) > (max_len * 4 + 2) // 3:
        raise ProtocolError(ErrorCode.OVERSIZE)
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ProtocolError(ErrorCode.MALFORMED)
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ProtocolError(ErrorCode.MALFORMED) from None
    if b64encode(data) != text:  # non-zero trailing bits
        raise ProtocolError(ErrorCode.MALFORMED)
    return data
