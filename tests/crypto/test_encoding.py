"""Strict base64url and plaintext padding, from the shared vectors."""

from __future__ import annotations

from typing import Any

import pytest

from crypto.encoding import b64decode, b64encode
from crypto.padding import pad, unpad

from .vectors import cases, error_of, h


@pytest.mark.parametrize("case", cases("encoding.json"))
def test_base64url(case: dict[str, Any]) -> None:
    if case["result"] == "valid":
        assert b64decode(case["text"]) == h(case["bytes_hex"])
        assert b64encode(h(case["bytes_hex"])) == case["text"]
    else:
        assert error_of(b64decode, case["text"]) == case["error"]


def test_base64url_bound() -> None:
    assert error_of(b64decode, "A" * 20, 8) == "oversize"


@pytest.mark.parametrize("case", cases("padding.json", "pad"))
def test_pad(case: dict[str, Any]) -> None:
    body = h(case["body_byte_hex"]) * case["body_len"]
    if case["result"] == "invalid":
        assert error_of(pad, case["content_type"], body) == case["error"]
        return
    padded = pad(case["content_type"], body)
    assert len(padded) == case["padded_len"]
    from crypto.primitives import sha256

    assert sha256(padded) == h(case["padded_sha256_hex"])
    if "padded_hex" in case:
        assert padded == h(case["padded_hex"])
    assert unpad(padded) == (case["content_type"], body)


@pytest.mark.parametrize("case", cases("padding.json", "unpad"))
def test_unpad(case: dict[str, Any]) -> None:
    if case["result"] == "valid":
        assert unpad(h(case["padded_hex"])) == (case["content_type"], h(case["body_hex"]))
    else:
        assert error_of(unpad, h(case["padded_hex"])) == case["error"]
