"""What the routes share, built once in ``create_app``, and how a request reaches it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import FixedWindowRateLimiter
from starlette.requests import Request

from breakouts.clock import Clock
from breakouts.config import Settings
from breakouts.context import Site
from breakouts.db import Database
from breakouts.metrics import Metrics
from breakouts.orgs.faults import FaultBook


@dataclass
class AppState:
    """Everything the routes share, built once in ``create_app``."""

    settings: Settings
    db: Database
    clock: Clock
    site: Site
    limiter: FixedWindowRateLimiter
    limit: RateLimitItem
    metrics: Metrics
    faults: FaultBook
    extra: dict[str, Any]


def make_limiter(settings: Settings) -> tuple[FixedWindowRateLimiter, RateLimitItem]:
    """Per-token fixed windows in memory (Redis storage when REDIS_URL comes next).

    The asyncio flavour of ``limits``: its synchronous MemoryStorage starts a timer thread
    every 10 ms under load, and waiting for those starts cost ~600 µs a request (bench/).
    """
    return FixedWindowRateLimiter(MemoryStorage()), parse(settings.rate_limit)


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.breakouts
    return state


def tracking_id(request: Request) -> str:
    tid: str = request.scope["state"]["tracking_id"]
    return tid
