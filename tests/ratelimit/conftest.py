"""Redis for the rate-limit tests: its URL, a key prefix per test, a TCP proxy the test controls,
and real `breakouts serve` processes.

The Redis is shared (other tests, other checkouts): a test writes only under its own prefix,
deletes its keys afterwards, and never stops Redis; an outage is played by the proxy.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis

from tests.services import service_url
from tests.test_first_run import free_port, stop

BIN = Path(sys.executable).parent
OPERATOR = "operator-token-for-the-rate-limit-tests-0123"


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = service_url("BREAKOUTS_TEST_REDIS_URL", "Redis")
    with redis.Redis.from_url(url, socket_timeout=5) as r:
        try:
            r.ping()
        except redis.RedisError as e:
            pytest.fail(f"BREAKOUTS_TEST_REDIS_URL={url} does not answer PING: {e!r}")
    return url


@pytest.fixture
def key_prefix(redis_url: str) -> Iterator[str]:
    """A prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"breakouts-test-{secrets.token_hex(6)}:"
    yield prefix
    with redis.Redis.from_url(redis_url) as r:
        for key in r.scan_iter(match=f"{prefix}*"):
            r.delete(key)


def shared_count(redis_url: str, prefix: str) -> int:
    """Requests counted in Redis under ``prefix`` (the sliding windows' current counters)."""
    with redis.Redis.from_url(redis_url) as r:
        keys = [k for k in r.scan_iter(match=f"{prefix}*") if not k.endswith(b"/-1")]
        return sum(int(r.get(k) or 0) for k in keys)


Mode = Literal["pass", "cut", "hang"]


class Proxy:
    """A TCP proxy to Redis: ``pass`` forwards; ``cut`` drops every connection and closes new
    ones at once (Redis down); ``hang`` keeps every connection, old and new, and forwards
    nothing (Redis hung). ``pass`` and ``cut`` drop the connections open before them."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.mode: Mode = "pass"
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def set(self, mode: Mode) -> None:
        with self._lock:
            self.mode = mode
            if mode == "hang":
                return
            dropped, self._open = self._open, []
        for s in dropped:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def close(self) -> None:
        self._listener.close()
        self.set("cut")

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if self.mode == "cut":
                client.close()
                continue
            upstream = None if self.mode == "hang" else socket.create_connection(self.target)
            with self._lock:
                self._open += [client] if upstream is None else [client, upstream]
            if upstream is not None:
                for src, dst in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                while self.mode == "hang":  # swallow nothing, answer nothing
                    time.sleep(0.01)
                dst.sendall(data)
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def proxy(redis_url: str) -> Iterator[Proxy]:
    parts = urlsplit(redis_url)
    p = Proxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    yield p
    p.close()


def through(redis_url: str, proxy: Proxy) -> str:
    """``redis_url`` with the proxy's address in place of Redis'."""
    parts = urlsplit(redis_url)
    auth = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=f"{auth}@" * bool(auth) + f"127.0.0.1:{proxy.port}"))


@dataclass
class Server:
    """One `breakouts serve` process this test started."""

    proc: subprocess.Popen[str]
    url: str
    log: Path

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)


@contextmanager
def serving(tmp_path: Path, name: str, **env: str) -> Iterator[Server]:
    """`breakouts serve` on a free port, on ``tmp_path``/breakouts.db (shared by the servers of
    one test), with the control plane on and ``env``; yields once it answers /healthz."""
    port = free_port()
    log = tmp_path / f"{name}.log"
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKOUTS_", "DATABASE_"))}
    base.pop("REDIS_URL", None)
    base |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'breakouts.db'}",
        "BREAKOUTS_LOG_LEVEL": "info",
        "BREAKOUTS_CONTROL_TOKEN": OPERATOR,
        **env,
    }
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(BIN / "breakouts"), "serve", "--port", str(port)],
            cwd=tmp_path, env=base, stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 30
        while not _healthy(server):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield server
    finally:
        stop(proc)


def _healthy(server: Server) -> bool:
    try:
        return httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def host_token(server: Server) -> str:
    """A new org's host token, made through the control plane (a fresh limit of its own)."""
    r = httpx.post(
        f"{server.url}/_control/orgs",
        json={"name": f"limits-{secrets.token_hex(3)}"},
        headers={"Authorization": f"Bearer {OPERATOR}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    token: str = next(p["token"] for p in r.json()["people"] if p["email"] == "host@example.com")
    return token


def fallbacks(server: Server) -> float:
    """``breakouts_rate_limit_fallback_total`` as /metrics shows it."""
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    found = re.search(r"^breakouts_rate_limit_fallback_total (\S+)$", text, re.MULTILINE)
    assert found is not None, text
    return float(found.group(1))
