"""What the per-token rate limit costs a request: ``RateLimits.check`` as ``unit.run`` calls it.

Four set-ups: memory (no REDIS_URL); Redis up with the sliding-window counter (what the
server uses) and with the moving window (the alternative it was measured against); Redis down
with the breaker open (a port nothing listens on). Each is timed one call after another (the
latency one request adds) and with ``--concurrency`` calls in flight (the event loop's cost per
request when many wait on Redis at once). Keys go under a prefix of their own, deleted after.

    .venv/bin/python -m bench.ratelimit [--redis redis://127.0.0.1:6379/0] [--calls 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import socket
import time
from collections.abc import Sequence

import uvloop
from limits.aio.strategies import (
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)
from prometheus_client import CollectorRegistry, Counter

from breakouts import logs
from breakouts.config import Settings
from breakouts.ratelimit import RateLimits

TOKENS = 100  # distinct token hashes, as a few test suites at once would send


def _limits(redis_url: str | None, strategy: type[RateLimiter], prefix: str) -> RateLimits:
    settings = Settings(
        redis_url=redis_url, rate_limit="1000000000/minute", redis_key_prefix=prefix
    )
    fallbacks = Counter("fallbacks", "", registry=CollectorRegistry())
    made = RateLimits.from_settings(settings, fallbacks, logs.make_logger("error"))
    if made._redis is not None:  # the strategy under test, on the same storage
        made._shared = strategy(made._redis)
    return made


async def _time(limits: RateLimits, calls: int, concurrency: int) -> float:
    """µs per call, ``concurrency`` calls in flight."""
    keys = [secrets.token_hex(16) for _ in range(TOKENS)]

    async def one_lane(lane: int) -> None:
        for i in range(lane, calls, concurrency):
            await limits.check(keys[i % TOKENS])

    for i in range(200):  # warm-up: connections, Lua scripts loaded
        await limits.check(keys[i % TOKENS])
    start = time.perf_counter()
    await asyncio.gather(*(one_lane(lane) for lane in range(concurrency)))
    return (time.perf_counter() - start) / calls * 1e6


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when this returns: connection refused


async def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    prefix = f"bench-{secrets.token_hex(4)}:"
    cases: list[tuple[str, str | None, type[RateLimiter]]] = [
        ("memory (no REDIS_URL)", None, SlidingWindowCounterRateLimiter),
        ("redis, sliding-window counter", args.redis, SlidingWindowCounterRateLimiter),
        ("redis, moving window", args.redis, MovingWindowRateLimiter),
        ("redis down, breaker open", f"redis://127.0.0.1:{_closed_port()}/0", MovingWindowRateLimiter),
    ]  # fmt: skip
    print(f"{'set-up':32} {'µs/call, one at a time':>24} {f'µs/call, {args.concurrency} at once':>22}")
    for name, url, strategy in cases:
        limits = _limits(url, strategy, prefix)
        try:
            serial = await _time(limits, args.calls // 4, 1)
            parallel = await _time(limits, args.calls, args.concurrency)
            print(f"{name:32} {serial:24.1f} {parallel:22.1f}  (redis: {limits.status})")
        finally:
            if url == args.redis and limits._redis is not None:
                await limits._redis.reset()  # this run's keys only: they share the prefix
            await limits.close()


if __name__ == "__main__":
    uvloop.run(main())
