"""Per-token limits kept in Redis (REDIS_URL), in process: the same 429, keys under the prefix."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import redis

from breakouts.clock import Clock
from tests.conftest import World, assert_error, auth
from tests.ratelimit.conftest import shared_count


@pytest.fixture
def settings_overrides(redis_url: str, key_prefix: str) -> dict[str, Any]:
    return {"redis_url": redis_url, "redis_key_prefix": key_prefix, "rate_limit": "3/minute"}


async def test_over_the_shared_limit_is_429_with_whole_seconds_of_real_time(
    client: httpx.AsyncClient, world: World, clock: Clock, redis_url: str, key_prefix: str
) -> None:
    """Past the limit counted in Redis: 429, the Webex error body, an integer Retry-After from
    the real clock (the service clock is a day ahead); every request counted under the prefix."""
    token = await world.person("host@example.com")
    clock.advance(86400)
    for _ in range(3):
        assert (await client.get("/v1/people/me", headers=auth(token))).status_code == 200
    before = world.snapshot()
    r = await client.delete("/v1/meetings/" + "0" * 32 + "/breakoutSessions", headers=auth(token))
    assert_error(r, 429)
    assert r.headers["Retry-After"].isdigit()
    assert 30 <= int(r.headers["Retry-After"]) <= 60
    assert world.snapshot() == before
    assert shared_count(redis_url, key_prefix) == 3
    with redis.Redis.from_url(redis_url) as r_:
        keys = [k.decode() for k in r_.scan_iter(match=f"{key_prefix}*")]
    assert keys and not any(token in k for k in keys)  # the token's hash, never the token


async def test_the_limit_is_per_token(
    client: httpx.AsyncClient, world: World, settings_overrides: dict[str, Any]
) -> None:
    """One token past its limit leaves another token's requests alone."""
    spent = await world.person("host@example.com")
    other = await world.person("other@example.com")
    codes = [(await client.get("/v1/people/me", headers=auth(spent))).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert (await client.get("/v1/people/me", headers=auth(other))).status_code == 200


async def test_readyz_says_redis_is_ok(client: httpx.AsyncClient) -> None:
    """REDIS_URL set and Redis answering: /readyz reports `"redis": "ok"`."""
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["redis"] == "ok"
