"""Safety numbers from the shared vectors."""

from __future__ import annotations

from typing import Any

import pytest

from crypto import fingerprint, safety_number

from .vectors import cases, error_of, h


@pytest.mark.parametrize("case", cases("fingerprint.json"))
def test_fingerprint(case: dict[str, Any]) -> None:
    if case["kind"] == "safety_number":
        assert safety_number(case["a"], case["b"]) == case["safety_number"]
        assert safety_number(case["b"], case["a"]) == case["safety_number"]
        return
    args = (h(case["member_id_hex"]), h(case["sig_public_hex"]), h(case["kem_public_hex"]))
    if case["result"] == "invalid":
        assert error_of(fingerprint, *args) == case["error"]
    else:
        assert fingerprint(*args) == case["fingerprint"]
