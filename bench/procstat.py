"""What the kernel says about processes and the machine: CPU time, resident memory, threads.

Everything here reads /proc, so it measures any process (a server, a load generator,
PostgreSQL's backends, redis-server) without touching its code.
"""

from __future__ import annotations

import os
import platform
import resource
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads); 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_total(pids: Iterable[int]) -> float:
    return sum(cpu_seconds(pid) for pid in pids)


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per thread name (threads of the same name added up)."""
    result: dict[str, float] = {}
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except FileNotFoundError:
        return result
    for task in tasks:
        try:
            raw = (task / "stat").read_text()
        except FileNotFoundError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        if task.name == str(pid):
            name = "main (event loop)"
        fields = raw.rsplit(")", 1)[1].split()
        result[name] = result.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICKS
    return result


def threads(pid: int) -> int:
    try:
        return len(list(Path(f"/proc/{pid}/task").iterdir()))
    except FileNotFoundError:
        return 0


def rss_bytes(pid: int) -> int:
    """Resident set size (VmRSS) of a process."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return 0


@dataclass(frozen=True)
class MachineCpu:
    busy: float  # seconds of CPU used by everything on the machine
    total: float  # seconds of CPU available (all cores)


def machine_cpu() -> MachineCpu:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])
    return MachineCpu((total - idle) / TICKS, total / TICKS)


def pids_named(name: str) -> list[int]:
    """Processes whose command name is exactly `name` (e.g. redis-server)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError):
                continue
    return found


def raise_nofile(wanted: int) -> int:
    """Raise RLIMIT_NOFILE (soft, and hard if we may) towards `wanted`; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _first_line(*command: str) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return out.strip().splitlines()[0] if out.strip() else "?"


def machine_description() -> dict[str, str]:
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = "?"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    versions = {}
    from importlib.metadata import PackageNotFoundError, version

    for package in (
        "starlette",
        "uvicorn",
        "websockets",
        "sqlalchemy",
        "aiosqlite",
        "asyncpg",
        "redis",
        "h11",
        "httptools",
        "uvloop",
        "wsproto",
    ):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    import sqlite3

    return {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "memory": memory,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _first_line("psql", "--version"),
        "redis": _first_line("redis-server", "--version"),
        "libraries": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "nofile": "{} soft / {} hard".format(*resource.getrlimit(resource.RLIMIT_NOFILE)),
    }
