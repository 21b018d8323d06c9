"""Safety numbers and conversation codes from the shared vectors."""

from __future__ import annotations

from typing import Any

import pytest

from crypto import conversation_code, fingerprint, safety_number

from .vectors import cases, error_of, h


@pytest.mark.parametrize("case", cases("fingerprint.json"))
def test_fingerprint(case: dict[str, Any]) -> None:
    if case["kind"] == "safety_number":
        assert safety_number(case["a"], case["b"]) == case["safety_number"]
        assert safety_number(case["b"], case["a"]) == case["safety_number"]
        return
    if case["kind"] == "conversation_code":
        visitor = tuple(h(x) for x in case["visitor_hex"])
        staff = tuple(h(x) for x in case["staff_hex"])
        assert conversation_code(h(case["genesis_hash_hex"]), visitor, staff) == case["code"]  # type: ignore[arg-type]
        return
    args = (h(case["member_id_hex"]), h(case["sig_public_hex"]), h(case["kem_public_hex"]))
    if case["result"] == "invalid":
        assert error_of(fingerprint, *args) == case["error"]
    else:
        assert fingerprint(*args) == case["fingerprint"]
