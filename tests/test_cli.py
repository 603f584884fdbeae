"""The `breakouts` CLI: migrate, people, tokens, meetings start, demo (issue #2 §2), and how
every command fails (issue #9 item 1): one line naming the database, no traceback, nothing
created."""

from __future__ import annotations

import io
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

from breakouts.cli import app
from breakouts.cli import main as cli_main
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
    assert "The demo site exists" in again.output
    assert again.output.rstrip().endswith("tokens create host@example.com")
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


# --- how every command fails, run as a user runs it ----------------------------------------------

BIN = Path(sys.executable).parent
BIG = "99999999999999999999"  # more than SQLite's largest integer
ORG = "Default"
# Every command that needs a database, with arguments that would otherwise work.
NEEDS_A_DATABASE = [
    ["mail", "list"],
    ["mail", "show", "1"],
    ["mail", "retry", "1"],
    ["mail", "clear"],
    ["people", "add", "new@example.com"],
    ["tokens", "create", "host@example.com"],
    ["meetings", "start", "0" * 32],
    ["orgs", "list"],
    ["orgs", "create", "--name", "New"],
    ["orgs", "delete", "Other"],
    ["reset", "--yes"],
    ["clock", "show", ORG],
    ["clock", "advance", ORG, "1h"],
    ["clock", "set", ORG, "2999-01-01T00:00:00Z"],
    ["faults", "add", ORG, "createMeeting", "--status", "500"],
    ["faults", "list", ORG],
    ["faults", "delete", ORG, "1"],
    ["faults", "clear", ORG],
    ["journal", "list", ORG],
    ["journal", "clear", ORG],
    ["worker", "--drain"],
    ["demo"],
]
# Commands that may work while another process holds the database (in WAL mode reads go on);
# `mail list` also writes when it has queued events to fan out.
MAY_WORK = {"mail list", "mail show", "orgs list", "clock show", "faults list", "journal list"}


def breakouts(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The venv's `breakouts`, as a user runs it: in ``cwd``, with ``env`` over a clean one."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKOUTS_", "DATABASE_"))}
    return subprocess.run(
        [str(BIN / "breakouts"), *args],
        cwd=cwd, env={**clean, **(env or {})}, input="", capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


def in_parallel(
    commands: list[list[str]], cwd: Path, env: dict[str, str] | None = None
) -> list[subprocess.CompletedProcess[str]]:
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda args: breakouts(*args, cwd=cwd, env=env), commands))


def one_line_error(r: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """The error line of a failed command: alone on stderr, nothing on stdout, no traceback."""
    assert r.returncode == code, (r.args, r.returncode, r.stdout, r.stderr)
    assert r.stdout == "" and "Traceback" not in r.stderr, (r.args, r.stdout, r.stderr)
    assert r.stderr.startswith("error: ") and r.stderr.count("\n") == 1, (r.args, r.stderr)
    return r.stderr.strip()


def files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def test_every_command_without_a_database_says_which_and_creates_nothing(tmp_path: Path) -> None:
    """Run where there is no database: one line naming the file looked for and how to point at
    the right one (DATABASE_URL or the directory), exit 1, and no file created."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for r in in_parallel(NEEDS_A_DATABASE, elsewhere):
        line = one_line_error(r)
        assert f"there is no database at {elsewhere / 'breakouts.db'}" in line, line
        assert "DATABASE_URL is not set" in line and "the directory where the server runs" in line
    named = tmp_path / "named.db"
    for r in in_parallel(NEEDS_A_DATABASE[:3], elsewhere, {"DATABASE_URL": f"sqlite:///{named}"}):
        line = one_line_error(r)
        assert f"there is no database at {named} (DATABASE_URL=sqlite:///{named})" in line
        assert "set DATABASE_URL to the server's database" in line
    assert files(elsewhere) == [] and files(tmp_path) == ["elsewhere"]


def main(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    *args: str,
) -> subprocess.CompletedProcess[str]:
    """`breakouts ARGS` in this process (the console script's ``main``), for speed."""
    for name in [*os.environ]:
        if name.startswith(("BREAKOUTS_", "DATABASE_")):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["breakouts", *args])
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        cli_main()
    out, err = capsys.readouterr()
    code = exited.value.code
    return subprocess.CompletedProcess(args, code if isinstance(code, int) else 1, out, err)


@pytest.fixture
def not_breakouts(tmp_path: Path) -> dict[str, bytes]:
    """Files that are not a breakouts database, by name, with their bytes."""
    conn = sqlite3.connect(tmp_path / "other.db")
    conn.execute("CREATE TABLE notes (text)")
    conn.commit()
    conn.close()
    (tmp_path / "empty.db").write_bytes(b"")
    (tmp_path / "text.db").write_text("not a database\n")
    return {p.name: p.read_bytes() for p in tmp_path.iterdir()}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.db", "is empty (no breakouts tables)"),
        ("other.db", "has no breakouts tables"),
        ("text.db", "is not a SQLite database"),
        (".", "is a directory, not a database"),
    ],
)
def test_a_file_that_is_not_a_breakouts_database_is_named_and_left_alone(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    not_breakouts: dict[str, bytes],
    name: str,
    message: str,
) -> None:
    """An empty file (left by an old version), another program's database, a text file: said in
    one line, and the file is not changed (no WAL switch, no -wal or -shm beside it)."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / name}"}
    for args in (["people", "add", "a@example.com"], ["mail", "list"]):
        line = one_line_error(main(monkeypatch, capsys, env, *args))
        assert message in line and "DATABASE_URL" in line, line
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == not_breakouts


@pytest.fixture(scope="module")
def site(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A migrated database with the demo site and a second org, as DATABASE_URL: the tests that
    use it change nothing in it."""
    path = tmp_path_factory.mktemp("site") / "site.db"
    shutil.copyfile(template_db, path)
    env = {"DATABASE_URL": f"sqlite:///{path}"}
    for args in (["demo"], ["orgs", "create", "--name", "Other"]):
        assert breakouts(*args, cwd=path.parent, env=env).returncode == 0
    return env


def test_every_command_on_a_locked_database_says_so_in_one_line(
    tmp_path: Path, site: dict[str, str]
) -> None:
    """Another process holds the database (BEGIN EXCLUSIVE): every command that writes says in
    one line which database is locked, exit 1; those that only read may still work (WAL)."""
    path = tmp_path / "held.db"
    shutil.copyfile(site["DATABASE_URL"].removeprefix("sqlite:///"), path)
    env = {"DATABASE_URL": f"sqlite:///{path}", "BREAKOUTS_LOCK_WAIT_MS": "200"}
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        results = in_parallel(NEEDS_A_DATABASE, tmp_path, env)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    for args, r in zip(NEEDS_A_DATABASE, results, strict=True):
        if " ".join(args[:2]) in MAY_WORK:  # "no message 1" is an answer too
            assert r.returncode == 0 or one_line_error(r), r.stderr
            continue
        line = one_line_error(r)
        assert f"the database at {path} is locked by another process" in line, (args, line)


def test_migrate_on_a_locked_database_is_one_line(tmp_path: Path) -> None:
    """`migrate` (which creates) on a file another process holds: one line, no traceback."""
    path = tmp_path / "held.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("CREATE TABLE t (x)")
    try:
        r = breakouts("migrate", cwd=tmp_path, env={"DATABASE_URL": f"sqlite:///{path}"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert f"the database at {path} is locked by another process" in one_line_error(r)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["meetings", "start", "X"], "Meeting 'X' was not found in the database at"),
        (["meetings", "start", "0" * 32 + "_I_" + BIG], "was not found in the database at"),
        (["mail", "show", BIG], "no message"),
        (["mail", "retry", "42"], "message 42 is not dead or waiting"),
        (["tokens", "create", "nobody@example.com"], "No person with email"),
        (["people", "add", "host@example.com"], "already exists"),
        (["people", "add", "not-an-email"], "not a valid email address"),
        (["orgs", "delete", "nowhere"], "Org 'nowhere' was not found."),
        (["faults", "delete", ORG, BIG], "was not found"),
        (["faults", "add", ORG, "createMeeting", "--status", "500", "--count", "0"], "--count"),
        (["clock", "advance", ORG, BIG], "at most"),
        (["clock", "set", ORG, "tomorrow"], "RFC 3339"),
        (["orgs", "create", "missing.json"], "cannot read missing.json"),
    ],
)
def test_unknown_ids_and_refused_values_are_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    site: dict[str, str],
    args: list[str],
    message: str,
) -> None:
    """What the service refuses, or cannot find, is one line on stderr and exit code 1."""
    assert message in one_line_error(main(monkeypatch, capsys, site, *args))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuchcommand"], "No such command"),
        (["mail", "list", "--limit", "abc"], "'--limit'"),
        (["mail", "list", "--limit", BIG], "'--limit'"),
        (["mail", "list", "--status", "lost"], "--status"),
        (["mail", "retry", BIG], "'message'"),
        (["mail", "retry", "abc"], "'message'"),
        (["tokens", "create"], "Missing argument"),
        (["tokens", "create", "host@example.com", "--expires-in", "5y"], "--expires-in"),
        (["tokens", "create", "host@example.com", "--expires-in", "9999999999d"], "century"),
        (["faults", "add", ORG, "createMeeting", "--status", "500", "--count", BIG], "--count"),
        (["clock", "advance", ORG, "-5"], "No such option"),
        (["serve", "--port", "70000"], "'--port'"),
        (["people", "add", "a@example.com", "--bogus"], "No such option"),
    ],
)
def test_bad_arguments_are_one_line_with_exit_code_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    site: dict[str, str],
    args: list[str],
    message: str,
) -> None:
    """A usage error is one line naming the problem and the command's --help, exit code 2."""
    line = one_line_error(main(monkeypatch, capsys, site, *args), code=2)
    assert message in line and "--help`)" in line, line


def test_a_usage_error_of_the_installed_command_is_one_line(tmp_path: Path) -> None:
    """The same through the console script: Typer's boxed report is not what a user sees."""
    line = one_line_error(breakouts("mail", "list", "--limit", "x", cwd=tmp_path), code=2)
    assert line.endswith("(see `breakouts mail list --help`)") and files(tmp_path) == []


def test_reset_declined_changes_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], site: dict[str, str]
) -> None:
    """Answering no (here: no answer, stdin closed) is one line, exit 1."""
    r = main(monkeypatch, capsys, site, "reset")
    assert r.returncode == 1 and r.stderr == "aborted: nothing was changed\n"
    assert "Other" in main(monkeypatch, capsys, site, "orgs", "list").stdout
