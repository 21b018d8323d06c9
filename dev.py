#!/usr/bin/env python3
"""Set up and run Trygg on a fresh machine with nothing but Python 3.11+.

    python3 dev.py serve   # the service on http://localhost:8000 (SQLite, no configuration)
    python3 dev.py test    # the whole test suite: lint, types, unit, integration, browser, JS

Both create .venv and install what is needed the first time (and again when
pyproject.toml changes).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"


def run(*command: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], cwd=ROOT, env=env, check=True)


def ensure_environment(extras: str) -> None:
    """Create .venv and install the project (with `extras`) unless already up to date."""
    if not PYTHON.exists():
        venv.create(VENV, with_pip=True)
    stamp = VENV / f".installed-{extras or 'base'}"
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == wanted:
        return
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", target)
    stamp.write_text(wanted)


def serve(args: list[str]) -> None:
    ensure_environment("")
    os.execv(str(PYTHON), [str(PYTHON), "-m", "server", "serve", *args])


def browser_environment(env: dict[str, str]) -> None:
    """Use the system Chromium where there is one, else Playwright's own (downloaded once)."""
    for candidate in (env.get("TRYGG_CHROMIUM", ""), "/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if candidate and Path(candidate).exists():
            env["TRYGG_CHROMIUM"] = candidate
            return
    try:
        run(PYTHON, "-m", "playwright", "install", "chromium")
        found = subprocess.run(
            [
                str(PYTHON),
                "-c",
                "from playwright.sync_api import sync_playwright as p\n"
                "with p() as pw: print(pw.chromium.executable_path)",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        env["TRYGG_CHROMIUM"] = found
    except subprocess.CalledProcessError:
        print("! no Chromium available: browser tests will be skipped", flush=True)


def test(args: list[str]) -> None:
    ensure_environment("test")
    env = dict(os.environ)
    browser_environment(env)
    run(BIN / "ruff", "check", ".")
    run(BIN / "ruff", "format", "--check", ".")
    run(BIN / "mypy")
    node = shutil.which("node")
    js_tests = sorted((ROOT / "tests" / "js").glob("*.test.mjs"))
    if node and js_tests:
        run(node, "--test", *js_tests)
    elif js_tests:
        if env.get("TRYGG_TEST_REQUIRE_SERVICES") == "1":
            sys.exit("Node.js is required for the JavaScript tests")
        print("! Node.js not found: JavaScript tests skipped (the browser runs the same vectors)")
    run(PYTHON, "-m", "pytest", *args, env=env)


def main() -> None:
    commands = {"serve": serve, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    try:
        commands[sys.argv[1]](sys.argv[2:])
    except subprocess.CalledProcessError as failed:
        print(f"! failed: {' '.join(map(str, failed.cmd))}", file=sys.stderr)
        sys.exit(failed.returncode or 1)


if __name__ == "__main__":
    main()
