"""A 256 MB chunked body costs a real server a few MB at most, with or without a token (issue #10)."""

from __future__ import annotations

import os
import re
import select
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_first_run import free_port, stop

BIN = Path(sys.executable).parent
TOTAL = 256 << 20
CHUNK = b" " * (1 << 16)


def _kib(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.M)
    assert match, status
    return int(match.group(1))


def _stream_chunked(port: int, path: str, token: str | None, deadline_s: float = 30.0) -> str:
    """Send up to 256 MB as chunks until the server answers; return its status line."""
    head = f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    head += "Transfer-Encoding: chunked\r\n\r\n"
    frame = f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
    deadline = time.monotonic() + deadline_s
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.encode() + b"1\r\n{\r\n")
        sent = 0
        while sent < TOTAL and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                break  # the server has answered: stop sending
            if writable:
                try:
                    sock.sendall(frame)
                except (BrokenPipeError, ConnectionResetError):
                    break
                sent += len(CHUNK)
        sock.settimeout(10)
        answer = sock.recv(65536).decode("latin-1")
    return answer.split("\r\n", 1)[0]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, int, str, str]]:
    """A real ``breakouts serve`` on a fresh database: (port, pid, host token, meeting id)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.Popen(
        [str(BIN / "breakouts"), "serve", "--port", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        text = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "curl -s" not in text:
            text += proc.stdout.readline()
        token = re.search(r"host@example\.com\s+token (\S+)", text)
        meeting = re.search(r"sample meeting series ([0-9a-f]{32})", text)
        assert token and meeting, text
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        yield port, proc.pid, token.group(1), meeting.group(1)
    finally:
        stop(proc)


@pytest.mark.slow
def test_256_mb_chunked_body_costs_a_few_mb(server: tuple[int, int, str, str]) -> None:
    """Without a token: 401 before reading; with one: 413 at the limit; peak RSS grows < 8 MB."""
    port, pid, token, meeting_id = server
    path = f"/v1/meetings/{meeting_id}/breakoutSessions"
    _stream_chunked(port, path, "warm-up-token-that-does-not-exist")
    before = _kib(pid, "VmHWM")
    started = time.monotonic()
    assert " 401 " in _stream_chunked(port, path, None) + " "
    assert " 401 " in _stream_chunked(port, path, "not-a-token-0123456789") + " "
    assert " 413 " in _stream_chunked(port, path, token) + " "
    elapsed = time.monotonic() - started
    grown_kib = _kib(pid, "VmHWM") - before
    print(f"3 x 256 MB chunked bodies: peak RSS grew by {grown_kib} KiB in {elapsed:.2f} s")
    assert grown_kib < 8 * 1024, f"peak RSS grew by {grown_kib} KiB"
    assert elapsed < 20, f"took {elapsed:.1f} s: the server kept reading"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
        assert r.status == 200
