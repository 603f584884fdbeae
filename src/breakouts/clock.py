"""The one source of "now".

Every state that depends on time (scheduled/ended/missed, token expiry, mail backoff) reads
this module, so the control plane and tests can move time forward without waiting. Monotonic
time (for timeouts and durations) lives here too, so nothing else imports `time` for it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


class Clock:
    """Wall-clock time in whole seconds, with an offset that can only move forward."""

    def __init__(self) -> None:
        self._offset = 0.0

    def now(self) -> float:
        """Seconds since the epoch, as the service sees it."""
        return time.time() + self._offset

    def now_s(self) -> int:
        """Whole seconds since the epoch."""
        return int(self.now())

    def now_dt(self) -> datetime:
        """Aware UTC datetime."""
        return datetime.fromtimestamp(self.now(), UTC)

    def advance(self, seconds: float) -> None:
        """Move the service's clock forward (never back: states must not un-happen)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds

    @property
    def offset(self) -> float:
        return self._offset


_second: tuple[int, str] = (-1, "")


def wall_iso() -> str:
    """The real time (not the service's movable clock) for log lines: ISO 8601, UTC, µs.

    The formatted second is kept: a log line per request would otherwise format it each time.
    """
    global _second
    t = time.time()
    whole = int(t)
    if whole != _second[0]:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int((t - whole) * 1e6):06d}Z"


def wall() -> float:
    """The real time, seconds since the epoch, whatever the service's or an org's clock says:
    for rate limits, which count real requests in real seconds."""
    return time.time()


def monotonic() -> float:
    """Monotonic seconds for durations and deadlines."""
    return time.monotonic()
