"""One event per change (issue #11): the request writes one row; a worker fans it out, once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from breakouts.mail import outbox
from tests.conftest import World, auth, create_meeting, sessions_path

PLAN = [
    {"name": "A", "invitees": ["ana@example.com", "ben@example.com"]},
    {"name": "B", "invitees": ["cleo@example.com"]},
]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"mail_worker": False}


async def planned(client: httpx.AsyncClient, token: str) -> str:
    m = await create_meeting(
        client, token, sendEmail=False, enabledBreakoutSessions=True, breakoutSessions=PLAN
    )
    meeting_id: str = m["id"]
    return meeting_id


async def test_a_delete_writes_one_event_row_and_no_message_rows(
    client: httpx.AsyncClient, world: World
) -> None:
    """Host and three invitees: one mail_events row naming four recipients, no outbox row yet."""
    token = await world.person("host@example.com")
    mid = await planned(client, token)
    assert (await client.delete(sessions_path(mid), headers=auth(token))).status_code == 204
    [event] = world.rows("SELECT * FROM mail_events")
    assert event["event"] == "breakouts.deleted" and event["recipient_count"] == 4
    assert event["meeting_id"] == mid
    assert world.rows("SELECT COUNT(*) AS n FROM outbox")[0]["n"] == 0


async def test_fan_out_gives_one_message_per_recipient_with_stable_ids_exactly_once(
    app: Starlette, client: httpx.AsyncClient, world: World
) -> None:
    """expand: one pending row each, Message-ID <key.position@domain>; again: nothing more."""
    token = await world.person("host@example.com")
    mid = await planned(client, token)
    await client.delete(sessions_path(mid), headers=auth(token))
    [event] = world.rows("SELECT event_key, domain FROM mail_events")
    db = app.state.breakouts.db
    async with db.transaction() as tx:
        assert await outbox.expand(tx) == 4
    async with db.transaction() as tx:
        assert await outbox.expand(tx) == 0
    rows = world.rows("SELECT message_id, recipient, status, payload FROM outbox ORDER BY id")
    assert [r["recipient"] for r in rows] == [
        "host@example.com", "ana@example.com", "ben@example.com", "cleo@example.com",
    ]  # fmt: skip
    assert [r["message_id"] for r in rows] == [
        f"<{event['event_key']}.{i}@{event['domain']}>" for i in range(4)
    ]
    assert {r["status"] for r in rows} == {"pending"}
    assert world.rows("SELECT COUNT(*) AS n FROM mail_events")[0]["n"] == 0


async def test_a_fan_out_that_rolls_back_leaves_the_event_for_the_next_worker(
    app: Starlette, client: httpx.AsyncClient, world: World
) -> None:
    """A worker that dies before its commit expanded nothing: the event is still queued."""
    token = await world.person("host@example.com")
    await client.delete(sessions_path(await planned(client, token)), headers=auth(token))
    db = app.state.breakouts.db
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await outbox.expand(tx)
            raise RuntimeError("the worker dies")
    assert world.rows("SELECT COUNT(*) AS n FROM outbox")[0]["n"] == 0
    async with db.transaction() as tx:
        assert await outbox.expand(tx) == 4


async def test_queued_events_count_in_the_queue_depth(
    client: httpx.AsyncClient, world: World
) -> None:
    """/readyz counts recipients still inside events as queued."""
    token = await world.person("host@example.com")
    await client.delete(sessions_path(await planned(client, token)), headers=auth(token))
    ready = (await client.get("/readyz")).json()
    assert ready["mail"]["queued"] == 4


async def test_the_largest_plan_queues_one_event_of_1001_recipients(
    client: httpx.AsyncClient, world: World
) -> None:
    """100 sessions, 1 000 invitees: one event row; fanned out, 1 001 distinct messages."""
    token = await world.person("host@example.com")
    items = [
        {"name": f"S{i}", "invitees": [f"p{i}-{j}@example.com" for j in range(10)]}
        for i in range(100)
    ]
    m = await create_meeting(client, token, sendEmail=False)
    r = await client.put(sessions_path(m["id"]), json={"items": items, "sendEmail": False},
                         headers=auth(token))  # fmt: skip
    assert r.status_code == 200
    assert (await client.delete(sessions_path(m["id"]), headers=auth(token))).status_code == 204
    assert [
        e["recipient_count"] for e in world.rows("SELECT recipient_count FROM mail_events")
    ] == [1001]
    rows = world.outbox()
    assert len(rows) == 1001 and len({r["message_id"] for r in rows}) == 1001


async def test_one_fan_out_is_bounded_but_always_takes_the_oldest_event(
    app: Starlette, client: httpx.AsyncClient, world: World
) -> None:
    """max_rows 5: of two 4-recipient events only the first goes; a bigger one goes alone."""
    token = await world.person("host@example.com")
    for _ in range(2):
        await client.delete(sessions_path(await planned(client, token)), headers=auth(token))
    db = app.state.breakouts.db
    async with db.transaction() as tx:
        assert await outbox.expand(tx, max_rows=5) == 4
    async with db.transaction() as tx:
        assert await outbox.expand(tx, max_rows=2) == 4
    async with db.transaction() as tx:
        assert await outbox.expand(tx, max_rows=2) == 0
