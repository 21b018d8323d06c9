"""The committed vector files are exactly what the generator produces."""

from __future__ import annotations

from crypto.vectors import generate

from .vectors import VECTORS


def test_committed_vectors_match_generator() -> None:
    docs = generate.build_all()
    stale = [n for n, d in docs.items() if (VECTORS / n).read_text(encoding="utf-8") != generate.render(d)]
    assert not stale, f"run: python -m crypto.vectors.generate  (stale: {stale})"


def test_every_vector_file_is_run_by_some_test() -> None:
    import pathlib

    here = pathlib.Path(__file__).parent
    sources = "".join(p.read_text() for p in here.glob("test_*.py"))
    for path in VECTORS.glob("*.json"):
        assert f'"{path.name}"' in sources, path.name
