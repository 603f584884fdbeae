"""``--profile``: sample the real server with py-spy during one DELETE run and summarise it.

py-spy is not a project dependency: ``.venv/bin/pip install py-spy``. The raw collapsed stacks
(``profile-raw.txt``, one ``thread;frame;frame;... count`` per line, flamegraph.pl input) and the
summary (``profile.md``) go to the run's results folder. The summary covers the main thread (the
event loop, where every request runs), idle time included, sampled without pausing the process
(``--nonblocking``) so the server keeps most of its speed.
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from bench.servers import stop

if TYPE_CHECKING:
    from bench.run import Bench

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>.*?)(?::(?P<line>\d+))?\)$")
_RATE = 250

# Where a sample's time goes, by the innermost frame that matches (first match wins).
_CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    (
        "SQLite: inside sqlite3 calls (db/sqlite.py, db/wal.py)",
        ("breakouts/db/sqlite.py", "breakouts/db/wal.py"),
    ),
    ("access log (structlog, logs.py)", ("structlog/", "breakouts/logs.py")),
    ("metrics (prometheus_client)", ("prometheus_client/",)),
    ("rate limit (limits)", ("limits/",)),
    ("JSON (json)", ("json/",)),
    ("ids and hashes (uuid, hashlib, random)", ("uuid.py", "random.py", "hashlib")),
    ("threading (Thread.start, waits)", ("threading.py",)),
    ("breakouts Python (service, repositories, http.py)", ("breakouts/",)),
    ("Starlette (routing, Request, Response)", ("starlette/",)),
    ("uvicorn protocol (httptools_impl)", ("uvicorn/",)),
    ("event loop in C (epoll, socket I/O, idle)", ("asyncio/runners.py",)),
]


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _short(frame: str) -> str:
    m = _FRAME.match(frame)
    if m is None:
        return frame
    path = m.group("file")
    for marker in ("site-packages/", "/src/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    line = f":{m.group('line')}" if m.group("line") else ""
    return f"{m.group('func')} ({path}{line})"


def _category(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, needles in _CATEGORIES:
            if any(n in frame for n in needles):
                return name
    return "other"


def summarise(raw: str, requests_per_s: float, top: int = 25) -> str:
    """Where the main thread's wall time goes (``py-spy --threads --idle`` raw output).

    Shares are of the main thread's samples; µs per request spread 1/throughput (the main
    thread's wall time per request) over them.
    """
    self_time: collections.Counter[str] = collections.Counter()
    categories: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit() or "MainThread" not in stack.split(";", 1)[0]:
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";")[1:] if f]
        if not frames:
            frames = ["(no Python frame) (asyncio/runners.py)"]
        total += count
        self_time[_short(frames[-1])] += count
        categories[_category(frames)] += count
    if total == 0 or requests_per_s <= 0:
        return "py-spy recorded no sample of the main thread.\n"
    per_request_us = 1e6 / requests_per_s

    def table(counter: collections.Counter[str], n: int) -> list[str]:
        lines = ["| share of main-thread time | µs per request | where |", "|---:|---:|---|"]
        for name, count in counter.most_common(n):
            lines.append(
                f"| {count / total:.1%} | {count / total * per_request_us:.0f} | `{name}` |"
            )
        return lines

    return "\n".join(
        [
            f"{total} samples of the main thread at {_RATE} Hz; at {requests_per_s:,.0f} req/s"
            f" the main thread (the event loop, where every request runs) has"
            f" {per_request_us:.0f} µs per request.",
            "",
            "## By category (innermost matching frame)",
            "",
            *table(categories, len(categories)),
            "",
            "## Self time by line",
            "",
            *table(self_time, top),
            "",
            "Stacks sampled with --nonblocking are sometimes cut short at their base, so only"
            " innermost frames (categories, self time) are summarised; profile-raw.txt has the"
            " stacks for a flame graph.",
            "",
        ]
    )


def profile_delete(bench: Bench, out: Path) -> None:
    binary = py_spy()
    if binary is None:
        print("--profile needs py-spy: .venv/bin/pip install py-spy", flush=True)
        return
    raw_path = out / "profile-raw.txt"
    procs: list[subprocess.Popen[bytes]] = []

    def record(pid: int) -> Callable[[], None]:
        cmd = [
            binary,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(bench.args.duration),
            "--rate",
            str(_RATE),
            "--threads",
            "--idle",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(raw_path),
        ]
        with (out / "py-spy.log").open("ab") as log:
            procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))

        def finish() -> None:
            procs[-1].wait(timeout=60)

        return finish

    print(
        f"profiling the server under DELETE c{bench.args.connections} with py-spy ...", flush=True
    )
    try:
        run = bench.delete(bench.args.connections, during=record)
    finally:
        for proc in procs:
            stop(proc)
    if not raw_path.exists():
        print(f"py-spy wrote nothing; see {out / 'py-spy.log'}", flush=True)
        return
    w = run.wrk
    head = (
        f"DELETE c{bench.args.connections} under py-spy: {w.requests_per_s:,.0f} req/s,"
        f" p50 {w.p50_ms:.2f} ms, p99 {w.p99_ms:.2f} ms (sampling slows the server)\n\n"
    )
    text = head + summarise(raw_path.read_text(), w.requests_per_s)
    (out / "profile.md").write_text(text)
    print(text, flush=True)
