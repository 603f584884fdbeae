"""Real processes: a server killed with SIGKILL mid-batch, and two `breakouts worker`s on one file.

Each test starts its own processes on 127.0.0.1 and stops only those, by PID.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from breakouts.clock import Clock
from breakouts.db import open_database
from breakouts.people import service as people
from tests.backends import Backend
from tests.conftest import future_slot
from tests.mail.conftest import Sink, free_port
from tests.mail.test_cli import seed

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


class Proc:
    """A child process with its output in a file (a full pipe would block it)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out: IO[bytes] = log.open("ab")
        self.popen = subprocess.Popen(
            [str(BIN / "breakouts"), *args], env=env, stdout=self._out, stderr=subprocess.STDOUT
        )

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._out.close()

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for p in started:
        p.stop(signal.SIGKILL)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def statuses(backend: Backend) -> Counter[str]:
    return Counter(r["status"] for r in backend.rows("SELECT status FROM outbox"))


def outbox_ids(backend: Backend) -> set[str]:
    return {r["message_id"] for r in backend.rows("SELECT message_id FROM outbox")}


def base_env(backend: Backend, sink: Sink, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKOUTS_", "SMTP_URL"))}
    env.update(
        DATABASE_URL=backend.url,
        SMTP_URL=sink.url,
        BREAKOUTS_LOG_LEVEL="info",
        BREAKOUTS_MAIL_SMTP_CONNECTIONS="1",
        **extra,
    )
    return env


def add_host(backend: Backend) -> str:
    async def work() -> str:
        db = open_database(backend.url)
        try:
            async with db.transaction() as tx:
                await people.add_person(tx, Clock(), "host@example.com", "Harper Host", False)
                return await people.create_token(tx, Clock(), "host@example.com")
        finally:
            await db.close()

    return asyncio.run(work())


def serve(procs: list[Proc], env: dict[str, str], port: int, log: Path) -> Proc:
    proc = Proc(["serve", "--port", str(port)], env, log)
    procs.append(proc)

    def healthy() -> bool:
        assert proc.popen.poll() is None, log.read_text()
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(healthy, 30, "the server to start")
    return proc


def test_a_server_killed_mid_batch_loses_no_committed_message(
    backend: Backend, tmp_path: Path, sink: Sink, procs: list[Proc]
) -> None:
    """SIGKILL while SMTP hangs mid-batch; after a restart every committed message arrives.

    The three the SMTP server accepted before the kill were never marked sent, so they come
    again: each copy carries the same Message-ID (and the same bytes), so it can be recognised.
    """
    token = add_host(backend)
    port = free_port()
    env = base_env(backend, sink, BREAKOUTS_MAIL_LEASE_S="2", BREAKOUTS_MAIL_SMTP_TIMEOUT_S="1",
                   BREAKOUTS_MAIL_BACKOFF_BASE_S="1", BREAKOUTS_MAIL_BACKOFF_MAX_S="1")  # fmt: skip
    sink.stall_after = 3
    server = serve(procs, env, port, tmp_path / "serve.log")
    start, end = future_slot(Clock())
    # One request, one batch: the worker claims all 33 at once, so nothing but the test's own
    # polling stands between the stall and the kill (a stall outlasting the SMTP timeout would
    # let the worker settle the batch first).
    invitees = [{"email": f"u{i}@example.com"} for i in range(32)]
    r = httpx.post(
        f"http://127.0.0.1:{port}/v1/meetings",
        json={"title": "Crash test", "start": start, "end": end, "invitees": invitees},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 200, r.text
    # The request queued one event; the worker fans it out and claims its rows in one go.
    wait_until(lambda: len(outbox_ids(backend)) == 33, 10, "the worker to fan the event out")
    committed = outbox_ids(backend)
    wait_until(lambda: sink.stalled > 0, 10, "the worker to be stuck mid-batch")
    server.stop(signal.SIGKILL)
    assert server.popen.returncode == -signal.SIGKILL
    assert statuses(backend) == Counter(sending=33)
    accepted_before_kill = [r.message_id for r in sink.received]
    assert len(accepted_before_kill) == 3

    sink.stall_after = None  # the SMTP server is back
    sink.release.set()
    serve(procs, env, port, tmp_path / "serve2.log")
    wait_until(lambda: statuses(backend) == Counter(sent=33), 30, "every message to be sent")

    copies = Counter(r.message_id for r in sink.received)
    assert set(copies) == committed
    assert {m for m, n in copies.items() if n > 1} == set(accepted_before_kill)
    assert all(n <= 2 for n in copies.values())
    for mid in accepted_before_kill:
        assert len({r.data for r in sink.received if r.message_id == mid}) == 1
    assert len({(r.rcpt_tos[0], r.message_id) for r in sink.received}) == 33


def test_two_worker_processes_share_the_queue_without_sending_twice(
    backend: Backend, tmp_path: Path, sink: Sink, procs: list[Proc]
) -> None:
    """Two `breakouts worker` processes on one SQLite file: both work, each message goes once."""
    sink.delay_s = 0.003
    env = base_env(backend, sink, BREAKOUTS_MAIL_BATCH_SIZE="10", BREAKOUTS_MAIL_POLL_S="0.05")
    workers = [Proc(["worker"], env, tmp_path / f"worker{i}.log") for i in range(2)]
    procs.extend(workers)

    def started() -> bool:
        return all(any(x["event"] == "mail_worker_started" for x in w.lines()) for w in workers)

    wait_until(started, 30, "the workers to start")
    seed(backend, *(f"u{i}@example.com" for i in range(300)))
    wait_until(lambda: statuses(backend) == Counter(sent=300), 30, "every message to be sent")
    for w in workers:
        w.stop(signal.SIGTERM)
        assert w.popen.returncode == 0, w.log.read_text()
    delivered = [
        sum(x["delivered"] for x in w.lines() if x["event"] == "mail_batch") for w in workers
    ]
    assert all(n > 0 for n in delivered) and sum(delivered) == 300, delivered
    copies = Counter(r.message_id for r in sink.received)
    assert len(copies) == 300 and set(copies.values()) == {1}
