"""Load the shared vector files and run one case through the Python implementation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crypto import ProtocolError

VECTORS = Path(__file__).resolve().parents[2] / "crypto" / "vectors"


def load(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


def cases(name: str, kind: str | None = None, key: str = "cases") -> list[Any]:
    """pytest params for every case of a file (optionally one kind), with readable ids."""
    import pytest

    return [pytest.param(c, id=c["id"]) for c in load(name)[key] if kind is None or c.get("kind") == kind]


def error_of(func: Any, *args: Any) -> str | None:
    """Run func; return the protocol error code, or None if it succeeded."""
    try:
        func(*args)
    except ProtocolError as e:
        return e.code.value
    return None


def h(text: str) -> bytes:
    return bytes.fromhex(text)
