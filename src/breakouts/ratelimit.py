"""Per-token rate limits (SPEC §8): shared by every process through Redis when ``REDIS_URL``
is set, per process in memory otherwise, and per process again while Redis is unreachable.

Memory: ``limits``' fixed window, as before (one dict lookup; one process sees every request).

Redis: ``limits``' sliding-window counter (two integer keys per token, one Lua call per
request). Measured against the moving window on our path (bench/ratelimit.py), both cost one
round trip (~same µs); the counter keeps two integers per token where the moving window keeps a
list of up to ``limit`` timestamps (6000 by default), and it counts with Redis' own clock (key
TTLs), where the moving window stamps entries with each process's ``time.time()``, so hosts
whose clocks drift apart would disagree about the window. It is an approximation (it assumes
the previous window's requests were spread evenly), never more than the limit in any window.

A circuit breaker keeps a sick Redis off the request path. Any Redis error, or no answer within
``redis_timeout_ms``, opens it: that request and the following ones are counted in memory, and
``breakouts_rate_limit_fallback_total`` counts them. While it is open, no request waits on
Redis: at most one background PING a second (``PROBE_INTERVAL_S``) checks whether it is back,
and the first that succeeds closes the breaker, so shared limits resume by themselves.
``/readyz`` reports ``redis``: ``ok``, ``degraded`` (breaker open; still ready) or ``off``.

The 429's ``Retry-After`` comes from the real wall clock (``clock.wall``): the control plane
moves an org's clock, not the time between two requests.
"""

from __future__ import annotations

import asyncio
import math
from typing import Literal

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import (
    FixedWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)
from prometheus_client import Counter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from breakouts.clock import monotonic, wall
from breakouts.config import Settings
from breakouts.errors import TooManyRequests
from breakouts.logs import Logger

Status = Literal["ok", "degraded", "off"]

# While the breaker is open, Redis is asked (one PING) at most this often.
PROBE_INTERVAL_S = 1.0
# What a sick Redis raises: its own errors, socket errors, and our timeout.
_REDIS_DOWN = (RedisError, OSError, TimeoutError)


class RateLimits:
    """Count each request against its token's limit; raise ``TooManyRequests`` past it."""

    def __init__(
        self,
        limit: RateLimitItem,
        fallbacks: Counter,
        logger: Logger,
        *,
        redis: RedisStorage | None = None,
        timeout_s: float = 0.25,
        strategy: type[RateLimiter] = SlidingWindowCounterRateLimiter,
    ) -> None:
        self.limit = limit
        self._memory = FixedWindowRateLimiter(MemoryStorage())
        self._redis = redis
        self._shared = strategy(redis) if redis is not None else None
        self._timeout_s = timeout_s
        self._fallbacks = fallbacks
        self._logger = logger
        self._open = False
        self._last_probe = -math.inf
        self._probe: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: Settings, fallbacks: Counter, logger: Logger) -> RateLimits:
        limit = parse(settings.rate_limit)
        if not settings.redis_url:
            return cls(limit, fallbacks, logger)
        timeout_s = settings.redis_timeout_ms / 1000
        storage = RedisStorage(
            "async+" + settings.redis_url,
            implementation="redispy",
            key_prefix=settings.redis_key_prefix.removesuffix(":"),  # limits adds the ':'
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),  # type: ignore[arg-type]  # the breaker retries
        )
        return cls(limit, fallbacks, logger, redis=storage, timeout_s=timeout_s)

    @property
    def status(self) -> Status:
        if self._redis is None:
            return "off"
        return "degraded" if self._open else "ok"

    async def check(self, key: str) -> None:
        """Count one request of ``key`` (a token hash); ``TooManyRequests`` past the limit."""
        if self._shared is not None:
            if not self._open:
                try:
                    async with asyncio.timeout(self._timeout_s):
                        if await self._shared.hit(self.limit, key):
                            return
                        stats = await self._shared.get_window_stats(self.limit, key)
                except _REDIS_DOWN as e:
                    self._trip(e)
                else:
                    raise TooManyRequests(retry_after=retry_after(stats.reset_time))
            self._fallbacks.inc()
            self._maybe_probe()
        if not await self._memory.hit(self.limit, key):
            stats = await self._memory.get_window_stats(self.limit, key)
            raise TooManyRequests(retry_after=retry_after(stats.reset_time))

    async def readiness(self) -> Status:
        """``status``, after asking Redis (within the timeout) if the breaker is closed, so that
        /readyz notices a Redis that died while no request came."""
        if self._redis is not None and not self._open:
            try:
                async with asyncio.timeout(self._timeout_s):
                    alive = await self._redis.check()
            except TimeoutError as e:
                self._trip(e)
            else:
                if not alive:
                    self._trip(ConnectionError("PING failed"))
        elif self._open:
            self._maybe_probe()
        return self.status

    async def close(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
        if self._redis is not None:
            await self._redis.bridge.get_connection().aclose()  # type: ignore[attr-defined]

    def _trip(self, error: BaseException) -> None:
        if self._open:  # the requests that were waiting with this one: one log line is enough
            return
        self._open = True
        self._last_probe = monotonic()
        self._logger.warning(
            "redis unreachable: rate limits are per process until it is back",
            error=repr(error),
            timeout_ms=round(self._timeout_s * 1000),
        )

    def _maybe_probe(self) -> None:
        if self._probe is not None or monotonic() - self._last_probe < PROBE_INTERVAL_S:
            return
        self._last_probe = monotonic()
        self._probe = asyncio.get_running_loop().create_task(self._run_probe())

    async def _run_probe(self) -> None:
        assert self._redis is not None
        try:
            async with asyncio.timeout(self._timeout_s):
                alive = await self._redis.check()  # PING; False on any error
        except TimeoutError:
            alive = False
        finally:
            self._probe = None
        if alive and self._open:
            self._open = False
            self._logger.info("redis reachable again: rate limits are shared")


def retry_after(reset: float) -> int:
    """Whole seconds from now (real time) until ``reset``, at least 1."""
    return max(1, math.ceil(reset - wall()))
