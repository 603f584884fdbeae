"""Per-token limits in process memory (no REDIS_URL): as before, with Retry-After in real seconds."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from breakouts.clock import Clock
from tests.conftest import World, assert_error, auth

pytestmark = pytest.mark.parametrize("settings_overrides", [{"rate_limit": "2/minute"}])


async def test_retry_after_counts_real_seconds_whatever_the_clock_says(
    client: httpx.AsyncClient, world: World, clock: Clock, settings_overrides: dict[str, Any]
) -> None:
    """With the service clock a day ahead, the 429 still asks to wait the rest of the real
    minute (not 1 s, as a window measured against the moved clock would say)."""
    token = await world.person("host@example.com")
    clock.advance(86400)
    for _ in range(2):
        assert (await client.get("/v1/people/me", headers=auth(token))).status_code == 200
    r = await client.get("/v1/people/me", headers=auth(token))
    assert_error(r, 429)
    assert r.headers["Retry-After"].isdigit()
    assert 50 <= int(r.headers["Retry-After"]) <= 60


async def test_readyz_says_redis_is_off_without_a_url(
    client: httpx.AsyncClient, settings_overrides: dict[str, Any]
) -> None:
    """No REDIS_URL: /readyz is ready and reports `"redis": "off"`."""
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["status"] == "ready" and r.json()["redis"] == "off"
