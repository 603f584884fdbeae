"""Never lost, never sent twice at once: leases, fencing, hand-backs (issue #3 §3)."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from starlette.applications import Starlette

from breakouts.db import open_database
from breakouts.logs import make_logger
from breakouts.mail import repository as repo
from breakouts.mail.repository import Delivered
from breakouts.mail.worker import MailWorker
from tests.conftest import World
from tests.mail.conftest import Sink, eventually, make_worker
from tests.mail.test_delivery import queue

LEASE = 60


@pytest.fixture
def settings_overrides(sink: Sink) -> dict[str, Any]:
    return {"smtp_url": sink.url, "mail_lease_s": LEASE, "mail_smtp_connections": 1}


async def crash_after_claim(app: Starlette) -> list[repo.Claimed]:
    """What a worker leaves behind when it dies right after claiming: leased rows."""
    state = app.state.breakouts
    now = state.clock.now_s()
    async with state.db.transaction() as tx:
        return await repo.claim(tx, now=now, lease_until=now + LEASE, limit=100)


async def test_a_crashed_workers_messages_are_taken_up_when_the_lease_runs_out(
    app: Starlette, world: World, sink: Sink
) -> None:
    """Leased rows wait out their lease, then the next worker claims and delivers them."""
    await queue(app, "a@example.com", "b@example.com")
    await crash_after_claim(app)
    await make_worker(app).drain()
    assert {r["status"] for r in world.outbox()} == {"sending"} and sink.received == []
    world.clock.advance(LEASE)  # exactly at the lease's end it still holds
    await make_worker(app).drain()
    assert sink.received == []
    world.clock.advance(1)
    await make_worker(app).drain()
    assert [(r["status"], r["attempts"]) for r in world.outbox()] == [("sent", 2)] * 2
    assert len(sink.received) == 2


async def test_a_worker_whose_lease_ran_out_cannot_overwrite_the_newer_claim(
    app: Starlette, world: World
) -> None:
    """Settling is fenced by the attempt number: a stale worker's verdict changes nothing."""
    await queue(app, "a@example.com")
    [stale] = await crash_after_claim(app)
    world.clock.advance(LEASE + 1)
    [fresh] = await crash_after_claim(app)
    assert (stale.attempts, fresh.attempts) == (1, 2)
    db = app.state.breakouts.db
    async with db.transaction() as tx:
        await repo.mark_failed(tx, [repo.Failed(stale.id, stale.attempts, "stale", None)])
        await repo.release(tx, [stale])
    assert [(r["status"], r["attempts"]) for r in world.outbox()] == [("sending", 2)]
    async with db.transaction() as tx:
        await repo.mark_delivered(tx, "sent", 0, [Delivered(fresh.id, fresh.attempts, "raw")])
    assert [(r["status"], r["raw"]) for r in world.outbox()] == [("sent", "raw")]


async def test_sends_that_could_outlive_the_lease_are_handed_back_untried(
    app: Starlette, world: World, sink: Sink
) -> None:
    """A worker starts a send only if it can end inside its lease; the rest go back, unspent."""
    sink.delay_s = 0.3
    await queue(app, *(f"u{i}@example.com" for i in range(6)))
    # lease 2 s, timeout 1.4 s: sends may start during the first 0.6 s only.
    worker = make_worker(app, mail_lease_s=2, mail_smtp_timeout_s=1.4)
    await worker.run_once()
    await worker.sender.close()
    rows = world.outbox()
    sent = [r for r in rows if r["status"] == "sent"]
    back = [r for r in rows if r["status"] == "pending"]
    assert 1 <= len(sent) <= 3 and len(sent) + len(back) == 6
    assert all(r["attempts"] == 0 and r["lease_until"] is None for r in back)


async def test_stopping_hands_back_what_was_not_tried(
    app: Starlette, world: World, sink: Sink
) -> None:
    """A graceful stop finishes the send in flight and returns the rest of the batch to the queue."""
    sink.delay_s = 0.1
    await queue(app, *(f"u{i}@example.com" for i in range(20)))
    worker = make_worker(app)
    worker.start()
    await eventually(lambda: bool(sink.received))
    await worker.stop()
    rows = world.outbox()
    statuses = Counter(r["status"] for r in rows)
    assert set(statuses) == {"sent", "pending"} and statuses["sent"] == len(sink.received)
    assert all(r["attempts"] == 0 for r in rows if r["status"] == "pending")


async def test_two_workers_on_one_database_never_send_the_same_message(
    app: Starlette, world: World, sink: Sink
) -> None:
    """Two workers, each with its own connection to the database, share the queue: each message once."""
    sink.delay_s = 0.002
    await queue(app, *(f"u{i}@example.com" for i in range(200)))
    settings = app.state.breakouts.settings.model_copy(update={"mail_batch_size": 10})
    dbs = [open_database(settings.database_url) for _ in range(2)]
    workers = [MailWorker(db, world.clock, settings, make_logger("error")) for db in dbs]
    try:
        claimed = await asyncio.gather(*(w.drain() for w in workers))
    finally:
        for db in dbs:
            await db.close()
    assert all(n > 0 for n in claimed) and sum(claimed) == 200
    ids = Counter(r.message_id for r in sink.received)
    assert len(ids) == 200 and set(ids.values()) == {1}
    assert {r["status"] for r in world.outbox()} == {"sent"}
