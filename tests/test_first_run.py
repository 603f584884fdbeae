"""A newcomer's first run: `breakouts serve` on an empty directory prints a curl line that works."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


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
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
