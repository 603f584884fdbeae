"""The `breakouts` CLI: migrate, people, tokens, meetings start, demo (issue #2 §2)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from breakouts.cli import app
from breakouts.people.service import hash_token


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}


@pytest.fixture
def cli(env: dict[str, str]) -> CliRunner:
    runner = CliRunner(env=env)
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    return runner


def db(env: dict[str, str]) -> sqlite3.Connection:
    return sqlite3.connect(env["DATABASE_URL"].removeprefix("sqlite:///"))


def test_migrate_is_idempotent(cli: CliRunner) -> None:
    """Running migrate twice leaves the schema at head without error."""
    r = cli.invoke(app, ["migrate"])
    assert r.exit_code == 0 and "up to date" in r.output


def test_people_add_and_duplicate(cli: CliRunner, env: dict[str, str]) -> None:
    """people add stores a person; the same email in another case is refused."""
    r = cli.invoke(app, ["people", "add", "Ana@Example.com", "--name", "Ana", "--admin"])
    assert r.exit_code == 0, r.output
    rows = db(env).execute("SELECT email, display_name, is_admin FROM people").fetchall()
    assert rows == [("Ana@Example.com", "Ana", 1)]
    r = cli.invoke(app, ["people", "add", "ana@example.com"])
    assert r.exit_code == 1 and "already exists" in r.output


def test_tokens_create_prints_token_last_and_stores_only_its_hash(
    cli: CliRunner, env: dict[str, str]
) -> None:
    """The token is alone on the last line, ≥ 32 random bytes, stored only as a hash."""
    cli.invoke(app, ["people", "add", "a@example.com", "--admin"])
    r = cli.invoke(app, ["tokens", "create", "a@example.com", "--expires-in", "2h"])
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    assert len(token) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    rows = (
        db(env).execute("SELECT token_hash, scopes, expires_at - created_at FROM tokens").fetchall()
    )
    assert rows == [(
        hash_token(token),
        "meeting:schedules_read meeting:schedules_write meeting:admin_schedule_read "
        "meeting:admin_schedule_write",
        7200,
    )]  # fmt: skip
    assert token not in str(db(env).execute("SELECT * FROM tokens").fetchall())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tokens", "create", "ghost@example.com"], "No person"),
        (["tokens", "create", "u@example.com", "--scope", "spark:all"], "Unknown scope"),
        (["tokens", "create", "u@example.com", "--scope", "meeting:admin_schedule_write"], "admin"),
    ],
)
def test_tokens_create_refusals(cli: CliRunner, args: list[str], message: str) -> None:
    """Unknown people, unknown scopes and admin scopes for non-admins are refused."""
    cli.invoke(app, ["people", "add", "u@example.com"])
    r = cli.invoke(app, args)
    assert r.exit_code == 1 and message in r.output


def test_user_token_scopes_and_explicit_scope(cli: CliRunner, env: dict[str, str]) -> None:
    """A user's default scopes are the two meeting scopes; --scope narrows them."""
    cli.invoke(app, ["people", "add", "u@example.com"])
    cli.invoke(app, ["tokens", "create", "u@example.com"])
    cli.invoke(app, ["tokens", "create", "u@example.com", "--scope", "meeting:schedules_read"])
    scopes = [r[0] for r in db(env).execute("SELECT scopes FROM tokens ORDER BY rowid")]
    assert scopes == ["meeting:schedules_read meeting:schedules_write", "meeting:schedules_read"]


def test_demo_then_meetings_start(cli: CliRunner, env: dict[str, str]) -> None:
    """demo creates the site once; meetings start prints the new instance id last."""
    r = cli.invoke(app, ["demo"])
    assert r.exit_code == 0 and "Authorization: Bearer" in r.output
    series = re.search(r"sample meeting series ([0-9a-f]{32})", r.output)
    assert series
    again = cli.invoke(app, ["demo"])
    assert "was not created" in again.output
    started = cli.invoke(app, ["meetings", "start", series.group(1)])
    assert started.exit_code == 0, started.output
    instance = started.output.strip().splitlines()[-1]
    assert re.fullmatch(series.group(1) + r"_I_\d{18}", instance)
    copied = (
        db(env)
        .execute(
            "SELECT name FROM breakout_sessions WHERE scope = ? ORDER BY position", (instance[33:],)
        )
        .fetchall()
    )
    assert copied == [("Room A",), ("Room B",)]
    twice = cli.invoke(app, ["meetings", "start", series.group(1)])
    assert twice.exit_code == 1 and "in progress" in twice.output
