"""``make bench-pg``: the DELETE on PostgreSQL (issue #8), with 1 and 2 processes.

One command seeds a PostgreSQL database of its own from the SQLite template (``bench.seed``,
copied table by table with ``COPY``), measures

- **S_pg**, the storage limit: the statements the service runs for a series DELETE with
  ``sendEmail``, over asyncpg in a plain loop (no HTTP, no project code in the loop): 16 tasks on a
  pool of the server's size, one transaction per meeting, each on a different meeting; with 1
  process and with 2 (each its own pool and its own half of the meetings);
- **B**, the HTTP stack limit (``bench.bare_app`` on uvicorn, 1 and 2 processes);
- **the DELETE** over HTTP: ``breakouts serve`` (``--workers 2`` for two) on that database, wrk
  c16, the same script and checks as ``make bench``;

and prints DELETE / L_pg per process count, with ``L_pg = 1/(1/S_pg + 1/B)`` (goal >= 0.6). The
database is dropped at the end; only 127.0.0.1 is used; every process started is stopped by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import msgspec

from bench import seed as seeding
from bench import wrk as wrk_tool
from bench.servers import RATE_LIMIT, _process, bare_server, free_port
from bench.storage import AUDIT_SQL, EVENT_SQL, SITE
from breakouts.breakouts import repository as breakouts_repo
from breakouts.db.postgres import translate
from breakouts.mail import outbox
from breakouts.meetings import repository as meetings_repo

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
# The tables the seed fills, in an order that satisfies their foreign keys.
TABLES = ("people", "tokens", "meeting_series", "meeting_invitees", "breakout_sessions")
# The service's own statements on the DELETE's path (meetings/repository.py, plans, outbox,
# audit), translated to $n by the backend's own translator: the token's owner, the series and
# its live instance in one lookup; the series row locked and read again; the live instance read
# again (its snapshot taken under the lock); the plan deleted with the flags (one statement);
# the event; the audit.
LOOKUP_SQL = translate(meetings_repo.LOOKUP_SQL)
LOCK_SQL = translate(meetings_repo.LOCK_SERIES_SQL)
LIVE_SQL = translate(meetings_repo.LIVE_SQL)
PLAN_SQL = translate(breakouts_repo.DELETE_SERIES_PLAN_CTE)
EVENT_PG_SQL = translate(EVENT_SQL)
AUDIT_PG_SQL = translate(AUDIT_SQL)


@dataclass(frozen=True)
class StorageResult:
    tx_per_s: float
    transactions: int
    cpu_us_per_tx: float


# --- seeding -------------------------------------------------------------------------------------


async def _create_database(admin_url: str, name: str, template: str | None = None) -> str:
    """A new database ``name`` beside ``admin_url``'s (a copy of ``template`` if given)."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        copy = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{copy}')
    finally:
        await conn.close()
    return re.sub(r"/[^/?]*(\?|$)", f"/{name}\\1", admin_url, count=1)


async def _drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _copy(template: Path, url: str) -> None:
    """The template's seeded rows into the migrated PostgreSQL database, with COPY."""
    src = sqlite3.connect(template)
    conn = await asyncpg.connect(url)
    try:
        for table in TABLES:
            columns = [row[1] for row in src.execute(f"PRAGMA table_info({table})")]
            cursor = src.execute(f"SELECT {', '.join(columns)} FROM {table}")
            while rows := cursor.fetchmany(20_000):
                await conn.copy_records_to_table(table, records=rows, columns=columns)
        # VACUUM too: hint bits and the visibility map set, as autovacuum leaves a database
        # that has been running a while (right after COPY every first read writes pages).
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()
        src.close()


@contextmanager
def scratch_database(admin_url: str, label: str) -> Iterator[str]:
    """A new empty database beside ``admin_url``'s, dropped at the end; its URL."""
    name = f"breakouts_bench_{label}_{os.getpid()}"
    url = asyncio.run(_create_database(admin_url, name))
    try:
        yield url
    finally:
        asyncio.run(_drop_database(admin_url, name))


@contextmanager
def postgres_copy(template: Path, admin_url: str, label: str = "pg") -> Iterator[str]:
    """A new database (dropped at the end), migrated by ``breakouts migrate``, with the seed."""
    with scratch_database(admin_url, label) as url:
        env = {**os.environ, "DATABASE_URL": url}
        subprocess.run(
            [seeding.breakouts_cli(), "migrate"], env=env, check=True, capture_output=True
        )
        asyncio.run(_copy(template, url))
        yield url


@contextmanager
def database_from_template(admin_url: str, template_url: str) -> Iterator[str]:
    """A copy of the database at ``template_url`` (``CREATE DATABASE … TEMPLATE``), dropped after."""
    template = template_url.rsplit("/", 1)[1].split("?")[0]
    name = f"{template}_copy"
    url = asyncio.run(_create_database(admin_url, name, template))
    try:
        yield url
    finally:
        asyncio.run(_drop_database(admin_url, name))


# --- S_pg ----------------------------------------------------------------------------------------


async def _delete_tx(conn: asyncpg.Connection, token_hash: str, meeting_id: str) -> int:
    now = int(time.time())
    async with conn.transaction():
        owner = await conn.fetchrow(LOOKUP_SQL, meeting_id, token_hash)
        assert owner is not None, "the bench token is unknown"
        series = await conn.fetchrow(LOCK_SQL, meeting_id)  # by name: s.*, host_email, …
        assert series is not None and series["org_id"] == owner[4], meeting_id
        await conn.fetchrow(LIVE_SQL, meeting_id)
        future_after = now - (series["end_at"] - series["start_at"])
        # The plan's three writes in one statement, as the server runs them on PostgreSQL.
        deleted = await conn.fetch(PLAN_SQL, meeting_id, future_after, meeting_id, future_after,
                                   meeting_id)  # fmt: skip
        host = series["host_email"]
        common = {"meetingId": meeting_id, "title": series["title"], "start": series["start_at"],
                  "end": series["end_at"], "timezone": series["timezone"], "hostEmail": host,
                  "hostName": series["host_name"], "actorEmail": owner[1], "actorName": owner[2],
                  "onBehalf": False, "siteUrl": SITE}  # fmt: skip
        if deleted:
            # The service's own recipients and event row (payloads, the Message-IDs' key).
            sessions = [(d["name"], msgspec.json.decode(d["invitees"])) for d in deleted]
            recipients = outbox.plan_recipients(host, sessions)
            await conn.execute(EVENT_PG_SQL, *outbox.event_row(
                org_id=owner[4], event="breakouts.deleted", meeting_id=meeting_id,
                recipients=recipients, common=common, domain=SITE, now=now))  # fmt: skip
        await conn.execute(
            AUDIT_PG_SQL,
            owner[4], now, "breakoutSessions.delete", owner[0], None, meeting_id, len(deleted),
            f"breakouts_{random.getrandbits(128):032x}",
        )  # fmt: skip
    return len(deleted)


async def _storage_loop(
    url: str, token_hash: str, ids: Sequence[str], duration: float, tasks: int, pool_size: int
) -> tuple[int, float, float]:
    pool = await asyncpg.create_pool(url, min_size=pool_size, max_size=pool_size)
    assert pool is not None
    queue = iter(ids)
    count = 0
    try:
        for _ in range(200):  # warm-up, uncounted
            async with pool.acquire() as conn:
                await _delete_tx(conn, token_hash, next(queue))
        deadline = time.perf_counter() + duration

        async def task() -> None:
            nonlocal count
            while time.perf_counter() < deadline:
                meeting_id = next(queue, None)
                if meeting_id is None:
                    return
                async with pool.acquire() as conn:
                    await _delete_tx(conn, token_hash, meeting_id)
                count += 1

        wall0, cpu0 = time.perf_counter(), time.process_time()
        await asyncio.gather(*(task() for _ in range(tasks)))
        return count, time.perf_counter() - wall0, time.process_time() - cpu0
    finally:
        await pool.close()


def _storage_process(args: tuple[str, str, list[str], float, int, int]) -> tuple[int, float, float]:
    import uvloop

    url, token_hash, ids, duration, tasks, pool_size = args
    return uvloop.run(_storage_loop(url, token_hash, ids, duration, tasks, pool_size))


def storage(
    url: str, token_hash: str, ids: Sequence[str], *, processes: int, duration: float,
    tasks: int = 16, pool_size: int = 10,
) -> StorageResult:  # fmt: skip
    """S_pg: transactions per second of ``processes`` processes, each 16 tasks on its own pool."""
    slices = [list(ids[k::processes]) for k in range(processes)]
    jobs = [(url, token_hash, s, duration, tasks // processes, pool_size) for s in slices]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        results = pool.map(_storage_process, jobs)
    count = sum(r[0] for r in results)
    wall = max(r[1] for r in results)
    cpu = sum(r[2] for r in results)
    return StorageResult(count / wall, count, cpu / count * 1e6)


# --- HTTP ----------------------------------------------------------------------------------------


@contextmanager
def bare(port: int, log: Path, workers: int) -> Iterator[None]:
    if workers == 1:
        with bare_server(port, log):
            yield
        return
    cmd = [
        sys.executable, "-m", "uvicorn", "bench.bare_app:app", "--host", "127.0.0.1",
        "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--workers",
        str(workers), "--no-access-log", "--log-level", "warning", "--lifespan", "off",
    ]  # fmt: skip
    with _process(cmd, os.environ, log, port, "/", 204):
        yield


@contextmanager
def server(url: str, port: int, log: Path, workers: int) -> Iterator[None]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BREAKOUTS_MAIL_WORKER": "false",
        "BREAKOUTS_RATE_LIMIT": RATE_LIMIT,
    }
    cmd = [seeding.breakouts_cli(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    with _process(cmd, env, log, port, "/healthz", 200):
        yield


def _write_ids(path: Path, ids: Sequence[str]) -> Path:
    path.write_text("\n".join(ids) + "\n")
    return path


async def _committed(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM audit_log"))
    finally:
        await conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pg", description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=os.environ.get("BREAKOUTS_TEST_POSTGRES_URL", DEFAULT_URL),
                        help="a PostgreSQL database to connect to (the bench creates its own beside it)")  # fmt: skip
    parser.add_argument("--meetings", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds of each DELETE run")
    parser.add_argument("--storage-duration", type=float, default=5)
    parser.add_argument(
        "--template", type=Path, help="reuse a seeded template (its .json beside it)"
    )
    parser.add_argument(
        "--pool-size", type=int, default=10, help="the server's pool size (BREAKOUTS_PG_POOL_SIZE)"
    )
    parser.add_argument("--storage-only", action="store_true", help="measure S_pg only")
    args = parser.parse_args(argv)
    wrk_bin = wrk_tool.ensure_wrk()
    out = Path(__file__).parent / "results" / f"pg-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="breakouts-bench-pg-") as tmp:
        work = Path(tmp)
        if args.template:
            seeded = seeding.Seeded.load(args.template.with_suffix(".json"))
        else:
            seeded = seeding.seed(work / "template.db", args.meetings)
        import hashlib

        token_hash = hashlib.sha256(seeded.token.encode()).hexdigest()
        ids = seeded.meeting_ids
        rows: dict[str, list[float]] = {}

        def add(name: str, value: float) -> None:
            rows.setdefault(name, []).append(value)

        with postgres_copy(seeded.template, args.url) as url:
            print(f"seeded {len(ids)} meetings into {url}", flush=True)
            used = 0

            def take(n: int) -> list[str]:
                nonlocal used
                if used + n > len(ids):
                    raise SystemExit("too few seeded meetings for these runs: raise --meetings")
                chunk = ids[used : used + n]
                used += n
                return chunk

            per_run = max(20_000, args.duration * 4_000)
            for r in range(1, args.runs + 1):
                line = [f"round {r}:"]
                for procs in (1, 2):
                    s = storage(url, token_hash, take(per_run // 2), processes=procs,
                                duration=args.storage_duration, pool_size=args.pool_size)  # fmt: skip
                    add(f"S_pg {procs}p, tx/s", s.tx_per_s)
                    add(f"S_pg {procs}p, client CPU per tx, µs", s.cpu_us_per_tx)
                    if args.storage_only:
                        line.append(f"{procs}p S_pg {s.tx_per_s:,.0f}")
                        continue
                    port = free_port()
                    with bare(port, out / "bare.log", procs):
                        b = wrk_tool.run(wrk_bin, port, ids_file=_write_ids(work / "b.txt", ids[:50_000]),
                                         token=seeded.token, threads=2, connections=16, duration=5)  # fmt: skip
                    add(f"B {procs}p, req/s", b.requests_per_s)
                    port = free_port()
                    before = asyncio.run(_committed(url))
                    with server(url, port, out / f"server-{procs}p.log", procs):
                        warm = _write_ids(work / "warm.txt", take(4_000))
                        wrk_tool.run(wrk_bin, port, ids_file=warm, token=seeded.token, threads=2,
                                     connections=16, duration=1)  # fmt: skip
                        measured = _write_ids(work / "ids.txt", take(per_run))
                        d = wrk_tool.run(wrk_bin, port, ids_file=measured, token=seeded.token,
                                         threads=2, connections=16, duration=args.duration)  # fmt: skip
                    after = asyncio.run(_committed(url))
                    if d.socket_errors or d.non_2xx or d.wrapped or after - before < d.requests:
                        print(f"invalid run: {d}, {after - before} audit rows", flush=True)
                        return 1
                    limit = 1 / (1 / s.tx_per_s + 1 / b.requests_per_s)
                    add(f"DELETE {procs}p, req/s c16", d.requests_per_s)
                    add(f"L_pg {procs}p, req/s", limit)
                    add(f"DELETE / L_pg {procs}p (goal >= 0.6)", d.requests_per_s / limit)
                    add(f"p50 {procs}p, ms", d.p50_ms)
                    add(f"p99 {procs}p, ms", d.p99_ms)
                    line.append(
                        f"{procs}p S_pg {s.tx_per_s:,.0f} B {b.requests_per_s:,.0f}"
                        f" DELETE {d.requests_per_s:,.0f} ({d.requests_per_s / limit:.2f} of L)"
                    )
                print(" ".join(line), flush=True)
    header = "| figure | " + " | ".join(f"run {i}" for i in range(1, args.runs + 1))
    lines = [header + " | **median** |", "|---|" + "---:|" * (args.runs + 1)]
    for name, values in rows.items():
        fmt = "{:,.2f}" if name.startswith("DELETE / ") or name.endswith(", ms") else "{:,.0f}"
        cells = " | ".join(fmt.format(v) for v in values)
        lines.append(f"| {name} | {cells} | **{fmt.format(statistics.median(values))}** |")
    table = "\n".join(lines)
    print(table)
    (out / "results.md").write_text(table + "\n")
    (out / "results.json").write_text(json.dumps(rows, indent=1))
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
