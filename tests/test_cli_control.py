"""The control plane's actions in the CLI (issue #7): orgs, reset, clock, faults, mail, journal.

Every test runs the real ``breakouts`` of the venv in a subprocess, with ``DATABASE_URL`` on a
migrated temporary file, from a directory that holds no database.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.backends import Backend

BIN = Path(sys.executable).parent
DAY = 86400


@pytest.fixture
def env(backend: Backend) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKOUTS_", "DATABASE_"))}
    return {**clean, "DATABASE_URL": backend.url, "BREAKOUTS_LOG_LEVEL": "warning"}


class Cli:
    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd

    def __call__(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "breakouts"), *args],
            env=self.env, cwd=self.cwd, input=stdin, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    def ok(self, *args: str, stdin: str | None = None) -> str:
        r = self(*args, stdin=stdin)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))


@pytest.fixture
def cli(env: dict[str, str], tmp_path: Path) -> Cli:
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    return Cli(env, cwd)


def create_org(cli: Cli, tmp_path: Path, seed: dict[str, Any]) -> dict[str, Any]:
    path = tmp_path / f"seed-{time.monotonic_ns()}.json"
    path.write_text(json.dumps(seed))
    org: dict[str, Any] = json.loads(cli.ok("orgs", "create", str(path)))
    return org


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def meeting(title: str, start: float, invitees: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "title": title,
        "start": iso(start),
        "end": iso(start + 3600),
        "invitees": [{"email": e} for e in invitees],
        **extra,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """``breakouts serve --control`` on a free port, its stdout in a file; stopped by its PID."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / "serve.log"
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(
            [str(BIN / "breakouts"), "serve", "--port", str(self.port), "--control"],
            env=env, cwd=cwd, stdout=self._out, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self) -> str:
        """The printed control line, once the server answers."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()
            line = next((x for x in self.log.read_text().splitlines() if "_control" in x), None)
            if line is not None:
                try:
                    if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                        return line
                except httpx.TransportError:
                    pass
            time.sleep(0.05)
        raise AssertionError(f"the server did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._out.close()


@pytest.fixture
def server(env: dict[str, str], cli: Cli) -> Iterator[Server]:
    started = Server(env, cli.cwd)
    try:
        yield started
    finally:
        started.stop()


def test_org_from_a_seed_file_then_in_orgs_list(cli: Cli, tmp_path: Path) -> None:
    """`orgs create FILE` prints the org with its people, tokens and meetings; `orgs list` has it."""
    token = "t" * 40
    seed = {
        "name": "Seeded",
        "people": [{"email": "ann@example.com", "displayName": "Ann", "token": token}],
        "meetings": [meeting("Planning", time.time() + DAY, ["bob@example.com"])],
    }
    org = create_org(cli, tmp_path, seed)
    assert org["name"] == "Seeded" and org["journal"] is False
    assert [(p["email"], p["token"]) for p in org["people"]] == [("ann@example.com", token)]
    assert [m["title"] for m in org["meetings"]] == ["Planning"]
    listed = {o["id"]: o["name"] for o in cli.json("orgs", "list")}
    assert listed[org["id"]] == "Seeded" and "Default" in listed.values()
    assert re.search(rf"^Seeded\s+off\s+.*{org['id']}$", cli.ok("orgs", "list"), re.M)


def test_orgs_create_from_stdin_or_options_with_defaults(cli: Cli) -> None:
    """`orgs create -` reads stdin; `--name --journal` alone gives a host and an admin."""
    piped = json.loads(cli.ok("orgs", "create", "-", stdin='{"name": "Piped"}'))
    assert piped["name"] == "Piped"
    org = json.loads(cli.ok("orgs", "create", "--name", "Named", "--journal"))
    assert (org["name"], org["journal"]) == ("Named", True)
    assert [(p["email"], p["admin"]) for p in org["people"]] == [
        ("host@example.com", False),
        ("admin@example.com", True),
    ]


def test_org_named_by_api_id_uuid_or_unique_name(cli: Cli) -> None:
    """An org is found by its API id, its uuid or its name; a shared name is refused."""
    org = json.loads(cli.ok("orgs", "create", "--name", "Twin"))
    uuid = base64.urlsafe_b64decode(org["id"] + "==").decode().rsplit("/", 1)[1]
    for ref in (org["id"], uuid, "Twin"):
        assert cli.json("faults", "list", ref) == []
    cli.ok("orgs", "create", "--name", "Twin")
    r = cli("faults", "list", "Twin")
    assert r.returncode == 1 and "2 orgs are named 'Twin'" in r.stderr


def test_orgs_delete_removes_the_org_but_not_the_default(cli: Cli) -> None:
    """`orgs delete` removes an org; the default org cannot be deleted."""
    org = json.loads(cli.ok("orgs", "create", "--name", "Gone"))
    assert "deleted org Gone" in cli.ok("orgs", "delete", org["id"])
    assert [o["name"] for o in cli.json("orgs", "list")] == ["Default"]
    r = cli("orgs", "delete", "Default")
    assert r.returncode == 1 and "default org cannot be deleted" in r.stderr


def test_clock_advance_moves_clock_show_and_refuses_going_back(cli: Cli) -> None:
    """`clock advance` (2h, PT30M) and `clock set` move `clock show`; going back is refused."""
    cli.ok("orgs", "create", "--name", "Timed")
    cli.ok("clock", "advance", "Timed", "2h")
    assert cli.json("clock", "advance", "Timed", "PT30M")["offsetSeconds"] == 9000
    shown = cli.ok("clock", "show", "Timed")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(offset 9000 s\)\n", shown)
    back = cli("clock", "set", "Timed", iso(time.time()))
    assert back.returncode == 1 and "only moves forward" in back.stderr
    for bad in ("soon", "nan"):
        r = cli("clock", "advance", "Timed", bad)
        assert r.returncode == 1 and len(r.stderr.splitlines()) == 1, r.stderr
    cli.ok("clock", "set", "Timed", iso(time.time() + 2 * DAY))
    assert 2 * DAY - 60 < cli.json("clock", "show", "Timed")["offsetSeconds"] <= 2 * DAY


def test_faults_add_list_delete_clear(cli: Cli) -> None:
    """Faults are added with every option, listed, deleted one by one and cleared."""
    cli.ok("orgs", "create", "--name", "Faulty")
    first = cli.json(
        "faults", "add", "Faulty", "createMeeting", "--status", "503", "--retry-after", "7",
        "--message", "Try later", "--count", "2",
    )  # fmt: skip
    assert first == {
        "id": first["id"], "operation": "createMeeting", "status": 503, "retryAfter": 7,
        "message": "Try later", "probability": 1.0, "remaining": 2,
    }  # fmt: skip
    cli.ok("faults", "add", "Faulty", "*", "--latency-ms", "50", "--probability", "0.5")
    cli.ok("faults", "add", "Faulty", "smtp", "--status", "451")
    assert [f["operation"] for f in cli.json("faults", "list", "Faulty")] == [
        "createMeeting",
        "*",
        "smtp",
    ]
    assert "deleted fault" in cli.ok("faults", "delete", "Faulty", first["id"])
    assert [f["operation"] for f in cli.json("faults", "list", "Faulty")] == ["*", "smtp"]
    gone = cli("faults", "delete", "Faulty", first["id"])
    assert gone.returncode == 1 and "was not found" in gone.stderr
    cli.ok("faults", "clear", "Faulty")
    assert cli.ok("faults", "list", "Faulty") == "no faults\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bogusOperation", "--status", "500"], "'operation' must be an upstream operationId"),
        (["createMeeting"], "needs a 'status', a 'latencyMs', or both"),
        (["createMeeting", "--status", "200"], "--status: Expected `int` >= 400"),
        (["createMeeting", "--status", "500", "--probability", "2"], "--probability"),
        (["createMeeting", "--status", "500", "--message", "a\nb"], "--message: must be one line"),
    ],
)
def test_a_bad_fault_is_one_line_and_exit_1(cli: Cli, args: list[str], message: str) -> None:
    """A fault the service refuses is one line on stderr, exit code 1."""
    r = cli("faults", "add", "Default", *args)
    assert r.returncode == 1 and r.stderr.splitlines() == [r.stderr.strip()], r.stderr
    assert message in r.stderr and r.stdout == ""


def test_mail_list_org_shows_only_that_orgs_mail(cli: Cli, tmp_path: Path) -> None:
    """`mail list --org` lists the mail of that org only; without it, every org's."""
    soon = time.time() + DAY
    create_org(cli, tmp_path, {"name": "A", "meetings": [meeting("M", soon, ["a@example.com"])]})
    create_org(cli, tmp_path, {"name": "B", "meetings": [meeting("M", soon, ["b@example.com"])]})
    to_a = {m["recipient"] for m in cli.json("mail", "list", "--org", "A")}
    assert to_a == {"host@example.com", "a@example.com"}
    table = cli.ok("mail", "list", "--org", "B").splitlines()
    assert {line.split()[-1] for line in table[1:]} == {"host@example.com", "b@example.com"}
    assert len(cli.json("mail", "list")) == 4
    assert "deleted 2 message(s) of the org" in cli.ok("mail", "clear", "--org", "A")
    assert cli.json("mail", "list", "--org", "A") == []


@pytest.mark.slow
def test_journal_list_shows_the_orgs_requests(cli: Cli, server: Server) -> None:
    """`journal list` shows an org's API requests, filtered by operationId and status; clear empties it."""
    server.wait_ready()
    org = json.loads(cli.ok("orgs", "create", "--name", "Logged", "--journal"))
    headers = {"Authorization": f"Bearer {org['people'][0]['token']}"}
    assert httpx.get(f"{server.url}/v1/people/me", headers=headers).status_code == 200
    missing = httpx.get(f"{server.url}/v1/meetings/{'0' * 32}", headers=headers)
    assert missing.status_code == 404
    entries = cli.json("journal", "list", "Logged")
    assert [(e["operationId"], e["status"]) for e in entries] == [
        ("getMyOwnDetails", 200),
        ("getMeetingById", 404),
    ]
    assert [e["path"] for e in cli.json("journal", "list", "Logged", "--status", "404")] == [
        f"/v1/meetings/{'0' * 32}"
    ]
    only = cli.json("journal", "list", "Logged", "--operation-id", "getMyOwnDetails")
    assert [e["caller"] for e in only] == ["host@example.com"]
    assert "GET /v1/people/me" in cli.ok("journal", "list", "Logged")
    cli.ok("journal", "clear", "Logged")
    assert cli.ok("journal", "list", "Logged") == "no requests\n"


def test_reset_asks_then_leaves_only_the_default_org(cli: Cli, backend: Backend) -> None:
    """`reset` asks first (no: nothing happens); `reset --yes` leaves only the empty default org."""
    cli.ok("orgs", "create", "--name", "One")
    cli.ok("people", "add", "p@example.com")
    declined = cli("reset", stdin="n\n")
    assert declined.returncode == 1 and len(cli.json("orgs", "list")) == 2
    assert "only the default org" in cli.ok("reset", "--yes")
    assert [o["name"] for o in cli.json("orgs", "list")] == ["Default"]
    assert backend.rows("SELECT COUNT(*) AS n FROM people") == [{"n": 0}]


def test_meetings_start_uses_the_orgs_clock(cli: Cli, backend: Backend, tmp_path: Path) -> None:
    """`meetings start` on a series starts the occurrence due on its org's clock; prints the id alone."""
    tomorrow = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    daily = meeting("Daily", tomorrow.timestamp(), [], recurrence="FREQ=DAILY;COUNT=30")
    org = create_org(cli, tmp_path, {"name": "Later", "meetings": [daily]})
    series = org["meetings"][0]["id"]
    cli.ok("clock", "advance", "Later", "10d")
    out = cli.ok("meetings", "start", series)
    assert re.fullmatch(series + r"_I_\d{18}\n", out)
    [row] = backend.rows(
        "SELECT occurrence_start, started_at FROM instances WHERE id = ?", out.strip()
    )
    occurrence, started = row["occurrence_start"], row["started_at"]
    assert started >= time.time() + 10 * DAY - 60  # the org's now, ten days ahead
    assert started - 3600 < occurrence <= started  # the occurrence in progress then, not tomorrow's


@pytest.mark.parametrize(
    "args",
    [
        ["clock", "advance", "nowhere", "1h"],
        ["faults", "add", "nowhere", "*", "--status", "500"],
        ["journal", "list", "nowhere"],
        ["mail", "list", "--org", "nowhere"],
        ["people", "add", "x@example.com", "--org", "nowhere"],
    ],
)
def test_an_unknown_org_is_one_line_and_exit_1(cli: Cli, args: list[str]) -> None:
    """Naming an org that does not exist: `error: Org '…' was not found.` alone, exit code 1."""
    r = cli(*args)
    assert r.returncode == 1
    assert r.stderr == "error: Org 'nowhere' was not found.\n" and r.stdout == ""


@pytest.mark.sqlite_only  # a file that is not there
def test_a_missing_database_is_one_line_and_not_created(cli: Cli, tmp_path: Path) -> None:
    """Where DATABASE_URL names no file, a command says so in one line and creates nothing."""
    missing = tmp_path / "nothing-here.db"
    cli.env = {**cli.env, "DATABASE_URL": f"sqlite:///{missing}"}
    for args in (["orgs", "list"], ["mail", "list"]):
        r = cli(*args)
        assert r.returncode == 1 and r.stderr.count("\n") == 1 and "breakouts migrate" in r.stderr
    assert not missing.exists()


def test_people_and_tokens_in_an_org(cli: Cli, backend: Backend) -> None:
    """`people add --org` and `tokens create --org` work in that org; the same email may be in two."""
    org = json.loads(cli.ok("orgs", "create", "--name", "Other"))
    cli.ok("people", "add", "same@example.com")
    cli.ok("people", "add", "same@example.com", "--org", "Other")
    token = cli.ok("tokens", "create", "same@example.com", "--org", org["id"]).splitlines()[-1]
    owners = backend.rows(
        "SELECT o.name FROM tokens t JOIN people p ON p.id = t.person_id"
        " JOIN orgs o ON o.id = p.org_id WHERE p.email = 'same@example.com'"
    )
    assert owners == [{"name": "Other"}] and len(token) >= 43


@pytest.mark.slow
def test_serve_control_prints_a_token_the_control_plane_accepts(server: Server) -> None:
    """`serve --control` prints the control URL and a new operator token that /_control accepts."""
    line = server.wait_ready()
    match = re.fullmatch(r"control plane: (\S+), operator token: (\S+)", line)
    assert match and match.group(1) == f"{server.url}/_control", line
    token = match.group(2)
    assert len(token) >= 43
    ok = httpx.get(f"{server.url}/_control/orgs", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and [o["name"] for o in ok.json()["items"]] == ["Default"]
    wrong = httpx.get(
        f"{server.url}/_control/orgs", headers={"Authorization": "Bearer " + "x" * 43}
    )
    assert wrong.status_code == 401
