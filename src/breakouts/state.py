"""What the routes share, built once in ``create_app``, and how a request reaches it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from breakouts.clock import Clock
from breakouts.config import Settings
from breakouts.context import Site
from breakouts.db import Database
from breakouts.metrics import Metrics
from breakouts.orgs.faults import FaultBook
from breakouts.ratelimit import RateLimits


@dataclass
class AppState:
    """Everything the routes share, built once in ``create_app``."""

    settings: Settings
    db: Database
    clock: Clock
    site: Site
    limits: RateLimits
    metrics: Metrics
    faults: FaultBook
    extra: dict[str, Any]


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.breakouts
    return state


def tracking_id(request: Request) -> str:
    tid: str = request.scope["state"]["tracking_id"]
    return tid
