"""Real `breakouts serve` processes on one Redis: one limit for all of them, and what they do
while Redis is cut off or hung (a TCP proxy plays the outage; the shared Redis keeps running)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.ratelimit.conftest import (
    Mode,
    Proxy,
    Server,
    fallbacks,
    host_token,
    serving,
    shared_count,
    through,
)

pytestmark = pytest.mark.slow
LIMIT = 20


def me(client: httpx.Client, token: str) -> httpx.Response:
    return client.get("/v1/people/me", headers={"Authorization": f"Bearer {token}"})


def test_two_processes_share_one_limit(tmp_path: Path, redis_url: str, key_prefix: str) -> None:
    """Two servers on one Redis accept, between them, the limit once (not once each); each 429
    carries an integer Retry-After."""
    env = {
        "REDIS_URL": redis_url,
        "BREAKOUTS_REDIS_KEY_PREFIX": key_prefix,
        "BREAKOUTS_RATE_LIMIT": f"{LIMIT}/minute",
    }
    with serving(tmp_path, "a", **env) as a, serving(tmp_path, "b", **env) as b:
        token = host_token(a)
        accepted = {a.url: 0, b.url: 0}
        with a.client() as ca, b.client() as cb:
            for _ in range(LIMIT + 10):  # 60 requests: per-process limits would accept 40
                for server, c in ((a, ca), (b, cb)):
                    r = me(c, token)
                    assert r.status_code in (200, 429), r.text
                    if r.status_code == 200:
                        accepted[server.url] += 1
                    else:
                        assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert LIMIT <= sum(accepted.values()) <= LIMIT + 2, accepted
    assert all(accepted.values()), accepted  # both processes counted into the one limit
    assert shared_count(redis_url, key_prefix) == sum(accepted.values())


def ready(server: Server) -> dict[str, object]:
    r = httpx.get(f"{server.url}/readyz", timeout=10)
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


@pytest.mark.parametrize("outage", ["cut", "hang"])
def test_requests_go_on_while_redis_is_away_and_shared_limits_come_back(
    tmp_path: Path, redis_url: str, key_prefix: str, proxy: Proxy, outage: Mode
) -> None:
    """Redis cut off or hung: every request is still answered, none waits on Redis after the
    first, /readyz says degraded (still ready), the fallback metric counts them and the log says
    so; Redis back: within seconds readyz is ok and requests are counted in Redis again."""
    env = {
        "REDIS_URL": through(redis_url, proxy),
        "BREAKOUTS_REDIS_KEY_PREFIX": key_prefix,
        "BREAKOUTS_RATE_LIMIT": "1000/minute",
        "BREAKOUTS_REDIS_TIMEOUT_MS": "250",
    }
    with serving(tmp_path, "a", **env) as a, a.client() as c:
        token = host_token(a)
        assert ready(a)["redis"] == "ok"
        for _ in range(5):
            assert me(c, token).status_code == 200
        assert shared_count(redis_url, key_prefix) == 5

        proxy.set(outage)
        started = time.monotonic()
        assert me(c, token).status_code == 200  # waits the timeout at most, then memory
        assert time.monotonic() - started < 2
        started = time.monotonic()
        for _ in range(20):  # 20 x 250 ms if each waited on Redis
            assert me(c, token).status_code == 200
        assert time.monotonic() - started < 2.5
        body = ready(a)
        assert body["status"] == "ready" and body["redis"] == "degraded"
        assert fallbacks(a) >= 21
        assert shared_count(redis_url, key_prefix) == 5
        assert "redis unreachable" in a.log.read_text()

        proxy.set("pass")
        deadline = time.monotonic() + 10
        while ready(a)["redis"] != "ok":
            assert time.monotonic() < deadline, a.log.read_text()
            time.sleep(0.2)
        before = fallbacks(a)
        for _ in range(5):
            assert me(c, token).status_code == 200
        assert shared_count(redis_url, key_prefix) == 10
        assert fallbacks(a) == before
        assert "redis reachable again" in a.log.read_text()
