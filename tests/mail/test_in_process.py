"""The worker inside the server process, and what /readyz and /metrics say about the queue."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from breakouts.clock import monotonic
from tests.conftest import World, auth, create_meeting
from tests.mail.conftest import Sink, eventually
from tests.mail.test_delivery import queue

PLAN = [{"name": "Room A", "invitees": ["ana@example.com", "ben@example.com"]}]


@pytest.fixture
def settings_overrides(sink: Sink, request: pytest.FixtureRequest) -> dict[str, Any]:
    # A long poll: mail that arrives quickly was woken by the enqueue, not found by polling.
    values = {"smtp_url": sink.url, "mail_worker": True, "mail_poll_s": 30.0}
    values.update(getattr(request, "param", {}))
    return values


async def test_committed_mail_is_sent_at_once_by_the_server_itself(
    client: httpx.AsyncClient, world: World, sink: Sink
) -> None:
    """With mail_worker on, a DELETE's messages reach the SMTP server without waiting for a poll."""
    host = await world.person("host@example.com")
    m = await create_meeting(
        client, host, enabledBreakoutSessions=True, breakoutSessions=PLAN, sendEmail=False
    )
    started = monotonic()
    r = await client.delete(f"/v1/meetings/{m['id']}/breakoutSessions", headers=auth(host))
    assert r.status_code == 204
    await eventually(lambda: len(sink.received) == 3)
    assert monotonic() - started < 2.0
    # The batch is settled just after its last message is accepted: wait for that too.
    await eventually(lambda: {r["status"] for r in world.outbox()} == {"sent"})


@pytest.mark.parametrize(
    "settings_overrides", [{"mail_smtp_timeout_s": 1.0, "mail_poll_s": 0.05}], indirect=True
)
async def test_a_stalled_smtp_server_does_not_slow_the_api(
    client: httpx.AsyncClient, world: World, sink: Sink, app: Starlette
) -> None:
    """While the worker waits on an SMTP server that does not answer, DELETEs answer at once."""
    sink.stall_all = True
    host = await world.person("host@example.com")
    worst = 0.0
    for _ in range(5):
        m = await create_meeting(
            client, host, enabledBreakoutSessions=True, breakoutSessions=PLAN, sendEmail=False
        )
        started = monotonic()
        r = await client.delete(f"/v1/meetings/{m['id']}/breakoutSessions", headers=auth(host))
        worst = max(worst, monotonic() - started)
        assert r.status_code == 204
        await eventually(lambda: sink.stalled > 0)
    assert worst < 0.25, worst
    assert len(world.outbox()) == 15 and sink.received == []


async def test_shutdown_leaves_no_message_claimed(
    client: httpx.AsyncClient, world: World, sink: Sink, app: Starlette
) -> None:
    """Stopping the server mid-queue: every row is sent or back in the queue, none left leased."""
    sink.delay_s = 0.02
    await queue(app, *(f"u{i}@example.com" for i in range(40)))
    await eventually(lambda: len(sink.received) >= 3)
    await app.state.breakouts.extra["mail_worker"].stop()
    statuses = {r["status"] for r in world.outbox()}
    assert statuses <= {"sent", "pending"} and "sent" in statuses


@pytest.mark.parametrize("settings_overrides", [{"mail_worker": False}], indirect=True)
async def test_readyz_and_metrics_report_the_queue(
    client: httpx.AsyncClient, world: World, sink: Sink, app: Starlette
) -> None:
    """/readyz and /metrics give queue depth, sent, retried and dead, counted in the database."""
    from tests.mail.conftest import make_worker

    await queue(app, "a@example.com", "b@example.com", "c@example.com", "d@example.com")
    sink.on_data("451 later", "550 never")
    await make_worker(app, mail_smtp_connections=1).drain()  # a: retry, b: dead, c and d: sent
    await queue(app, "e@example.com")  # still queued
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["mail"] == {
        "queued": 2, "sending": 0, "sent": 2, "captured": 0, "retried": 1, "dead": 1,
        "worker": "external",
    }  # fmt: skip
    metrics = (await client.get("/metrics")).text
    for line in (
        "breakouts_mail_queue_depth 2.0",
        "breakouts_mail_sent_total 2.0",
        "breakouts_mail_retried_total 1.0",
        "breakouts_mail_dead 1.0",
    ):
        assert line in metrics.splitlines(), line
