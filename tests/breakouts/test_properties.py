"""Properties of breakout plans and meeting ids, checked with Hypothesis through HTTP (SPEC §2, §5).

pytest-asyncio runs every Hypothesis example of an ``async`` test in that test's event loop, with
the test's fixtures (app, client, world, host token) built once for all of its examples, not once
per example. So each example creates a meeting of its own, and compares only what it changed:
database snapshots taken around its own request, rows it can name, outbox rows counted before and
after. ``HealthCheck.function_scoped_fixture`` is suppressed for that reason, knowingly.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from tests.conftest import (
    DAY,
    HOUR,
    World,
    assert_error,
    auth,
    create_meeting,
    iso,
    list_occurrences,
    start_meeting,
)
from tests.conftest import get_sessions as listed
from tests.conftest import put_sessions as put
from tests.conftest import sessions_path as path

HOST = "host@example.com"
HEX32 = re.compile(r"[0-9a-f]{32}")
OCCURRENCE_SUFFIX = "%Y%m%dT%H%M%SZ"

PROPERTY = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # fixtures are shared by the examples, see above
        HealthCheck.too_slow,  # every example is a handful of HTTP round trips
        HealthCheck.data_too_large,  # lists of 101+ sessions are the point of one property
    ],
)
FEWER = settings(PROPERTY, max_examples=30)

# A session name the service accepts: 1 to 255 characters of one line (no control characters
# or line separators: they would reach email headers), not only whitespace (SPEC §5).
ONE_LINE = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))
NAMES = st.one_of(
    st.text(ONE_LINE, min_size=1, max_size=24),
    st.text(ONE_LINE, min_size=240, max_size=255),
).filter(lambda s: s.strip() != "")
SHORT_NAMES = st.text(ONE_LINE, min_size=1, max_size=12).filter(lambda s: s.strip() != "")
# Invitees come from a small pool so that collisions are frequent; the host is one of them.
POOL = ["ana@example.com", "ben@example.org", "cleo@mail.example.net", "dev@example.io", HOST]


@st.composite
def any_case(draw: st.DrawFn, email: str) -> str:
    """``email`` with each letter in upper or lower case."""
    mask = draw(st.integers(0, 2 ** len(email) - 1))
    return "".join(c.upper() if mask >> n & 1 else c for n, c in enumerate(email))


INVITEES = st.sampled_from(POOL).flatmap(any_case)


@st.composite
def disjoint_plans(draw: st.DrawFn, max_sessions: int = 6) -> list[dict[str, Any]]:
    """Plans where each person (any letter case) is in one session at most, maybe listed twice."""
    n = draw(st.integers(0, max_sessions))
    owner = {e: draw(st.integers(-1, n - 1)) for e in POOL}  # -1: in no session
    items: list[dict[str, Any]] = []
    for i in range(n):
        mine = [e for e in POOL if owner[e] == i]
        invitees = (
            draw(st.lists(st.sampled_from(mine).flatmap(any_case), max_size=4)) if mine else []
        )
        items.append({"name": draw(SHORT_NAMES), "invitees": invitees})
    return items


@st.composite
def conflicting_plans(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Plans where at least one person (in some letter case) is in two different sessions."""
    items = draw(
        st.lists(
            st.fixed_dictionaries(
                {"name": SHORT_NAMES, "invitees": st.lists(INVITEES, max_size=3)}
            ),
            min_size=2,
            max_size=6,
        )
    )
    first, second = sorted(
        draw(st.lists(st.integers(0, len(items) - 1), min_size=2, max_size=2, unique=True))
    )
    email = draw(st.sampled_from(POOL))
    for i in (first, second):
        at = draw(st.integers(0, len(items[i]["invitees"])))
        items[i]["invitees"].insert(at, draw(any_case(email)))
    return items


def first_conflict(items: list[dict[str, Any]]) -> str | None:
    """Where the service must say the plan breaks the one-session rule, or None if it does not."""
    owner: dict[str, int] = {}
    for n, item in enumerate(items):
        for k, email in enumerate(item.get("invitees", [])):
            if owner.setdefault(email.lower(), n) != n:
                return f"items[{n}].invitees[{k}]"
    return None


async def get_meeting(client: httpx.AsyncClient, token: str, meeting_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/meetings/{meeting_id}", headers=auth(token))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def planned_meeting(client: httpx.AsyncClient, token: str, **fields: Any) -> dict[str, Any]:
    """A fresh meeting of this example's own, with one session already planned."""
    return await create_meeting(
        client, token, sendEmail=False, enabledBreakoutSessions=True,
        breakoutSessions=[{"name": "Keep", "invitees": ["keep@example.com"]}], **fields,
    )  # fmt: skip


def utc_suffix(start: str) -> str:
    """The scheduled-meeting suffix of a rendered ``start`` (any offset): its UTC time."""
    return datetime.fromisoformat(start).astimezone(UTC).strftime(OCCURRENCE_SUFFIX)


@pytest.fixture
async def host(world: World) -> str:
    return await world.person(HOST, name="Harper Host")


# --- (a) the size of a plan ------------------------------------------------------------------


@PROPERTY
@given(items=st.lists(st.fixed_dictionaries({"name": NAMES}), min_size=101, max_size=130))
async def test_put_of_more_than_100_items_is_400_and_changes_nothing(
    client: httpx.AsyncClient, world: World, host: str, items: list[dict[str, Any]]
) -> None:
    """Any plan of more than 100 sessions is refused with 400 and leaves every row as it was."""
    m = await planned_meeting(client, host)
    before = world.snapshot()
    assert_error(await put(client, host, m["id"], items), 400, "at most 100")
    assert world.snapshot() == before


@PROPERTY
@given(
    items=st.lists(
        st.fixed_dictionaries({"name": NAMES}, optional={"invitees": st.just([])}), max_size=100
    ),
    send_email=st.booleans(),
)
async def test_put_of_at_most_100_items_returns_exactly_them_with_new_ids(
    client: httpx.AsyncClient,
    world: World,
    host: str,
    items: list[dict[str, Any]],
    send_email: bool,
) -> None:
    """Up to 100 valid sessions: 200 with the names given, in order, each with a new 32-hex id."""
    m = await planned_meeting(client, host)
    existing = {r["id"] for r in world.rows("SELECT id FROM breakout_sessions")}
    r = await put(client, host, m["id"], items, sendEmail=send_email)
    assert r.status_code == 200, r.text
    got = r.json()["items"]
    assert [s["name"] for s in got] == [i["name"] for i in items]
    ids = [s["id"] for s in got]
    assert all(HEX32.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == len(ids)
    assert not set(ids) & existing
    assert await listed(client, host, m["id"]) == got


# --- (b) one invitee, one session --------------------------------------------------------------


@PROPERTY
@given(items=conflicting_plans())
async def test_invitee_in_two_sessions_in_any_case_is_400_naming_the_item(
    client: httpx.AsyncClient, world: World, host: str, items: list[dict[str, Any]]
) -> None:
    """An email in two sessions, whatever its letter case, is 400 naming the first clash; no change."""
    where = first_conflict(items)
    assert where is not None
    m = await planned_meeting(client, host)
    before = world.snapshot()
    assert_error(await put(client, host, m["id"], items), 400, f"'{where}'")
    assert world.snapshot() == before


@PROPERTY
@given(items=disjoint_plans())
async def test_plan_with_each_invitee_in_one_session_is_accepted(
    client: httpx.AsyncClient, world: World, host: str, items: list[dict[str, Any]]
) -> None:
    """Each person in one session at most (repeats there in any case allowed): 200, kept apart."""
    m = await planned_meeting(client, host)
    r = await put(client, host, m["id"], items, sendEmail=False)
    assert r.status_code == 200, r.text
    got = r.json()["items"]
    assert [s["name"] for s in got] == [i["name"] for i in items]
    for given_item, session in zip(items, got, strict=True):
        assert {e.lower() for e in session["invitees"]} == {
            e.lower() for e in given_item["invitees"]
        }
    everyone = [e.lower() for s in got for e in s["invitees"]]
    assert len(everyone) == len(set(everyone))


# --- (c) DELETE after any accepted PUT ---------------------------------------------------------


@PROPERTY
@given(
    items=disjoint_plans(),
    put_on=st.none() | st.integers(0, 2),
    delete_on=st.none() | st.integers(0, 2),
    put_mail=st.booleans(),
    delete_mail=st.booleans(),
)
async def test_delete_after_any_accepted_put_empties_and_disables_and_is_idempotent(
    client: httpx.AsyncClient,
    world: World,
    host: str,
    items: list[dict[str, Any]],
    put_on: int | None,
    delete_on: int | None,
    put_mail: bool,
    delete_mail: bool,
) -> None:
    """DELETE leaves no sessions and the flag false; a second DELETE is 204 and queues nothing.

    The PUT and the DELETE each address the series (None) or one of its three occurrences.
    """
    m = await create_meeting(client, host, sendEmail=False, recurrence="FREQ=DAILY;COUNT=3")
    occurrences = [o["id"] for o in await list_occurrences(client, host, m["id"])]
    put_target = m["id"] if put_on is None else occurrences[put_on]
    target = m["id"] if delete_on is None else occurrences[delete_on]
    r = await put(client, host, put_target, items, sendEmail=put_mail)
    assert r.status_code == 200, r.text
    assert (await get_meeting(client, host, put_target))["enabledBreakoutSessions"] is True
    params = {"sendEmail": str(delete_mail).lower()}
    r = await client.delete(path(target), params=params, headers=auth(host))
    assert r.status_code == 204, r.text
    assert await listed(client, host, target) == []
    assert (await get_meeting(client, host, target))["enabledBreakoutSessions"] is False
    queued = len(world.outbox())
    again = await client.delete(path(target), params=params, headers=auth(host))
    assert again.status_code == 204, again.text
    assert again.content == b""
    assert len(world.outbox()) == queued


@PROPERTY
@given(items=disjoint_plans(), occurrence=st.none() | st.integers(0, 2))
async def test_delete_mails_host_and_each_distinct_invitee_once(
    client: httpx.AsyncClient,
    world: World,
    host: str,
    items: list[dict[str, Any]],
    occurrence: int | None,
) -> None:
    """sendEmail true: one message to the host and to each distinct invitee; none if nothing went."""
    m = await create_meeting(client, host, sendEmail=False, recurrence="FREQ=DAILY;COUNT=3")
    target = m["id"]
    if occurrence is not None:
        target = (await list_occurrences(client, host, m["id"]))[occurrence]["id"]
    assert (await put(client, host, target, items, sendEmail=False)).status_code == 200
    before = {r["id"] for r in world.outbox()}
    assert (await client.delete(path(target), headers=auth(host))).status_code == 204
    new = [r for r in world.outbox() if r["id"] not in before]
    expected = {HOST} | {e.lower() for i in items for e in i["invitees"]} if items else set()
    assert sorted(r["recipient"].lower() for r in new) == sorted(expected)
    assert {r["event"] for r in new} <= {"breakouts.deleted"}


# --- (e) who may call comes first ------------------------------------------------------------

BAD_AUTHORIZATION = st.sampled_from(
    [None, "Bearer nope", "Bearer ", "Basic aG9zdDpwdw==", "Token abc", "bearer"]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
BODIES = st.binary(max_size=40) | JSON_VALUES.map(lambda v: json.dumps(v).encode())


@PROPERTY
@given(
    method=st.sampled_from(["GET", "PUT", "DELETE"]),
    authorization=BAD_AUTHORIZATION,
    send_email=st.none() | st.sampled_from(["true", "False", "yes", ""]) | st.text(max_size=6),
    content_type=st.sampled_from([None, "application/json", "text/plain"]),
    body=BODIES,
)
async def test_without_a_valid_token_any_request_is_401_and_changes_nothing(
    client: httpx.AsyncClient,
    world: World,
    host: str,
    method: str,
    authorization: str | None,
    send_email: str | None,
    content_type: str | None,
    body: bytes,
) -> None:
    """No token, an unknown one or another scheme: 401 before any query or body is looked at."""
    m = await planned_meeting(client, host)
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization
    if content_type is not None:
        headers["Content-Type"] = content_type
    params = {} if send_email is None else {"sendEmail": send_email}
    before = world.snapshot()
    r = await client.request(
        method,
        path(m["id"]),
        params=params,
        headers=headers,
        content=body if method == "PUT" else None,
    )
    note(f"{method} {r.request.url} {headers} {body!r} -> {r.status_code} {r.text}")
    assert_error(
        r, 401, "The request requires a valid access token set in the Authorization request header."
    )
    assert world.snapshot() == before


# --- (d) identifier formats --------------------------------------------------------------------

TIMEZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe"]
RECURRENCES = st.builds(
    lambda freq, interval, count: f"FREQ={freq};INTERVAL={interval};COUNT={count}",
    st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]),
    st.integers(1, 3),
    st.integers(1, 6),
)


@FEWER
@given(
    recurrence=RECURRENCES,
    timezone=st.sampled_from(TIMEZONES),
    days=st.integers(1, 400),
    minutes=st.integers(0, 24 * 60 - 1),
)
async def test_series_and_scheduled_meeting_ids_keep_their_formats(
    client: httpx.AsyncClient,
    world: World,
    host: str,
    recurrence: str,
    timezone: str,
    days: int,
    minutes: int,
) -> None:
    """Series ids are 32 hex; each listed occurrence is {series}_{its UTC start}, found by that id."""
    now = world.clock.now_s()
    start = now - now % HOUR + days * DAY + minutes * 60
    m = await create_meeting(
        client, host, sendEmail=False, timezone=timezone, recurrence=recurrence,
        start=iso(start), end=iso(start + HOUR),
    )  # fmt: skip
    series = m["id"]
    assert HEX32.fullmatch(series), series
    occurrences = await list_occurrences(client, host, series)
    assert len(occurrences) == int(recurrence.rsplit("=", 1)[1])
    assert utc_suffix(occurrences[0]["start"]) == utc_suffix(m["start"])
    for occ in occurrences:
        assert occ["id"] == f"{series}_{utc_suffix(occ['start'])}"
        assert occ["meetingType"] == "scheduledMeeting"
        assert occ["meetingSeriesId"] == series
        got = await get_meeting(client, host, occ["id"])
        assert (got["id"], got["start"]) == (occ["id"], occ["start"])
    assert len({o["id"] for o in occurrences}) == len(occurrences)


@FEWER
@given(count=st.integers(1, 4), sessions=st.integers(0, 3))
async def test_instance_ids_keep_their_format(
    client: httpx.AsyncClient, world: World, host: str, count: int, sessions: int
) -> None:
    """Each started occurrence is an instance {series}_I_{18 digits} pointing at its scheduled id."""
    m = await create_meeting(
        client, host, sendEmail=False, recurrence=f"FREQ=DAILY;COUNT={count}",
        enabledBreakoutSessions=True, breakoutSessions=[{"name": f"S{n}"} for n in range(sessions)],
    )  # fmt: skip
    series = m["id"]
    planned = [o["id"] for o in await list_occurrences(client, host, series)]
    plan_ids = {s["id"] for s in await listed(client, host, series)}
    instances = []
    for scheduled in planned:
        instance = await start_meeting(world, series)
        assert re.fullmatch(rf"{series}_I_[0-9]{{18}}", instance), instance
        got = await get_meeting(client, host, instance)
        assert got["id"] == instance and got["meetingType"] == "meeting"
        assert got["meetingSeriesId"] == series
        assert got["scheduledMeetingId"] == scheduled
        held = await listed(client, host, instance)
        assert len(held) == sessions
        assert all(HEX32.fullmatch(s["id"]) and s["id"] not in plan_ids for s in held)
        r = await client.post(f"/v1/meetings/{instance}/end", headers=auth(host))
        assert r.status_code == 204, r.text
        instances.append(instance)
    assert len(set(instances)) == count
