"""Mail benchmark: delivery throughput, and the DELETE's latency with and without mail.

    .venv/bin/python -m bench.mail [--messages 3000] [--runs 5] [--deletes 200]

1. Throughput: a queue of ``--messages`` committed messages is drained by one ``MailWorker``
   (as ``breakouts worker`` runs it) into a local aiosmtpd sink running in its own process;
   messages/s is the median of ``--runs`` runs, for 1, 2 (the default) and 4 SMTP connections,
   and for capture mode (no SMTP_URL).
2. Latency: a real ``breakouts serve`` (uvicorn, uvloop, in-process worker) answers sequential
   DELETEs, each of which deletes 2 sessions with 10 invitees (11 messages), under: no mail
   (sendEmail=false); mail to a fast SMTP server; the same while a backlog of messages drains;
   mail to an SMTP server that takes 200 ms per message. The goal is that the last three look
   like the first: the request only writes outbox rows, SMTP happens later, elsewhere.

Goal (issue #3): >= 500 messages/s on a 2-core machine; DELETE latency independent of SMTP.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BIN = Path(sys.executable).parent
HOST = "host@example.com"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- the SMTP sink, in a process of its own ---------------------------------------------------


def run_sink(port: int, delay_ms: float) -> None:
    """An aiosmtpd server that accepts everything (after ``delay_ms``) until killed."""
    from aiosmtpd.controller import Controller

    class Accept:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            if delay_ms:
                await asyncio.sleep(delay_ms / 1000)
            return "250 OK"

    controller = Controller(Accept(), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()


@contextmanager
def sink(delay_ms: float = 0.0) -> Iterator[str]:
    """A sink process; yields its SMTP URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.mail",
            "sink",
            "--port",
            str(port),
            "--delay-ms",
            str(delay_ms),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        yield f"smtp://127.0.0.1:{port}"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


# --- 1. throughput ------------------------------------------------------------------------------


def payload_common(now: int) -> dict[str, Any]:
    return {
        "meetingId": "870f51ff287b41be84648412901e0402", "title": "Weekly sync — planning",
        "start": now + 86400, "end": now + 90000, "timezone": "Europe/Paris",
        "recurrence": "FREQ=WEEKLY;BYDAY=TU", "hostEmail": HOST, "hostName": "Harper Host",
        "actorEmail": HOST, "actorName": "Harper Host", "onBehalf": False,
        "siteUrl": "example.webex.com",
    }  # fmt: skip


async def fill_queue(db: Any, n: int, now: int) -> None:
    from breakouts.mail import outbox
    from breakouts.orgs.repository import DEFAULT_ORG

    async with db.transaction() as tx:
        await tx.execute("DELETE FROM outbox")
        for start in range(0, n, 500):
            recipients = [
                (f"user{i}@example.com", {"role": "invitee", "session": f"Room {i % 7}"})
                for i in range(start, min(n, start + 500))
            ]
            await outbox.enqueue(
                tx, org_id=DEFAULT_ORG, event="breakouts.deleted", meeting_id="870f51ff287b41be84648412901e0402",
                recipients=recipients, common=payload_common(now), domain="example.webex.com",
                now=now,
            )  # fmt: skip


async def drain_once(db_url: str, smtp_url: str | None, n: int, connections: int) -> float:
    """Messages/s for one drain of ``n`` queued messages."""
    from breakouts.clock import Clock
    from breakouts.config import Settings
    from breakouts.db import open_database
    from breakouts.logs import make_logger
    from breakouts.mail.worker import MailWorker

    settings = Settings(database_url=db_url, smtp_url=smtp_url, mail_smtp_connections=connections)
    db = open_database(db_url)
    clock = Clock()
    try:
        await fill_queue(db, n, clock.now_s())
        worker = MailWorker(db, clock, settings, make_logger("error"))
        started = time.perf_counter()
        done = await worker.drain()
        elapsed = time.perf_counter() - started
        async with db.transaction(write=False) as tx:
            delivered = await tx.fetchval(
                "SELECT COUNT(*) FROM outbox WHERE status IN ('sent', 'captured')"
            )
        assert done == n and delivered == n, (done, delivered)
        return n / elapsed
    finally:
        await db.close()


def throughput(db_url: str, messages: int, runs: int) -> None:
    print(f"\n1. Delivery throughput: {messages} messages per run, median of {runs} runs")
    print(f"   {'mode':<28}{'median msg/s':>14}{'min':>8}{'max':>8}")
    with sink() as url:
        cases: list[tuple[str, str | None, int]] = [
            ("SMTP, 1 connection", url, 1),
            ("SMTP, 2 connections (default)", url, 2),
            ("SMTP, 4 connections", url, 4),
            ("capture (no SMTP_URL)", None, 1),
        ]
        for label, smtp_url, conns in cases:
            rates = [
                asyncio.run(drain_once(db_url, smtp_url, messages, conns)) for _ in range(runs)
            ]
            print(
                f"   {label:<28}{statistics.median(rates):>14.0f}{min(rates):>8.0f}{max(rates):>8.0f}"
            )


# --- 2. DELETE latency --------------------------------------------------------------------------


async def seed_people(db_url: str) -> str:
    from breakouts.clock import Clock
    from breakouts.db import open_database
    from breakouts.people import service as people

    db = open_database(db_url)
    try:
        async with db.transaction() as tx:
            await people.add_person(tx, Clock(), HOST, "Harper Host", False)
            return await people.create_token(tx, Clock(), HOST)
    finally:
        await db.close()


@contextmanager
def server(db_url: str, smtp_url: str | None) -> Iterator[str]:
    import httpx

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BREAKOUTS_")}
    env.update(
        DATABASE_URL=db_url, BREAKOUTS_LOG_LEVEL="error", BREAKOUTS_RATE_LIMIT="1000000/minute"
    )
    env.pop("SMTP_URL", None)
    if smtp_url:
        env["SMTP_URL"] = smtp_url
    proc = subprocess.Popen(
        [str(BIN / "breakouts"), "serve", "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def delete_latencies(
    base: str, token: str, count: int, send_email: bool, backlog: int = 0, db_url: str = ""
) -> list[float]:
    """Milliseconds per DELETE (each deleting 2 sessions, 11 recipients), one at a time."""
    import httpx

    from breakouts.clock import Clock

    headers = {"Authorization": f"Bearer {token}"}
    plan = [
        {"name": "Room A", "invitees": [f"a{i}@example.com" for i in range(5)]},
        {"name": "Room B", "invitees": [f"b{i}@example.com" for i in range(5)]},
    ]
    now = Clock().now_s()
    start = time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(now + 2 * 86400))
    end = time.strftime("%Y-%m-%dT%H:30:00Z", time.gmtime(now + 2 * 86400))
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        ids = []
        for _ in range(count):
            r = client.post("/v1/meetings", json={
                "title": "Bench", "start": start, "end": end, "sendEmail": False,
                "enabledBreakoutSessions": True, "breakoutSessions": plan,
            })  # fmt: skip
            assert r.status_code == 200, r.text
            ids.append(r.json()["id"])
        if backlog:
            from breakouts.db import open_database

            async def fill() -> None:
                db = open_database(db_url)
                try:
                    await fill_queue(db, backlog, Clock().now_s())
                finally:
                    await db.close()

            asyncio.run(fill())
        params = {"sendEmail": "true" if send_email else "false"}
        out = []
        for meeting_id in ids:
            t = time.perf_counter()
            r = client.delete(f"/v1/meetings/{meeting_id}/breakoutSessions", params=params)
            out.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 204, r.text
    return out


def latency(template: Path, workdir: Path, deletes: int, backlog: int) -> None:
    print(
        f"\n2. DELETE latency: {deletes} sequential DELETEs, each queueing 11 messages when mailing"
    )
    print(f"   {'case':<50}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}{'max ms':>8}")
    cases: list[tuple[str, float | None, bool, int]] = [
        ("sendEmail=false (no mail)", 0.0, False, 0),
        ("mail, fast SMTP", 0.0, True, 0),
        (f"mail, fast SMTP, {backlog}-message backlog draining", 0.0, True, backlog),
        ("mail, slow SMTP (200 ms per message)", 200.0, True, 0),
    ]
    for n, (label, delay, send_email, queued) in enumerate(cases):
        path = workdir / f"latency{n}.db"
        shutil.copyfile(template, path)
        db_url = f"sqlite:///{path}"
        token = asyncio.run(seed_people(db_url))
        with sink(delay or 0.0) as smtp_url, server(db_url, smtp_url) as base:
            ms = sorted(delete_latencies(base, token, deletes, send_email, queued, db_url))
        q = statistics.quantiles(ms, n=100)
        print(f"   {label:<50}{q[49]:>8.2f}{q[89]:>8.2f}{q[98]:>8.2f}{ms[-1]:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    sub = parser.add_subparsers(dest="command")
    sink_cmd = sub.add_parser("sink", help="(internal) run the SMTP sink")
    sink_cmd.add_argument("--port", type=int, required=True)
    sink_cmd.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--deletes", type=int, default=200)
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--skip-latency", action="store_true")
    args = parser.parse_args()
    if args.command == "sink":
        run_sink(args.port, args.delay_ms)
        return

    from breakouts.db.migrate import upgrade

    print(f"bench/mail.py on {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="bench-mail-") as tmp:
        workdir = Path(tmp)
        template = workdir / "template.db"
        upgrade(f"sqlite:///{template}")
        db = workdir / "throughput.db"
        shutil.copyfile(template, db)
        throughput(f"sqlite:///{db}", args.messages, args.runs)
        if not args.skip_latency:
            latency(template, workdir, args.deletes, args.backlog)


if __name__ == "__main__":
    main()
