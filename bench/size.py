"""``make bench-size``: does the DELETE slow down as the database grows? 10 k against 1 M meetings.

Issue #8's goal: DELETE latency (p50 and p99) with 1 M meetings within 1.2x of 10 k, on each
backend. For each backend and size a seeded template (``bench.seed``; copied into PostgreSQL
with ``COPY`` by ``bench.pg``), then rounds alternating the two sizes: ``breakouts serve`` on the
database, a warm-up of a few hundred DELETEs, then wrk (the same script as ``make bench``) at a
moderate concurrency for a short run, each request on a meeting that still has its plan (a fresh
copy of the small database each round, a new slice of the large one's meetings). The table gives
the medians of the rounds and the ratios large/small.

    .venv/bin/python -m bench.size [--backend sqlite --backend postgres] [--rounds 5]

Only 127.0.0.1 is used; every process started is stopped by PID; the databases made are removed
(``--workdir`` keeps the seeded SQLite templates for another run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import seed as seeding
from bench import wrk as wrk_tool
from bench.servers import breakouts_server, free_port

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
WARMUP = 300  # DELETEs before each measured run, on meetings the run does not use


@dataclass(frozen=True)
class Sample:
    backend: str
    meetings: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.size", description=__doc__.split("\n")[0])
    p.add_argument("--backend", action="append", choices=("sqlite", "postgres"),
                   help="repeatable; default: sqlite, and postgres when it answers")  # fmt: skip
    p.add_argument("--small", type=int, default=10_000)
    p.add_argument("--large", type=int, default=1_000_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--duration", type=int, default=1, help="seconds of each wrk run")
    p.add_argument("--connections", type=int, default=8)
    p.add_argument(
        "--postgres-url", default=os.environ.get("BREAKOUTS_BENCH_POSTGRES_URL", DEFAULT_PG)
    )
    p.add_argument(
        "--workdir", type=Path, help="keep the seeded templates here (reused if present)"
    )
    return p.parse_args(argv)


def _template(workdir: Path, meetings: int) -> seeding.Seeded:
    path = workdir / f"size-{meetings}.db"
    meta = path.with_suffix(".json")
    if path.exists() and meta.exists():
        return seeding.Seeded.load(meta)
    print(f"seeding {meetings:,} meetings into {path} ...", flush=True)
    seeded = seeding.seed(path, meetings)
    seeded.save(meta)
    return seeded


class Backend:
    """Where a round's server keeps its data: a file copy, or a PostgreSQL database."""

    name = "sqlite"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    @contextmanager
    def prepared(self, template: seeding.Seeded) -> Iterator[None]:
        yield

    @contextmanager
    def database(self, template: seeding.Seeded, fresh: bool) -> Iterator[dict[str, str]]:
        """The server's environment for a round: a fresh copy, or the size's working copy."""
        if fresh:
            target = seeding.copy_database(template.template, self.workdir / "round.db")
        else:
            target = self.workdir / f"work-{len(template.meeting_ids)}.db"
            if not target.exists():
                seeding.copy_database(template.template, target)
        yield {"DATABASE_URL": seeding.sqlite_url(target)}


class Postgres(Backend):
    name = "postgres"

    def __init__(self, workdir: Path, admin_url: str) -> None:
        super().__init__(workdir)
        self.admin_url = admin_url
        self._copies: dict[int, str] = {}

    @contextmanager
    def prepared(self, template: seeding.Seeded) -> Iterator[None]:
        from bench.pg import postgres_copy

        size = len(template.meeting_ids)
        print(f"copying {size:,} meetings into PostgreSQL ...", flush=True)
        with postgres_copy(template.template, self.admin_url, f"size_{size}") as url:
            self._copies[size] = url
            yield

    @contextmanager
    def database(self, template: seeding.Seeded, fresh: bool) -> Iterator[dict[str, str]]:
        from bench.pg import database_from_template

        url = self._copies[len(template.meeting_ids)]
        if not fresh:
            yield {"DATABASE_URL": url}
            return
        with database_from_template(self.admin_url, url) as copy:
            yield {"DATABASE_URL": copy}


def _warm_up(port: int, token: str, ids: Sequence[str]) -> None:
    async def go() -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            headers = {"Authorization": f"Bearer {token}"}
            for chunk in range(0, len(ids), 8):
                answers = await asyncio.gather(
                    *(client.delete(f"/v1/meetings/{m}/breakoutSessions", headers=headers)
                      for m in ids[chunk : chunk + 8])
                )  # fmt: skip
                bad = [a.status_code for a in answers if a.status_code != 204]
                if bad:
                    raise RuntimeError(f"warm-up DELETE answered {bad}")

    asyncio.run(go())


def _round(
    backend: Backend, template: seeding.Seeded, ids: Sequence[str], fresh: bool,
    args: argparse.Namespace, wrk: str,
) -> Sample:  # fmt: skip
    warm, measured = ids[:WARMUP], ids[WARMUP:]
    ids_file = backend.workdir / "ids.txt"
    ids_file.write_text("\n".join(measured) + "\n")
    port = free_port()
    log = backend.workdir / "server.log"
    with (
        backend.database(template, fresh) as env,
        breakouts_server(backend.workdir / "unused.db", port, log, env),
    ):
        _warm_up(port, template.token, warm)
        result = wrk_tool.run(
            wrk, port, ids_file=ids_file, token=template.token, threads=2,
            connections=args.connections, duration=args.duration,
        )  # fmt: skip
    if result.wrapped or result.non_2xx or result.socket_errors:
        raise RuntimeError(
            f"invalid run: {result.wrapped} wraps, {result.non_2xx} non-2xx,"
            f" {result.socket_errors} socket errors (seed more meetings or shorten the run)"
        )
    return Sample(backend.name, len(template.meeting_ids), result.requests_per_s,
                  result.p50_ms, result.p99_ms)  # fmt: skip


def _postgres_answers(url: str) -> bool:
    try:
        import asyncpg
    except ImportError:
        return False

    async def ping() -> bool:
        try:
            conn = await asyncpg.connect(url, timeout=3)
        except (OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return asyncio.run(ping())


def main(argv: Sequence[str] | None = None) -> int:
    args = _args(argv)
    backends = args.backend or (
        ["sqlite", "postgres"] if _postgres_answers(args.postgres_url) else ["sqlite"]
    )
    wrk = wrk_tool.ensure_wrk()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-size-"))
    workdir.mkdir(parents=True, exist_ok=True)
    per_round = WARMUP + 9000 * args.duration * max(1, args.connections // 8)
    if args.small < per_round:
        print(f"--small must be at least {per_round} (one round's meetings)", file=sys.stderr)
        return 2
    small, large = _template(workdir, args.small), _template(workdir, args.large)
    samples: list[Sample] = []
    try:
        for name in backends:
            backend: Backend = (
                Postgres(workdir / "pg", args.postgres_url) if name == "postgres"
                else Backend(workdir / "sqlite")
            )  # fmt: skip
            backend.workdir.mkdir(exist_ok=True)
            with (
                backend.prepared(small),
                backend.prepared(large) if name == "postgres" else nullcontext(),
            ):
                for r in range(args.rounds):
                    large_ids = large.meeting_ids[r * per_round : (r + 1) * per_round]
                    order = [(small, small.meeting_ids, True), (large, large_ids, False)]
                    for template, ids, fresh in order if r % 2 == 0 else order[::-1]:
                        sample = _round(backend, template, ids, fresh, args, wrk)
                        samples.append(sample)
                        print(f"  {sample.backend} {sample.meetings:>9,}: {sample.requests_per_s:7,.0f} req/s"
                              f"  p50 {sample.p50_ms:6.2f} ms  p99 {sample.p99_ms:6.2f} ms", flush=True)  # fmt: skip
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    print(_table(samples, args))
    return 0


def _table(samples: list[Sample], args: argparse.Namespace) -> str:
    lines = [
        f"DELETE latency by database size: wrk c{args.connections}, {args.duration} s runs,"
        f" {args.rounds} rounds (medians)",
        "",
        "| backend | meetings | req/s | p50 ms | p99 ms | p50 large/small | p99 large/small |",
        "|---|---|---|---|---|---|---|",
    ]
    for backend in dict.fromkeys(s.backend for s in samples):
        rows = {}
        for size in (args.small, args.large):
            mine = [s for s in samples if s.backend == backend and s.meetings == size]
            rows[size] = (
                statistics.median(s.requests_per_s for s in mine),
                statistics.median(s.p50_ms for s in mine),
                statistics.median(s.p99_ms for s in mine),
            )
        small, large = rows[args.small], rows[args.large]
        for size, (rps, p50, p99) in rows.items():
            ratios = (
                f"**{large[1] / small[1]:.2f}** | **{large[2] / small[2]:.2f}**"
                if size == args.large else " | "
            )  # fmt: skip
            lines.append(
                f"| {backend} | {size:,} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {ratios} |"
            )
    lines += ["", "Goal: each ratio <= 1.2."]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
