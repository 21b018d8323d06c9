"""Trygg's delivery path measured beside reference relays, under the same load generators.

    .venv/bin/python -m bench.chat_bench                       # everything, ~10 minutes
    .venv/bin/python -m bench.chat_bench --only latency,profile
    .venv/bin/python -m bench.chat_bench --only memory --idle 1000,5000,10000
    .venv/bin/python -m bench.chat_bench --only storm --storm 10000

Parts (`--only`, comma-separated; default all):
  relay    offered-rate steps on the two reference relays (bare `websockets`; Starlette on uvicorn)
  latency  the same steps on Trygg, SQLite, one process
  memory   idle memory per websocket and new connections per second, at --idle sizes
  storm    a reconnect storm on Trygg (SQLite): K tabs with missed messages, server restarted
  postgres the steps on Trygg, PostgreSQL, 1 process and 2 processes + Redis, with the
           CPU of PostgreSQL's backends and Redis beside the servers'
  profile  Trygg (SQLite) at a moderate rate under cProfile, with per-message counts of
           sessions, SQL statements, thread hops and system calls (perf stat)

The servers are subprocesses; the load comes from --generators processes of
bench/loadgen.py (whose CPU is reported).  Nothing here passes or fails: it prints tables
(Markdown with --markdown) and writes every raw figure to --json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.procstat import (
    cpu_seconds,
    machine_cpu,
    machine_description,
    raise_nofile,
    rss_bytes,
    thread_cpu,
    threads,
)
from bench.systems import ROOT, RelaySystem, System, TryggSystem, build_trygg_centre

PARTS = ("relay", "latency", "memory", "storm", "postgres", "profile")
LADDER = (10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)
PER_COUNSELLOR = 5  # TRYGG_MAX_OPEN_PER_COUNSELLOR's default: a counsellor's socket follows 5


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pct(values: list[float], fraction: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def wait_quiet(limit: float) -> float:
    """Wait (at most `limit` s) until the rest of the machine uses under 25% of a core; the
    machine may be shared.  Returns the share of a core others used in the last second."""
    deadline = time.monotonic() + limit
    while True:
        before = machine_cpu()
        time.sleep(1.0)
        busy = machine_cpu().busy - before.busy
        if busy < 0.25 or time.monotonic() > deadline:
            if busy >= 0.25:
                log(f"the machine is busy: others use {100 * busy:.0f}% of a core; measuring anyway")
            return busy


# --- the load generators ---------------------------------------------------------------


class Generators:
    """`count` bench/loadgen.py processes, spoken to in JSON lines."""

    def __init__(self, count: int) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.procs = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.loadgen"],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
                text=True,
                bufsize=1,
            )
            for _ in range(count)
        ]

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def send(self, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for proc, command in zip(self.procs, commands, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(command) + "\n")
            proc.stdin.flush()
        replies = []
        for proc in self.procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("a load generator died")
            reply = json.loads(line)
            if "error" in reply:
                raise RuntimeError(f"load generator: {reply['error']}")
            replies.append(reply)
        return replies

    def all(self, command: dict[str, Any]) -> list[dict[str, Any]]:
        return self.send([command] * len(self.procs))

    def close(self) -> None:
        for proc in self.procs:
            try:
                assert proc.stdin is not None
                proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                proc.stdin.flush()
                proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired, AssertionError):
                proc.kill()
                proc.wait()


def server_errors(system: System) -> dict[str, int]:
    """Errors the server logged (by exception type): a crash of a connection shows here."""
    found: Counter[str] = Counter()
    for path in getattr(system, "logs", []):
        for line in path.read_text(errors="replace").splitlines():
            if '"level": "error"' in line:
                kind = (
                    line.split('"exception": "', 1)[1].split('"', 1)[0] if '"exception": "' in line else "?"
                )
                found[kind] += 1
    return dict(found)


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if n < total % parts else 0) for n in range(parts)]


def setup(system: System, gens: Generators, conversations: int) -> dict[str, Any]:
    """Conversations spread over the generators, each with a visitor and a counsellor socket."""
    started = time.monotonic()
    shares = [s for s in split(conversations, len(gens.procs))]
    groups = [math.ceil(s / PER_COUNSELLOR) for s in shares]
    base: dict[str, Any] = {
        "cmd": "setup",
        "kind": system.kind,
        "per_counsellor": PER_COUNSELLOR,
        "visitor_urls": system.visitor_urls(),
        "counsellor_urls": system.counsellor_urls(),
        "origin": system.http_url(0),
        "http": system.http_url(0),
    }
    commands = []
    if isinstance(system, TryggSystem):
        centre = build_trygg_centre(system, sum(groups))
        people = centre["counsellors"]
        offset = 0
        for share, group in zip(shares, groups, strict=True):
            commands.append(
                {
                    **base,
                    "conversations": share,
                    "centre": centre["centre"],
                    "counsellors": people[offset : offset + group],
                }
            )
            offset += group
    else:
        commands = [{**base, "conversations": share} for share in shares]
    gens.send(commands)
    return {"seconds": time.monotonic() - started, "shares": shares}


# --- offered-rate steps ----------------------------------------------------------------


def step_seconds(rate: float, scale: float) -> float:
    """Long enough for ~150 latency samples, 3-10 s (times --time-scale)."""
    return max(3.0, min(10.0, 150.0 / rate)) * scale


def run_step(
    system: System, gens: Generators, rate: float, duration: float, shares: list[int]
) -> dict[str, Any]:
    total = sum(shares)
    rates = [rate * share / total for share in shares]
    prepared = gens.send([{"cmd": "prepare", "rate": r, "duration": duration} for r in rates])
    start_at = time.monotonic() + 0.5
    commands = [
        {"cmd": "run", "rate": r, "duration": duration, "start_at": start_at, "drain_timeout": 30 + duration}
        for r in rates
    ]
    for proc, command in zip(gens.procs, commands, strict=True):
        assert proc.stdin is not None
        proc.stdin.write(json.dumps(command) + "\n")
        proc.stdin.flush()
    time.sleep(max(0.0, start_at - time.monotonic()))
    extra_pids = system.extra_pids()
    before = {
        "server": system.cpu(),
        "gens": gens.cpu(),
        "machine": machine_cpu(),
        "extra": {name: {pid: cpu_seconds(pid) for pid in pids} for name, pids in extra_pids.items()},
        "threads": {pid: thread_cpu(pid) for pid in system.pids},
    }
    time.sleep(duration)
    extra_after = system.extra_pids()
    after = {
        "server": system.cpu(),
        "gens": gens.cpu(),
        "machine": machine_cpu(),
        "extra": {name: {pid: cpu_seconds(pid) for pid in pids} for name, pids in extra_after.items()},
        "threads": {pid: thread_cpu(pid) for pid in system.pids},
    }
    replies = []
    for proc in gens.procs:
        assert proc.stdout is not None
        reply = json.loads(proc.stdout.readline())
        if "error" in reply:
            raise RuntimeError(reply["error"])
        replies.append(reply)
    latencies = [v for r in replies for v in r["latencies"]]
    acks = [v for r in replies for v in r["ack_latencies"]]
    delivered = sum(r["delivered_in_window"] for r in replies)
    acked = sum(r["acked_in_window"] for r in replies)
    sent = sum(r["sent"] for r in replies)
    extra_cpu = {
        name: sum(cpu - before["extra"].get(name, {}).get(pid, 0.0) for pid, cpu in pids.items())
        for name, pids in after["extra"].items()
    }
    server_cpu = after["server"] - before["server"]
    gens_cpu = after["gens"] - before["gens"]
    busy = after["machine"].busy - before["machine"].busy
    frames: dict[str, Counter[str]] = {"visitor": Counter(), "counsellor": Counter()}
    for r in replies:
        for role in frames:
            frames[role].update(r["frames"][role])
    main_thread = sum(
        after["threads"][pid].get("main (event loop)", 0.0)
        - before["threads"].get(pid, {}).get("main (event loop)", 0.0)
        for pid in after["threads"]
    )
    result = {
        "rate": rate,
        "duration": duration,
        "sent": sent,
        "prepare_seconds": max(p["seconds"] for p in prepared),
        "message_len": prepared[0]["message_len"],
        "delivered_per_s": delivered / duration,
        "acked_per_s": acked / duration,
        "p50": pct(latencies, 0.50),
        "p95": pct(latencies, 0.95),
        "p99": pct(latencies, 0.99),
        "ack_p50": pct(acks, 0.50),
        "ack_p99": pct(acks, 0.99),
        "samples": len(latencies),
        "server_cpu_s": server_cpu,
        "server_main_thread_cpu_s": main_thread,
        "server_cpu_ms_per_msg": 1000 * server_cpu / delivered if delivered else math.nan,
        "extra_cpu_s": extra_cpu,
        "total_cpu_ms_per_msg": 1000 * (server_cpu + sum(extra_cpu.values())) / delivered
        if delivered
        else math.nan,
        "server_cpu_pct": 100 * server_cpu / duration,
        "gens_cpu_pct": 100 * gens_cpu / duration,
        "other_cpu_pct": 100 * (busy - server_cpu - gens_cpu - sum(extra_cpu.values())) / duration,
        "send_lag_p99_ms": max(r["send_lag_p99_ms"] for r in replies),
        "not_delivered": sum(r["not_delivered"] for r in replies),
        "not_acked": sum(r["not_acked"] for r in replies),
        "duplicates": sum(r["duplicates"] for r in replies),
        "drain_seconds": max(r["drain_seconds"] for r in replies),
        "frames": {role: dict(c) for role, c in frames.items()},
        "errors": replies[0]["errors"],
        "last_error": next((r["last_error"] for r in replies if r["last_error"]), None),
    }
    return result


def saturated(step: dict[str, Any]) -> bool:
    return (
        step["delivered_per_s"] < 0.85 * step["rate"]
        or step["p50"] > 1000
        or step["not_delivered"] > 0
        or step["send_lag_p99_ms"] > 1000
    )


def ladder(system: System, args: argparse.Namespace, name: str) -> dict[str, Any]:
    quiet = wait_quiet(args.quiet_wait)
    log(f"{system.label}: starting")
    system.start()
    gens = Generators(args.generators)
    try:
        info = setup(system, gens, args.conversations)
        log(f"{system.label}: {args.conversations} conversations ready in {info['seconds']:.1f} s")
        steps = []
        for rate in args.rates:
            duration = step_seconds(rate, args.time_scale)
            step = run_step(system, gens, rate, duration, info["shares"])
            steps.append(step)
            log(
                f"{system.label}: offered {rate}/s -> delivered {step['delivered_per_s']:.0f}/s, "
                f"p50 {step['p50']:.1f} ms, p99 {step['p99']:.1f} ms, server CPU "
                f"{step['server_cpu_ms_per_msg']:.2f} ms/msg, generators {step['gens_cpu_pct']:.0f}%"
                + (f", errors {step['errors']}" if step["errors"] else "")
            )
            if saturated(step):
                break
        return {
            "system": system.label,
            "name": name,
            "setup": info,
            "steps": steps,
            "others_before": quiet,
            "server_errors": server_errors(system),
        }
    finally:
        gens.close()
        system.close()


# --- idle memory and connection rate ---------------------------------------------------


def memory(system: System, args: argparse.Namespace) -> dict[str, Any]:
    quiet = wait_quiet(args.quiet_wait)
    log(f"{system.label}: idle connections {args.idle}")
    system.start()
    gens = Generators(args.generators)
    try:
        setup(system, gens, min(args.conversations, 10))
        time.sleep(1.0)
        (pid,) = system.pids
        baseline = rss_bytes(pid)
        rows = []
        opened = 0
        for target in args.idle:
            add = split(target - opened, len(gens.procs))
            start_at = time.monotonic() + 0.3
            cpu0 = system.cpu()
            gens_cpu0 = gens.cpu()
            replies = gens.send(
                [
                    {
                        "cmd": "idle",
                        "url": system.ws_url(0),
                        "count": n,
                        "start_at": start_at,
                        "concurrency": 50,
                    }
                    for n in add
                ]
            )
            seconds = max(r["seconds"] for r in replies)
            new = sum(r["opened"] for r in replies)
            cpu = system.cpu() - cpu0
            gens_cpu = gens.cpu() - gens_cpu0
            opened += new
            time.sleep(2.0)
            rss = rss_bytes(pid)
            rows.append(
                {
                    "connections": opened,
                    "rss_mb": rss / 2**20,
                    "per_connection_kb": (rss - baseline) / opened / 1024 if opened else math.nan,
                    "new": new,
                    "failures": sum(sum(r["failures"].values()) for r in replies),
                    "failure_kinds": [r["failures"] for r in replies if r["failures"]],
                    "connections_per_s": new / seconds if seconds else math.nan,
                    "cpu_ms_per_connection": 1000 * cpu / new if new else math.nan,
                    "gens_cpu_pct": 100 * gens_cpu / seconds if seconds else math.nan,
                    "threads": threads(pid),
                }
            )
            log(
                f"{system.label}: {opened} idle -> {rows[-1]['per_connection_kb']:.1f} KB each, "
                f"{rows[-1]['connections_per_s']:.0f} conn/s, "
                f"{rows[-1]['cpu_ms_per_connection']:.2f} ms CPU each"
            )
        gens.all({"cmd": "close_idle"})
        return {"system": system.label, "baseline_mb": baseline / 2**20, "rows": rows, "others_before": quiet}
    finally:
        gens.close()
        system.close()


# --- reconnect storm ---------------------------------------------------------------------


def storm(args: argparse.Namespace) -> dict[str, Any]:
    quiet = wait_quiet(args.quiet_wait)
    system = TryggSystem()
    log(f"storm: {args.storm} tabs on {system.label}")
    system.start()
    gens = Generators(args.generators)
    try:
        info = setup(system, gens, args.conversations)
        opened = gens.send(
            [
                {"cmd": "storm_open", "count": n, "urls": system.visitor_urls()}
                for n in split(args.storm, len(gens.procs))
            ]
        )
        clients = sum(r["opened"] for r in opened)
        log(f"storm: {clients} tabs connected in {max(r['seconds'] for r in opened):.1f} s")
        written = gens.all(
            {"cmd": "storm_write", "per_conv": args.storm_missed, "timeout": args.storm_timeout}
        )
        armed = gens.all({"cmd": "storm_arm"})
        missed = sum(r["missed_messages"] for r in armed)
        log(
            f"storm: {sum(r['written'] for r in written)} messages written that the tabs have not "
            "taken in; restarting"
        )
        timing = system.restart()
        log(
            f"storm: stopped in {timing['stop_seconds']:.1f} s, "
            f"ready {timing['ready_at'] - timing['start_began']:.1f} s after starting"
        )
        waited = gens.all({"cmd": "storm_wait", "timeout": args.storm_timeout})
        caught = [t for r in waited for t in r["caught_up_at"]]
        connected = [t for r in waited for t in r["connected_at"]]
        result = {
            "system": system.label,
            "others_before": quiet,
            "conversations": info["shares"],
            "clients": clients,
            "missed_messages": missed,
            "dropped_before_restart": sum(r["dropped_before_restart"] for r in armed),
            "server_errors": server_errors(system),
            "written": sum(r["written"] for r in written),
            "written_not_acked": sum(r["not_acked"] for r in written),
            "write_seconds": max(r["seconds"] for r in written),
            "write_errors": [r["errors"] for r in written if r["errors"]],
            "write_last_error": next((r["last_error"] for r in written if r["last_error"]), None),
            "caught_up": sum(r["caught_up"] for r in waited),
            "lost": sum(r["lost"] for r in waited),
            "duplicated": sum(r["duplicated"] for r in waited),
            "attempts": sum(r["attempts"] for r in waited),
            "stop_seconds": timing["stop_seconds"],
            "start_to_ready": timing["ready_at"] - timing["start_began"],
            "all_caught_up_after_start": (max(caught) - timing["start_began"]) if caught else math.nan,
            "all_caught_up_after_ready": (max(caught) - timing["ready_at"]) if caught else math.nan,
            "all_connected_after_ready": (max(connected) - timing["ready_at"]) if connected else math.nan,
            "p50_caught_up_after_ready": (pct(caught, 0.5) - timing["ready_at"]) if caught else math.nan,
            "server_log_tail": system.logs[0].read_text(errors="replace")[-1500:],
            "connected": sum(r["connected"] for r in waited),
            "behind": [b for r in waited for b in r["behind"]][:20],
        }
        log(
            f"storm: {result['caught_up']}/{clients} caught up, "
            f"all {result['all_caught_up_after_start']:.1f} s "
            f"after the start; lost {result['lost']}, duplicated {result['duplicated']}"
        )
        if args.artifacts:
            Path(args.artifacts).mkdir(parents=True, exist_ok=True)
            shutil.copy(system.logs[0], Path(args.artifacts) / "storm-server.log")
        gens.all({"cmd": "storm_close"})
        return result
    finally:
        gens.close()
        system.close()


# --- profile -----------------------------------------------------------------------------

PERF_EVENTS = [
    "task-clock",
    "context-switches",
    "cpu-migrations",
    "syscalls:sys_enter_fdatasync",
    "syscalls:sys_enter_fsync",
    "syscalls:sys_enter_futex",
    "syscalls:sys_enter_clock_nanosleep",
    "syscalls:sys_enter_epoll_wait",
    "syscalls:sys_enter_sendto",
    "syscalls:sys_enter_recvfrom",
    "syscalls:sys_enter_write",
    "syscalls:sys_enter_pwrite64",
    "syscalls:sys_enter_pread64",
]


def perf_stat(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    if shutil.which("perf") is None:
        return None
    return subprocess.Popen(
        [
            "perf",
            "stat",
            "-x",
            ",",
            "-o",
            str(out),
            "-e",
            ",".join(PERF_EVENTS),
            "-p",
            str(pid),
            "--",
            "sleep",
            str(seconds),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def read_perf(path: Path) -> dict[str, float]:
    found: dict[str, float] = {}
    if not path.exists():
        return found
    for line in path.read_text().splitlines():
        parts = line.split(",")
        if len(parts) > 3 and parts[0] and not line.startswith("#"):
            try:
                found[parts[2]] = float(parts[0])
            except ValueError:
                continue
    return found


def _window(
    system: TryggSystem, gens: Generators, shares: list[int], rate: float, duration: float, during: Any
) -> tuple[list[dict[str, Any]], Any]:
    """One run at `rate` for `duration`; `during(duration)` runs over the timed window."""
    rates = [rate * s / sum(shares) for s in shares]
    gens.send([{"cmd": "prepare", "rate": r, "duration": duration} for r in rates])
    start_at = time.monotonic() + 0.5
    for proc, r in zip(gens.procs, rates, strict=True):
        assert proc.stdin is not None
        proc.stdin.write(
            json.dumps({"cmd": "run", "rate": r, "duration": duration, "start_at": start_at}) + "\n"
        )
        proc.stdin.flush()
    time.sleep(max(0.0, start_at - time.monotonic()))
    outcome = during(duration)
    replies = []
    for proc in gens.procs:
        assert proc.stdout is not None
        reply = json.loads(proc.stdout.readline())
        if "error" in reply:
            raise RuntimeError(reply["error"])
        replies.append(reply)
    return replies, outcome


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def read_py_spy(path: Path, hz: float, messages: int) -> dict[str, Any]:
    """Collapsed stacks of the event-loop thread -> ms per message by where the time went.

    Stacks that do not start at the program's entry are SQLAlchemy's synchronous code running
    in a greenlet (py-spy sees the greenlet's own stack only): grouped by their first frame."""
    inclusive: Counter[str] = Counter()
    leaf_module: Counter[str] = Counter()
    leaf_function: Counter[str] = Counter()
    greenlet_roots: Counter[str] = Counter()
    threads_seen: Counter[str] = Counter()
    main_total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        thread, _, frames_text = stack.partition(";")
        frames = frames_text.split(";") if frames_text else []
        name = thread.split(":", 1)[-1].strip()
        threads_seen[name] += count
        if "MainThread" not in thread:
            continue
        main_total += count
        if frames and not frames[0].startswith("_run_module_as_main"):
            greenlet_roots[frames[0]] += count
        seen = set()
        for frame in frames:
            if (
                "(server/" in frame
                and "(server/cli.py" not in frame
                and "(server/__main__" not in frame
                and frame not in seen
            ):
                seen.add(frame)
                inclusive[frame] += count
        leaf = frames[-1] if frames else "?"
        leaf_function[leaf] += count
        module = leaf[leaf.rfind("(") + 1 :].split("/")[0].split(".py")[0] if "(" in leaf else leaf
        leaf_module[module] += count

    def per_message(counter: Counter[str], top: int) -> list[tuple[str, float, float]]:
        return [
            (key, 1000 * value / hz / messages, value / main_total if main_total else 0.0)
            for key, value in counter.most_common(top)
        ]

    return {
        "samples_main": main_total,
        "main_ms_per_msg": 1000 * main_total / hz / messages if messages else math.nan,
        "threads": {k: 1000 * v / hz / messages for k, v in threads_seen.items()},
        "inclusive_server": per_message(inclusive, 30),
        "leaf_module": per_message(leaf_module, 15),
        "leaf_function": per_message(leaf_function, 25),
        "greenlet_roots": per_message(greenlet_roots, 12),
        "greenlet_share": sum(greenlet_roots.values()) / main_total if main_total else 0.0,
    }


def profile(args: argparse.Namespace) -> dict[str, Any]:
    import pstats

    quiet = wait_quiet(args.quiet_wait)
    system = TryggSystem(profiled=True)
    log(f"profile: {system.label} under bench.trygg_profiled at {args.profile_rate}/s")
    system.start()
    gens = Generators(args.generators)
    mode = system.folder / "mode"
    try:
        info = setup(system, gens, args.conversations)
        (pid,) = system.pids
        duration, rate, shares = args.profile_seconds, args.profile_rate, info["shares"]

        # Window 1: counters, CPU by task, per-thread CPU and perf stat; no profiler.
        mode.write_text("counters")

        def counters_window(seconds: float) -> dict[str, Any]:
            system.signal(signal.SIGUSR1)
            perf = perf_stat(pid, seconds, system.folder / "perf.txt")
            threads_before, cpu0 = thread_cpu(pid), system.cpu()
            time.sleep(seconds)
            cpu, threads_after = system.cpu() - cpu0, thread_cpu(pid)
            system.signal(signal.SIGUSR2)
            if perf is not None:
                perf.wait(timeout=30)
            time.sleep(0.5)
            return {
                "cpu": cpu,
                "threads": {n: a - threads_before.get(n, 0.0) for n, a in threads_after.items()},
                "counters": json.loads((system.folder / "counters.json").read_text()),
            }

        replies, measured = _window(system, gens, shares, rate, duration, counters_window)
        stored = sum(r["acked_in_window"] for r in replies)
        counters = measured["counters"]
        latencies = [v for r in replies for v in r["latencies"]]
        perf_figures = read_perf(system.folder / "perf.txt")
        frames = {
            role: dict(sum((Counter(r["frames"][role]) for r in replies), Counter()))
            for role in ("visitor", "counsellor")
        }

        # Window 2: cProfile (CPU time) of the event-loop thread.
        mode.write_text("cprofile")

        def cprofile_window(seconds: float) -> None:
            system.signal(signal.SIGUSR1)
            time.sleep(seconds)
            system.signal(signal.SIGUSR2)
            time.sleep(0.5)

        replies2, _ = _window(system, gens, shares, rate, duration, cprofile_window)
        stored2 = sum(r["acked_in_window"] for r in replies2)
        stats = pstats.Stats(str(system.folder / "profile.pstats"))
        total_tt = stats.total_tt  # type: ignore[attr-defined]
        rows = []
        for (filename, line, func), (_cc, nc, tt, _ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            rows.append(
                {
                    "function": f"{_short(filename)}:{line}({func})",
                    "calls_per_msg": nc / stored2 if stored2 else math.nan,
                    "own_ms_per_msg": 1000 * tt / stored2 if stored2 else math.nan,
                    "own_share": tt / total_tt if total_tt else 0.0,
                }
            )
        by_own = sorted(rows, key=lambda r: -r["own_ms_per_msg"])[:30]

        # Window 3: py-spy (sampling, without stopping the process), if it is installed.
        spy_result: dict[str, Any] = {}
        spy = py_spy()
        if spy:
            mode.write_text("counters")
            hz = 250

            def spy_window(seconds: float) -> None:
                subprocess.run(
                    [
                        spy,
                        "record",
                        "-p",
                        str(pid),
                        "-d",
                        str(int(seconds)),
                        "-r",
                        str(hz),
                        "-f",
                        "raw",
                        "--nonblocking",
                        "--gil",
                        "--function",
                        "--threads",
                        "-o",
                        str(system.folder / "spy.txt"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    check=False,
                    timeout=seconds + 60,
                )

            replies3, _ = _window(system, gens, shares, rate, duration, spy_window)
            stored3 = sum(r["acked_in_window"] for r in replies3)
            if (system.folder / "spy.txt").exists() and stored3:
                spy_result = read_py_spy(system.folder / "spy.txt", hz, stored3 * int(duration) / duration)

        if args.artifacts:
            keep = Path(args.artifacts)
            keep.mkdir(parents=True, exist_ok=True)
            for name in ("profile.pstats", "spy.txt", "perf.txt", "counters.json", "server0.log"):
                if (system.folder / name).exists():
                    shutil.copy(system.folder / name, keep / name)
        per_message = {name: value / stored for name, value in counters["counts"].items()} if stored else {}
        result = {
            "system": system.label,
            "others_before": quiet,
            "rate": rate,
            "seconds": duration,
            "stored": stored,
            "p50": pct(latencies, 0.5),
            "p99": pct(latencies, 0.99),
            "server_cpu_ms_per_msg": 1000 * measured["cpu"] / stored if stored else math.nan,
            "counters": counters,
            "per_message": per_message,
            "ms_per_message": {n: 1000 * v / stored for n, v in counters["seconds"].items()}
            if stored
            else {},
            "max_ms": {name: 1000 * v for name, v in counters["max_seconds"].items()},
            "event_loop_cpu_ms_per_msg": {
                n: 1000 * v / stored
                for n, v in sorted(counters["event_loop_cpu_by_task"].items(), key=lambda x: -x[1])
            }
            if stored
            else {},
            "perf_per_message": {name: value / stored for name, value in perf_figures.items()}
            if stored
            else {},
            "perf": perf_figures,
            "thread_cpu_ms_per_msg": {n: 1000 * v / stored for n, v in measured["threads"].items() if v > 0}
            if stored
            else {},
            "frames": frames,
            "cprofile_stored": stored2,
            "cprofile_total_ms_per_msg": 1000 * total_tt / stored2 if stored2 else math.nan,
            "top_own": by_own,
            "py_spy": spy_result,
        }
        log(
            f"profile: {stored} stored, {result['server_cpu_ms_per_msg']:.1f} ms CPU each, "
            f"{per_message.get('sessions opened', 0):.1f} sessions, "
            f"{per_message.get('sql statements', 0):.1f} statements"
        )
        return result
    finally:
        gens.close()
        system.close()


def _short(filename: str) -> str:
    for marker in ("site-packages/", "/work/", str(ROOT) + "/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename.rsplit("/lib/python3", 1)[-1] if "/lib/python3" in filename else filename


# --- the tables ------------------------------------------------------------------------------


def fmt(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def table(headers: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def report(results: dict[str, Any], markdown: bool) -> str:
    out: list[str] = []
    machine = results["machine"]
    out.append("## Machine")
    out.append("\n".join(f"- {k}: {v}" for k, v in machine.items()))
    out.append(f"- command: {results['command']}")
    out.append(
        f"- load generators: {results['generators']} processes; {results['conversations']} conversations"
    )

    ladders = results.get("ladders", [])
    if ladders:
        out.append(
            "\n## Offered-rate steps (counsellor receipt latency: visitor send -> message at the counsellor)"
        )
        headers = [
            "system",
            "offered/s",
            "delivered/s",
            "acked/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "ack p50",
            "srv CPU ms/msg",
            "srv CPU %",
            "gen CPU %",
            "other %",
            "lag p99",
            "status fr/msg",
        ]
        rows = []
        for lad in ladders:
            for step in lad["steps"]:
                sent = max(1, step["sent"])
                rows.append(
                    [
                        lad["system"],
                        fmt(step["rate"], 0),
                        fmt(step["delivered_per_s"], 0),
                        fmt(step["acked_per_s"], 0),
                        fmt(step["p50"], 2),
                        fmt(step["p95"], 2),
                        fmt(step["p99"], 2),
                        fmt(step["ack_p50"], 2),
                        fmt(step["server_cpu_ms_per_msg"], 3),
                        fmt(step["server_cpu_pct"], 0),
                        fmt(step["gens_cpu_pct"], 0),
                        fmt(step["other_cpu_pct"], 0),
                        fmt(step["send_lag_p99_ms"], 1),
                        fmt(step["frames"]["counsellor"].get("conversation", 0) / sent, 2),
                    ]
                )
        out.append(table(headers, rows, markdown))
        out.append("\n### Summary per system")
        rows = []
        for lad in ladders:
            steps = lad["steps"]
            if not steps:
                continue
            best = max(steps, key=lambda s: s["delivered_per_s"])
            unsat = [s for s in steps if not saturated(s)]
            cpu = [s["server_cpu_ms_per_msg"] for s in unsat if s["rate"] >= 50] or [
                s["server_cpu_ms_per_msg"] for s in unsat
            ]
            rows.append(
                [
                    lad["system"],
                    fmt(best["delivered_per_s"], 0),
                    f"{fmt(best['gens_cpu_pct'], 0)} / {fmt(best['server_cpu_pct'], 0)}",
                    fmt(steps[0]["p50"], 2) + " / " + fmt(steps[0]["p99"], 2),
                    fmt(statistics.median(cpu), 3) if cpu else "–",
                    str(sum(s["not_delivered"] for s in steps))
                    + " / "
                    + str(sum(s["duplicates"] for s in steps)),
                    ", ".join(f"{n} {k}" for k, n in lad.get("server_errors", {}).items()) or "0",
                ]
            )
        out.append(
            table(
                [
                    "system",
                    "most delivered/s",
                    "gen / server CPU % there",
                    f"p50 / p99 ms at {ladders[0]['steps'][0]['rate']:.0f}/s",
                    "server CPU ms/msg (median, unsaturated)",
                    "undelivered / duplicated",
                    "server errors logged",
                ],
                rows,
                markdown,
            )
        )

    pg = [lad for lad in ladders if "PostgreSQL" in lad["system"]]
    if len(pg) == 2:
        out.append("\n## PostgreSQL: 2 processes + Redis vs 1 process, CPU per delivered message")
        one = {s["rate"]: s for s in pg[0]["steps"]}
        two = {s["rate"]: s for s in pg[1]["steps"]}
        rows = []
        for rate in sorted(set(one) & set(two)):
            a, b = one[rate], two[rate]
            rows.append(
                [
                    fmt(rate, 0),
                    fmt(a["delivered_per_s"], 0) + " / " + fmt(b["delivered_per_s"], 0),
                    fmt(a["server_cpu_ms_per_msg"], 2) + " / " + fmt(b["server_cpu_ms_per_msg"], 2),
                    fmt(b["server_cpu_ms_per_msg"] / a["server_cpu_ms_per_msg"], 2),
                    fmt(a["total_cpu_ms_per_msg"], 2) + " / " + fmt(b["total_cpu_ms_per_msg"], 2),
                    fmt(b["total_cpu_ms_per_msg"] / a["total_cpu_ms_per_msg"], 2),
                    fmt(
                        1000
                        * a["extra_cpu_s"].get("postgres", 0)
                        / max(1, a["delivered_per_s"] * a["duration"]),
                        2,
                    )
                    + " / "
                    + fmt(
                        1000
                        * b["extra_cpu_s"].get("postgres", 0)
                        / max(1, b["delivered_per_s"] * b["duration"]),
                        2,
                    ),
                    fmt(
                        1000
                        * b["extra_cpu_s"].get("redis", 0)
                        / max(1, b["delivered_per_s"] * b["duration"]),
                        3,
                    ),
                    fmt(a["p50"], 1) + " / " + fmt(b["p50"], 1),
                ]
            )
        out.append(
            table(
                [
                    "offered/s",
                    "delivered/s 1p / 2p",
                    "app CPU ms/msg 1p / 2p",
                    "ratio",
                    "app+PG+Redis ms/msg 1p / 2p",
                    "ratio",
                    "PG backends ms/msg",
                    "Redis ms/msg",
                    "p50 ms 1p / 2p",
                ],
                rows,
                markdown,
            )
        )

    mem = results.get("memory", [])
    if mem:
        out.append("\n## Idle websockets: memory and new connections (hello + sync, then idle)")
        rows = []
        for m in mem:
            for row in m["rows"]:
                rows.append(
                    [
                        m["system"],
                        f"{row['connections']:,}",
                        fmt(row["per_connection_kb"], 1),
                        fmt(row["rss_mb"], 0),
                        fmt(row["connections_per_s"], 0),
                        fmt(row["cpu_ms_per_connection"], 2),
                        fmt(row["gens_cpu_pct"], 0),
                        str(row["failures"]),
                    ]
                )
        out.append(
            table(
                [
                    "system",
                    "connections",
                    "KB each (RSS delta)",
                    "RSS MB",
                    "new conn/s",
                    "CPU ms/conn",
                    "gen CPU %",
                    "failed",
                ],
                rows,
                markdown,
            )
        )

    st = results.get("storm")
    if st:
        out.append(
            "\n## Reconnect storm (Trygg, SQLite): tabs with missed messages, server restarted (SIGTERM)"
        )
        out.append(
            table(
                [
                    "tabs",
                    "missed msgs",
                    "stop s",
                    "start->ready s",
                    "all connected after ready s",
                    "all caught up after start s",
                    "after ready s",
                    "caught up",
                    "lost",
                    "duplicated",
                    "connect attempts",
                    "dropped before restart",
                    "server errors logged",
                ],
                [
                    [
                        f"{st['clients']:,}",
                        f"{st['missed_messages']:,}",
                        fmt(st["stop_seconds"], 1),
                        fmt(st["start_to_ready"], 1),
                        fmt(st["all_connected_after_ready"], 1),
                        fmt(st["all_caught_up_after_start"], 1),
                        fmt(st["all_caught_up_after_ready"], 1),
                        f"{st['caught_up']:,}",
                        str(st["lost"]),
                        str(st["duplicated"]),
                        f"{st['attempts']:,}",
                        str(st.get("dropped_before_restart", 0)),
                        ", ".join(f"{n} {k}" for k, n in st.get("server_errors", {}).items()) or "0",
                    ]
                ],
                markdown,
            )
        )

    prof = results.get("profile")
    if prof:
        out.append(
            f"\n## Profile: {prof['system']} at {prof['rate']}/s, {prof['seconds']} s windows "
            f"({prof['stored']} messages stored in the counted window; "
            f"{fmt(prof['server_cpu_ms_per_msg'], 2)} ms server CPU each, with the counting hooks)"
        )
        rows = [[name, fmt(value, 2)] for name, value in sorted(prof["per_message"].items())]
        rows += [
            [f"ms waited: {name}", fmt(value, 2)] for name, value in sorted(prof["ms_per_message"].items())
        ]
        rows += [[f"max ms: {name}", fmt(value, 1)] for name, value in sorted(prof["max_ms"].items())]
        rows += [[f"perf: {name}", fmt(value, 2)] for name, value in sorted(prof["perf_per_message"].items())]
        rows += [
            [f"thread CPU ms: {name}", fmt(value, 2)]
            for name, value in sorted(prof["thread_cpu_ms_per_msg"].items())
        ]
        frames = prof["frames"]
        for role in ("visitor", "counsellor"):
            for kind, n in sorted(frames[role].items()):
                rows.append([f"frames to the {role}: {kind}", fmt(n / max(1, prof["stored"]), 2)])
        out.append(table(["per stored message", "value"], rows, markdown))
        out.append("\n### Event-loop thread CPU by task / callback (ms per message)")
        out.append(
            table(
                ["what ran", "ms/msg"],
                [[name, fmt(v, 3)] for name, v in list(prof["event_loop_cpu_ms_per_msg"].items())[:15]],
                markdown,
            )
        )
        spy = prof.get("py_spy") or {}
        if spy:
            out.append(
                f"\n### py-spy: event-loop thread {fmt(spy['main_ms_per_msg'], 2)} ms/msg sampled; "
                f"{100 * spy['greenlet_share']:.0f}% of it in SQLAlchemy's synchronous code (greenlets)"
            )
            for heading, key, top in (
                ("Trygg function (inclusive, async part only)", "inclusive_server", 20),
                ("greenlet (SQLAlchemy sync) entry", "greenlet_roots", 12),
                ("leaf frame (where the thread was, holding the GIL)", "leaf_function", 15),
                ("leaf frame's package", "leaf_module", 15),
            ):
                rows = [[k, fmt(v, 3), f"{100 * share:.1f}%"] for k, v, share in spy[key][:top]]
                out.append("\n" + table([heading, "ms/msg", "share"], rows, markdown))
        out.append(
            "\n### cProfile own CPU time, event-loop thread "
            f"({fmt(prof['cprofile_total_ms_per_msg'], 2)} ms/msg "
            "profiled, inflated by the profiler)"
        )
        out.append(
            table(
                ["function", "calls/msg", "own ms/msg", "share"],
                [
                    [
                        r["function"],
                        fmt(r["calls_per_msg"], 1),
                        fmt(r["own_ms_per_msg"], 3),
                        f"{100 * r['own_share']:.1f}%",
                    ]
                    for r in prof["top_own"]
                ],
                markdown,
            )
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default=",".join(PARTS), help="parts to run: " + ",".join(PARTS))
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--generators", type=int, default=3, help="load-generator processes")
    parser.add_argument("--rates", default=",".join(str(r) for r in LADDER), help="offered rates (msg/s)")
    parser.add_argument("--time-scale", type=float, default=1.0, help="multiply every step's length")
    parser.add_argument("--idle", default="1000,5000,10000", help="idle connection counts")
    parser.add_argument("--ws-variants", default="websockets", help="extra uvicorn --ws for the memory part")
    parser.add_argument("--storm", type=int, default=1000, help="tabs in the reconnect storm")
    parser.add_argument(
        "--storm-missed", type=int, default=2, help="messages per conversation each tab misses"
    )
    parser.add_argument("--storm-timeout", type=float, default=120.0)
    parser.add_argument("--profile-rate", type=float, default=20.0)
    parser.add_argument("--profile-seconds", type=float, default=15.0)
    parser.add_argument(
        "--artifacts",
        default="/tmp/trygg-bench-profile",  # noqa: S108 (a place to look at, not a secret)
        help="where the profile part leaves its raw files (pstats, py-spy stacks, perf, counters)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=20.0,
        help="before each system, wait up to this long for the rest of the machine to go quiet",
    )
    parser.add_argument("--markdown", action="store_true", help="print Markdown tables")
    parser.add_argument("--json", default="", help="write every raw figure to this file")
    args = parser.parse_args()
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    args.rates = [float(r) for r in args.rates.split(",")]
    args.idle = sorted(int(n) for n in args.idle.split(","))
    raise_nofile(65536)

    results: dict[str, Any] = {
        "machine": machine_description(),
        "command": " ".join(["python -m bench.chat_bench", *sys.argv[1:]]),
        "generators": args.generators,
        "conversations": args.conversations,
        "ladders": [],
        "loadavg_at_start": Path("/proc/loadavg").read_text().strip(),
    }
    started = time.monotonic()
    try:
        if "relay" in parts:
            results["ladders"].append(ladder(RelaySystem("websockets"), args, "relay-websockets"))
            results["ladders"].append(ladder(RelaySystem("starlette"), args, "relay-starlette"))
        if "latency" in parts:
            results["ladders"].append(ladder(TryggSystem(), args, "trygg-sqlite"))
        if "postgres" in parts:
            results["ladders"].append(ladder(TryggSystem("postgresql"), args, "trygg-pg-1"))
            results["ladders"].append(
                ladder(TryggSystem("postgresql", processes=2, redis=True), args, "trygg-pg-2")
            )
        if "memory" in parts:
            systems: list[System] = [RelaySystem("websockets"), RelaySystem("starlette")]
            systems += [RelaySystem("starlette", ws) for ws in args.ws_variants.split(",") if ws]
            systems.append(TryggSystem())
            results["memory"] = [memory(system, args) for system in systems]
        if "storm" in parts:
            results["storm"] = storm(args)
        if "profile" in parts:
            results["profile"] = profile(args)
    finally:
        results["seconds"] = time.monotonic() - started
        results["loadavg_at_end"] = Path("/proc/loadavg").read_text().strip()
        if args.json:
            Path(args.json).write_text(json.dumps(results, indent=1, default=str))
    print(report(results, args.markdown))
    print(
        f"\n(run took {results['seconds'] / 60:.1f} minutes; "
        f"load average at start {results['loadavg_at_start']})"
    )


if __name__ == "__main__":
    main()
