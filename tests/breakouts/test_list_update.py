"""GET and PUT /v1/meetings/{meetingId}/breakoutSessions (SPEC §5)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.conftest import (
    World,
    assert_error,
    auth,
    create_meeting,
    list_occurrences,
    start_meeting,
)
from tests.conftest import get_sessions as listed
from tests.conftest import put_sessions as put
from tests.conftest import sessions_path as path

HOST = "host@example.com"


@pytest.fixture
async def host(world: World) -> str:
    return await world.person(HOST)


async def test_put_replaces_the_set_with_new_ids_and_enables(
    client: httpx.AsyncClient, host: str
) -> None:
    """PUT replaces every session (new ids each time) and turns enabledBreakoutSessions on."""
    m = await create_meeting(client, host, sendEmail=False)
    r1 = await put(
        client, host, m["id"], [{"name": "A", "invitees": ["a@example.com"]}], sendEmail=False
    )
    assert r1.status_code == 200
    first = r1.json()["items"]
    assert [(s["name"], s["invitees"]) for s in first] == [("A", ["a@example.com"])]
    assert re.fullmatch(r"[0-9a-f]{32}", first[0]["id"])
    r2 = await put(client, host, m["id"], [{"name": "A"}, {"name": "B"}], sendEmail=False)
    second = r2.json()["items"]
    assert [s["name"] for s in second] == ["A", "B"]
    assert first[0]["id"] not in {s["id"] for s in second}
    assert await listed(client, host, m["id"]) == second
    got = (await client.get(f"/v1/meetings/{m['id']}", headers=auth(host))).json()
    assert got["enabledBreakoutSessions"] is True


async def test_put_mails_host_and_each_invitee_once(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """With sendEmail true (default) the host and each invitee get one message."""
    m = await create_meeting(client, host, sendEmail=False)
    r = await put(client, host, m["id"], [
        {"name": "A", "invitees": ["a@example.com", "b@example.com"]},
        {"name": "B", "invitees": [HOST.upper()]},
    ])  # fmt: skip
    assert r.status_code == 200
    rows = world.outbox()
    assert sorted(x["recipient"].lower() for x in rows) == ["a@example.com", "b@example.com", HOST]
    assert {x["event"] for x in rows} == {"breakouts.updated"}
    await put(client, host, m["id"], [{"name": "C"}], sendEmail=False)
    assert len(world.outbox()) == 3


@pytest.mark.parametrize(
    ("items", "text"),
    [
        ([{"name": f"S{i}"} for i in range(101)], "at most 100"),
        ([{"name": ""}], "items[0].name"),
        ([{"name": "   "}], "items[0].name"),
        ([{"name": "x" * 256}], "items[0].name"),
        ([{"name": "A", "invitees": ["nope"]}], "items[0].invitees[0]"),
        ([{"name": "A", "invitees": ["a@x.com"]}, {"name": "B", "invitees": ["A@X.com"]}],
         "items[1].invitees[0]"),
        ([{"invitees": []}], "name"),
        ([{"name": 5}], "items[0].name"),
    ],
)  # fmt: skip
async def test_invalid_plan_is_400_naming_the_item_and_changes_nothing(
    client: httpx.AsyncClient, host: str, world: World, items: list[dict[str, Any]], text: str
) -> None:
    """Plan rules: ≤100 sessions, a name of 1 to 255 characters, valid emails, one session each."""
    m = await create_meeting(
        client,
        host,
        sendEmail=False,
        enabledBreakoutSessions=True,
        breakoutSessions=[{"name": "Keep"}],
    )
    before = world.snapshot()
    assert_error(await put(client, host, m["id"], items), 400, text)
    assert world.snapshot() == before


async def test_put_body_must_be_json_with_items(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """A body without items is 400 naming it; a non-JSON body is 415."""
    m = await create_meeting(client, host, sendEmail=False)
    r = await client.put(path(m["id"]), json={"sendEmail": False}, headers=auth(host))
    assert_error(r, 400, "items")
    r = await client.put(
        path(m["id"]), content=b"items=1", headers=auth(host, **{"Content-Type": "text/plain"})
    )
    assert_error(r, 415)


async def test_put_on_instance_400_and_in_progress_409(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """Instances are refused (400); a series whose meeting runs is 409."""
    m = await create_meeting(client, host, sendEmail=False)
    instance = await start_meeting(world, m["id"])
    before = world.snapshot()
    assert_error(
        await put(client, host, instance, [{"name": "A"}]), 400, "is not allowed for this API"
    )
    assert_error(await put(client, host, m["id"], [{"name": "A"}]), 409, "in progress")
    assert world.snapshot() == before


async def test_put_by_invitee_is_403(client: httpx.AsyncClient, host: str, world: World) -> None:
    """Only the host changes the plan."""
    m = await create_meeting(client, host, sendEmail=False, invitees=[{"email": "a@example.com"}])
    a = await world.person("a@example.com")
    assert_error(await put(client, a, m["id"], [{"name": "A"}]), 403)


async def test_admin_put_with_body_host_email(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """An admin acts for the host through hostEmail in the PUT body."""
    m = await create_meeting(client, host, sendEmail=False)
    admin = await world.person("admin@example.com", admin=True)
    r = await put(client, admin, m["id"], [{"name": "A"}], hostEmail=HOST, sendEmail=False)
    assert r.status_code == 200
    assert [s["name"] for s in await listed(client, host, m["id"])] == ["A"]


async def test_scheduled_meeting_shows_series_plan_until_it_has_its_own(
    client: httpx.AsyncClient, host: str
) -> None:
    """A scheduled meeting inherits the series plan; its own PUT affects it alone."""
    m = await create_meeting(
        client, host, sendEmail=False, recurrence="FREQ=DAILY;COUNT=2",
        enabledBreakoutSessions=True, breakoutSessions=[{"name": "Series"}],
    )  # fmt: skip
    occ = await list_occurrences(client, host, m["id"])
    assert [s["name"] for s in await listed(client, host, occ[0]["id"])] == ["Series"]
    assert (
        await put(client, host, occ[0]["id"], [{"name": "Own"}], sendEmail=False)
    ).status_code == 200
    assert [s["name"] for s in await listed(client, host, occ[0]["id"])] == ["Own"]
    assert [s["name"] for s in await listed(client, host, occ[1]["id"])] == ["Series"]
    # A later series PUT reaches occurrences without a plan of their own only.
    assert (await put(client, host, m["id"], [{"name": "New"}], sendEmail=False)).status_code == 200
    assert [s["name"] for s in await listed(client, host, occ[0]["id"])] == ["Own"]
    assert [s["name"] for s in await listed(client, host, occ[1]["id"])] == ["New"]


async def test_get_is_read_only_and_needs_read_scope(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """GET works with a read scope alone and changes nothing; nothing changes."""
    m = await create_meeting(client, host, sendEmail=False, enabledBreakoutSessions=True,
                             breakoutSessions=[{"name": "A"}])  # fmt: skip
    reader = await world.person(HOST, scopes=["meeting:schedules_read"])
    before = world.snapshot()
    assert [s["name"] for s in await listed(client, reader, m["id"])] == ["A"]
    assert world.snapshot() == before
