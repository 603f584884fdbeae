"""/openapi.json states what the server enforces, and the server enforces what it states (#10).

Date-times (`start`, `end`, `from`, `to`) are `format: date-time`; emails are `format: email`
with the pattern the decoder applies; `timezone` is an IANA name; no request field is nullable
(upstream marks none), so `null` is a 400 naming the field, like any other value the document
does not admit. Each refusal changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import (
    World,
    assert_error,
    auth,
    create_meeting,
    future_slot,
    put_sessions,
    sessions_path,
)

HOST = "host@example.com"
BODIES = ("CreateMeetingObject", "UpdateMeetingObject", "UpdateMeetingBreakoutSessionsObject")
EMAIL_FIELDS = [
    ("Invitee", "email", None),
    ("BreakoutSessionInput", "invitees", "items"),
    *((body, "hostEmail", None) for body in BODIES),
]
# Valid RFC 3339 date-times and the ISO 8601 forms the document lists as accepted too, with the
# UTC minute each means (`timezone` is Asia/Tokyo, +09:00, for those without an offset).
ACCEPTED_TIMES = [
    ("2099-03-01T09:00:00Z", "2099-03-01T09:00:00Z"),
    ("2099-03-01t09:00:00z", "2099-03-01T09:00:00Z"),
    ("2099-03-01 09:00:00Z", "2099-03-01T09:00:00Z"),
    ("2099-03-01T09:00:59.999999Z", "2099-03-01T09:00:00Z"),
    ("2099-03-01T09:00:00,5Z", "2099-03-01T09:00:00Z"),
    ("2099-03-01T18:00:00+09:00", "2099-03-01T09:00:00Z"),
    ("2099-03-01T18:00:00+0900", "2099-03-01T09:00:00Z"),
    ("2099-03-01T18:00:00+09", "2099-03-01T09:00:00Z"),
    ("2099-03-01T04:30:00-04:30", "2099-03-01T09:00:00Z"),
    ("2099-03-01T09:00:00-00:00", "2099-03-01T09:00:00Z"),
    ("2099-03-01T09:00Z", "2099-03-01T09:00:00Z"),
    ("2099-03-01T18:00", "2099-03-01T09:00:00Z"),
    ("2099-03-01T18:00:00", "2099-03-01T09:00:00Z"),
    ("2098-12-31T23:59:60Z", "2098-12-31T23:59:00Z"),  # a leap second stays in its minute
]
REFUSED_TIMES = [
    "",
    "tomorrow",
    "2099-03-01",  # a date alone
    "20990301T090000Z",  # ISO 8601 basic format
    "2099-W09-7T09:00:00Z",  # week date
    "2099-060T09:00:00Z",  # ordinal date
    "2099-03-01T09",  # hours alone
    " 2099-03-01T09:00:00Z",
    "2099-03-01T09:00:00Z\n",
    "2099-03-01T09:00:00 Z",
    "2099-02-30T09:00:00Z",
    "2099-03-01T24:00:00Z",
    "2099-03-01T09:60:00Z",
    "2099-03-01T09:00:61Z",
    "2099-03-01T09:00:00+24:00",
    "2099-03-01T09:00:00+09:60",
    "2099-03-01T09:00:00+09:00:00",
    "2099-3-1T09:00:00Z",
    "\uff12\uff10\uff19\uff19-03-01T09:00:00Z",  # fullwidth digits
]
ACCEPTED_EMAILS = [
    "brenda.song@example.com",
    "O'Neil+tag@Example.COM",
    "x!#$%&*+/=?^_`{|}~-@a1.test",
    "chloé@example.com",
    "a@b--c.xn--p1ai",
    "用户@例子.广告",
    "0@0.io",
]
REFUSED_EMAILS = [
    "",
    "not-an-email",
    "a b@example.com",
    "a@example.com\n",
    "a@example.com\r\nBcc: x@example.com",
    "a\u0000@example.com",
    "a\u007f@example.com",
    "a\u200b@example.com",
    "a@example.com\u00a0",
    '"a"@example.com',
    '"a b"@example.com',
    "a@[192.0.2.1]",
    "a@localhost",
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a@-example.com",
    "a@example-.com",
    "a@exam_ple.com",
    "a@example..com",
    "a@@example.com",
    "a(b)@example.com",
    "a@example.com.",
]
OPTION_VALUES: list[tuple[str, Any]] = [
    ("scheduledType", "party"),
    ("scheduledType", 1),
    ("unlockedMeetingJoinSecurity", "allowAll"),
    ("joinBeforeHostMinutes", 16),
    ("joinBeforeHostMinutes", -1),
    ("joinBeforeHostMinutes", 5.5),
    ("reminderTime", -1),
    ("reminderTime", 2**31),
    ("sessionTypeId", -1),
    ("sessionTypeId", 2**64),
    ("automaticLockMinutes", "10"),
    ("publicMeeting", "true"),
    ("publicMeeting", 1),
]


@pytest.fixture
async def host(world: World) -> str:
    return await world.person(HOST, name="Harper Host")


@pytest.fixture
async def doc(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    document: dict[str, Any] = r.json()
    return document


def _schemas(doc: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = doc["components"]["schemas"]
    return schemas


def _list_param(doc: dict[str, Any], name: str) -> dict[str, Any]:
    params = doc["paths"]["/v1/meetings"]["get"]["parameters"]
    param: dict[str, Any] = next(p for p in params if p["name"] == name)
    return param


def _body(clock_slot: tuple[str, str], **fields: Any) -> dict[str, Any]:
    start, end = clock_slot
    return {"title": "Strict", "start": start, "end": end, "timezone": "UTC", **fields}


async def _refused(
    client: httpx.AsyncClient,
    world: World,
    method: str,
    path: str,
    body: Any,
    token: str,
    field: str,
) -> None:
    """The request is a 400 whose message names ``field``, and nothing changed."""
    before = world.snapshot()
    r = await client.request(method, path, json=body, headers=auth(token))
    assert_error(r, 400, f"'{field}")
    assert world.snapshot() == before


# --- what the document states --------------------------------------------------------------


async def test_document_gives_every_date_time_the_date_time_format(doc: dict[str, Any]) -> None:
    """start and end in bodies, from and to in listMeetings: format date-time, and the relaxations."""
    schemas = _schemas(doc)
    for body in ("CreateMeetingObject", "UpdateMeetingObject"):
        for field in ("start", "end"):
            prop = schemas[body]["properties"][field]
            assert (prop["type"], prop["format"]) == ("string", "date-time"), (body, field)
            assert "RFC 3339" in prop["description"] and "`timezone`" in prop["description"]
            assert prop["example"] == "2020-05-15T20:30:00-08:00"
            assert "nullable" not in prop
    for name in ("from", "to"):
        param = _list_param(doc, name)
        assert param["schema"]["format"] == "date-time"
        assert "RFC 3339" in param["description"] and "UTC" in param["description"]


async def test_document_gives_every_email_the_email_format_and_the_server_pattern(
    doc: dict[str, Any],
) -> None:
    """Invitee emails, session invitees and hostEmail in bodies: format email plus the pattern."""
    from breakouts.text import EMAIL_PATTERN

    schemas = _schemas(doc)
    for component, field, _ in EMAIL_FIELDS:
        prop = schemas[component]["properties"][field]
        if prop.get("type") == "array":
            prop = prop["items"]
        assert prop["format"] == "email", (component, field)
        assert prop["pattern"] == EMAIL_PATTERN
        assert prop["maxLength"] == 320
        assert "nullable" not in prop


async def test_document_says_timezone_is_an_iana_name(doc: dict[str, Any]) -> None:
    """timezone: an IANA zone name, with America/New_York as the example."""
    for body in ("CreateMeetingObject", "UpdateMeetingObject"):
        prop = _schemas(doc)[body]["properties"]["timezone"]
        assert "IANA" in prop["description"] and prop["example"] == "America/New_York"
        assert prop["minLength"] == 1 and "nullable" not in prop


async def test_document_marks_no_request_field_nullable_and_types_every_enum(
    doc: dict[str, Any],
) -> None:
    """As upstream: no request field admits null; enums say they are strings."""
    request_schemas = ("Invitee", "BreakoutSessionInput", "EndMeetingRequestObject", *BODIES)
    for name in request_schemas:
        for field, prop in _schemas(doc)[name]["properties"].items():
            assert "nullable" not in prop, (name, field)
            if "enum" in prop:
                assert prop["type"] == "string", (name, field)
    options = _schemas(doc)["CreateMeetingObject"]["properties"]
    assert options["scheduledType"] == {
        "type": "string",
        "enum": ["meeting", "personalRoomMeeting", "webinar"],
    }
    assert options["sessionTypeId"] == {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}


# --- what the server enforces: date-times ------------------------------------------------


@pytest.mark.parametrize(("value", "utc"), ACCEPTED_TIMES)
async def test_create_accepts_rfc_3339_and_the_documented_iso_forms(
    client: httpx.AsyncClient, host: str, value: str, utc: str
) -> None:
    """Every date-time form the document admits is taken, to the minute, in `timezone` if local."""
    end = (datetime.fromisoformat(utc) + timedelta(hours=1)).isoformat()
    body = {"title": "T", "start": value, "end": end, "timezone": "Asia/Tokyo"}
    r = await client.post("/v1/meetings", json=body, headers=auth(host))
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["start"]) == datetime.fromisoformat(utc)


@pytest.mark.parametrize("value", REFUSED_TIMES)
@pytest.mark.parametrize("field", ["start", "end"])
async def test_create_refuses_what_is_not_a_documented_date_time(
    client: httpx.AsyncClient, host: str, world: World, field: str, value: str
) -> None:
    """A start or end outside the documented forms is a 400 naming the field; nothing is created."""
    body = _body(future_slot(world.clock), **{field: value})
    await _refused(client, world, "POST", "/v1/meetings", body, host, field)


@pytest.mark.parametrize("value", ["", "2099-03-01", "20990301T090000Z", "2099-03-01T09:00:00+24"])
@pytest.mark.parametrize("field", ["start", "end"])
async def test_update_refuses_what_is_not_a_documented_date_time(
    client: httpx.AsyncClient, host: str, world: World, field: str, value: str
) -> None:
    """PUT and PATCH refuse a malformed start or end (even empty) and leave the meeting as it was."""
    m = await create_meeting(client, host)
    for method in ("PUT", "PATCH"):
        await _refused(
            client, world, method, f"/v1/meetings/{m['id']}", {field: value}, host, field
        )


@pytest.mark.parametrize("value", ["", "2030-01-01", "20300101T000000Z", "2030-01-01T00:00:00 Z"])
@pytest.mark.parametrize("param", ["from", "to"])
async def test_list_refuses_from_and_to_that_are_not_date_times(
    client: httpx.AsyncClient, host: str, param: str, value: str
) -> None:
    """listMeetings: a from or to outside the documented forms (even empty) is a 400 naming it."""
    r = await client.get("/v1/meetings", params={param: value}, headers=auth(host))
    assert_error(r, 400, f"'{param}'")


async def test_list_accepts_the_documented_forms_of_from_and_to(
    client: httpx.AsyncClient, host: str
) -> None:
    """from/to without an offset are UTC; an offset is honoured (the window starts at `from`)."""
    m = await create_meeting(client, host, start="2099-03-01T09:00:00Z", end="2099-03-01T10:00:00Z")
    for window in (
        {"from": "2099-03-01T08:00", "to": "2099-03-01 10:00:00"},
        {"from": "2099-03-01T17:00+09", "to": "2099-03-01T19:00:00.5+0900"},
    ):
        r = await client.get("/v1/meetings", params=window, headers=auth(host))
        assert r.status_code == 200, r.text
        assert [i["id"] for i in r.json()["items"]] == [m["id"]]
    for start, found in (("2099-03-01T10:00+01", [m["id"]]), ("2099-03-01T11:00+01", [])):
        r = await client.get("/v1/meetings", params={"from": start}, headers=auth(host))
        assert [i["id"] for i in r.json()["items"]] == found, start


# --- emails --------------------------------------------------------------------------------


@pytest.mark.parametrize("email", ACCEPTED_EMAILS)
async def test_every_address_the_document_admits_is_accepted(
    client: httpx.AsyncClient, host: str, world: World, email: str
) -> None:
    """Exotic but valid addresses work as meeting and breakout invitees and as hostEmail."""
    m = await create_meeting(
        client,
        host,
        invitees=[{"email": email}],
        breakoutSessions=[{"name": "A", "invitees": [email]}],
        hostEmail=email,  # a non-admin's hostEmail is ignored, but must be well-formed
    )
    r = await put_sessions(client, host, m["id"], [{"name": "B", "invitees": [email]}])
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["invitees"] == [email]
    invitees = world.rows("SELECT email FROM meeting_invitees")
    assert [i["email"] for i in invitees] == [email]


@pytest.mark.parametrize("email", REFUSED_EMAILS)
async def test_every_address_the_document_refuses_is_a_400_naming_the_field(
    client: httpx.AsyncClient, host: str, world: World, email: str
) -> None:
    """Whitespace, controls, quoted or literal parts, dotless or malformed domains: 400, no change."""
    slot = future_slot(world.clock)
    cases: list[tuple[str, Any, str]] = [
        ("invitees[0].email", _body(slot, invitees=[{"email": email}]), "POST"),
        (
            "breakoutSessions[0].invitees[0]",
            _body(slot, breakoutSessions=[{"name": "A", "invitees": [email]}]),
            "POST",
        ),
        ("hostEmail", _body(slot, hostEmail=email), "POST"),
    ]
    for field, body, method in cases:
        await _refused(client, world, method, "/v1/meetings", body, host, field)
    m = await create_meeting(client, host)
    items = {"items": [{"name": "A", "invitees": [email]}]}
    await _refused(
        client, world, "PUT", sessions_path(m["id"]), items, host, "items[0].invitees[0]"
    )
    body = {"items": [], "hostEmail": email}
    await _refused(client, world, "PUT", sessions_path(m["id"]), body, host, "hostEmail")
    for method in ("PUT", "PATCH"):
        path = f"/v1/meetings/{m['id']}"
        await _refused(client, world, method, path, {"hostEmail": email}, host, "hostEmail")


# --- timezone, null and the other option fields -------------------------------------------


@pytest.mark.parametrize("value", ["Mars/Olympus", "", "../etc/passwd", "america/new_york ", 5])
async def test_timezone_must_be_an_iana_name(
    client: httpx.AsyncClient, host: str, world: World, value: Any
) -> None:
    """A timezone that is not an IANA zone name is a 400 naming 'timezone', on create and update."""
    body = _body(future_slot(world.clock), timezone=value)
    await _refused(client, world, "POST", "/v1/meetings", body, host, "timezone")
    m = await create_meeting(client, host)
    await _refused(
        client, world, "PATCH", f"/v1/meetings/{m['id']}", {"timezone": value}, host, "timezone"
    )


async def test_timezone_names_the_zone_times_are_read_and_shown_in(
    client: httpx.AsyncClient, host: str
) -> None:
    """America/New_York, the documented example, is taken and used."""
    m = await create_meeting(
        client, host, start="2099-07-01T09:00", end="2099-07-01T10:00", timezone="America/New_York"
    )
    assert (m["start"], m["timezone"]) == ("2099-07-01T09:00:00-04:00", "America/New_York")


async def test_null_is_refused_for_every_request_field(
    client: httpx.AsyncClient, host: str, world: World, doc: dict[str, Any]
) -> None:
    """No request field is nullable in the document, so null is a 400 naming it, never "absent"."""
    m = await create_meeting(client, host)
    slot = future_slot(world.clock)
    schemas = _schemas(doc)
    for field in schemas["CreateMeetingObject"]["properties"]:
        await _refused(
            client, world, "POST", "/v1/meetings", _body(slot, **{field: None}), host, field
        )
    for field in schemas["UpdateMeetingObject"]["properties"]:
        for method in ("PUT", "PATCH"):
            path = f"/v1/meetings/{m['id']}"
            await _refused(client, world, method, path, {field: None}, host, field)
    for field in schemas["UpdateMeetingBreakoutSessionsObject"]["properties"]:
        body = {"items": [], field: None}
        await _refused(client, world, "PUT", sessions_path(m["id"]), body, host, field)
    for field in schemas["Invitee"]["properties"]:
        body = _body(slot, invitees=[{"email": "ana@example.com", field: None}])
        await _refused(client, world, "POST", "/v1/meetings", body, host, f"invitees[0].{field}")
    for field in schemas["BreakoutSessionInput"]["properties"]:
        body = {"items": [{"name": "A", field: None}]}
        await _refused(
            client, world, "PUT", sessions_path(m["id"]), body, host, f"items[0].{field}"
        )
    path = f"/v1/meetings/{m['id']}/end"
    await _refused(client, world, "POST", path, {"reason": None}, host, "reason")


@pytest.mark.parametrize(("field", "value"), OPTION_VALUES)
async def test_option_fields_keep_their_documented_type_enum_and_range(
    client: httpx.AsyncClient, host: str, world: World, field: str, value: Any
) -> None:
    """An option outside its documented enum, type or range is a 400 naming it; nothing changes."""
    body = _body(future_slot(world.clock), **{field: value})
    await _refused(client, world, "POST", "/v1/meetings", body, host, field)
    m = await create_meeting(client, host)
    await _refused(client, world, "PATCH", f"/v1/meetings/{m['id']}", {field: value}, host, field)


async def test_option_fields_are_kept_when_set_and_absent_when_not(
    client: httpx.AsyncClient, host: str
) -> None:
    """Options given are echoed back; options never given are not shown (not even as null)."""
    m = await create_meeting(client, host, scheduledType="webinar", sessionTypeId=2**31 - 1)
    assert (m["scheduledType"], m["sessionTypeId"]) == ("webinar", 2**31 - 1)
    assert "publicMeeting" not in m and "reminderTime" not in m
    r = await client.patch(
        f"/v1/meetings/{m['id']}", json={"publicMeeting": False}, headers=auth(host)
    )
    assert r.status_code == 200, r.text
    assert (r.json()["publicMeeting"], r.json()["scheduledType"]) == (False, "webinar")


@pytest.mark.parametrize(
    "title",
    [
        "Weekly\n",
        "Weekly\r\nBcc: x@example.com",
        "Week\u2028ly",
    ],
)
async def test_a_title_that_is_not_one_line_is_refused(
    client: httpx.AsyncClient, host: str, world: World, title: str
) -> None:
    """The title is one line: a line break anywhere, a final one included, is a 400 naming it."""
    body = _body(future_slot(world.clock), title=title)
    await _refused(client, world, "POST", "/v1/meetings", body, host, "title")
