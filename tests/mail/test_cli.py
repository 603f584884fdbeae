"""`breakouts worker` and `breakouts mail list|show|retry|clear`: the operator's view (issue #3 §4)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from breakouts.cli import app
from breakouts.clock import Clock
from breakouts.db import open_database
from breakouts.mail import outbox
from breakouts.orgs.repository import DEFAULT_ORG
from tests.backends import Backend

NOW = 1796126400  # the meeting: 2026-12-01T12:00:00Z


@pytest.fixture
def env(backend: Backend) -> dict[str, str]:
    return {"DATABASE_URL": backend.url, "BREAKOUTS_LOG_LEVEL": "error"}


@pytest.fixture
def cli(env: dict[str, str]) -> CliRunner:
    return CliRunner(env=env)


def seed(backend: Backend, *recipients: str, title: str = "Weekly sync") -> None:
    """Queue one breakouts.deleted message per recipient, as a committed DELETE would."""

    async def work() -> None:
        db = open_database(backend.url)
        common: dict[str, Any] = {
            "meetingId": "870f51ff287b41be84648412901e0402", "title": title,
            "start": NOW, "end": NOW + 3600, "timezone": "UTC", "recurrence": None,
            "hostEmail": "host@example.com", "hostName": "Harper Host",
            "actorEmail": "host@example.com", "actorName": "Harper Host", "onBehalf": False,
            "siteUrl": "example.webex.com",
        }  # fmt: skip
        try:
            async with db.transaction() as tx:
                await outbox.enqueue(
                    tx, org_id=DEFAULT_ORG, event="breakouts.deleted", meeting_id=common["meetingId"],
                    recipients=[(r, {"role": "invitee", "session": "Room A"}) for r in recipients],
                    common=common, domain="example.webex.com", now=Clock().now_s(),
                )  # fmt: skip
                await outbox.expand(tx)  # as a worker's first step would: one row each
        finally:
            await db.close()

    asyncio.run(work())


def rows(backend: Backend) -> list[tuple[Any, ...]]:
    found = backend.rows("SELECT id, recipient, status, attempts FROM outbox ORDER BY id")
    return [tuple(r.values()) for r in found]


def test_worker_drain_captures_everything_due_and_exits(cli: CliRunner, backend: Backend) -> None:
    """Without SMTP_URL, `worker --drain` captures every due message and says how many."""
    seed(backend, "a@example.com", "b@example.com")
    r = cli.invoke(app, ["worker", "--drain"])
    assert r.exit_code == 0, r.output
    assert "worked 2 message(s)" in r.output
    assert [row[2:] for row in rows(backend)] == [("captured", 1), ("captured", 1)]


def test_worker_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    """A database without the schema is an error that says to migrate, not a silent loop."""
    runner = CliRunner(env={"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})
    r = runner.invoke(app, ["worker", "--drain"])
    assert r.exit_code == 1 and "breakouts migrate" in r.output


def test_list_filters_by_status_and_recipient(cli: CliRunner, backend: Backend) -> None:
    """`mail list` shows newest first; --status and --to (any case) narrow it."""
    seed(backend, "a@example.com", "b@example.com")
    cli.invoke(app, ["worker", "--drain"])
    seed(backend, "c@example.com")
    out = cli.invoke(app, ["mail", "list"]).output.splitlines()
    assert out[0].split()[:3] == ["ID", "STATUS", "TRIES"]
    assert [line.split()[-1] for line in out[1:]] == [
        "c@example.com",
        "b@example.com",
        "a@example.com",
    ]
    out = cli.invoke(app, ["mail", "list", "--status", "pending"]).output.splitlines()
    assert len(out) == 2 and out[1].split()[1] == "pending"
    out = cli.invoke(app, ["mail", "list", "--to", "B@Example.com"]).output.splitlines()
    assert len(out) == 2 and out[1].endswith("b@example.com")
    assert "no messages" in cli.invoke(app, ["mail", "list", "--status", "dead"]).output


def test_list_json_is_machine_readable(cli: CliRunner, backend: Backend) -> None:
    """`mail list --json` prints one JSON array with each row and its payload."""
    seed(backend, "a@example.com")
    r = cli.invoke(app, ["mail", "list", "--json"])
    [row] = json.loads(r.output)
    assert (row["recipient"], row["status"], row["event"]) == (
        "a@example.com",
        "pending",
        "breakouts.deleted",
    )
    assert row["payload"]["session"] == "Room A" and row["message_id"].startswith("<")


def test_list_refuses_an_unknown_status(cli: CliRunner) -> None:
    """--status must be one of the statuses."""
    r = cli.invoke(app, ["mail", "list", "--status", "lost"])
    assert r.exit_code == 2


def test_show_prints_headers_and_decoded_body_as_captured(cli: CliRunner, backend: Backend) -> None:
    """`mail show ID` gives the delivery record, decoded headers and the text body."""
    seed(backend, "a@example.com", title="Café planning")
    cli.invoke(app, ["worker", "--drain"])
    r = cli.invoke(app, ["mail", "show", "1"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("# 1 captured, tries 1")
    assert (
        "Subject: Breakout session cancelled: Café planning (Tue 1 Dec 2026 12:00 UTC)" in r.output
    )
    assert "Message-ID: <" in r.output and 'no longer assigned to "Room A"' in r.output
    raw = cli.invoke(app, ["mail", "show", "1", "--raw"]).output
    assert "Content-Transfer-Encoding: quoted-printable" in raw and "=?utf-8?" in raw


def test_show_by_message_id_and_before_sending(cli: CliRunner, backend: Backend) -> None:
    """A Message-ID finds the message too; a message not yet sent is shown as it will go out."""
    seed(backend, "a@example.com")
    [mid] = [r["message_id"] for r in backend.rows("SELECT message_id FROM outbox")]
    r = cli.invoke(app, ["mail", "show", mid.strip("<>")])
    assert r.exit_code == 0, r.output
    assert "not sent yet" in r.output and f"Message-ID: {mid}" in r.output


def test_show_unknown_message_is_an_error(cli: CliRunner) -> None:
    """No such message: exit 1 with a message."""
    r = cli.invoke(app, ["mail", "show", "42"])
    assert r.exit_code == 1 and "no message 42" in r.output


def test_retry_requeues_a_dead_message_with_fresh_tries(cli: CliRunner, backend: Backend) -> None:
    """`mail retry ID` puts a dead message back, due now; a delivered one is refused."""
    seed(backend, "a@example.com", "b@example.com")
    backend.execute(
        "UPDATE outbox SET status = 'dead', attempts = 8, last_error = '550 no' WHERE id = 1"
    )
    backend.execute("UPDATE outbox SET status = 'captured' WHERE id = 2")
    r = cli.invoke(app, ["mail", "retry", "1"])
    assert r.exit_code == 0 and "queued again" in r.output
    assert rows(backend)[0][2:] == ("pending", 0)
    r = cli.invoke(app, ["mail", "retry", "2"])
    assert r.exit_code == 1 and "not dead" in r.output
    cli.invoke(app, ["worker", "--drain"])
    assert rows(backend)[0][2:] == ("captured", 1)


def test_clear_empties_the_mail_catcher_only(cli: CliRunner, backend: Backend) -> None:
    """`mail clear` deletes captured messages and keeps those still queued."""
    seed(backend, "a@example.com")
    cli.invoke(app, ["worker", "--drain"])
    seed(backend, "b@example.com")
    r = cli.invoke(app, ["mail", "clear"])
    assert "deleted 1 captured" in r.output
    assert [row[1:3] for row in rows(backend)] == [("b@example.com", "pending")]
