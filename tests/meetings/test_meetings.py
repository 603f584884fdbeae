"""Meetings (SPEC §4): create, get, list with paging, update, delete, end, states from the clock."""

from __future__ import annotations

import re
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
    future_slot,
    iso,
    list_occurrences,
    start_meeting,
)

HOST = "host@example.com"
REQUIRED = {
    "id", "meetingNumber", "title", "password", "meetingType", "state", "timezone", "start",
    "end", "hostUserId", "hostDisplayName", "hostEmail", "hostKey", "siteUrl", "webLink",
    "telephony", "enabledBreakoutSessions",
}  # fmt: skip


@pytest.fixture
async def host(world: World) -> str:
    return await world.person(HOST, name="Harper Hôst")


async def occurrences(
    client: httpx.AsyncClient, token: str, series_id: str
) -> list[dict[str, Any]]:
    r = await client.get(
        "/v1/meetings",
        params={
            "meetingType": "scheduledMeeting",
            "meetingSeriesId": series_id,
            "max": "100",
            "from": "2000-01-01T00:00:00Z",
            "to": "2100-01-01T00:00:00Z",
        },
        headers=auth(token),
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


# --- createMeeting -----------------------------------------------------------------------------


async def test_create_returns_200_with_every_required_field(
    client: httpx.AsyncClient, host: str
) -> None:
    """POST /meetings answers 200 with the fields the official schema requires."""
    m = await create_meeting(client, host, invitees=[{"email": "ana@example.com"}])
    assert set(m) >= REQUIRED
    assert re.fullmatch(r"[0-9a-f]{32}", m["id"])
    assert m["meetingType"] == "meetingSeries" and m["state"] == "active"
    assert m["hostEmail"] == HOST and m["hostDisplayName"] == "Harper Hôst"
    assert m["enabledBreakoutSessions"] is False
    assert m["links"] == [
        {"rel": "breakoutSessions", "method": "GET",
         "href": f"http://testserver/v1/meetings/{m['id']}/breakoutSessions"},
    ]  # fmt: skip
    assert m["telephony"]["accessCode"] and m["telephony"]["callInNumbers"]


async def test_times_are_truncated_to_the_minute_and_shown_in_the_meeting_timezone(
    client: httpx.AsyncClient, host: str
) -> None:
    """Start/end are cut to the minute and rendered with the timezone's offset."""
    r = await client.post(
        "/v1/meetings",
        json={"title": "Tokyo", "start": "2099-03-01 09:00:42", "end": "2099-03-01T10:00:59",
              "timezone": "Asia/Tokyo"},
        headers=auth(host),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    m = r.json()
    assert (m["start"], m["end"], m["timezone"]) == (
        "2099-03-01T09:00:00+09:00",
        "2099-03-01T10:00:00+09:00",
        "Asia/Tokyo",
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start": "2001-01-01T10:00:00Z", "end": "2001-01-01T11:00:00Z"}, "past"),
        ({"end": "START"}, "after"),
        ({"end": "+5m"}, "10 minutes"),
        ({"end": "+24h"}, "23 hours"),
        ({"title": "x" * 129}, "title"),
        ({"title": 42}, "title"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"recurrence": "FREQ=SOMETIMES"}, "recurrence"),
        ({"start": "tomorrow"}, "start"),
        ({"invitees": [{"email": "not-an-email"}]}, "invitees[0].email"),
        ({"invitees": [{"email": f"p{i}@example.com"} for i in range(1001)]}, "invitees"),
        ({"breakoutSessions": [{"name": ""}], "enabledBreakoutSessions": True}, "name"),
        (
            {"breakoutSessions": [{"name": "A"}], "enabledBreakoutSessions": False},
            "enabledBreakoutSessions",
        ),
    ],
)
async def test_invalid_create_is_400_naming_the_problem_and_creates_nothing(
    client: httpx.AsyncClient, host: str, world: World, change: dict[str, Any], field: str
) -> None:
    """Each upstream rule on create is a 400 whose message names the field or rule."""
    start, end = future_slot(world.clock)
    body: dict[str, Any] = {"title": "Bad", "start": start, "end": end, "timezone": "UTC"}
    for key, value in change.items():
        if value == "START":
            value = start
        elif isinstance(value, str) and value.startswith("+"):
            n, unit = int(value[1:-1]), value[-1]
            s = world.clock.now_s()
            base = s - s % HOUR + DAY
            body["start"] = iso(base)
            value = iso(base + n * (60 if unit == "m" else HOUR))
        body[key] = value
    before = world.snapshot()
    r = await client.post("/v1/meetings", json=body, headers=auth(host))
    assert_error(r, 400, field)
    assert world.snapshot() == before


async def test_admin_creates_for_host_and_non_admin_host_email_is_ignored(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """hostEmail in the body makes an admin schedule for that host; a user's is ignored."""
    admin = await world.person("admin@example.com", admin=True)
    m = await create_meeting(client, admin, hostEmail=HOST)
    assert m["hostEmail"] == HOST
    other = await world.person("other@example.com")
    m2 = await create_meeting(client, other, hostEmail=HOST)
    assert m2["hostEmail"] == "other@example.com"


async def test_create_queues_one_invitation_per_person(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """Creating a meeting mails the host and each invitee once; sendEmail=false mails nobody."""
    await create_meeting(
        client, host, invitees=[{"email": "ana@example.com"}, {"email": "ANA@example.com"},
                                {"email": "ben@example.com"}],
    )  # fmt: skip
    rows = world.outbox()
    assert sorted(r["recipient"] for r in rows) == ["ana@example.com", "ben@example.com", HOST]
    assert {r["event"] for r in rows} == {"meeting.created"}
    await create_meeting(client, host, sendEmail=False, invitees=[{"email": "ana@example.com"}])
    assert len(world.outbox()) == 3


# --- getMeeting --------------------------------------------------------------------------------


async def test_get_series_scheduled_and_instance(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """GET works for the three id forms, each with its meetingType and links."""
    m = await create_meeting(client, host, recurrence="FREQ=DAILY;COUNT=3")
    occ = await list_occurrences(client, host, m["id"])
    assert [o["meetingType"] for o in occ] == ["scheduledMeeting"] * 3
    assert all(re.fullmatch(m["id"] + r"_\d{8}T\d{6}Z", o["id"]) for o in occ)
    r = await client.get(f"/v1/meetings/{occ[0]['id']}", headers=auth(host))
    assert r.status_code == 200 and r.json()["meetingSeriesId"] == m["id"]
    instance = await start_meeting(world, occ[0]["id"])
    assert re.fullmatch(m["id"] + r"_I_\d{18}", instance)
    got = (await client.get(f"/v1/meetings/{instance}", headers=auth(host))).json()
    assert got["meetingType"] == "meeting" and got["state"] == "inProgress"
    assert got["scheduledMeetingId"] == occ[0]["id"]
    assert (await client.get(f"/v1/meetings/{occ[0]['id']}", headers=auth(host))).json()[
        "state"
    ] == "ready"
    assert (await client.get(f"/v1/meetings/{m['id']}", headers=auth(host))).json()[
        "state"
    ] == "inProgress"


async def test_invitee_sees_meeting_and_stranger_gets_404(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """Invitees may read a meeting; anyone else gets 404, as for an unknown id."""
    m = await create_meeting(client, host, invitees=[{"email": "Ana@Example.com"}])
    ana = await world.person("ana@example.com")
    assert (await client.get(f"/v1/meetings/{m['id']}", headers=auth(ana))).status_code == 200
    stranger = await world.person("x@example.com")
    assert_error(await client.get(f"/v1/meetings/{m['id']}", headers=auth(stranger)), 404)


# --- listMeetings ------------------------------------------------------------------------------


async def test_list_pages_with_absolute_link_headers(client: httpx.AsyncClient, host: str) -> None:
    """max pages the list; Link rel=next is an absolute URL that yields the rest, once each."""
    made = [(await create_meeting(client, host, days=1, title=f"M{i}", sendEmail=False))["id"]
            for i in range(5)]  # fmt: skip
    seen: list[str] = []
    url: str | None = "http://testserver/v1/meetings?max=2"
    pages = 0
    while url:
        r = await client.get(url, headers=auth(host))
        assert r.status_code == 200
        seen += [m["id"] for m in r.json()["items"]]
        link = r.headers.get("Link")
        url = None
        if link:
            match = re.fullmatch(r'<(http://testserver/v1/meetings\?[^>]+)>; rel="next"', link)
            assert match, link
            url = match.group(1)
        pages += 1
    assert pages == 3
    assert sorted(seen) == sorted(made)


@pytest.mark.parametrize(
    "params",
    [{"max": "0"}, {"max": "101"}, {"max": "ten"}, {"meetingType": "party"}, {"state": "asleep"},
     {"from": "2030-01-02T00:00:00Z", "to": "2030-01-01T00:00:00Z"}, {"meetingSeriesId": "nope"}],
)  # fmt: skip
async def test_bad_list_parameters_are_400(
    client: httpx.AsyncClient, host: str, params: dict[str, str]
) -> None:
    """Out-of-range or unknown list parameters are 400 naming the parameter."""
    r = await client.get("/v1/meetings", params=params, headers=auth(host))
    assert_error(r, 400, next(iter(params)))


async def test_weekly_series_keeps_local_time_across_dst(
    client: httpx.AsyncClient, host: str
) -> None:
    """A weekly 09:00 New York meeting stays at 09:00 local when daylight saving ends."""
    r = await client.post(
        "/v1/meetings",
        json={"title": "Standup", "start": "2099-10-20T09:00:00", "end": "2099-10-20T09:30:00",
              "timezone": "America/New_York", "recurrence": "FREQ=WEEKLY;COUNT=4"},
        headers=auth(host),
    )  # fmt: skip
    assert r.status_code == 200, r.text
    occ = await list_occurrences(client, host, r.json()["id"])
    assert [o["start"][11:] for o in occ] == ["09:00:00-04:00"] * 2 + ["09:00:00-05:00"] * 2
    assert [o["id"][-16:] for o in occ][:3] == [
        "20991020T130000Z",
        "20991027T130000Z",
        "20991103T140000Z",
    ]


async def test_state_filter_and_missed_by_clock(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """Moving the clock past an occurrence makes it missed; state= filters on it."""
    m = await create_meeting(client, host, recurrence="FREQ=DAILY;COUNT=3", sendEmail=False)
    world.clock.advance(DAY + 2 * HOUR)
    occ = await list_occurrences(client, host, m["id"])
    assert [o["state"] for o in occ] == ["missed", "scheduled", "scheduled"]
    r = await client.get(
        "/v1/meetings",
        params={"meetingType": "scheduledMeeting", "meetingSeriesId": m["id"], "state": "missed",
                "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"},
        headers=auth(host),
    )  # fmt: skip
    assert [o["id"] for o in r.json()["items"]] == [occ[0]["id"]]


async def test_list_instances(client: httpx.AsyncClient, host: str, world: World) -> None:
    """meetingType=meeting lists started instances in the window."""
    m = await create_meeting(client, host, sendEmail=False)
    instance = await start_meeting(world, m["id"])
    r = await client.get(
        "/v1/meetings", params={"meetingType": "meeting", "to": "2100-01-01T00:00:00Z",
                                "from": "2000-01-01T00:00:00Z"}, headers=auth(host),
    )  # fmt: skip
    assert [i["id"] for i in r.json()["items"]] == [instance]


# --- updateMeeting / patchMeeting ----------------------------------------------------------------


async def test_put_and_patch_update_the_series(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """PUT and PATCH (also as application/json-patch+json) change fields and mail everyone."""
    m = await create_meeting(client, host, sendEmail=False, invitees=[{"email": "a@example.com"}])
    r = await client.put(f"/v1/meetings/{m['id']}", json={"title": "Renamed"}, headers=auth(host))
    assert r.status_code == 200 and r.json()["title"] == "Renamed"
    r = await client.patch(
        f"/v1/meetings/{m['id']}", content=b'{"agenda": "Plan", "sendEmail": false}',
        headers=auth(host, **{"Content-Type": "application/json-patch+json"}),
    )  # fmt: skip
    assert r.status_code == 200 and r.json()["agenda"] == "Plan"
    got = (await client.get(f"/v1/meetings/{m['id']}", headers=auth(host))).json()
    assert (got["title"], got["agenda"]) == ("Renamed", "Plan")
    assert sorted(x["recipient"] for x in world.outbox()) == ["a@example.com", HOST]


async def test_update_occurrence_title_marks_it_modified(
    client: httpx.AsyncClient, host: str
) -> None:
    """Changing one scheduled meeting's title leaves the others alone and sets isModified."""
    m = await create_meeting(client, host, recurrence="FREQ=DAILY;COUNT=2", sendEmail=False)
    occ = await list_occurrences(client, host, m["id"])
    r = await client.put(f"/v1/meetings/{occ[0]['id']}", json={"title": "Special", "sendEmail": False},
                         headers=auth(host))  # fmt: skip
    assert r.status_code == 200 and r.json()["isModified"] is True
    after = await list_occurrences(client, host, m["id"])
    assert [(o["title"], o["isModified"]) for o in after] == [
        ("Special", True),
        ("Weekly sync", False),
    ]


async def test_update_refusals(client: httpx.AsyncClient, host: str, world: World) -> None:
    """Invitee 403, in progress 409, bad field 400; none of them changes anything."""
    m = await create_meeting(client, host, sendEmail=False, invitees=[{"email": "a@example.com"}])
    a = await world.person("a@example.com")
    before = world.snapshot()
    assert_error(
        await client.put(f"/v1/meetings/{m['id']}", json={"title": "x"}, headers=auth(a)), 403
    )
    assert_error(
        await client.put(f"/v1/meetings/{m['id']}", json={"title": ""}, headers=auth(host)),
        400,
        "title",
    )
    await start_meeting(world, m["id"])
    before = world.snapshot()
    assert_error(
        await client.put(f"/v1/meetings/{m['id']}", json={"title": "x"}, headers=auth(host)), 409
    )
    assert world.snapshot() == before


# --- deleteMeeting -----------------------------------------------------------------------------


async def test_delete_series_then_404(client: httpx.AsyncClient, host: str, world: World) -> None:
    """Deleting a series removes it and all it owns; it is 404 afterwards; invitees are told."""
    m = await create_meeting(
        client, host, sendEmail=False, invitees=[{"email": "a@example.com"}],
        enabledBreakoutSessions=True, breakoutSessions=[{"name": "A", "invitees": ["a@example.com"]}],
    )  # fmt: skip
    r = await client.delete(f"/v1/meetings/{m['id']}", headers=auth(host))
    assert r.status_code == 204 and r.content == b""
    assert_error(await client.get(f"/v1/meetings/{m['id']}", headers=auth(host)), 404)
    assert world.rows("SELECT * FROM meeting_series") == []
    assert world.rows("SELECT * FROM breakout_sessions") == []
    assert sorted(r["recipient"] for r in world.outbox()) == ["a@example.com", HOST]
    assert {r["event"] for r in world.outbox()} == {"meeting.cancelled"}


async def test_delete_one_occurrence(client: httpx.AsyncClient, host: str) -> None:
    """Deleting a scheduled meeting cancels that occurrence only."""
    m = await create_meeting(client, host, recurrence="FREQ=DAILY;COUNT=3", sendEmail=False)
    occ = await list_occurrences(client, host, m["id"])
    r = await client.delete(f"/v1/meetings/{occ[1]['id']}?sendEmail=false", headers=auth(host))
    assert r.status_code == 204
    assert [o["id"] for o in await list_occurrences(client, host, m["id"])] == [
        occ[0]["id"],
        occ[2]["id"],
    ]
    assert_error(await client.get(f"/v1/meetings/{occ[1]['id']}", headers=auth(host)), 404)


# --- endMeeting --------------------------------------------------------------------------------


async def test_end_meeting_ends_instance_and_stamps_sessions(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """POST /end ends the instance; its breakout sessions get startTime/endTime; then 409."""
    m = await create_meeting(
        client, host, sendEmail=False, enabledBreakoutSessions=True,
        breakoutSessions=[{"name": "A", "invitees": ["a@example.com"]}],
    )  # fmt: skip
    instance = await start_meeting(world, m["id"])
    held = (
        await client.get(f"/v1/meetings/{instance}/breakoutSessions", headers=auth(host))
    ).json()
    assert [s["name"] for s in held["items"]] == ["A"]
    assert "endTime" not in held["items"][0]
    world.clock.advance(600)
    r = await client.post(
        f"/v1/meetings/{m['id']}/end", json={"reason": "done"}, headers=auth(host)
    )
    assert r.status_code == 204
    got = (await client.get(f"/v1/meetings/{instance}", headers=auth(host))).json()
    assert got["state"] == "ended"
    items = (
        await client.get(f"/v1/meetings/{instance}/breakoutSessions", headers=auth(host))
    ).json()["items"]
    assert items[0]["startTime"] < items[0]["endTime"]
    assert_error(await client.post(f"/v1/meetings/{instance}/end", headers=auth(host)), 409)
    # The series plan is untouched by the instance's history.
    plan = (await client.get(f"/v1/meetings/{m['id']}/breakoutSessions", headers=auth(host))).json()
    assert [s["name"] for s in plan["items"]] == ["A"] and "startTime" not in plan["items"][0]


@pytest.mark.parametrize(
    ("recurrence", "text"),
    [
        ("FREQ=MINUTELY;COUNT=5", "FREQ=DAILY"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;BYHOUR=9", "BYHOUR=9"),
        ("FREQ=DAILY;COUNT=5001", "COUNT"),
        ("FREQ=DAILY;COUNT=2;COUNT=3", "COUNT=3"),
        ("FREQ=WEEKLY;BYDAY=XX", "recurrence"),
        ("FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31", "no day that exists"),
        ("FREQ=MONTHLY;BYDAY=6MO", "ordinal"),
        ("FREQ=DAILY;BYSETPOS=2", "BYSETPOS"),
        ("FREQ=WEEKLY;UNTIL=21990101T000000Z", "thirty years"),
    ],
)
async def test_recurrence_outside_what_webex_accepts_is_400(
    client: httpx.AsyncClient, host: str, world: World, recurrence: str, text: str
) -> None:
    """Only rules Webex accepts, that can occur, within thirty years (checked before any search)."""
    start, end = future_slot(world.clock)
    before = world.snapshot()
    r = await client.post(
        "/v1/meetings",
        json={"title": "R", "start": start, "end": end, "recurrence": recurrence},
        headers=auth(host),
    )
    assert_error(r, 400, text)
    assert world.snapshot() == before


async def test_far_future_occurrence_of_endless_series_is_404(
    client: httpx.AsyncClient, host: str
) -> None:
    """Occurrence ids beyond the thirty-year horizon of an endless rule are not found (and cheap)."""
    m = await create_meeting(client, host, recurrence="FREQ=DAILY", sendEmail=False)
    hour = m["start"][11:13] + m["start"][14:16] + "00"
    far = f"{m['id']}_99990101T{hour}Z"
    assert_error(await client.get(f"/v1/meetings/{far}", headers=auth(host)), 404)
    near = await list_occurrences(client, host, m["id"], to="2100-01-01T00:00:00Z")
    assert len(near) == 100  # a page of an endless series
