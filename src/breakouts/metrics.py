"""Prometheus metrics of the HTTP layer and the database (``/metrics`` exposes their registry)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, Metric
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from breakouts.db import Database


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "breakouts_http_requests",
            "HTTP requests answered",
            ["method", "endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "breakouts_http_request_seconds",
            "Time to answer a request",
            ["endpoint"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
        )
        self.rate_limit_fallbacks = Counter(
            "breakouts_rate_limit_fallback",
            "Requests whose rate limit was counted in process memory because Redis was unreachable",
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        """Count one answered request (label children cached: ``labels()`` is slow per call)."""
        key = (method, endpoint, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, endpoint, str(status)),
                self.latency.labels(endpoint),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


class DatabaseMetrics(Collector):
    """Write transactions and the COMMITs that carried them (their ratio: the group size).

    Read from the backend's counters at scrape time; a backend without them reports nothing.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.db: Database | None = None
        registry.register(self)

    def collect(self) -> Iterator[Metric]:
        writes = getattr(self.db, "committed_writes", None)
        commits = getattr(self.db, "commits", None)
        if writes is None or commits is None:
            return
        yield CounterMetricFamily(
            "breakouts_db_write_transactions", "Write transactions committed", writes
        )
        yield CounterMetricFamily(
            "breakouts_db_commits", "Database COMMITs (several transactions share one)", commits
        )
