"""S, the storage limit: the DELETE's statements in a plain loop over ``sqlite3``.

No HTTP and no project code: the statements the service runs for a series DELETE with
``sendEmail`` true, copied from ``src/breakouts`` (people/repository.token_owner,
meetings/repository.get_series and live_instance, breakouts/repository.delete_series_plans,
meetings/repository.clear_future_plans and set_series_breakouts_enabled, mail/outbox.enqueue
(one ``mail_events`` row for all the recipients), audit.record), one transaction per meeting, each on a different meeting, with the server's
connection settings (db/sqlite.py ``connect``: WAL, synchronous=NORMAL, foreign_keys=ON,
busy_timeout=0, ``BEGIN IMMEDIATE``, one connection, autocheckpoint off, and the server's
checkpointing: the WAL file preallocated to 320 MB, PASSIVE every 0.25 s on a thread, and past 256 MB of WAL a RESTART inline
between two transactions). The loop also builds what the rows hold (the event's JSON, its
key, a tracking id), as any implementation must; it reads rows as plain tuples.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from breakouts import audit
from breakouts.mail import outbox
from breakouts.meetings import repository as meetings_repo
from breakouts.plans import repository as plans_repo

OWNER_SQL = (
    "SELECT p.id, p.email, p.display_name, p.is_admin, p.org_id, p.created_at,"
    " t.scopes, t.expires_at, o.clock_offset, o.version, o.journal"
    " FROM tokens t JOIN people p ON p.id = t.person_id JOIN orgs o ON o.id = p.org_id"
    " WHERE t.token_hash = ?"
)
SERIES_SQL = (
    "SELECT s.id, s.host_id, s.title, s.agenda, s.password, s.meeting_number, s.host_key,"
    " s.timezone, s.start_at, s.end_at, s.recurrence, s.last_end_at, s.breakouts_enabled,"
    " s.options, p.email AS host_email, p.display_name AS host_name, s.org_id"
    " FROM meeting_series s JOIN people p ON p.id = s.host_id WHERE s.id = ?"
)
LIVE_SQL = (
    "SELECT id, series_id, occurrence_start, started_at, ended_at FROM instances"
    " WHERE series_id = ? AND ended_at IS NULL"
)
# The service's own statements (not copies that could drift). One event row for all the
# recipients (migration 0004, issue #11): the mail worker fans it out into outbox rows later,
# off the request path, so that is not part of the DELETE.
DELETE_SQL = plans_repo.DELETE_SERIES_PLANS_SQL
CLEAR_SQL = meetings_repo.CLEAR_FUTURE_PLANS_SQL
FLAG_SQL = meetings_repo.SET_FLAG_SQL
EVENT_SQL = outbox.EVENT_SQL
AUDIT_SQL = audit.INSERT_SQL
EVENT = "breakouts.deleted"
WAL_LIMIT = 256 << 20  # the server's default (BREAKOUTS_SQLITE_WAL_LIMIT_MB)
WAL_FILE = WAL_LIMIT * 5 // 4  # the server's WAL file size (preallocated, journal_size_limit)
SITE = "example.webex.com"


@dataclass(frozen=True)
class StorageResult:
    tx_per_s: float
    transactions: int
    cpu_us_per_tx: float
    sessions_deleted: int
    recipients: int  # emails queued (inside the mail events)


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=0")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute(f"PRAGMA journal_size_limit={WAL_FILE}")
    # As the server, the WAL file preallocated to its full size, so commits never grow it (the
    # server does it once an eighth of the limit is live, ~0.3 s into this load; S at once).
    conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
    fd = os.open(f"{path}-wal", os.O_RDWR)
    try:
        if os.fstat(fd).st_size < WAL_FILE:
            os.posix_fallocate(fd, 0, WAL_FILE)
    finally:
        os.close(fd)
    return conn


class Checkpointer:
    """As the server does (breakouts/db/wal.py): a PASSIVE checkpoint every ``interval`` s on
    its own connection; past ``wal_limit`` bytes of WAL it flags ``reset_due`` and the loop
    itself restarts the WAL before its next transaction."""

    def __init__(self, path: Path, interval: float = 0.25, wal_limit: int = WAL_LIMIT) -> None:
        self._wal_limit = wal_limit
        self.reset_due = threading.Event()
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Checkpointer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=1000")
        try:
            while not self._stop.wait(self._interval):
                try:
                    frames = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
                except sqlite3.Error:
                    continue
                if frames * 4096 > self._wal_limit:
                    for name in (f"{self._path}-wal", str(self._path)):
                        fd = os.open(name, os.O_RDONLY)
                        try:
                            os.fsync(fd)
                        finally:
                            os.close(fd)
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    self.reset_due.set()
        finally:
            conn.close()


def reset_wal(conn: sqlite3.Connection, due: threading.Event) -> None:
    """The server's inline WAL reset between two transactions."""
    try:
        busy = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()[0]
    except sqlite3.OperationalError:
        return
    if not busy:
        due.clear()


def begin(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, retried in short steps while the checkpointer holds the lock (as the server)."""
    delay = 0.0005
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            time.sleep(delay)
            delay = min(delay * 1.5, 0.004)


def delete_tx(conn: sqlite3.Connection, token: str, meeting_id: str) -> tuple[int, int]:
    """One DELETE of a series plan; returns (sessions deleted, emails queued)."""
    now = int(time.time())
    tracking_id = f"breakouts_{random.getrandbits(128):032x}"
    begin(conn)
    try:
        owner = conn.execute(OWNER_SQL, (hashlib.sha256(token.encode()).hexdigest(),)).fetchone()
        if owner is None:
            raise RuntimeError("the bench token is unknown")
        actor_id, actor_email, actor_name = owner[0], owner[1], owner[2]
        series = conn.execute(SERIES_SQL, (meeting_id,)).fetchone()
        if series is None or series[16] != owner[4] or series[1] != actor_id:
            raise RuntimeError(f"meeting {meeting_id} is missing or not the host's")
        json.loads(series[13])  # options, as the service decodes them
        if conn.execute(LIVE_SQL, (meeting_id,)).fetchone() is not None:
            raise RuntimeError(f"meeting {meeting_id} is in progress")
        start_at, end_at = series[8], series[9]
        future_after = now - (end_at - start_at)
        deleted = [
            (name, json.loads(invitees))
            for name, invitees in conn.execute(DELETE_SQL, (meeting_id, future_after)).fetchall()
        ]
        conn.execute(CLEAR_SQL, (meeting_id, future_after))
        if series[12]:
            conn.execute(FLAG_SQL, (0, meeting_id))
        recipients: list[tuple[str, dict[str, Any]]] = []
        if deleted:
            host_email = series[14]
            common = {
                "meetingId": meeting_id,
                "title": series[2],
                "start": start_at,
                "end": end_at,
                "timezone": series[7],
                "recurrence": series[10],
                "hostEmail": host_email,
                "hostName": series[15],
                "actorEmail": actor_email,
                "actorName": actor_name,
                "onBehalf": False,
                "siteUrl": SITE,
            }
            # The service's own recipients and event row (payloads, the Message-IDs' key).
            recipients = outbox.plan_recipients(host_email, deleted)
            row = outbox.event_row(org_id=owner[4], event=EVENT, meeting_id=meeting_id,
                                   recipients=recipients, common=common, domain=SITE, now=now)  # fmt: skip
            conn.execute(EVENT_SQL, row)
        conn.execute(
            AUDIT_SQL,
            (
                owner[4],
                now,
                "breakoutSessions.delete",
                actor_id,
                None,
                meeting_id,
                len(deleted),
                tracking_id,
            ),
        )
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return len(deleted), len(recipients)


def measure(
    path: Path, token: str, meeting_ids: Sequence[str], *, duration: float, warmup: int = 1000
) -> StorageResult:
    """Transactions per second over ``duration`` seconds, after ``warmup`` uncounted ones."""
    conn = connect(path)
    ids = iter(meeting_ids)
    try:
        with Checkpointer(path) as checkpointer:
            for _ in range(warmup):
                delete_tx(conn, token, next(ids))
            count = sessions = queued = 0
            wall0, cpu0 = time.perf_counter(), time.process_time()
            deadline = wall0 + duration
            while True:
                try:
                    meeting_id = next(ids)
                except StopIteration:
                    break
                if checkpointer.reset_due.is_set():
                    reset_wal(conn, checkpointer.reset_due)
                s, o = delete_tx(conn, token, meeting_id)
                count += 1
                sessions += s
                queued += o
                if count % 128 == 0 and time.perf_counter() >= deadline:
                    break
            wall = time.perf_counter() - wall0
            cpu = time.process_time() - cpu0
    finally:
        conn.close()
    if count == 0:
        raise RuntimeError("no transaction ran: too few seeded meetings")
    return StorageResult(count / wall, count, cpu / count * 1e6, sessions, queued)
