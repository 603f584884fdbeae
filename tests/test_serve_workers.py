"""`breakouts serve --workers N` (issue #8): N server processes on one port, one database.

Each test runs the real `breakouts` of the venv on a temporary SQLite file and stops it by its
PID. The processes are found as the supervisor's children in /proc (Linux).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.backends import Backend
from tests.test_first_run import free_port, stop

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)"),
]
BIN = Path(sys.executable).parent


def children(pid: int) -> set[int]:
    """The live server processes whose parent is ``pid`` (multiprocessing's ``spawn``
    children; not its resource tracker)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after it
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            with contextlib.suppress(OSError):
                if b"spawn_main" in (entry / "cmdline").read_bytes():
                    found.add(int(entry.name))
    return found


def wait_for(check: object, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


@contextmanager
def serving(
    tmp_path: Path, port: int, workers: int, url: str
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`serve --workers N --control` on the test's database; the process and its output up to
    'N server processes', once every process answers /healthz."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKOUTS_", "DATABASE_"))}
    env |= {"DATABASE_URL": url, "BREAKOUTS_LOG_LEVEL": "warning"}
    proc = subprocess.Popen(
        [str(BIN / "breakouts"), "serve", "--port", str(port), "--workers", str(workers), "--control"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not (lines and "server processes" in lines[-1]):
            line = proc.stdout.readline()
            assert line, "".join(lines)  # the server ended
            lines.append(line)
        wait_for(lambda: len(children(proc.pid)) >= workers)
        wait_for(lambda: _healthy(port))
        yield proc, "".join(lines)
    finally:
        stop(proc)


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def fresh(port: int) -> httpx.Client:
    """A client that opens a new connection for every request (spread over the processes)."""
    return httpx.Client(
        base_url=f"http://127.0.0.1:{port}",
        timeout=10,
        limits=httpx.Limits(max_keepalive_connections=0),
    )


def test_n_processes_share_the_port_and_agree_on_control_plane_changes(
    backend: Backend, tmp_path: Path
) -> None:
    """Two processes serve one port; an org and its clock set through one are seen by all."""
    port = free_port()
    with serving(tmp_path, port, 2, backend.url) as (proc, out):
        assert f"Listening on http://127.0.0.1:{port}" in out
        assert "2 server processes" in out
        operator = re.search(r"operator token: (\S+)", out)
        assert operator is not None
        op = {"Authorization": f"Bearer {operator.group(1)}"}
        assert len(children(proc.pid)) == 2
        with fresh(port) as c:
            org = c.post("/_control/orgs", json={"name": "scale"}, headers=op)
            assert org.status_code == 201, org.text
            org_id = org.json()["id"]
            host = next(
                p["token"] for p in org.json()["people"] if p["email"] == "host@example.com"
            )
            moved = c.post(f"/_control/orgs/{org_id}/clock", json={"advance": "P3D"}, headers=op)
            assert moved.status_code == 200, moved.text
            offset = moved.json()["offsetSeconds"]
            assert offset == 3 * 86400
            for _ in range(20):  # new connections: both processes answer some of them
                clock = c.get(f"/_control/orgs/{org_id}/clock", headers=op)
                assert clock.status_code == 200 and clock.json()["offsetSeconds"] == offset
                me = c.get("/v1/people/me", headers={"Authorization": f"Bearer {host}"})
                assert me.status_code == 200 and me.json()["orgId"] == org_id


def test_a_killed_process_is_replaced_and_sigterm_stops_them_all(
    backend: Backend, tmp_path: Path
) -> None:
    """SIGKILL one process: the other goes on answering and the supervisor starts a new one;
    SIGTERM to the supervisor stops every process and it exits 0."""
    port = free_port()
    with serving(tmp_path, port, 2, backend.url) as (proc, _):
        first = children(proc.pid)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        with fresh(port) as c:
            for _ in range(10):
                assert c.get("/healthz").status_code == 200
        wait_for(lambda: len(children(proc.pid)) == 2 and victim not in children(proc.pid))
        wait_for(lambda: _healthy(port))
        survivors = children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        for pid in survivors:
            wait_for(lambda pid=pid: not Path(f"/proc/{pid}").exists() or _zombie(pid), 10)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2 :].split()[0] == "Z"


def test_workers_must_be_a_positive_number(tmp_path: Path) -> None:
    """`--workers 0` is a usage error (exit 2) that names the option; nothing starts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKOUTS_", "DATABASE_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'w.db'}"
    r = subprocess.run(
        [str(BIN / "breakouts"), "serve", "--workers", "0"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 2 and "--workers" in r.stderr
    assert not (tmp_path / "w.db").exists()
