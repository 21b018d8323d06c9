"""Application plaintext framing and padding to a few fixed buckets, so lengths leak little."""

from __future__ import annotations

from .constants import MAX_BODY, PAD_BUCKETS, PLAINTEXT_OVERHEAD
from .encoding import Reader
from .errors import ErrorCode, ProtocolError


def bucket_for(body_len: int) -> int:
    """Smallest bucket holding the framed body; OVERSIZE above the largest."""
    needed = body_len + PLAINTEXT_OVERHEAD
    for size in PAD_BUCKETS:
        if needed <= size:
            return size
    raise ProtocolError(ErrorCode.OVERSIZE)


def pad(content_type: int, body: bytes) -> bytes:
    """content_type (1) || body length (4) || body || zeros up to the bucket size."""
    if not 1 <= content_type <= 255:
        raise ProtocolError(ErrorCode.MALFORMED)
    if len(body) > MAX_BODY:
        raise ProtocolError(ErrorCode.OVERSIZE)
    framed = bytes([content_type]) + len(body).to_bytes(4, "big") + body
    return framed + bytes(bucket_for(len(body)) - len(framed))


def unpad(padded: bytes) -> tuple[int, bytes]:
    """Inverse of `pad`; the size must be a bucket and the padding all zero (canonical)."""
    if len(padded) not in PAD_BUCKETS:
        raise ProtocolError(ErrorCode.MALFORMED)
    r = Reader(padded)
    content_type = r.u8()
    length = r.u32()
    if content_type == 0 or length > len(padded) - PLAINTEXT_OVERHEAD:
        raise ProtocolError(ErrorCode.MALFORMED)
    body = r.take(length)
    if bucket_for(length) != len(padded) or any(padded[r.position :]):
        raise ProtocolError(ErrorCode.MALFORMED)
    return content_type, body
