"""One scheduled meeting as upstream keeps it (issue #9, items 7, 9, 10).

A meeting started early keeps its scheduled length; PUT/PATCH may move one scheduled meeting
(``start``, ``end``), which keeps its id, its plan and its place in the series; and
``GET /v1/meetings/{seriesId}?current=true`` answers the series' current or next scheduled
meeting.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.conftest import (
    DAY,
    HOUR,
    World,
    assert_error,
    auth,
    create_meeting,
    get_sessions,
    iso,
    list_occurrences,
    put_sessions,
    sessions_path,
    start_meeting,
)

HOST = "host@example.com"
OPERATOR = "operator-token-for-the-occurrence-tests-0123456789"
MINUTE = 60
PLAN = [{"name": "Room A", "invitees": ["ana@example.com"]}]


@pytest.fixture
async def host(world: World) -> str:
    return await world.person(HOST)


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def times(meeting: dict[str, Any]) -> tuple[int, int]:
    return epoch(meeting["start"]), epoch(meeting["end"])


async def daily(client: httpx.AsyncClient, token: str, world: World, **fields: Any) -> list[Any]:
    """A daily series of three one-hour meetings from tomorrow, and its scheduled meetings."""
    fields.setdefault("sendEmail", False)
    m = await create_meeting(
        client, token, clock=world.clock, recurrence="FREQ=DAILY;COUNT=3", **fields
    )
    return [m, await list_occurrences(client, token, m["id"])]


async def move(
    client: httpx.AsyncClient, token: str, meeting_id: str, method: str = "PUT", **body: Any
) -> httpx.Response:
    body.setdefault("sendEmail", False)
    return await client.request(
        method, f"/v1/meetings/{meeting_id}", json=body, headers=auth(token)
    )


async def get(client: httpx.AsyncClient, token: str, meeting_id: str, **params: str) -> Any:
    r = await client.get(f"/v1/meetings/{meeting_id}", params=params, headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()


# --- item 7: a meeting started early keeps its scheduled length --------------------------------


async def test_started_a_day_early_an_instance_keeps_its_scheduled_length(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """`meetings start` a day early: the instance runs its hour from now, not to tomorrow."""
    m = await create_meeting(client, host, clock=world.clock, sendEmail=False)
    instance_id = await start_meeting(world, m["id"])
    instance = await get(client, host, instance_id)
    start, end = times(instance)
    assert instance["state"] == "inProgress"
    assert abs(start - world.clock.now_s()) < MINUTE
    assert end - start == HOUR
    # The scheduled meeting itself keeps its scheduled times.
    [occ] = await list_occurrences(client, host, m["id"])
    assert times(occ) == times(m) and occ["state"] == "ready"


@pytest.mark.parametrize("settings_overrides", [{"control_token": OPERATOR}], indirect=True)
async def test_the_control_planes_start_keeps_the_scheduled_length(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """POST /_control/meetings/{id}/start a day early: the instance lasts the scheduled hour."""
    m = await create_meeting(client, host, clock=world.clock, sendEmail=False)
    r = await client.post(
        f"/_control/meetings/{m['id']}/start", headers={"Authorization": f"Bearer {OPERATOR}"}
    )
    assert r.status_code == 200, r.text
    start, end = times(r.json())
    assert end - start == HOUR and abs(start - world.clock.now_s()) < MINUTE


async def test_a_moved_occurrence_starts_with_its_moved_length(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """An occurrence moved to last 30 minutes, started early, runs 30 minutes."""
    _, occ = await daily(client, host, world)
    start, _ = times(occ[0])
    r = await move(client, host, occ[0]["id"], end=iso(start + 30 * MINUTE))
    assert r.status_code == 200, r.text
    instance = await get(client, host, await start_meeting(world, occ[0]["id"]))
    begun, end = times(instance)
    assert end - begun == 30 * MINUTE


# --- item 9: PUT/PATCH move one scheduled meeting ------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_put_and_patch_move_one_occurrence(
    client: httpx.AsyncClient, host: str, world: World, method: str
) -> None:
    """Moved: same id, new times, isModified; listed at its new time; the others untouched."""
    m, occ = await daily(client, host, world)
    start, end = times(occ[1])
    new = (start + 2 * HOUR, end + 3 * HOUR)
    r = await move(client, host, occ[1]["id"], method, start=iso(new[0]), end=iso(new[1]))
    assert r.status_code == 200, r.text
    moved = r.json()
    assert (moved["id"], moved["meetingType"]) == (occ[1]["id"], "scheduledMeeting")
    assert times(moved) == new and moved["isModified"] is True
    assert moved["state"] == "scheduled" and moved["title"] == occ[1]["title"]
    assert times(await get(client, host, occ[1]["id"])) == new
    after = await list_occurrences(client, host, m["id"])
    assert [o["id"] for o in after] == [o["id"] for o in occ]
    assert [times(o) for o in after] == [times(occ[0]), new, times(occ[2])]
    assert [o["isModified"] for o in after] == [False, True, False]
    # The series keeps its pattern.
    assert times(await get(client, host, m["id"])) == times(m)


async def test_start_alone_keeps_the_length_and_end_alone_keeps_the_start(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """PATCH with only `start` moves the whole meeting; with only `end`, it is longer."""
    _, occ = await daily(client, host, world)
    start, end = times(occ[0])
    r = await move(client, host, occ[0]["id"], "PATCH", start=iso(start + 30 * MINUTE))
    assert r.status_code == 200, r.text
    assert times(r.json()) == (start + 30 * MINUTE, end + 30 * MINUTE)
    r = await move(client, host, occ[0]["id"], "PATCH", end=iso(end + 2 * HOUR))
    assert r.status_code == 200, r.text
    assert times(r.json()) == (start + 30 * MINUTE, end + 2 * HOUR)


async def test_a_moved_occurrence_is_found_by_its_new_time(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """from/to windows find a moved occurrence where it now is, not where its rule put it."""
    m, occ = await daily(client, host, world)
    start, _ = times(occ[1])
    new_start = start + 5 * HOUR
    r = await move(client, host, occ[1]["id"], start=iso(new_start))
    assert r.status_code == 200, r.text

    async def window(lo: int, hi: int) -> list[str]:
        items = await list_occurrences(client, host, m["id"], **{"from": iso(lo), "to": iso(hi)})
        return [o["id"] for o in items]

    assert await window(start, start + HOUR) == []
    assert await window(new_start, new_start + MINUTE) == [occ[1]["id"]]
    assert await window(new_start + 59 * MINUTE, new_start + 2 * HOUR) == [occ[1]["id"]]
    assert await window(new_start + HOUR, new_start + 2 * HOUR) == []


async def test_the_first_occurrence_moved_earlier_is_listed_before_the_series_start(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """Moved a day before its series' first start, the first occurrence is still found."""
    m = await create_meeting(
        client, host, clock=world.clock, days=3, recurrence="FREQ=DAILY;COUNT=2", sendEmail=False
    )
    occ = await list_occurrences(client, host, m["id"])
    start, _ = times(occ[0])
    r = await move(client, host, occ[0]["id"], start=iso(start - DAY))
    assert r.status_code == 200, r.text
    items = await list_occurrences(
        client, host, m["id"], **{"from": iso(start - DAY), "to": iso(start - DAY + HOUR)}
    )
    assert [o["id"] for o in items] == [occ[0]["id"]]
    r = await client.get(
        "/v1/meetings",
        params={"from": iso(start - DAY), "to": iso(start - DAY + HOUR)},
        headers=auth(host),
    )
    assert [s["id"] for s in r.json()["items"]] == [m["id"]]


async def test_states_follow_the_moved_times(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """Moved later, an occurrence is not missed at its old end, but once its new end passes."""
    m, occ = await daily(client, host, world)
    start, _ = times(occ[0])
    r = await move(client, host, occ[0]["id"], start=iso(start + 3 * HOUR))
    assert r.status_code == 200, r.text
    world.clock.advance(start - world.clock.now_s() + 2 * HOUR)
    assert (await get(client, host, occ[0]["id"]))["state"] == "scheduled"
    world.clock.advance(2 * HOUR)
    assert (await get(client, host, occ[0]["id"]))["state"] == "missed"
    states = [o["state"] for o in await list_occurrences(client, host, m["id"])]
    assert states == ["missed", "scheduled", "scheduled"]


async def test_moving_the_last_occurrence_later_keeps_the_series_active(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """A single meeting moved two days later: the series is active until its new end."""
    m = await create_meeting(client, host, clock=world.clock, sendEmail=False)
    [occ] = await list_occurrences(client, host, m["id"])
    start, _ = times(occ)
    r = await move(client, host, occ["id"], start=iso(start + 2 * DAY))
    assert r.status_code == 200, r.text
    world.clock.advance(start - world.clock.now_s() + DAY)
    assert (await get(client, host, m["id"]))["state"] == "active"
    world.clock.advance(2 * DAY)
    assert (await get(client, host, m["id"]))["state"] == "expired"


async def test_the_breakout_plan_follows_a_moved_occurrence(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """Its plan stays with it (by its id): listed, started with it, and DELETE still works."""
    _, occ = await daily(client, host, world)
    r = await put_sessions(client, host, occ[1]["id"], PLAN, sendEmail=False)
    assert r.status_code == 200, r.text
    start, _ = times(occ[1])
    r = await move(client, host, occ[1]["id"], "PATCH", start=iso(start + 4 * HOUR))
    assert r.status_code == 200, r.text
    assert r.json()["enabledBreakoutSessions"] is True
    assert [s["name"] for s in await get_sessions(client, host, occ[1]["id"])] == ["Room A"]
    assert await get_sessions(client, host, occ[0]["id"]) == []
    r = await client.delete(sessions_path(occ[1]["id"]), headers=auth(host))
    assert r.status_code == 204, r.text
    assert await get_sessions(client, host, occ[1]["id"]) == []
    moved = await get(client, host, occ[1]["id"])
    assert moved["enabledBreakoutSessions"] is False
    assert epoch(moved["start"]) == start + 4 * HOUR


async def test_a_moved_occurrence_starts_with_its_plan(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """Started by its id after the move, the instance holds the occurrence's own plan."""
    _, occ = await daily(client, host, world)
    r = await put_sessions(client, host, occ[0]["id"], PLAN, sendEmail=False)
    assert r.status_code == 200, r.text
    start, _ = times(occ[0])
    assert (await move(client, host, occ[0]["id"], start=iso(start + HOUR))).status_code == 200
    instance_id = await start_meeting(world, occ[0]["id"])
    assert [s["name"] for s in await get_sessions(client, host, instance_id)] == ["Room A"]
    assert (await get(client, host, instance_id))["scheduledMeetingId"] == occ[0]["id"]


async def test_a_move_with_send_email_mails_like_an_update(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """sendEmail (default true): the host and each invitee get meeting.updated, new times."""
    _, occ = await daily(client, host, world, invitees=[{"email": "ana@example.com"}])
    start, end = times(occ[2])
    r = await client.patch(
        f"/v1/meetings/{occ[2]['id']}", json={"start": iso(start + HOUR)}, headers=auth(host)
    )
    assert r.status_code == 200, r.text
    rows = world.outbox()
    assert sorted(x["recipient"] for x in rows) == ["ana@example.com", HOST]
    assert {x["event"] for x in rows} == {"meeting.updated"}
    payload = json.loads(rows[0]["payload"])
    assert (payload["meetingId"], payload["start"], payload["end"]) == (
        occ[2]["id"], start + HOUR, end + HOUR,
    )  # fmt: skip


async def test_times_sent_back_unchanged_are_no_move(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """A PUT that echoes the meeting's own start/end (under way: start in the past) is no move."""
    _, occ = await daily(client, host, world)
    start, _ = times(occ[0])
    world.clock.advance(start - world.clock.now_s() + 10 * MINUTE)
    body = {"start": occ[0]["start"], "end": occ[0]["end"], "timezone": "UTC"}
    r = await move(client, host, occ[0]["id"], **body, title="Same times")
    assert r.status_code == 200, r.text
    assert times(r.json()) == times(occ[0]) and r.json()["title"] == "Same times"


async def test_moved_back_to_its_rule_time_it_is_no_longer_modified(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """Moving an occurrence back where its rule puts it clears isModified (nothing else set)."""
    _, occ = await daily(client, host, world)
    start, end = times(occ[1])
    assert (await move(client, host, occ[1]["id"], start=iso(start + HOUR))).status_code == 200
    r = await move(client, host, occ[1]["id"], start=occ[1]["start"], end=occ[1]["end"])
    assert r.status_code == 200, r.text
    assert times(r.json()) == (start, end) and r.json()["isModified"] is False


async def test_changing_the_series_times_puts_moved_occurrences_back(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """A new series end: moved occurrences follow the rule again (upstream drops exceptions)."""
    m, occ = await daily(client, host, world)
    start, _ = times(occ[1])
    assert (await move(client, host, occ[1]["id"], start=iso(start + HOUR))).status_code == 200
    _, series_end = times(m)
    r = await move(client, host, m["id"], "PATCH", end=iso(series_end + 30 * MINUTE))
    assert r.status_code == 200, r.text
    after = await list_occurrences(client, host, m["id"])
    assert [o["id"] for o in after] == [o["id"] for o in occ]
    assert times(after[1]) == (start, start + 90 * MINUTE)
    assert [o["isModified"] for o in after] == [False, False, False]


async def test_a_move_may_use_a_slot_freed_by_a_cancelled_occurrence(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """Cancelled meetings are not in the way: the third may move onto the cancelled second."""
    m, occ = await daily(client, host, world)
    r = await client.delete(f"/v1/meetings/{occ[1]['id']}?sendEmail=false", headers=auth(host))
    assert r.status_code == 204, r.text
    r = await move(client, host, occ[2]["id"], start=occ[1]["start"], end=occ[1]["end"])
    assert r.status_code == 200, r.text
    after = await list_occurrences(client, host, m["id"])
    assert [(o["id"], o["start"]) for o in after] == [
        (occ[0]["id"], occ[0]["start"]), (occ[2]["id"], occ[1]["start"]),
    ]  # fmt: skip


def _refusals() -> list[Any]:
    """(what to send, the occurrence to move, the message); times relative to it."""
    return [
        pytest.param(lambda s, e: {"start": iso(s - 3 * DAY)}, 1, "'start' cannot be in the past.", id="past"),
        pytest.param(lambda s, e: {"end": iso(s)}, 1, "'end' must be after 'start'.", id="end-first"),
        pytest.param(lambda s, e: {"end": iso(s + 5 * MINUTE)}, 1, "between 10 minutes and 23 hours 59 minutes", id="short"),
        pytest.param(lambda s, e: {"end": iso(s + DAY)}, 0, "between 10 minutes and 23 hours 59 minutes", id="long"),
        pytest.param(lambda s, e: {"start": iso(s + 23 * HOUR + 30 * MINUTE)}, 0, "'end' must be at or before", id="overlaps-next"),
        pytest.param(lambda s, e: {"start": iso(s + DAY + 2 * HOUR)}, 0, "'end' must be at or before", id="passes-next"),
        pytest.param(lambda s, e: {"start": iso(s - DAY + 30 * MINUTE)}, 1, "'start' must be at or after", id="overlaps-previous"),
        pytest.param(lambda s, e: {"start": iso(s - DAY - 2 * HOUR)}, 1, "'start' must be at or after", id="passes-previous"),
        pytest.param(lambda s, e: {"start": "tomorrow"}, 1, "'start' is not an RFC 3339 date-time", id="not-a-time"),
        pytest.param(lambda s, e: {"timezone": "Europe/Paris"}, 1, "'timezone' or 'recurrence'", id="timezone"),
        pytest.param(lambda s, e: {"recurrence": "FREQ=WEEKLY"}, 1, "'timezone' or 'recurrence'", id="recurrence"),
    ]  # fmt: skip


@pytest.mark.parametrize(("body", "which", "message"), _refusals())
async def test_invalid_moves_are_400_naming_the_field(
    client: httpx.AsyncClient,
    host: str,
    world: World,
    body: Any,
    which: int,
    message: str,
) -> None:
    """A move into the past, too short or long, or overlapping or passing another: 400."""
    _, occ = await daily(client, host, world)
    before = world.snapshot()
    r = await move(client, host, occ[which]["id"], "PATCH", **body(*times(occ[which])))
    assert_error(r, 400, message)
    assert world.snapshot() == before


async def test_the_overlap_message_names_the_meeting_in_the_way(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """The 400 says where the meeting in the way ends, and which one it is (moved or not)."""
    _, occ = await daily(client, host, world)
    start, end = times(occ[0])
    assert (await move(client, host, occ[0]["id"], end=iso(end + 2 * HOUR))).status_code == 200
    before = world.snapshot()
    r = await move(client, host, occ[1]["id"], start=iso(start + 2 * HOUR))
    body = assert_error(r, 400, f"'start' must be at or after {iso(end + 2 * HOUR)}")
    assert occ[0]["id"] in body["message"]
    assert world.snapshot() == before


# --- item 10: GET /v1/meetings/{seriesId}?current=true --------------------------------------------


async def test_current_is_the_occurrence_whose_instance_is_on(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """With an instance in progress, current=true answers its scheduled meeting (ready)."""
    m, occ = await daily(client, host, world)
    await start_meeting(world, occ[1]["id"])
    current = await get(client, host, m["id"], current="true")
    assert (current["id"], current["meetingType"]) == (occ[1]["id"], "scheduledMeeting")
    assert current["state"] == "ready" and current["meetingSeriesId"] == m["id"]


async def test_current_is_the_next_scheduled_meeting(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """Only future ones: the first; ended, cancelled or missed ones are passed over."""
    m, occ = await daily(client, host, world)
    current = await get(client, host, m["id"], current="true")
    assert (current["id"], current["state"]) == (occ[0]["id"], "scheduled")
    assert times(current) == times(occ[0])
    instance_id = await start_meeting(world, occ[0]["id"])
    assert (
        await client.post(f"/v1/meetings/{instance_id}/end", headers=auth(host))
    ).status_code == 204
    assert (await get(client, host, m["id"], current="TRUE"))["id"] == occ[1]["id"]
    r = await client.delete(f"/v1/meetings/{occ[1]['id']}?sendEmail=false", headers=auth(host))
    assert r.status_code == 204
    assert (await get(client, host, m["id"], current="true"))["id"] == occ[2]["id"]


async def test_current_goes_by_the_moved_times(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """A first occurrence moved later is current until its new end, shown at its new time."""
    m, occ = await daily(client, host, world)
    start, _ = times(occ[0])
    assert (await move(client, host, occ[0]["id"], start=iso(start + 3 * HOUR))).status_code == 200
    world.clock.advance(start - world.clock.now_s() + 2 * HOUR)
    current = await get(client, host, m["id"], current="true")
    assert current["id"] == occ[0]["id"] and epoch(current["start"]) == start + 3 * HOUR
    world.clock.advance(3 * HOUR)
    assert (await get(client, host, m["id"], current="true"))["id"] == occ[1]["id"]


async def test_current_of_a_series_with_nothing_left_is_404(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """Every meeting of the series over: current=true is a 404 saying so; nothing changes."""
    m, _ = await daily(client, host, world)
    world.clock.advance(5 * DAY)
    before = world.snapshot()
    r = await client.get(f"/v1/meetings/{m['id']}", params={"current": "true"}, headers=auth(host))
    assert_error(r, 404, "has no current or upcoming scheduled meeting")
    assert world.snapshot() == before
    assert (await get(client, host, m["id"]))["state"] == "expired"


@pytest.mark.parametrize("params", [{}, {"current": "false"}, {"current": "False"}])
async def test_current_false_or_absent_answers_the_series(
    client: httpx.AsyncClient, host: str, world: World, params: dict[str, str]
) -> None:
    """current=false, or no current: the series itself, as before."""
    m, _ = await daily(client, host, world)
    got = await get(client, host, m["id"], **params)
    assert (got["id"], got["meetingType"]) == (m["id"], "meetingSeries")


async def test_current_applies_to_a_series_only(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """A scheduled meeting's or an instance's id answers itself, current=true or not."""
    _, occ = await daily(client, host, world)
    assert (await get(client, host, occ[2]["id"], current="true"))["id"] == occ[2]["id"]
    instance_id = await start_meeting(world, occ[0]["id"])
    assert (await get(client, host, instance_id, current="true"))["id"] == instance_id


async def test_a_bad_current_value_is_400(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """current=yes is a 400 naming the parameter; nothing changes."""
    m, _ = await daily(client, host, world)
    before = world.snapshot()
    r = await client.get(f"/v1/meetings/{m['id']}", params={"current": "yes"}, headers=auth(host))
    assert_error(r, 400, "'current' must be true or false")
    assert world.snapshot() == before
