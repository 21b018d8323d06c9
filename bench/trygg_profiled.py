"""`python -m server serve`, with counters and a profiler switched on and off by signals.

    python -m bench.trygg_profiled serve --host 127.0.0.1 --port 8000

No server code is changed: this module installs hooks on the libraries (SQLAlchemy events,
aiosqlite's one entry to its worker thread, asyncio's thread-safe callbacks), then calls the
real command line (server.cli.main), which builds the real app with create_app.

- SIGUSR1: reset and start the counters; if $BENCH_PROFILE_DIR/mode says `cprofile`, also
  start cProfile (thread CPU time) on the event-loop thread.
- SIGUSR2: stop; write the counters (JSON) to $BENCH_PROFILE_DIR/counters.json and the
  profile, if any, to $BENCH_PROFILE_DIR/profile.pstats.

Counters: sessions opened (AsyncSession objects), transactions begun, connection-pool
checkouts, SQL statements by their first word (BEGIN IMMEDIATE counted apart) with the
wall time the event loop waited for each kind, how long write transactions held SQLite's
lock (from BEGIN IMMEDIATE returning to COMMIT returning), round trips to aiosqlite's
worker threads, thread-safe wake-ups of the event loop, and executor jobs.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import re
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

counts: Counter[str] = Counter()
seconds: Counter[str] = Counter()
maxima: dict[str, float] = {}
task_cpu: Counter[str] = Counter()
recording = False
profiler: cProfile.Profile | None = None
_lock = threading.Lock()


def _bump(name: str, n: int = 1) -> None:
    with _lock:
        counts[name] += n


def _time(name: str, elapsed: float) -> None:
    with _lock:
        seconds[name] += elapsed
        if elapsed > maxima.get(name, 0.0):
            maxima[name] = elapsed


def _statement_kind(statement: str) -> str:
    words = statement.lstrip().split(None, 2)
    if not words:
        return "?"
    head = words[0].upper()
    if head == "BEGIN" and len(words) > 1 and words[1].upper().startswith("IMMEDIATE"):
        return "BEGIN IMMEDIATE"
    return head


def install() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import Session
    from sqlalchemy.pool import Pool

    @event.listens_for(Engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    @event.listens_for(Engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        now = time.perf_counter()
        started = conn.info["bench_started"].pop()
        kind = _statement_kind(statement)
        _bump(f"sql {kind}")
        _bump("sql statements")
        _time(f"sql {kind}", now - started)
        if kind == "BEGIN IMMEDIATE":
            conn.info["bench_locked_at"] = now

    @event.listens_for(Engine, "commit")
    def commit(conn: Any) -> None:
        _bump("transactions committed")
        conn.info["bench_commit_started"] = time.perf_counter()

    @event.listens_for(Engine, "rollback")
    def rollback(conn: Any) -> None:
        _bump("transactions rolled back")
        conn.info.pop("bench_locked_at", None)

    @event.listens_for(Engine, "begin")
    def begin(conn: Any) -> None:
        _bump("transactions begun")

    @event.listens_for(Pool, "checkout")
    def checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        _bump("pool checkouts")

    @event.listens_for(Session, "after_begin")
    def session_begin(session: Any, transaction: Any, connection: Any) -> None:
        _bump("session transactions")

    # Commit duration and the write lock's holding time: wrap the DBAPI-level commit.
    from sqlalchemy.engine import default

    original_do_commit = default.DefaultDialect.do_commit

    def do_commit(self: Any, dbapi_connection: Any) -> None:
        started = time.perf_counter()
        original_do_commit(self, dbapi_connection)
        now = time.perf_counter()
        _time("commit (incl. fsync)", now - started)

    default.DefaultDialect.do_commit = do_commit  # type: ignore[method-assign]

    @event.listens_for(Engine, "commit")
    def lock_held(conn: Any) -> None:
        locked = conn.info.pop("bench_locked_at", None)
        if locked is not None:
            _time("write lock held until COMMIT is issued", time.perf_counter() - locked)

    original_init = AsyncSession.__init__

    def session_init(self: Any, *args: Any, **kwargs: Any) -> None:
        _bump("sessions opened")
        original_init(self, *args, **kwargs)

    AsyncSession.__init__ = session_init  # type: ignore[method-assign]

    try:
        import aiosqlite.core

        original_execute = aiosqlite.core.Connection._execute

        async def execute(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
            _bump("aiosqlite thread round trips")
            return await original_execute(self, fn, *args, **kwargs)

        aiosqlite.core.Connection._execute = execute  # type: ignore[method-assign]
    except ImportError:
        pass

    loop_class: Any = asyncio.BaseEventLoop
    original_threadsafe = loop_class.call_soon_threadsafe

    def call_soon_threadsafe(self: Any, callback: Any, *args: Any, **kwargs: Any) -> Any:
        _bump("event loop wake-ups from other threads")
        return original_threadsafe(self, callback, *args, **kwargs)

    loop_class.call_soon_threadsafe = call_soon_threadsafe

    original_executor = loop_class.run_in_executor

    def run_in_executor(self: Any, executor: Any, func: Any, *args: Any) -> Any:
        _bump("executor jobs (to_thread, run_in_executor)")
        return original_executor(self, executor, func, *args)

    loop_class.run_in_executor = run_in_executor

    # CPU of the event-loop thread by what ran: each task by its coroutine's name (a task's
    # SQLAlchemy work, run in greenlets inside its steps, counts as the task's), other callbacks
    # (transport reads, aiosqlite's results) by their own name.
    original_run = asyncio.events.Handle._run

    def run_handle(self: Any) -> None:
        if not recording:
            original_run(self)
            return
        callback = self._callback
        started = time.thread_time()
        original_run(self)
        elapsed = time.thread_time() - started
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, asyncio.Task):
            coro = owner.get_coro()
            name = "task " + getattr(coro, "__qualname__", type(coro).__name__)
        else:
            name = "callback " + getattr(callback, "__qualname__", type(callback).__name__)
        with _lock:
            task_cpu[name] += elapsed

    asyncio.events.Handle._run = run_handle  # type: ignore[method-assign]

    signal.signal(signal.SIGUSR1, _start)
    signal.signal(signal.SIGUSR2, _stop)


def _start(_signum: int, _frame: Any) -> None:
    global profiler, recording
    with _lock:
        counts.clear()
        seconds.clear()
        maxima.clear()
        task_cpu.clear()
    mode = Path(os.environ.get("BENCH_PROFILE_DIR", "."), "mode")
    if not mode.exists() or mode.read_text().strip() != "cprofile":
        recording = True  # CPU by task (not under cProfile: it would profile the hook)
        return
    # CPU time of the event-loop thread, not wall time: waiting in epoll costs nothing here.
    profiler = cProfile.Profile(time.thread_time)
    profiler.enable()


def _stop(_signum: int, _frame: Any) -> None:
    global profiler, recording
    recording = False
    out = Path(os.environ.get("BENCH_PROFILE_DIR", "."))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(out / "profile.pstats")
        profiler = None
    with _lock:
        data = {
            "counts": dict(counts),
            "seconds": dict(seconds),
            "max_seconds": dict(maxima),
            "event_loop_cpu_by_task": dict(task_cpu),
            "threads": threading.active_count(),
            "thread_names": sorted(
                Counter(re.sub(r"\d+", "N", t.name) for t in threading.enumerate()).items()
            ),
        }
    (out / "counters.json").write_text(json.dumps(data, indent=1))


def main() -> int:
    install()
    from server.cli import main as server_main

    return server_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
