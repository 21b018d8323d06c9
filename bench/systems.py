"""The systems under test, each started as subprocesses on free ports.

- `RelaySystem("websockets")`: bench/relays.py on the bare `websockets` library.
- `RelaySystem("starlette", ws=...)`: bench/relays.py as a Starlette app on uvicorn.
- `TryggSystem(...)`: `python -m server serve` exactly as deployed (or bench.trygg_profiled,
  the same command with counters), with a fresh data directory, fast password hashing
  (as tests/live_server.py does) and the per-client limits lifted for one load-generating
  address; SQLite by default, or its own new PostgreSQL database (dropped afterwards), with
  one process or several sharing PostgreSQL and Redis (TRYGG_REDIS_URL).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from bench.procstat import cpu_seconds, pids_named, raise_nofile

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
NOFILE = 65536


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _more_files() -> None:
    raise_nofile(NOFILE)


def wait_ready(
    process: subprocess.Popen[bytes], port: int, log: Path, http: bool, timeout: float = 90
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if http:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            else:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not start:\n{log.read_text(errors='replace')[-3000:]}")


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float = 30) -> float:
    """SIGTERM, wait (SIGKILL after `timeout`); returns the seconds it took to exit."""
    if process is None or process.poll() is not None:
        return 0.0
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return time.monotonic() - started


class System:
    kind = ""  # "relay" or "trygg"
    label = ""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="trygg-bench-"))
        self.processes: list[subprocess.Popen[bytes]] = []
        self.ports: list[int] = []

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.poll() is None]

    def ws_url(self, index: int = 0) -> str:
        return f"ws://127.0.0.1:{self.ports[index]}/ws"

    def http_url(self, index: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def visitor_urls(self) -> list[str]:
        return [self.ws_url(0)]

    def counsellor_urls(self) -> list[str]:
        return [self.ws_url(len(self.ports) - 1)]

    def extra_pids(self) -> dict[str, list[int]]:
        """Other processes doing this system's work (database backends, Redis)."""
        return {}

    def start(self) -> System:
        raise NotImplementedError

    def stop(self) -> None:
        for process in self.processes:
            stop_process(process)
        self.processes = []

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)


class RelaySystem(System):
    kind = "relay"

    def __init__(self, flavour: str, ws: str = "auto") -> None:
        super().__init__()
        self.flavour = flavour
        self.ws = ws
        if flavour == "websockets":
            self.label = "bare websockets relay"
        else:
            self.label = "Starlette relay on uvicorn" + ("" if ws == "auto" else f" (--ws {ws})")

    def start(self) -> RelaySystem:
        port = free_port()
        log = self.folder / "relay.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "bench.relays", self.flavour, "--port", str(port), "--ws", self.ws],
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_more_files,
            )
        wait_ready(process, port, log, http=self.flavour == "starlette")
        self.processes, self.ports = [process], [port]
        return self


class TryggSystem(System):
    kind = "trygg"

    def __init__(
        self,
        database: str = "sqlite",
        processes: int = 1,
        redis: bool = False,
        profiled: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.database = database
        self.count = processes
        self.redis = redis
        self.profiled = profiled
        self.extra_env = env or {}
        self.db_name = ""
        if database == "postgresql":
            self.db_name = f"trygg_bench_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            _psql(f'CREATE DATABASE "{self.db_name}"')
            base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
            self.database_url = f"{base}/{self.db_name}"
        else:
            self.database_url = ""
        self.label = "Trygg, " + ("SQLite" if database == "sqlite" else "PostgreSQL")
        self.label += f", {processes} process" + ("es" if processes > 1 else "")
        if redis:
            self.label += " + Redis"
        self.ports = [free_port() for _ in range(processes)]
        self.logs = [self.folder / f"server{n}.log" for n in range(processes)]
        self.data_dir = self.folder / "data"

    def env(self, index: int) -> dict[str, str]:
        env = {
            **os.environ,
            "TRYGG_DATA_DIR": str(self.data_dir),
            "TRYGG_PUBLIC_URL": self.http_url(index),
            "TRYGG_PASSWORD_HASHING": "fast-insecure-for-tests",
            "TRYGG_DEFAULT_LANGUAGE": "en",
            # One address makes all the load: lift the per-client limits (they are per address).
            "TRYGG_WEBSOCKET_FRAMES_PER_10S": "10000",
            "TRYGG_CONVERSATIONS_PER_CLIENT_PER_HOUR": "10000",
            "TRYGG_LOGIN_ATTEMPTS_PER_CLIENT": "10000",
            # every socket comes from one address (and the storm opens many per token)
            "TRYGG_MAX_CONNECTIONS": "1000000",
            "TRYGG_CONNECTIONS_PER_CLIENT": "1000000",
            "TRYGG_MAX_WEBSOCKETS": "1000000",
            "TRYGG_WEBSOCKETS_PER_CLIENT": "1000000",
            "TRYGG_WEBSOCKETS_PER_TOKEN": "100000",  # the memory part: 10,000 sockets on 10 tokens
            "TRYGG_WEBSOCKETS_PER_SESSION": "1000",
            "TRYGG_WEBSOCKET_FRAMES_PER_10S_PER_TOKEN": "100000",
            "TRYGG_WEBSOCKET_CATCH_UP_BYTES_PER_10S_PER_TOKEN": "1000000000000",
            "PYTHONUNBUFFERED": "1",
            "BENCH_PROFILE_DIR": str(self.folder),
            **self.extra_env,
        }
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if self.redis:
            env["TRYGG_REDIS_URL"] = REDIS_URL
        return env

    def cli(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "server", *args],
            cwd=ROOT,
            env=self.env(0),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def start_one(self, index: int) -> subprocess.Popen[bytes]:
        module = "bench.trygg_profiled" if self.profiled else "server"
        with self.logs[index].open("ab") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    module,
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.ports[index]),
                ],
                cwd=ROOT,
                env=self.env(index),
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_more_files,
            )
        return process

    def start(self) -> TryggSystem:
        self.processes = []
        for index in range(self.count):  # one after the other: the first applies the migrations
            process = self.start_one(index)
            self.processes.append(process)
            wait_ready(process, self.ports[index], self.logs[index], http=True)
        return self

    def restart(self) -> dict[str, float]:
        """Stop every process (SIGTERM), start them again; the timings of each part."""
        stopped_at = time.monotonic()
        stop_seconds = max([stop_process(p) for p in self.processes] or [0.0])
        started_at = time.monotonic()
        self.processes = []
        for index in range(self.count):
            process = self.start_one(index)
            self.processes.append(process)
            wait_ready(process, self.ports[index], self.logs[index], http=True)
        return {
            "stop_began": stopped_at,
            "stop_seconds": stop_seconds,
            "start_began": started_at,
            "ready_at": time.monotonic(),
        }

    def create_admin(self, username: str, password: str) -> None:
        result = self.cli(
            "create-admin",
            username,
            "--display-name",
            username.title(),
            "--password-stdin",
            stdin=password + "\n",
        )
        if result.returncode != 0:
            raise RuntimeError(result.stderr)

    def backend_pids(self) -> list[int]:
        if not self.db_name:
            return []
        out = _psql(
            # db_name is ours (letters, digits, underscores), not outside input.
            f"SELECT pid FROM pg_stat_activity WHERE datname = '{self.db_name}' "  # noqa: S608
            "AND pid <> pg_backend_pid()"
        )
        return [int(line) for line in out.split() if line.strip().isdigit()]

    def extra_pids(self) -> dict[str, list[int]]:
        extra: dict[str, list[int]] = {}
        if self.db_name:
            extra["postgres"] = self.backend_pids()
        if self.redis:
            extra["redis"] = pids_named("redis-server")
        return extra

    def signal(self, signum: int) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signum)

    def close(self) -> None:
        self.stop()
        if self.db_name:
            _psql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        super().close()


def _psql(sql: str) -> str:
    result = subprocess.run(
        ["psql", POSTGRES_ADMIN_URL, "-Atc", sql], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"psql: {result.stderr.strip()}")
    return result.stdout


# --- a Trygg centre, through the real HTTP API ----------------------------------------


def build_trygg_centre(system: TryggSystem, counsellors: int) -> dict[str, Any]:
    """An admin, the centre key, `counsellors` certified counsellors and a signed directory.

    Uses tests/chat_helpers.py (the HTTP flows the test suite keeps working); returns what
    the load generators need: the directory and anchors, and per counsellor its session
    cookie and private keys (raw bytes, so another process can rebuild the identity)."""
    import httpx2

    from crypto import primitives
    from tests.chat_helpers import PASSWORD, b64, build_centre

    with httpx2.Client(base_url=system.http_url(0), timeout=60) as http:
        names = {f"c{n:03d}": "counsellor" for n in range(counsellors)}
        centre = build_centre(http, system.http_url(0), lambda: system.create_admin("admin", PASSWORD), names)
        people = []
        for name in names:
            member = centre.staff[name]
            assert member.identity is not None
            people.append(
                {
                    "cookie": member.person.cookie_header(),
                    "id": member.account_id.bytes.hex(),
                    "centre_id": centre.centre_id.hex(),
                    "kem": primitives.x25519_private_bytes(member.identity.kem_private).hex(),
                    "sig": primitives.ed25519_private_bytes(member.identity.sig_private).hex(),
                    "anchors": [b64(a) for a in centre.anchors],
                }
            )
        return {
            "centre": {
                "centre_id": centre.centre_id.hex(),
                "directory": b64(centre.directory),
                "anchors": [b64(a) for a in centre.anchors],
            },
            "counsellors": people,
        }
