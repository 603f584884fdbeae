"""A real `breakouts serve` process on 127.0.0.1, for driving with the PyPI Webex SDKs.

One server per test session, on a free port, with a fresh SQLite file. People and tokens are
created with the CLI before the server starts (so the demo site is not created). Each SDK module
uses its own people, so listing and paging see only that module's meetings.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent
HOUR = 3600
DAY = 24 * HOUR

READ_SCOPE = "meeting:schedules_read"

# wxc-sdk reads this at import: anything but "allow" makes it refuse our extra fields
# (enabledBreakoutSessions, links). Clear it before the SDK modules import wxc_sdk.
os.environ.pop("API_MODEL_ALLOW_EXTRA", None)

# Per SDK: the host (full user scopes), the same host with a read-only token, and a person
# whose only meetings are the paging test's.
PEOPLE = {
    "wxc": ("wxc-host@example.com", "Wendy Wxc", "wxc-pager@example.com"),
    "webex": ("webex-host@example.com", "Walt Webex", "webex-pager@example.com"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Tokens:
    host_email: str
    host_name: str
    host: str
    reader: str
    pager: str


@dataclass
class Server:
    """The running server: its URL, its environment (for the CLI) and its database file."""

    url: str
    env: dict[str, str]
    db_path: Path
    tokens: dict[str, Tokens] = field(default_factory=dict)

    def cli(self, *args: str) -> str:
        """Run `breakouts ARGS` against this server's database; the last line of stdout."""
        out = subprocess.run(
            [str(BIN / "breakouts"), *args],
            env=self.env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert out.returncode == 0, f"breakouts {' '.join(args)}: {out.stdout}{out.stderr}"
        return out.stdout.strip().splitlines()[-1]

    def start_meeting(self, meeting_id: str) -> str:
        """Start a meeting as the operator would (`breakouts meetings start`); the instance id."""
        return self.cli("meetings", "start", meeting_id)

    def deletion_emails(self, meeting_id: str) -> int:
        """How many "breakout sessions deleted" emails were queued for a meeting (any form of id)."""
        series_id = meeting_id.split("_", 1)[0]
        conn = sqlite3.connect(self.db_path)
        try:
            # Messages already fanned out, plus those still inside queued events (one snapshot).
            row = conn.execute(
                "SELECT (SELECT count(*) FROM outbox WHERE event = 'breakouts.deleted'"
                " AND meeting_id LIKE ?1) + (SELECT COALESCE(SUM(recipient_count), 0)"
                " FROM mail_events WHERE event = 'breakouts.deleted' AND meeting_id LIKE ?1)",
                (f"{series_id}%",),
            ).fetchone()
        finally:
            conn.close()
        count: int = row[0]
        return count


def _wait_healthy(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not become healthy in 30 s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("compat")
    db_path = tmp / "x.db"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BREAKOUTS_")
        and k not in {"DATABASE_URL", "REDIS_URL", "SMTP_URL", "API_MODEL_ALLOW_EXTRA"}
    }
    env.update(
        DATABASE_URL=f"sqlite:///{db_path}",
        BREAKOUTS_MAIL_WORKER="false",
        BREAKOUTS_LOG_LEVEL="warning",
    )
    port = free_port()
    srv = Server(f"http://127.0.0.1:{port}", env, db_path)
    srv.cli("migrate")
    for key, (host, name, pager) in PEOPLE.items():
        srv.cli("people", "add", host, "--name", name)
        srv.cli("people", "add", pager)
        srv.tokens[key] = Tokens(
            host_email=host,
            host_name=name,
            host=srv.cli("tokens", "create", host),
            reader=srv.cli("tokens", "create", host, "--scope", READ_SCOPE),
            pager=srv.cli("tokens", "create", pager),
        )
    log = tmp / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "breakouts"), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        _wait_healthy(proc, srv.url, log)
        yield srv
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def future_slot(days: int = 1, hours: int = 0) -> tuple[str, str]:
    """(start, end) one hour long, ``days`` ahead, on the hour (UTC)."""
    now = int(time.time())
    start = now - now % HOUR + days * DAY + hours * HOUR
    return iso(start), iso(start + HOUR)
