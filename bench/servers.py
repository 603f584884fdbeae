"""Starting and stopping the servers under test, on 127.0.0.1 only, by the processes we hold."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from bench.seed import breakouts_cli, sqlite_url

REPO = Path(__file__).resolve().parent.parent
# Every request carries the same token: lift the per-token limit (the check itself still runs).
RATE_LIMIT = "1000000000/minute"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_ready(
    proc: subprocess.Popen[bytes], port: int, path: str, ok: int, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}; see its log")
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", path)
            if conn.getresponse().status == ok:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.1)
    raise RuntimeError(f"the server on port {port} was not ready after {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s: only this process, by its PID."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def _process(
    cmd: list[str], env: Mapping[str, str], log: Path, port: int, path: str, ok: int
) -> Iterator[subprocess.Popen[bytes]]:
    log_file: IO[bytes] = log.open("ab")
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_ready(proc, port, path, ok, timeout=60)
            yield proc
        finally:
            stop(proc)
    finally:
        log_file.close()


@contextmanager
def breakouts_server(
    db: Path, port: int, log: Path, extra_env: Mapping[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """``breakouts serve`` on ``db`` (mail worker off, logs to ``log``) until the block ends.

    ``extra_env`` adds settings (``--server-env``), e.g. ``BREAKOUTS_SQLITE_GROUP_COMMIT=false``.
    """
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_url(db),
        "BREAKOUTS_MAIL_WORKER": "false",
        "BREAKOUTS_RATE_LIMIT": RATE_LIMIT,
        **(extra_env or {}),
    }
    cmd = [breakouts_cli(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with _process(cmd, env, log, port, "/healthz", 200) as proc:
        yield proc


@contextmanager
def bare_server(port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """The bare ASGI app on the same uvicorn settings as ``breakouts serve``."""
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare_app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
        "--lifespan",
        "off",
    ]
    with _process(cmd, os.environ, log, port, "/", 204) as proc:
        yield proc
