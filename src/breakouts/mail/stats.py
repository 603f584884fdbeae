"""The outbox as numbers, for ``/readyz`` and ``/metrics``.

Read from the database rather than from a worker's memory, so the figures are the same whichever
process answers and however many workers (in servers or ``breakouts worker``) do the sending.
Both reads are cheap at any outbox size (see ``repository.counts``).
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from breakouts.db import Database
from breakouts.mail import repository as repo
from breakouts.mail.repository import Counts


async def read_counts(db: Database) -> Counts:
    async with db.transaction(write=False) as tx:
        return await repo.counts(tx)


class MailMetrics(Collector):
    """A collector in an app's registry; ``refresh`` (async, before each scrape) reads the DB.

    ``collect`` is called synchronously by the exposition code, which cannot await the
    database: it reports the snapshot the ``/metrics`` handler has just taken.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.counts = Counts()
        registry.register(self)

    async def refresh(self, db: Database) -> Counts:
        self.counts = await read_counts(db)
        return self.counts

    def collect(self) -> Iterator[Metric]:
        c = self.counts
        yield GaugeMetricFamily(
            "breakouts_mail_queue_depth", "Messages waiting to be sent or being sent", c.depth
        )
        yield GaugeMetricFamily(
            "breakouts_mail_dead", "Messages refused for good or out of tries, now", c.dead
        )
        yield CounterMetricFamily(
            "breakouts_mail_sent", "Messages accepted by the SMTP server", c.sent
        )
        yield CounterMetricFamily(
            "breakouts_mail_captured", "Messages kept in the database (no SMTP_URL)", c.captured
        )
        yield CounterMetricFamily(
            "breakouts_mail_retried", "Failed tries rescheduled with a backoff", c.retried
        )
