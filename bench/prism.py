"""Stoplight Prism mocking the official Webex spec: what users would run instead of breakouts.

Prism remembers nothing, sends no mail and writes nothing; it answers each request from the
spec. It is installed with npm into ``bench/.prism/`` (ignored by git) when Node.js is present;
without Node the bench skips its row and says why. The spec is the repo's trimmed copy of the
official one (tests/data, CC BY 4.0) with its paths under ``/v1``, as the server URL says
(``https://webexapis.com/v1``), so the same wrk script drives both servers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
PRISM_PACKAGE = "@stoplight/prism-cli"
PRISM_VERSION = "5.16.0"  # pinned: the version the issue measured
PRISM_DIR = Path(__file__).resolve().parent / ".prism"
SPEC = ROOT / "tests" / "data" / "webex-meetings-subset.openapi.json"


def install(log: IO[str] | None = None) -> tuple[Path | None, str]:
    """Prism's executable (installing it on first use), or None and the reason it is missing."""
    binary = PRISM_DIR / "node_modules" / ".bin" / "prism"
    if binary.exists():
        return binary, ""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        return None, "Node.js and npm are not installed (apt-get install nodejs npm)"
    PRISM_DIR.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(PRISM_DIR), "--no-audit", "--no-fund",
         f"{PRISM_PACKAGE}@{PRISM_VERSION}"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if log is not None:
        log.write(done.stdout + done.stderr)
    if done.returncode != 0 or not binary.exists():
        return None, f"npm install {PRISM_PACKAGE}@{PRISM_VERSION} failed: {done.stderr[-300:]}"
    return binary, ""


def spec_under_v1(directory: Path) -> Path:
    """The official spec with each path under /v1 (its server URL's path), written to ``directory``."""
    spec = json.loads(SPEC.read_text())
    spec["paths"] = {"/v1" + path: item for path, item in spec["paths"].items()}
    out = directory / "webex-meetings-v1.openapi.json"
    out.write_text(json.dumps(spec))
    return out


class Prism:
    """``prism mock -v error`` (its fastest setting) on 127.0.0.1, stopped by its PID.

    ``--multiprocess=false`` said explicitly: Prism 5.16's multi-process mode dies at start on
    Node.js 20 (``node:cluster``'s default export is undefined there), and its single process
    is the one that answers.
    """

    def __init__(self, binary: Path, spec: Path, port: int, log: Path) -> None:
        self.port = port
        self._log = log.open("a")
        env = {**os.environ, "NODE_ENV": "production"}
        self.popen = subprocess.Popen(
            [str(binary), "mock", "-h", "127.0.0.1", "-p", str(port), "-v", "error",
             "--multiprocess=false", str(spec)],
            stdout=self._log, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip

    def wait_ready(self, meeting_id: str, token: str, timeout: float = 60.0) -> None:
        """Until a DELETE of breakout sessions answers 204 (Prism parses the spec first)."""
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}/v1/meetings/{meeting_id}/breakoutSessions"
        while True:
            if self.popen.poll() is not None:
                raise RuntimeError(f"prism exited with {self.popen.returncode}")
            try:
                request = urllib.request.Request(
                    url, method="DELETE", headers={"Authorization": f"Bearer {token}"}
                )
                with urllib.request.urlopen(request, timeout=2) as answer:  # noqa: S310 - http://127.0.0.1 only
                    if answer.status == 204:
                        return
            except (TimeoutError, urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prism did not answer the DELETE with 204 in time")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._log.close()
