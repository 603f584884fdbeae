"""``make bench``: seed, then measure S, B and the DELETE over HTTP, and print the table.

    python -m bench.run [--meetings 100000] [--runs 3] [--duration 10] ...

Each round measures, back to back: S (storage loop), B (bare ASGI app under wrk), the DELETE
at c16, the fault row (``--fault-row``: the DELETE at c16 on two servers at once, one of them
with a fault rule on another org, in interleaved slices), B and the DELETE at c64 (each server
on a fresh copy of the seeded database, each request on a meeting no other request touched).
The table gives each round and the median of the rounds. See bench/README.md for what each
figure means.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import cpu, prism, profile, seed, servers, storage, wrk
from bench.storage import StorageResult
from bench.wrk import WrkResult

RESULTS = Path(__file__).resolve().parent / "results"
WARMUP_IDS = 10_000  # ids kept for the server's warm-up run; the measured run uses the others
WARMUP_S = 1
QUIET_LIMIT = 0.10  # others' share of the CPUs under which the machine counts as quiet


@dataclass
class DeleteRun:
    wrk: WrkResult
    audit_rows: int  # transactions the server committed (one audit row per DELETE)
    empty_deletes: int  # of those, DELETEs that found no session (a meeting hit twice)
    queued_emails: int  # in mail events or outbox rows
    server_cpu_us: float  # server process CPU (all its threads) per answered request
    other_load: float  # CPU the rest of the machine used meanwhile, share of all CPUs
    warmup_errors: int = 0  # non-2xx answers and socket errors of the warm-up run
    # With a fault rule on another org: the status the other org's DELETE got after the
    # measured run (500 if the rule was live on the server); None: no fault rule.
    fault_check: int | None = None
    # The fault row's slices, in the order they ran: [req/s, p50 ms, p99 ms] of each.
    slices: list[list[float]] = field(default_factory=list)


@dataclass
class BareRun:
    wrk: WrkResult
    other_load: float


@dataclass
class StorageRun:
    result: StorageResult
    other_load: float


@dataclass
class Round:
    storage: StorageRun
    bare: BareRun
    delete: DeleteRun
    # The fault row: the DELETE with a fault rule on another org, and the plain DELETE in the
    # slices interleaved with it.
    delete_fault: DeleteRun | None = None
    delete_paired: DeleteRun | None = None
    prism: BareRun | None = None  # Stoplight Prism mocking the official spec, same wrk script
    bare_extra: BareRun | None = None
    delete_extra: DeleteRun | None = None
    warnings: list[str] = field(default_factory=list)


def _args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.run", description=(__doc__ or "").split("\n")[0]
    )
    p.add_argument(
        "--meetings",
        type=int,
        default=100_000,
        help="meetings to seed (>= 100000 for the real figure)",
    )
    p.add_argument("--sessions", type=int, default=3, help="breakout sessions per meeting")
    p.add_argument("--invitees", type=int, default=2, help="invitees per session")
    p.add_argument("--runs", type=int, default=3, help="rounds; the table gives their medians")
    p.add_argument("--duration", type=int, default=10, help="seconds of each wrk DELETE run")
    p.add_argument("--bare-duration", type=int, default=5, help="seconds of each wrk run on B")
    p.add_argument("--storage-duration", type=float, default=5.0, help="seconds of each S loop")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument(
        "--connections", type=int, default=16, help="wrk connections (the goal's figure)"
    )
    p.add_argument(
        "--extra-connections",
        type=int,
        default=64,
        help="also measure at this many connections; 0: skip",
    )
    p.add_argument(
        "--prism",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also drive Stoplight Prism (mocking the official spec; installed with npm into"
        " bench/.prism when Node is present) with the same wrk script, round by round",
    )
    p.add_argument(
        "--fault-row",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure the DELETE c16 with one fault rule (every operation: 500) on a second"
        " org against the plain DELETE, in interleaved slices (default: on)",
    )
    p.add_argument(
        "--fault-slices",
        type=int,
        default=5,
        help="slices of each configuration in the fault row (each --duration/N s)",
    )
    p.add_argument(
        "--template",
        type=Path,
        help="reuse a seeded template (its .json beside it) instead of seeding",
    )
    p.add_argument(
        "--workdir",
        type=Path,
        help="where the databases go (default: a temporary directory, removed)",
    )
    p.add_argument(
        "--profile", action="store_true", help="then profile the server under a c16 run with py-spy"
    )
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a setting for the real server, e.g. BREAKOUTS_SQLITE_GROUP_COMMIT=false; repeatable",
    )
    p.add_argument("--seed", type=int, default=1, help="random seed for the data")
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=120.0,
        help="before each measurement, wait up to this many seconds for other processes to use"
        " < 10%% of the CPUs (0: do not wait)",
    )
    return p.parse_args(argv)


def _git_describe() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=servers.REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=servers.REPO,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + (" (with uncommitted changes)" if dirty else "")


def _server_source() -> str:
    """Where the server's code comes from, if not this checkout's ``src`` (e.g. ``PYTHONPATH``
    pointing at an export of one commit, to measure it while the working tree changes)."""
    out = subprocess.run(
        [sys.executable, "-c", "import breakouts; print(breakouts.__file__)"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()
    package = Path(out).resolve().parent
    return "" if package == servers.REPO / "src" / "breakouts" else f", server code from {package}"


def _wrk_version(binary: str) -> str:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    return (out.stdout + out.stderr).splitlines()[0].split(" [")[0]


def _db_counts(db: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(db)
    try:
        audit, empty = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(sessions_count = 0), 0) FROM audit_log"
        ).fetchone()
        # Emails queued: still inside mail events (the mail worker, which fans them out into
        # outbox rows, is off) or already outbox rows.
        (outbox,) = conn.execute(
            "SELECT (SELECT COUNT(*) FROM outbox)"
            " + (SELECT COALESCE(SUM(recipient_count), 0) FROM mail_events)"
        ).fetchone()
    finally:
        conn.close()
    return int(audit), int(empty), int(outbox)


def _delete_status(port: int, token: str) -> int:
    """The status of one DELETE of breakout sessions (of a meeting that does not exist)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            "DELETE",
            f"/v1/meetings/{'0' * 32}/breakoutSessions",
            headers={"Authorization": f"Bearer {token}"},
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _combined(results: list[WrkResult]) -> WrkResult:
    """Slices as one run: requests over the slices' time; percentiles weighted by requests."""
    total = sum(w.requests for w in results)
    seconds = sum(w.requests / w.requests_per_s for w in results if w.requests_per_s > 0)

    def mean(values: list[float]) -> float:
        return sum(v * w.requests for v, w in zip(values, results, strict=True)) / max(total, 1)

    return WrkResult(
        requests_per_s=total / seconds if seconds > 0 else 0.0,
        requests=total,
        p50_ms=mean([w.p50_ms for w in results]),
        p75_ms=mean([w.p75_ms for w in results]),
        p90_ms=mean([w.p90_ms for w in results]),
        p99_ms=mean([w.p99_ms for w in results]),
        non_2xx=sum(w.non_2xx for w in results),
        socket_errors=sum(w.socket_errors for w in results),
        wrapped=sum(w.wrapped for w in results),
        raw="\n".join(w.raw for w in results),
    )


def _write_ids(path: Path, ids: Sequence[str]) -> Path:
    path.write_text("\n".join(ids) + "\n")
    return path


class Bench:
    def __init__(self, args: argparse.Namespace, wrk_bin: str, work: Path, out: Path) -> None:
        self.args = args
        self.wrk = wrk_bin
        self.work = work
        self.out = out
        self.seeded: seed.Seeded | None = None
        self.prism_binary: Path | None = None
        self.prism_note = ""
        if args.prism:
            with (out / "prism-install.log").open("w") as log:
                self.prism_binary, why = prism.install(log)
            if self.prism_binary is None:
                self.prism_note = f"Prism row skipped: {why}"
                print(self.prism_note, flush=True)
        self.warm_ids = work / "ids-warmup.txt"
        self.main_ids = work / "ids-measured.txt"
        self.slice_ids: list[Path] = []  # the measured ids in --fault-slices parts

    # --- set-up ------------------------------------------------------------------------------

    def prepare(self) -> seed.Seeded:
        a = self.args
        if a.template is not None:
            seeded = seed.Seeded.load(a.template.with_suffix(".json"))
            print(
                f"using the seeded template {seeded.template} ({len(seeded.meeting_ids)} meetings)"
            )
        else:
            t0 = time.perf_counter()
            template = self.work / "template.db"
            seeded = seed.seed(
                template,
                a.meetings,
                sessions_per_meeting=a.sessions,
                invitees_per_session=a.invitees,
                rng_seed=a.seed,
            )
            seeded.save(template.with_suffix(".json"))
            size = template.stat().st_size / 2**20
            print(
                f"seeded {a.meetings} meetings x {a.sessions} sessions x {a.invitees} invitees"
                f" in {time.perf_counter() - t0:.1f} s ({size:.0f} MiB): {template}"
            )
        if len(seeded.meeting_ids) <= WARMUP_IDS * 2:
            raise SystemExit(f"seed more than {WARMUP_IDS * 2} meetings")
        _write_ids(self.warm_ids, seeded.meeting_ids[:WARMUP_IDS])
        _write_ids(self.main_ids, seeded.meeting_ids[WARMUP_IDS:])
        measured = seeded.meeting_ids[WARMUP_IDS:]
        n = max(1, a.fault_slices)
        part = len(measured) // n
        self.slice_ids = [
            _write_ids(self.work / f"ids-slice-{k}.txt", measured[k * part : (k + 1) * part])
            for k in range(n)
        ]
        self.seeded = seeded
        return seeded

    # --- the measurements --------------------------------------------------------------------

    def _wrk(self, port: int, ids: Path, connections: int, duration: int) -> WrkResult:
        assert self.seeded is not None
        return wrk.run(
            self.wrk,
            port,
            ids_file=ids,
            token=self.seeded.token,
            threads=self.args.threads,
            connections=connections,
            duration=duration,
        )

    def _quiet(self) -> None:
        if self.args.quiet_wait > 0:
            load = cpu.wait_quiet(QUIET_LIMIT, self.args.quiet_wait)
            if load > QUIET_LIMIT:
                print(" (still busy; measuring anyway)", end="", flush=True)

    def storage(self) -> StorageRun:
        assert self.seeded is not None
        db = seed.copy_database(self.seeded.template, self.work / "storage.db")
        try:
            self._quiet()
            meter = cpu.Meter().start()
            result = storage.measure(
                db, self.seeded.token, self.seeded.meeting_ids, duration=self.args.storage_duration
            )
            return StorageRun(result, meter.stop()[1])
        finally:
            seed.remove_database(db)

    def bare(self, connections: int) -> BareRun:
        port = servers.free_port()
        with servers.bare_server(port, self.out / "bare-server.log") as proc:
            self._quiet()
            self._wrk(port, self.warm_ids, connections, WARMUP_S)
            meter = cpu.Meter(proc.pid).start()
            result = self._wrk(port, self.main_ids, connections, self.args.bare_duration)
            return BareRun(result, meter.stop()[1])

    def prism_mock(self, connections: int) -> BareRun | None:
        """Prism mocking the official spec, driven as the DELETE is (nothing is stored or sent)."""
        if self.prism_binary is None:
            return None
        assert self.seeded is not None
        port = servers.free_port()
        server = prism.Prism(
            self.prism_binary, prism.spec_under_v1(self.work), port, self.out / "prism.log"
        )
        try:
            server.wait_ready(self.seeded.meeting_ids[0], self.seeded.token)
            self._quiet()
            self._wrk(port, self.warm_ids, connections, WARMUP_S)
            meter = cpu.Meter(server.popen.pid).start()
            result = self._wrk(port, self.main_ids, connections, self.args.duration)
            return BareRun(result, meter.stop()[1])
        finally:
            server.stop()

    def delete(
        self, connections: int, during: Callable[[int], Callable[[], None]] | None = None
    ) -> DeleteRun:
        """The real server on a fresh copy of the seeded database.

        ``during(pid)`` is called just before the measured run, and what it returns just after
        it, while the server still runs (the profiler's hook).
        """
        assert self.seeded is not None
        db = seed.copy_database(self.seeded.template, self.work / "server.db")
        port = servers.free_port()
        try:
            with servers.breakouts_server(
                db, port, self.out / "server.log", server_env(self.args)
            ) as proc:
                self._quiet()
                warm = self._wrk(port, self.warm_ids, connections, WARMUP_S)
                before = _db_counts(db)
                finish = during(proc.pid) if during is not None else None
                meter = cpu.Meter(proc.pid).start()
                result = self._wrk(port, self.main_ids, connections, self.args.duration)
                server_cpu, other = meter.stop()
                if finish is not None:
                    finish()
            after = _db_counts(db)
            return DeleteRun(
                result,
                after[0] - before[0],
                after[1] - before[1],
                after[2] - before[2],
                server_cpu / max(result.requests, 1) * 1e6,
                other,
                warm.non_2xx + warm.socket_errors,
            )
        finally:
            seed.remove_database(db)

    def fault_row(self, connections: int) -> tuple[DeleteRun, DeleteRun]:
        """(the DELETE with a fault rule on another org, the plain DELETE), interleaved.

        Two servers run at once, each on a fresh copy of the seeded database; into one copy a
        second org with one fault rule was written before its server started (the default org,
        which every request uses, has none). After a warm-up of each, wrk alternates between
        them in ``--fault-slices`` slices each, in the order P F F P P F F P ..., the k-th slice
        of each on the k-th part of the measured ids: a machine whose speed drifts over tens of
        seconds (as this shared VM's does) slows both alike. The idle server's CPU (its
        checkpoints) is not counted as others' load. After the last slice one DELETE with the
        other org's token checks that the rule was live.
        """
        assert self.seeded is not None
        a = self.args
        n = len(self.slice_ids)
        seconds = max(1, a.duration // n)
        dbs = {
            fault: seed.copy_database(self.seeded.template, self.work / f"pair-{fault}.db")
            for fault in (True, False)
        }
        try:
            other_token = seed.add_fault_org(dbs[True])
            ports = {fault: servers.free_port() for fault in dbs}
            logs = {True: self.out / "server-fault.log", False: self.out / "server.log"}
            with contextlib.ExitStack() as stack:
                procs = {
                    fault: stack.enter_context(
                        servers.breakouts_server(
                            dbs[fault], ports[fault], logs[fault], server_env(a)
                        )
                    )
                    for fault in (True, False)
                }
                self._quiet()
                warm = {f: self._wrk(ports[f], self.warm_ids, connections, WARMUP_S) for f in dbs}
                before = {f: _db_counts(dbs[f]) for f in dbs}
                slices: dict[bool, list[tuple[WrkResult, float, float]]] = {True: [], False: []}
                for i in range(2 * n):
                    fault = (i % 2 == 1) == ((i // 2) % 2 == 0)  # P F F P P F ...
                    ids = self.slice_ids[len(slices[fault])]
                    meter = cpu.Meter(procs[fault].pid, (procs[not fault].pid,)).start()
                    result = self._wrk(ports[fault], ids, connections, seconds)
                    server_cpu, other = meter.stop()
                    slices[fault].append((result, server_cpu, other))
                checked = _delete_status(ports[True], other_token)
            out = []
            for fault in (True, False):
                after = _db_counts(dbs[fault])
                w = _combined([x[0] for x in slices[fault]])
                out.append(
                    DeleteRun(
                        w,
                        after[0] - before[fault][0],
                        after[1] - before[fault][1],
                        after[2] - before[fault][2],
                        sum(x[1] for x in slices[fault]) / max(w.requests, 1) * 1e6,
                        max(x[2] for x in slices[fault]),
                        warm[fault].non_2xx + warm[fault].socket_errors,
                        checked if fault else None,
                        [[x.requests_per_s, x.p50_ms, x.p99_ms] for x, _, _ in slices[fault]],
                    )
                )
            return out[0], out[1]
        finally:
            for db in dbs.values():
                seed.remove_database(db)

    def round(self, n: int) -> Round:
        a = self.args
        c = a.connections
        print(f"round {n}: S ...", end="", flush=True)
        s = self.storage()
        print(f" {s.result.tx_per_s:,.0f} tx/s; B c{c} ...", end="", flush=True)
        b = self.bare(c)
        print(f" {b.wrk.requests_per_s:,.0f} req/s; DELETE c{c} ...", end="", flush=True)
        d = self.delete(c)
        print(f" {d.wrk.requests_per_s:,.0f} req/s", end="", flush=True)
        r = Round(s, b, d)
        if self.prism_binary is not None:
            print(f"; Prism c{c} ...", end="", flush=True)
            r.prism = self.prism_mock(c)
            assert r.prism is not None
            print(f" {r.prism.wrk.requests_per_s:,.0f} req/s", end="", flush=True)
        if a.fault_row:
            print(f"; fault row c{c} ...", end="", flush=True)
            r.delete_fault, r.delete_paired = self.fault_row(c)
            f, p = r.delete_fault.wrk.requests_per_s, r.delete_paired.wrk.requests_per_s
            print(f" {f:,.0f} / {p:,.0f} req/s = {f / p:.3f}", end="", flush=True)
        if a.extra_connections:
            x = a.extra_connections
            print(f"; B c{x} ...", end="", flush=True)
            r.bare_extra = self.bare(x)
            print(f" {r.bare_extra.wrk.requests_per_s:,.0f}; DELETE c{x} ...", end="", flush=True)
            r.delete_extra = self.delete(x)
            print(f" {r.delete_extra.wrk.requests_per_s:,.0f} req/s", end="", flush=True)
        print(flush=True)
        r.warnings = _check(r)
        for w in r.warnings:
            print(f"  WARNING: {w}", flush=True)
        return r


def _check(r: Round) -> list[str]:
    """What would make a round's figures wrong: errors, reused meetings, missing commits."""
    out: list[str] = []
    for label, bare in (("B", r.bare), ("B extra", r.bare_extra), ("Prism", r.prism)):
        if bare is not None and (bare.wrk.non_2xx or bare.wrk.socket_errors):
            w = bare.wrk
            out.append(f"{label}: {w.non_2xx} non-2xx, {w.socket_errors} socket errors")
    for label, d in (
        ("DELETE", r.delete),
        ("DELETE fault row", r.delete_fault),
        ("DELETE fault row, plain slices", r.delete_paired),
        ("DELETE extra", r.delete_extra),
    ):
        if d is None:
            continue
        w = d.wrk
        if w.non_2xx or w.socket_errors:
            out.append(f"{label}: {w.non_2xx} non-2xx, {w.socket_errors} socket errors")
        if d.warmup_errors:
            out.append(f"{label}: {d.warmup_errors} non-2xx answers or socket errors in warm-up")
        if d is r.delete_fault and d.fault_check != 500:
            out.append(
                f"{label}: the other org's DELETE got {d.fault_check}, not the rule's 500"
                " (the fault rule was not live)"
            )
        if w.wrapped:
            out.append(f"{label}: wrk ran out of meeting ids ({w.wrapped} wraps): seed more")
        if d.empty_deletes:
            out.append(f"{label}: {d.empty_deletes} DELETEs found no session (meeting reused)")
        if d.audit_rows < w.requests:
            out.append(f"{label}: {d.audit_rows} commits < {w.requests} answered requests")
    return out


# --- the table --------------------------------------------------------------------------------


def server_env(args: argparse.Namespace) -> dict[str, str]:
    """``--server-env`` as a mapping (KEY=VALUE each)."""
    pairs = [item.partition("=") for item in args.server_env]
    bad = [key for key, eq, _ in pairs if not eq or not key]
    if bad:
        raise SystemExit(f"--server-env takes KEY=VALUE, not {bad}")
    return {key: value for key, _, value in pairs}


def _limit(s: float, b: float) -> float:
    return 1 / (1 / s + 1 / b)


@dataclass(frozen=True)
class Row:
    label: str
    values: list[float]
    fmt: str

    @property
    def median(self) -> float:
        return statistics.median(self.values)


def rows(rounds: list[Round], c: int, extra: int) -> list[Row]:
    s = [r.storage.result.tx_per_s for r in rounds]
    b = [r.bare.wrk.requests_per_s for r in rounds]
    lim = [_limit(x, y) for x, y in zip(s, b, strict=True)]
    d = [r.delete.wrk for r in rounds]
    out = [
        Row("S: storage loop, tx/s", s, ",.0f"),
        Row("S: CPU per tx, µs", [r.storage.result.cpu_us_per_tx for r in rounds], ".0f"),
        Row(f"B: bare ASGI, req/s c{c}", b, ",.0f"),
        Row("L = 1/(1/S + 1/B), req/s", lim, ",.0f"),
        Row(f"**DELETE req/s c{c}**", [w.requests_per_s for w in d], ",.0f"),
        Row(
            "**DELETE / L** (goal >= 0.6)",
            [w.requests_per_s / x for w, x in zip(d, lim, strict=True)],
            ".2f",
        ),
        Row(f"p50 c{c}, ms", [w.p50_ms for w in d], ".2f"),
        Row(f"p99 c{c}, ms", [w.p99_ms for w in d], ".2f"),
        Row(f"**p99/p50 c{c}** (goal <= 4)", [w.tail_ratio for w in d], ".1f"),
        Row(f"server CPU per DELETE c{c}, µs", [r.delete.server_cpu_us for r in rounds], ".0f"),
    ]
    faulted = [r.delete_fault for r in rounds if r.delete_fault is not None]
    paired = [r.delete_paired for r in rounds if r.delete_paired is not None]
    if len(faulted) == len(paired) == len(rounds):
        f = [x.wrk for x in faulted]
        pw = [x.wrk for x in paired]
        tag = "fault rule on another org"
        out += [
            Row(f"fault row: DELETE req/s c{c}, {tag}", [w.requests_per_s for w in f], ",.0f"),
            Row(
                f"fault row: DELETE / L, {tag}",
                [w.requests_per_s / x for w, x in zip(f, lim, strict=True)],
                ".2f",
            ),
            Row(f"fault row: p99/p50 c{c}, {tag}", [w.tail_ratio for w in f], ".1f"),
            Row(
                f"fault row: server CPU per DELETE, {tag}, µs",
                [x.server_cpu_us for x in faulted],
                ".0f",
            ),
            Row(
                f"fault row: plain DELETE req/s c{c} in the slices between",
                [w.requests_per_s for w in pw],
                ",.0f",
            ),
            Row(
                "**fault on another org / plain**, req/s (goal >= 0.97)",
                [x.requests_per_s / y.requests_per_s for x, y in zip(f, pw, strict=True)],
                ".3f",
            ),
        ]
    mocked = [r.prism.wrk for r in rounds if r.prism is not None]
    if len(mocked) == len(rounds):
        out += [
            Row(f"Prism 5.16 mock, req/s c{c} (stores nothing, sends nothing)",
                [w.requests_per_s for w in mocked], ",.0f"),
            Row(f"Prism p99/p50 c{c}", [w.tail_ratio for w in mocked], ".1f"),
            Row(
                "**breakouts / Prism**, DELETE req/s (goal >= 1.5)",
                [x.requests_per_s / y.requests_per_s for x, y in zip(d, mocked, strict=True)],
                ".2f",
            ),
        ]  # fmt: skip
    out.append(
        Row(
            "other load during S / B / DELETE, % of CPUs",
            [
                100
                * max(
                    r.storage.other_load,
                    r.bare.other_load,
                    r.delete.other_load,
                    r.delete_fault.other_load if r.delete_fault is not None else 0.0,
                    r.delete_paired.other_load if r.delete_paired is not None else 0.0,
                )
                for r in rounds
            ],
            ".0f",
        )
    )
    bx = [r.bare_extra.wrk for r in rounds if r.bare_extra is not None]
    dx = [r.delete_extra.wrk for r in rounds if r.delete_extra is not None]
    if extra and len(dx) == len(rounds) and len(bx) == len(rounds):
        limx = [_limit(x, y.requests_per_s) for x, y in zip(s, bx, strict=True)]
        out += [
            Row(f"(extra) B req/s c{extra}", [x.requests_per_s for x in bx], ",.0f"),
            Row(f"(extra) DELETE req/s c{extra}", [w.requests_per_s for w in dx], ",.0f"),
            Row(
                f"(extra) DELETE / L c{extra}",
                [w.requests_per_s / x for w, x in zip(dx, limx, strict=True)],
                ".2f",
            ),
            Row(f"(extra) p50 c{extra}, ms", [w.p50_ms for w in dx], ".2f"),
            Row(f"(extra) p99 c{extra}, ms", [w.p99_ms for w in dx], ".2f"),
            Row(f"(extra) p99/p50 c{extra}", [w.tail_ratio for w in dx], ".1f"),
        ]
    return out


def table(table_rows: list[Row], runs: int) -> str:
    head = "| figure | " + " | ".join(f"run {n + 1}" for n in range(runs)) + " | **median** |"
    sep = "|---|" + "---:|" * (runs + 1)
    lines = [head, sep]
    for r in table_rows:
        cells = " | ".join(format(v, r.fmt) for v in r.values)
        lines.append(f"| {r.label} | {cells} | **{format(r.median, r.fmt)}** |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _args(argv)
    if args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    server_env(args)  # refuse a malformed --server-env before seeding
    wrk_bin = wrk.ensure_wrk()
    started = dt.datetime.now(dt.UTC)
    out = RESULTS / started.strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    given = list(argv) if argv is not None else sys.argv[1:]
    command = " ".join(["python -m bench.run", *given])
    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="breakouts-bench-")
        work = Path(tmp.name)
    else:
        work = args.workdir
        work.mkdir(parents=True, exist_ok=True)
    try:
        bench = Bench(args, wrk_bin, work, out)
        seeded = bench.prepare()
        print(f"server logs: {out}/server.log, {out}/bare-server.log", flush=True)
        rounds = [bench.round(n + 1) for n in range(args.runs)]
        table_rows = rows(rounds, args.connections, args.extra_connections)
        env = (
            f"{started:%Y-%m-%d %H:%M} UTC, commit {_git_describe()}{_server_source()},"
            f" {platform.node()},"
            f" {_cpu_count()} CPUs, Python {platform.python_version()},"
            f" SQLite {sqlite3.sqlite_version}, {_wrk_version(wrk_bin)};"
            f" {len(seeded.meeting_ids)} meetings x {seeded.sessions_per_meeting} sessions x"
            f" {seeded.invitees_per_session} invitees; wrk -t{args.threads}, DELETE runs"
            f" {args.duration} s, B runs {args.bare_duration} s, S loops {args.storage_duration:g} s"
        )
        settings = {
            **{k: v for k, v in os.environ.items() if k.startswith("BREAKOUTS_")},
            **server_env(args),
        }
        if settings:
            env += "; server settings: " + ", ".join(
                f"{k}={v}" for k, v in sorted(settings.items())
            )
        text = f"{env}\n\n`{command}`\n\n{table(table_rows, args.runs)}\n"
        if bench.prism_note:
            text += f"\n{bench.prism_note}\n"
        warnings = [w for r in rounds for w in r.warnings]
        if warnings:
            text += "\nWarnings:\n" + "\n".join(f"- {w}" for w in warnings) + "\n"
        print()
        print(text)
        (out / "results.md").write_text(text)
        (out / "results.json").write_text(
            json.dumps(
                {"environment": env, "command": command, "rounds": [_plain(r) for r in rounds]},
                indent=1,
            )
        )
        if args.profile:
            profile.profile_delete(bench, out)
        print(f"results in {out}")
        return 1 if warnings else 0
    finally:
        if tmp is not None:
            tmp.cleanup()


def _plain(r: Round) -> dict[str, object]:
    data = asdict(r)
    for key in (
        "bare",
        "bare_extra",
        "delete",
        "delete_fault",
        "delete_paired",
        "delete_extra",
        "prism",
    ):
        if data.get(key):
            data[key]["wrk"].pop("raw", None)
    return data


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
