"""Seeding: many meetings with breakout plans, written straight into a migrated SQLite file.

The rows match the migrations (``src/breakouts/migrations/versions/``) and what the service
itself writes: people and meeting series get the default org through the ``org_id`` column
default of 0003 (its ``orgs`` row is written by ``breakouts migrate``); series-level plans have scope ``''`` and ``occurrence_start`` NULL, invitees are a JSON
array string, the token is stored as its sha256 hex. Going through the API would take minutes;
``executemany`` takes seconds.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

HOST_EMAIL = "host@example.com"
HOST_NAME = "Harper Host"
SCOPES = "meeting:schedules_read meeting:schedules_write"
# The default org of migration 0003 (``breakouts.orgs.repository.DEFAULT_ORG``): every seeded row.
DEFAULT_ORG = "00000000-0000-4000-8000-000000000000"
OTHER_ORG = "00000000-0000-4000-8000-0000000000b7"  # the fault-row configuration's second org
OTHER_EMAIL = "other@example.com"
INVITEE_POOL = 5000  # distinct invitee emails the meetings draw from
_BATCH = 10_000
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"


@dataclass(frozen=True)
class Seeded:
    """A seeded database: the template file, the host's token, and the meeting ids in order."""

    template: Path
    token: str
    meeting_ids: list[str]
    sessions_per_meeting: int
    invitees_per_session: int

    def save(self, path: Path) -> None:
        path.write_text(
            json.dumps(
                {
                    "template": str(self.template),
                    "token": self.token,
                    "sessions_per_meeting": self.sessions_per_meeting,
                    "invitees_per_session": self.invitees_per_session,
                    "meeting_ids": self.meeting_ids,
                }
            )
        )

    @classmethod
    def load(cls, path: Path) -> Seeded:
        data = json.loads(path.read_text())
        return cls(
            Path(data["template"]),
            data["token"],
            list(data["meeting_ids"]),
            int(data["sessions_per_meeting"]),
            int(data["invitees_per_session"]),
        )


def breakouts_cli() -> str:
    """The ``breakouts`` script of the interpreter running the bench (the project venv)."""
    beside = Path(sys.executable).parent / "breakouts"
    if beside.exists():
        return str(beside)
    found = shutil.which("breakouts")
    if found is None:
        raise SystemExit("the `breakouts` command is not installed: run `make bench`")
    return found


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def migrate(path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": sqlite_url(path)}
    subprocess.run(
        [breakouts_cli(), "migrate"], env=env, check=True, capture_output=True, timeout=120
    )


def seed(
    path: Path,
    meetings: int,
    *,
    sessions_per_meeting: int = 3,
    invitees_per_session: int = 2,
    rng_seed: int = 1,
) -> Seeded:
    """Migrate ``path`` with ``breakouts migrate`` and fill it; returns the token and the ids."""
    if path.exists():
        path.unlink()
    migrate(path)
    rng = random.Random(rng_seed)
    now = int(time.time())
    token = secrets.token_urlsafe(48)
    host_id = str(uuid.uuid4())
    pool = [f"person{n:05d}@example.com" for n in range(INVITEE_POOL)]
    per_meeting = sessions_per_meeting * invitees_per_session
    if per_meeting > INVITEE_POOL:
        raise ValueError("too many invitees per meeting")

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        if conn.execute("SELECT 1 FROM orgs WHERE id = ?", (DEFAULT_ORG,)).fetchone() is None:
            raise RuntimeError("`breakouts migrate` left no default org: the schema has changed")
        # Fast, unsafe loading; the file is switched to WAL (what the server uses) at the end.
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO people (id, email, email_lower, display_name, is_admin, created_at)"
            " VALUES (?, ?, ?, ?, 0, ?)",
            (host_id, HOST_EMAIL, HOST_EMAIL.lower(), HOST_NAME, now),
        )
        conn.execute(
            "INSERT INTO tokens (token_hash, person_id, scopes, expires_at, created_at)"
            " VALUES (?, ?, ?, NULL, ?)",
            (hashlib.sha256(token.encode()).hexdigest(), host_id, SCOPES, now),
        )
        ids = [uuid.UUID(int=rng.getrandbits(128), version=4).hex for _ in range(meetings)]
        if len(set(ids)) != len(ids):
            raise RuntimeError("duplicate meeting ids; use another --seed")
        # Inserting in key order keeps the B-trees compact and the load fast.
        ordered = sorted(ids)
        start = now - now % 3600 + 2 * 86400  # the day after tomorrow, on the hour
        for lo in range(0, meetings, _BATCH):
            series_rows = []
            invitee_rows = []
            session_rows = []
            for series_id in ordered[lo : lo + _BATCH]:
                begin = start + rng.randrange(0, 86400 // 900) * 900
                end = begin + 3600
                series_rows.append(
                    (
                        series_id,
                        host_id,
                        f"Planning {series_id[:8]}",
                        None,
                        "".join(rng.choice(_CODE_ALPHABET) for _ in range(8)),
                        str(rng.randrange(10**9, 10**10)),
                        f"{rng.randrange(10**6):06d}",
                        "UTC",
                        begin,
                        end,
                        None,
                        end,
                        1,
                        "{}",
                        now,
                        now,
                    )
                )
                emails = rng.sample(pool, per_meeting)
                for email in sorted(emails):
                    invitee_rows.append((series_id, email.lower(), email, None, 0))
                for n in range(sessions_per_meeting):
                    chunk = emails[n * invitees_per_session : (n + 1) * invitees_per_session]
                    session_rows.append(
                        (
                            uuid.UUID(int=rng.getrandbits(128), version=4).hex,
                            series_id,
                            "",
                            None,
                            n,
                            f"Room {chr(ord('A') + n)}",
                            json.dumps(chunk),
                            None,
                            None,
                        )
                    )
            conn.executemany(
                "INSERT INTO meeting_series (id, host_id, title, agenda, password, meeting_number,"
                " host_key, timezone, start_at, end_at, recurrence, last_end_at, breakouts_enabled,"
                " options, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                series_rows,
            )
            conn.executemany(
                "INSERT INTO meeting_invitees (series_id, email_lower, email, display_name, co_host)"
                " VALUES (?, ?, ?, ?, ?)",
                invitee_rows,
            )
            conn.executemany(
                "INSERT INTO breakout_sessions (id, series_id, scope, occurrence_start, position,"
                " name, invitees, start_time, end_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                session_rows,
            )
        conn.execute("COMMIT")
        # No ANALYZE: a server's database has no statistics either, so plans stay the same.
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    _flush(path)
    return Seeded(path, token, ids, sessions_per_meeting, invitees_per_session)


def add_fault_org(path: Path) -> str:
    """A second org with one fault rule (every operation answers 500), its own person and token.

    Written into a copy of the template before the server starts, as the control plane would
    leave it (``orgs.repository.insert`` and ``insert_fault``: the org's ``version`` is a fresh
    random number). The seeded rows stay in the default org, which has no rule. Returns the
    other org's token, with which the bench checks that the rule is live on the server.
    """
    now = int(time.time())
    token = secrets.token_urlsafe(48)
    person_id = str(uuid.uuid4())
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO orgs (id, name, journal, clock_offset, version, created_at)"
            " VALUES (?, 'Bench other org', 0, 0, ?, ?)",
            (OTHER_ORG, random.getrandbits(62), now),
        )
        conn.execute(
            "INSERT INTO people (id, org_id, email, email_lower, display_name, is_admin,"
            " created_at) VALUES (?, ?, ?, ?, 'Olive Other', 0, ?)",
            (person_id, OTHER_ORG, OTHER_EMAIL, OTHER_EMAIL.lower(), now),
        )
        conn.execute(
            "INSERT INTO tokens (token_hash, person_id, scopes, expires_at, created_at)"
            " VALUES (?, ?, ?, NULL, ?)",
            (hashlib.sha256(token.encode()).hexdigest(), person_id, SCOPES, now),
        )
        conn.execute(
            "INSERT INTO faults (org_id, operation, status, retry_after, message, probability,"
            " remaining, latency_ms, created_at) VALUES (?, '*', 500, NULL, 'bench fault', 1,"
            " NULL, NULL, ?)",
            (OTHER_ORG, now),
        )
        conn.execute("COMMIT")
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise RuntimeError(f"{path} is in use: could not checkpoint the fault org into it")
    finally:
        conn.close()  # the last connection: SQLite removes the (empty) WAL
    _flush(path)
    return token


def copy_database(template: Path, target: Path) -> Path:
    """A fresh copy of the seeded state (the template is closed, so it is one file)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(template, target)
    _flush(target)
    return target


def _flush(path: Path) -> None:
    """Write the file out now, so the kernel's writeback does not run during a measurement."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
