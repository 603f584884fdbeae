"""The numbers /readyz and /metrics report: live queue and dead letters now, totals that only grow."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from starlette.applications import Starlette

from breakouts.db.migrate import alembic_config
from breakouts.mail import repository as repo
from breakouts.mail.stats import read_counts
from tests.conftest import World
from tests.mail.conftest import Sink, make_worker
from tests.mail.test_delivery import queue


@pytest.fixture
def settings_overrides(sink: Sink) -> dict[str, Any]:
    return {"smtp_url": sink.url, "mail_smtp_connections": 1, "mail_backoff_base_s": 1}


async def test_totals_grow_while_the_dead_pile_follows_the_operator(
    app: Starlette, world: World, sink: Sink
) -> None:
    """A retry counts once per rescheduled try; re-queuing a dead message empties the pile, not the total."""
    db = app.state.breakouts.db
    sink.on_data("451 a", "451 b", "550 no")
    await queue(app, "a@example.com", "b@example.com")
    await make_worker(app).drain()  # a: 451, b: 451
    world.clock.advance(10)
    await make_worker(app).drain()  # a: 550 (dead), b: sent
    counts = await read_counts(db)
    assert (counts.depth, counts.dead, counts.sent, counts.retried) == (0, 1, 1, 2)
    async with db.transaction() as tx:
        assert await repo.retry_now(tx, world.outbox()[0]["id"], world.clock.now_s())
    assert (await read_counts(db)).dead == 0 and (await read_counts(db)).depth == 1
    await make_worker(app).drain()
    counts = await read_counts(db)
    assert (counts.depth, counts.dead, counts.sent, counts.retried) == (0, 0, 2, 2)


async def test_clearing_captured_mail_keeps_the_captured_total(
    app: Starlette, world: World
) -> None:
    """The catcher can be emptied; the total of captured messages stays (a Prometheus counter)."""
    db = app.state.breakouts.db
    await queue(app, "a@example.com", "b@example.com")
    await make_worker(app, smtp_url=None).drain()
    async with db.transaction() as tx:
        assert await repo.delete_captured(tx) == 2
    assert (await read_counts(db)).captured == 2 and world.outbox() == []


def test_migration_starts_the_totals_from_the_existing_outbox(tmp_path: Path) -> None:
    """Upgrading a database that already holds mail seeds the totals from it."""
    path = tmp_path / "old.db"
    cfg = alembic_config(f"sqlite:///{path}")
    command.upgrade(cfg, "0001")
    conn = sqlite3.connect(path)
    rows = [("sent", 1), ("sent", 3), ("captured", 1), ("dead", 8), ("pending", 2), ("pending", 0)]
    conn.executemany(
        "INSERT INTO outbox (message_id, event, meeting_id, recipient, payload, status, attempts,"
        " next_attempt_at, created_at) VALUES (?, 'e', 'm', 'r', '{}', ?, ?, 0, 0)",
        [(f"<{n}@x>", status, attempts) for n, (status, attempts) in enumerate(rows)],
    )
    conn.commit()
    command.upgrade(cfg, "head")
    totals = dict(conn.execute("SELECT name, value FROM mail_counters").fetchall())
    conn.close()
    assert totals == {"sent": 2, "captured": 1, "dead": 1, "retried": 0 + 2 + 7 + 2}
