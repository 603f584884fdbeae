"""The pytest plugin (SPEC §11), as a user's project gets it and fixture by fixture.

The README's example, ``examples/test_with_breakouts.py``, is copied into a directory outside
this repository and run by the venv's pytest in a subprocess: the fixtures then come only from
the installed package's ``pytest11`` entry point. It runs plainly, under ``-n 4`` (one server
for every worker, stopped at the end), and against a server started here (``BREAKOUTS_URL``).
The other tests use the fixtures in this process, as any test of this repository may.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from breakouts import pytest_plugin
from breakouts.pytest_plugin import BreakoutsServer, BreakoutsServerError, ControlError, WebexOrg

BIN = Path(sys.executable).parent
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "test_with_breakouts.py"
# Plugins of this venv the example does not use; each xdist worker would import them again.
UNRELATED = ("no:schemathesis", "no:hypothesispytest", "no:asyncio", "no:anyio", "no:cacheprovider")
SUMMARY = re.compile(
    r"breakouts: (\d+) servers? started \((\S+), pid (\d+)\)(?:, shared by (\d+) worker)?"
)
RUN_TIMEOUT_S = 240


def user_env(tmp: Path, **extra: str) -> dict[str, str]:
    """This environment without anything that would steer breakouts or pytest; its own TMPDIR."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BREAKOUTS_", "PYTEST_"))
        and k not in {"DATABASE_URL", "REDIS_URL", "SMTP_URL", "API_MODEL_ALLOW_EXTRA"}
    }
    env["TMPDIR"] = str(tmp)
    env.update(extra)
    return env


def run_pytest(project: Path, env: dict[str, str], *args: str) -> str:
    """``pytest ARGS`` in ``project``; its output, asserting that every test passed."""
    plugins = [a for p in UNRELATED for a in ("-p", p)]
    try:
        out = subprocess.run(
            [str(BIN / "pytest"), "-q", "-W", "error::ResourceWarning", *plugins, *args],
            cwd=project, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"pytest {args} ran over {RUN_TIMEOUT_S} s:\n{exc.stdout!r}") from exc
    output = out.stdout + out.stderr
    assert out.returncode == 0, output
    assert " failed" not in output and " error" not in output, output
    assert "Exception ignored" not in output, output  # e.g. a ResourceWarning at a worker's exit
    return output


def project_with_example(tmp_path: Path, copies: int = 1) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    for n in range(copies):
        shutil.copyfile(EXAMPLE, project / f"test_with_breakouts_{n}.py")
    (tmp_path / "tmp").mkdir()
    assert not project.resolve().is_relative_to(EXAMPLE.parents[1])
    return project


def gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def assert_cleaned_up(tmp: Path, pid: int) -> None:
    """The server process has exited and its temporary directory and the run's state are gone."""
    deadline = time.monotonic() + 5
    while not gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert gone(pid), f"server {pid} still running"
    assert not list(tmp.glob("breakouts-server-*"))
    assert not list(tmp.glob("breakouts-pytest-*/*"))


@pytest.mark.slow
def test_example_in_a_users_project(tmp_path: Path) -> None:
    """Plain pytest: the example's three tests pass on one server, which is stopped after."""
    project = project_with_example(tmp_path)
    output = run_pytest(project, user_env(tmp_path / "tmp"))
    assert "3 passed" in output, output
    summaries = SUMMARY.findall(output)
    assert len(summaries) == 1, output
    starts, _, pid, _ = summaries[0]
    assert starts == "1"
    assert_cleaned_up(tmp_path / "tmp", int(pid))


@pytest.mark.slow
def test_example_under_xdist_shares_one_server(tmp_path: Path) -> None:
    """``-n 4``: two copies of the example (6 tests) on several workers, and one server."""
    project = project_with_example(tmp_path, copies=2)
    output = run_pytest(project, user_env(tmp_path / "tmp"), "-n", "4")
    assert "6 passed" in output, output
    summaries = SUMMARY.findall(output)
    assert len(summaries) == 1, output
    starts, _, pid, workers = summaries[0]
    assert starts == "1", output
    assert int(workers) >= 2, output  # xdist hands tests out two at a time
    assert_cleaned_up(tmp_path / "tmp", int(pid))


def http(method: str, url: str, token: str, body: Any = None) -> Any:
    """One JSON request to our own server (http://127.0.0.1:…)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        raw = response.read()
    return json.loads(raw) if raw else None


@pytest.mark.slow
def test_example_against_an_existing_server(tmp_path: Path) -> None:
    """BREAKOUTS_URL + BREAKOUTS_CONTROL_TOKEN: that server, which is left running, is used."""
    project = project_with_example(tmp_path)
    started = pytest_plugin._start(detach=False)
    try:
        env = user_env(
            tmp_path / "tmp", BREAKOUTS_URL=started.url + "/", BREAKOUTS_CONTROL_TOKEN=started.token
        )
        output = run_pytest(project, env, "-n", "2")
        assert "3 passed" in output, output
        assert not SUMMARY.search(output), output  # started none
        assert started.proc.poll() is None
        # Every org the tests created was deleted: only the default org is left.
        orgs = http("GET", f"{started.url}/_control/orgs", started.token)["items"]
        assert [o["name"] for o in orgs] == ["Default"]
    finally:
        pytest_plugin._stop_pid(started.pid, started.proc)
        shutil.rmtree(started.directory, ignore_errors=True)


def test_a_server_that_cannot_start_is_reported_with_its_output(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    script = "import sys; print('no database here'); sys.exit(3)"
    monkeypatch.setattr(pytest_plugin, "_command", lambda: [sys.executable, "-c", script])
    with pytest.raises(BreakoutsServerError) as caught:
        pytest_plugin._start(detach=False)
    message = str(caught.value)
    assert "exited with status 3" in message
    assert "no database here" in message


# --- the fixtures in this process ----------------------------------------------------------------


def api(org: WebexOrg, method: str, path: str, token: str, body: Any = None) -> Any:
    return http(method, f"{org.base_url}{path}", token, body)


def test_org_people_and_tokens(webex_org: WebexOrg, breakouts_server: BreakoutsServer) -> None:
    assert webex_org.base_url == f"{breakouts_server.url}/v1"
    assert not breakouts_server.url.endswith("/")
    assert (webex_org.host.email, webex_org.admin.email) == (
        "host@example.com",
        "admin@example.com",
    )
    assert webex_org.admin.admin and not webex_org.host.admin
    me = api(webex_org, "GET", "/people/me", webex_org.host.token)
    assert me["emails"] == ["host@example.com"]
    assert me["orgId"] == webex_org.id
    ana = webex_org.add_person("ana@example.com")
    assert (ana.email, ana.admin) == ("ana@example.com", False)
    assert api(webex_org, "GET", "/people/me", ana.token)["id"] == ana.id
    boss = webex_org.add_person("boss@example.com", admin=True)
    assert boss.admin


@pytest.mark.breakouts_org(
    journal=True,
    people=[
        {"email": "lead@example.com", "display_name": "Lead", "admin": True},
        {"email": "dev@example.com", "token": "d" * 40},
    ],
)
def test_marker_chooses_people_and_journal(webex_org: WebexOrg) -> None:
    assert webex_org.journal_enabled
    assert (webex_org.host.email, webex_org.host.token) == ("dev@example.com", "d" * 40)
    assert (webex_org.admin.email, webex_org.admin.display_name) == ("lead@example.com", "Lead")
    api(webex_org, "GET", "/people/me", webex_org.host.token)
    webex_org.faults.add("getMyOwnDetails", status=503, retry_after=2, count=1)
    with pytest.raises(urllib.error.HTTPError) as caught:
        api(webex_org, "GET", "/people/me", webex_org.host.token)
    assert caught.value.code == 503
    assert caught.value.headers["Retry-After"] == "2"
    caught.value.close()
    entries = webex_org.journal.list(operation_id="getMyOwnDetails")
    assert [e["status"] for e in entries] == [200, 503]
    assert [e["status"] for e in webex_org.journal.list(status=503)] == [503]
    webex_org.journal.clear()
    assert webex_org.journal.list() == []


def test_clock_faults_and_mail(webex_org: WebexOrg) -> None:
    before = webex_org.clock.now()
    assert before.tzinfo is not None
    after = webex_org.clock.advance(3600)
    assert 3600 <= (after - before).total_seconds() < 3660
    later = webex_org.clock.advance(timedelta(days=1))
    assert (later - after).days == 1
    with pytest.raises(ControlError) as caught:
        webex_org.clock.to(before)  # never backwards
    assert caught.value.status == 400
    rule = webex_org.faults.add("*", latency_ms=5, probability=0.5)
    assert rule["latencyMs"] == 5 and rule["probability"] == 0.5
    assert [f["id"] for f in webex_org.faults.list()] == [rule["id"]]
    webex_org.faults.remove(rule["id"])
    webex_org.faults.add("listMeetings", status=500)
    webex_org.faults.clear()
    assert webex_org.faults.list() == []
    assert webex_org.mail.list(meeting_id="0" * 32, to="x@example.com") == []
    with pytest.raises(TypeError, match="meetingId"):
        webex_org.mail.list(meetingId="x")
    webex_org.mail.clear()


def test_start_meeting_returns_the_instance(webex_org: WebexOrg) -> None:
    start = webex_org.clock.now() + timedelta(minutes=5)
    end = start + timedelta(minutes=30)
    meeting = api(
        webex_org, "POST", "/meetings", webex_org.host.token,
        {"title": "Stand-up", "start": start.isoformat(), "end": end.isoformat()},
    )  # fmt: skip
    instance = webex_org.start_meeting(meeting["id"])
    assert instance["id"].startswith(meeting["id"] + "_")
    assert instance["state"] == "inProgress"


def test_orgs_are_apart_and_deleted(breakouts_server: BreakoutsServer) -> None:
    with breakouts_server.new_org() as one, breakouts_server.new_org() as two:
        assert one.id != two.id
        assert one.host.email == two.host.email
        meeting = api(
            one, "POST", "/meetings", one.host.token,
            {"title": "Mine", "start": "2099-01-01T10:00:00Z", "end": "2099-01-01T11:00:00Z"},
        )  # fmt: skip
        with pytest.raises(urllib.error.HTTPError) as caught:
            api(two, "GET", f"/meetings/{meeting['id']}", two.host.token)
        assert caught.value.code == 404
        caught.value.close()
    with pytest.raises(ControlError) as gone_org:
        one.clock.now()
    assert gone_org.value.status == 404


def test_org_setup_is_fast(breakouts_server: BreakoutsServer) -> None:
    """A fresh org (what ``webex_org`` sets up) takes a few ms: median of 50 well under 50 ms."""
    setups = []
    for _ in range(55):
        t = time.perf_counter()
        org = breakouts_server.new_org()
        setups.append(time.perf_counter() - t)
        org.delete()
    median = statistics.median(setups[5:])
    assert median < 0.05, f"median org setup {median * 1000:.1f} ms"


def test_workers_of_a_run_share_one_start_and_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The locked state file: the first worker starts, the others join; the controller stops."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stand_in = subprocess.Popen(["sleep", "60"], start_new_session=True)
    starts: list[bool] = []

    def start(*, detach: bool) -> pytest_plugin._Started:
        starts.append(detach)
        directory = tempfile.mkdtemp(prefix="breakouts-server-")
        return pytest_plugin._Started(
            "http://127.0.0.1:9", "t" * 43, stand_in.pid, directory, stand_in
        )

    monkeypatch.setattr(pytest_plugin, "_start", start)
    servers = [pytest_plugin._shared_server("run1", f"gw{n}") for n in range(3)]
    assert starts == [True]
    assert {(s.url, s.control_token, s.pid) for s in servers} == {
        ("http://127.0.0.1:9", "t" * 43, stand_in.pid)
    }
    line = pytest_plugin._stop_shared("run1")
    assert line is not None
    assert "1 server started" in line and "shared by 3 worker(s): gw0, gw1, gw2" in line
    assert stand_in.wait(timeout=10) == -signal.SIGTERM
    assert not list(tmp_path.glob("breakouts-server-*"))
    assert not list(tmp_path.glob("breakouts-pytest-*/*"))
    assert pytest_plugin._stop_shared("run1") is None

    def fail(*, detach: bool) -> pytest_plugin._Started:
        starts.append(detach)
        raise BreakoutsServerError("breakouts serve exited with status 1. Its output:\nboom")

    monkeypatch.setattr(pytest_plugin, "_start", fail)
    for worker in ("gw0", "gw1"):
        with pytest.raises(BreakoutsServerError, match="boom"):
            pytest_plugin._shared_server("run2", worker)
    assert starts == [True, True]  # the second worker was told, and did not try again
