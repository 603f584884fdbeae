"""A newcomer's first run: `breakouts serve` on an empty directory prints a curl line that works;
every start says where it listens; a restart says how to get a token again; the first `make run`
says what it installs (issue #9 items 2-4)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]


def stop(proc: subprocess.Popen[str]) -> None:
    """Stop a server this test started, by its PID: SIGTERM, then SIGKILL after 10 s."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.slow
def test_printed_curl_line_deletes_demo_breakout_sessions(tmp_path: Path) -> None:
    """The DELETE curl printed on first start answers 204 and the meeting then shows the flag false."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.Popen(
        [str(BIN / "breakouts"), "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any("curl -s" in x for x in lines):
            lines.append(proc.stdout.readline())
        delete_line = next(x for x in lines if "curl -i -X DELETE" in x).strip()
        get_line = next(x for x in lines if "curl -s" in x).strip()
        assert (tmp_path / "breakouts.db").exists()
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        out = subprocess.run(shlex.split(delete_line), capture_output=True, text=True, timeout=10)
        assert re.search(r"HTTP/1\.1 204", out.stdout), out.stdout
        meeting = json.loads(
            subprocess.run(shlex.split(get_line), capture_output=True, text=True, timeout=10).stdout
        )
        assert meeting["enabledBreakoutSessions"] is False
    finally:
        stop(proc)


@contextmanager
def serving(cwd: Path, port: int) -> Iterator[list[str]]:
    """`breakouts serve` in ``cwd`` (DATABASE_URL unset, as after `make run`), its output so far
    once it prints the line that says where it listens."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKOUTS_", "DATABASE_"))}
    proc = subprocess.Popen(
        [str(BIN / "breakouts"), "serve", "--port", str(port)],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (lines and lines[-1].startswith("Listening")):
            line = proc.stdout.readline()
            assert line, "".join(lines)  # the server ended
            lines.append(line)
        yield lines
    finally:
        stop(proc)


def get(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(url, headers=headers, timeout=5).status_code


@pytest.mark.slow
def test_every_start_says_where_it_listens_and_a_restart_how_to_get_a_token(
    tmp_path: Path,
) -> None:
    """Both starts end with the address, the API and /docs, which answer once it is printed; the
    second prints a command that, run as printed from another directory without `breakouts` on
    the PATH, makes a token the server accepts."""
    server = tmp_path / "server"
    server.mkdir()
    port = free_port()
    local = f"http://127.0.0.1:{port}"
    listening = (
        f"Listening on {local}: the API at {local}/v1, interactive docs at {local}/docs"
        " (Ctrl-C stops it)\n"
    )
    with serving(server, port) as first:
        assert first[-1] == listening and any("Demo site created" in x for x in first)
        assert get(f"{local}/docs") == 200
    with serving(server, port) as second:
        assert second[-1] == listening and not re.search(r"token [\w-]{43}", "".join(second))
        assert get(f"{local}/docs") == 200
        said = "".join(second)
        assert "The demo site exists" in said and "A fresh token for its host:" in said
        command = second[second.index("A fresh token for its host:\n") + 1].strip()
        assert command.startswith(f"cd {server} && ") and command.endswith(
            "tokens create host@example.com"
        )
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKOUTS_", "DATABASE_"))}
        env["PATH"] = "/usr/bin:/bin"  # no venv on it, as after `make run`
        made = subprocess.run(
            ["/bin/sh", "-c", command], cwd=elsewhere, env=env, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        token = made.stdout.strip().splitlines()[-1]
        assert get(f"{local}/v1/people/me", token) == 200
    assert sorted(p.name for p in elsewhere.iterdir()) == []


def test_the_token_command_names_the_database_when_database_url_is_set(tmp_path: Path) -> None:
    """With DATABASE_URL set, the printed command carries it (absolute): it works anywhere."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKOUTS_", "DATABASE_"))}
    env["DATABASE_URL"] = "sqlite:///site.db"
    breakouts = str(BIN / "breakouts")
    for args in (["migrate"], ["demo"], ["demo"]):
        done = subprocess.run(
            [breakouts, *args], cwd=tmp_path, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    command = done.stdout.strip().splitlines()[-1].strip()
    assert command.startswith(f"DATABASE_URL=sqlite:///{tmp_path / 'site.db'} ")
    env = {**env, "PATH": "/usr/bin:/bin"}
    del env["DATABASE_URL"]
    made = subprocess.run(
        ["/bin/sh", "-c", command], cwd="/", env=env, capture_output=True, text=True, timeout=60
    )
    assert made.returncode == 0 and made.stdout.startswith("token for host@example.com"), made


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_the_first_make_run_says_what_it_installs_before_it_starts(tmp_path: Path) -> None:
    """Before a quiet pip install of ~40 s, `make run` prints one line saying so (here the
    install fails at once: PYTHON=false)."""
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    for target, what in (("run", "about 40 s"), ("test", "1-2 minutes")):
        r = subprocess.run(
            ["make", "--no-print-directory", target, "PYTHON=false"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert r.returncode != 0
        first, *rest = r.stdout.splitlines()
        assert first.startswith("Installing breakouts") and what in first, r.stdout
        assert "first time" in first and rest == [], r.stdout
