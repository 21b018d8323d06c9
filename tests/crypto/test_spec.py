"""PROTOCOL.md and the two implementations name the same error codes, types and bounds."""

from __future__ import annotations

import re
from pathlib import Path

from crypto import ErrorCode, ObjectType
from crypto.constants import LIVE_SKEW, MAX_CLOCK_SKEW, MAX_ITERATIONS, MIN_ITERATIONS, VERSION

ROOT = Path(__file__).resolve().parents[2]
SPEC = (ROOT / "crypto" / "PROTOCOL.md").read_text(encoding="utf-8")
JS = ROOT / "web" / "static" / "js" / "protocol"


def test_every_error_code_is_documented_and_shared_with_javascript() -> None:
    table = SPEC[SPEC.index("### 9.4 Error codes") : SPEC.index("### 9.5")]
    js = set(re.findall(r'^\s+[A-Z_]+: "([a-z_]+)",$', (JS / "errors.js").read_text(), re.MULTILINE))
    assert js == {c.value for c in ErrorCode}
    for code in ErrorCode:
        assert f"`{code.value}`" in table, code


def test_object_types_and_constants_agree() -> None:
    constants = (JS / "constants.js").read_text()
    for t in ObjectType:
        assert f"{t.name}: 0x{t.value:02x}," in constants, t
        assert f"| `0x{t.value:02x}` |" in SPEC, t
    for name, value in [
        ("VERSION", VERSION),
        ("MAX_CLOCK_SKEW", MAX_CLOCK_SKEW),
        ("LIVE_SKEW", LIVE_SKEW),
        ("MIN_ITERATIONS", MIN_ITERATIONS),
        ("MAX_ITERATIONS", MAX_ITERATIONS),
    ]:
        assert re.search(rf"export const {name} = {value};", constants), name
    assert f"# Trygg end-to-end encryption protocol, version {VERSION}" in SPEC
