"""wxc-sdk 1.41.0, unchanged but for its base URL, against a real `breakouts serve` process.

Breakout-session operations have no SDK method: they go through the SDK's own request layer
(``api.session.rest_*``), so auth, base URL, TrackingID and error parsing are still the SDK's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import wxc_sdk.base
from wxc_sdk import WebexSimpleApi
from wxc_sdk.meetings import BreakoutSession, InviteeForCreateMeeting, Meeting
from wxc_sdk.rest import ErrorDetail, RestError

from tests.compat.conftest import Server, Tokens, future_slot

INVITEES = ["ana@example.com", "ben@example.com", "cleo@example.com"]
PLAN = [
    BreakoutSession(name="Room A", invitees=["ana@example.com", "ben@example.com"]),
    BreakoutSession(name="Room B", invitees=["cleo@example.com"]),
]
UNKNOWN = "0123456789abcdef0123456789abcdef"
HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def tokens(server: Server) -> Tokens:
    return server.tokens["wxc"]


def make_api(server: Server, token: str) -> WebexSimpleApi:
    api = WebexSimpleApi(tokens=token, retry_429=False)
    api.session.BASE = f"{server.url}/v1"  # no trailing slash: ep() adds one
    return api


@pytest.fixture(scope="module")
def api(server: Server, tokens: Tokens) -> Iterator[WebexSimpleApi]:
    client = make_api(server, tokens.host)
    yield client
    client.session.close()


@pytest.fixture(scope="module")
def reader(server: Server, tokens: Tokens) -> Iterator[WebexSimpleApi]:
    client = make_api(server, tokens.reader)
    yield client
    client.session.close()


@pytest.fixture(scope="module")
def pager(server: Server, tokens: Tokens) -> Iterator[WebexSimpleApi]:
    client = make_api(server, tokens.pager)
    yield client
    client.session.close()


@pytest.fixture(scope="module")
def started(server: Server, api: WebexSimpleApi) -> tuple[str, str]:
    """(series id, instance id) of a meeting with a plan, started through the CLI."""
    m = create(api, title="Started")
    assert m.id is not None
    return m.id, server.start_meeting(m.id)


def create(api: WebexSimpleApi, **fields: Any) -> Meeting:
    """A meeting series tomorrow with three invitees and a two-session plan."""
    start, end = future_slot()
    values: dict[str, Any] = {
        "title": "Weekly sync",
        "start": start,
        "end": end,
        "timezone": "UTC",
        "send_email": False,
        "invitees": [InviteeForCreateMeeting(email=e) for e in INVITEES],
        "enabled_breakout_sessions": True,
        "breakout_sessions": PLAN,
    }
    values.update(fields)
    return api.meetings.create(**values)


def sessions_url(api: WebexSimpleApi, meeting_id: str) -> str:
    url: str = api.session.ep(f"meetings/{meeting_id}/breakoutSessions")
    return url


def sessions(api: WebexSimpleApi, meeting_id: str) -> list[dict[str, Any]]:
    body = api.session.rest_get(sessions_url(api, meeting_id))
    items: list[dict[str, Any]] = body["items"]
    return items


def plan_of(items: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    return sorted((x["name"], sorted(i.lower() for i in x["invitees"])) for x in items)


def assert_rest_error(exc: RestError, status: int, message: str) -> ErrorDetail:
    """Status, message and trackingId as wxc-sdk parsed them from our error body."""
    assert exc.response.status_code == status, exc.response.text
    detail = exc.detail
    assert isinstance(detail, ErrorDetail), detail
    assert message in detail.message, detail.message
    assert detail.description
    # wxc-sdk sends its own TrackingID; the server echoes it in the header and the body.
    sent = exc.response.request.headers["TrackingID"]
    assert sent.startswith("SIMPLE_")
    assert detail.tracking_id == exc.response.headers["TrackingID"] == sent
    return detail


def test_model_allows_extra_fields() -> None:
    """wxc-sdk was imported with API_MODEL_ALLOW_EXTRA unset, so extra fields are kept."""
    assert wxc_sdk.base.API_MODEL_ALLOW_EXTRA == "allow"


def test_create_meeting_returns_series_with_plan(api: WebexSimpleApi) -> None:
    """meetings.create with invitees and breakoutSessions parses into a Meeting series."""
    m = create(api, title="Created by wxc-sdk")
    assert m.id is not None and HEX32.match(m.id)
    assert m.title == "Created by wxc-sdk"
    assert m.meeting_type == "meetingSeries"
    assert m.model_extra is not None
    assert m.model_extra["enabledBreakoutSessions"] is True
    assert plan_of(sessions(api, m.id)) == plan_of([s.model_dump() for s in PLAN])


def test_get_meeting_has_every_field_the_schema_requires(
    api: WebexSimpleApi, tokens: Tokens
) -> None:
    """meetings.get returns every field the official schema requires, typed as wxc-sdk wants."""
    created = create(api)
    assert created.id is not None
    m = api.meetings.get(created.id)
    assert m.id == created.id
    assert m.title == "Weekly sync"
    assert m.meeting_type == "meetingSeries"
    assert m.state == "active"
    assert m.timezone == "UTC"
    assert (m.start, m.end) == (created.start, created.end)
    assert m.host_email == tokens.host_email
    assert m.host_display_name == tokens.host_name
    for name in ("meeting_number", "password", "host_user_id", "host_key", "site_url", "web_link"):
        value = getattr(m, name)
        assert isinstance(value, str) and value, name
    assert m.telephony is not None
    assert m.model_extra is not None
    assert m.model_extra["enabledBreakoutSessions"] is True
    links = [x for x in m.model_extra["links"] if x["rel"] == "breakoutSessions"]
    assert len(links) == 1
    assert links[0]["href"].endswith(f"/meetings/{m.id}/breakoutSessions")


def test_list_meetings_follows_link_header_across_pages(pager: WebexSimpleApi) -> None:
    """meetings.list(max=2) follows the absolute Link URLs and yields each meeting once."""
    created = {
        create(pager, title=f"Page {n}", invitees=None, breakout_sessions=None).id for n in range(5)
    }
    urls: list[str] = []

    def record(r: requests.Response, *args: Any, **kwargs: Any) -> None:
        urls.append(r.url)

    pager.session.hooks["response"].append(record)
    try:
        listed = [m.id for m in pager.meetings.list(max=2)]
    finally:
        pager.session.hooks["response"].remove(record)
    assert sorted(x for x in listed if x is not None) == sorted(x for x in created if x is not None)
    assert len(listed) == 5
    assert len(urls) == 3
    assert all("offset=" in u for u in urls[1:])


def test_list_scheduled_meetings_of_a_recurring_series(api: WebexSimpleApi) -> None:
    """meetingType=scheduledMeeting&meetingSeriesId=… lists each occurrence of the RRULE."""
    series = create(api, recurrence="FREQ=DAILY;COUNT=3", breakout_sessions=None)
    assert series.id is not None and series.start is not None
    first = datetime.strptime(series.start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    expected = [
        f"{series.id}_{(first + timedelta(days=k)).strftime('%Y%m%dT%H%M%SZ')}" for k in range(3)
    ]
    listed = list(api.meetings.list(meeting_type="scheduledMeeting", meetingSeriesId=series.id))
    assert [m.id for m in listed] == expected
    assert {m.meeting_type for m in listed} == {"scheduledMeeting"}
    assert {(m.model_extra or {}).get("meetingSeriesId") for m in listed} == {series.id}
    assert [m.start for m in listed] == [
        (first + timedelta(days=k)).strftime("%Y-%m-%dT%H:%M:%SZ") for k in range(3)
    ]


def test_get_breakout_sessions_returns_the_plan(api: WebexSimpleApi) -> None:
    """GET breakoutSessions through rest_get returns the created plan with 32-hex ids."""
    m = create(api)
    assert m.id is not None
    items = sessions(api, m.id)
    assert plan_of(items) == plan_of([s.model_dump() for s in PLAN])
    assert all(HEX32.match(x["id"]) for x in items)


def test_put_breakout_sessions_replaces_the_plan(api: WebexSimpleApi) -> None:
    """PUT breakoutSessions through rest_put answers the new items, and GET then shows them."""
    m = create(api)
    assert m.id is not None
    old_ids = {x["id"] for x in sessions(api, m.id)}
    body = api.session.rest_put(
        sessions_url(api, m.id),
        json={"sendEmail": False, "items": [{"name": "Solo", "invitees": ["ana@example.com"]}]},
    )
    assert [(x["name"], x["invitees"]) for x in body["items"]] == [("Solo", ["ana@example.com"])]
    assert not {x["id"] for x in body["items"]} & old_ids
    assert sessions(api, m.id) == body["items"]
    assert (api.meetings.get(m.id).model_extra or {})["enabledBreakoutSessions"] is True


def test_delete_breakout_sessions_with_bool_false_clears_plan_silently(
    api: WebexSimpleApi, server: Server
) -> None:
    """DELETE with params sendEmail=False (Python bool) returns '' and leaves no plan, no email."""
    m = create(api)
    assert m.id is not None
    result = api.session.rest_delete(sessions_url(api, m.id), params={"sendEmail": False})
    assert result == ""
    assert sessions(api, m.id) == []
    assert (api.meetings.get(m.id).model_extra or {})["enabledBreakoutSessions"] is False
    assert server.deletion_emails(m.id) == 0


def test_delete_breakout_sessions_default_queues_email(api: WebexSimpleApi, server: Server) -> None:
    """DELETE without sendEmail mails the host and each of the three invitees."""
    m = create(api)
    assert m.id is not None
    assert api.session.rest_delete(sessions_url(api, m.id)) == ""
    assert sessions(api, m.id) == []
    assert server.deletion_emails(m.id) == 4


def test_delete_meeting_then_get_is_404(api: WebexSimpleApi) -> None:
    """meetings.delete(send_email=False) succeeds; the meeting is then a 404."""
    m = create(api)
    assert m.id is not None
    api.meetings.delete(m.id, send_email=False)
    with pytest.raises(RestError) as caught:
        api.meetings.get(m.id)
    assert_rest_error(caught.value, 404, "")


def test_bad_token_is_401(server: Server, api: WebexSimpleApi) -> None:
    """An unknown bearer token raises RestError 401 with the upstream message."""
    m = create(api)
    assert m.id is not None
    bad = make_api(server, "not-a-real-token-" + "x" * 40)
    try:
        with pytest.raises(RestError) as caught:
            bad.meetings.get(m.id)
    finally:
        bad.session.close()
    assert_rest_error(caught.value, 401, "requires a valid access token")


def test_unknown_meeting_is_404(api: WebexSimpleApi) -> None:
    """An unknown meeting id raises RestError 404 on GET and on DELETE breakoutSessions."""
    with pytest.raises(RestError) as caught:
        api.meetings.get(UNKNOWN)
    assert_rest_error(caught.value, 404, "")
    with pytest.raises(RestError) as caught:
        api.session.rest_delete(sessions_url(api, UNKNOWN), params={"sendEmail": False})
    assert_rest_error(caught.value, 404, "")


def test_instance_id_is_400(api: WebexSimpleApi, started: tuple[str, str]) -> None:
    """DELETE breakoutSessions on an instance id raises RestError 400 and changes nothing."""
    _, instance_id = started
    before = sessions(api, instance_id)
    assert before
    with pytest.raises(RestError) as caught:
        api.session.rest_delete(sessions_url(api, instance_id), params={"sendEmail": False})
    assert_rest_error(caught.value, 400, f"Meeting ID '{instance_id}' is not allowed for this API.")
    assert sessions(api, instance_id) == before


def test_bad_send_email_is_400(api: WebexSimpleApi) -> None:
    """sendEmail=maybe raises RestError 400 naming the parameter; the plan stays."""
    m = create(api)
    assert m.id is not None
    with pytest.raises(RestError) as caught:
        api.session.rest_delete(sessions_url(api, m.id), params={"sendEmail": "maybe"})
    assert_rest_error(caught.value, 400, "sendEmail")
    assert len(sessions(api, m.id)) == 2


def test_read_only_token_is_403(api: WebexSimpleApi, reader: WebexSimpleApi) -> None:
    """A meeting:schedules_read token may GET but DELETE raises RestError 403; the plan stays."""
    m = create(api)
    assert m.id is not None
    assert len(sessions(reader, m.id)) == 2
    with pytest.raises(RestError) as caught:
        reader.session.rest_delete(sessions_url(reader, m.id), params={"sendEmail": False})
    assert_rest_error(caught.value, 403, "")
    assert len(sessions(api, m.id)) == 2


def test_series_in_progress_is_409(api: WebexSimpleApi, started: tuple[str, str]) -> None:
    """DELETE breakoutSessions on a series whose instance is live raises RestError 409."""
    series_id, _ = started
    before = sessions(api, series_id)
    assert before
    with pytest.raises(RestError) as caught:
        api.session.rest_delete(sessions_url(api, series_id), params={"sendEmail": False})
    assert_rest_error(caught.value, 409, "Meeting is in progress.")
    assert sessions(api, series_id) == before
