"""webexpythonsdk 2.0.6, unchanged but for its base URL, against a real `breakouts serve` process.

Breakout-session operations have no SDK method: they go through the SDK's own request layer
(``api._session.get/put/delete``), so auth, base URL, expected status codes and error parsing are
still the SDK's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from webexpythonsdk import WebexAPI
from webexpythonsdk.exceptions import ApiError

from tests.compat.conftest import Server, Tokens, future_slot

INVITEES = ["ana@example.com", "ben@example.com", "cleo@example.com"]
PLAN = [
    {"name": "Room A", "invitees": ["ana@example.com", "ben@example.com"]},
    {"name": "Room B", "invitees": ["cleo@example.com"]},
]
UNKNOWN = "0123456789abcdef0123456789abcdef"
HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def tokens(server: Server) -> Tokens:
    return server.tokens["webex"]


def make_api(server: Server, token: str) -> WebexAPI:
    # The trailing slash matters: relative endpoints are urljoin'ed to it.
    return WebexAPI(access_token=token, base_url=f"{server.url}/v1/", wait_on_rate_limit=False)


def close(api: WebexAPI) -> None:
    api._session._req_session.close()


@pytest.fixture(scope="module")
def api(server: Server, tokens: Tokens) -> Iterator[WebexAPI]:
    client = make_api(server, tokens.host)
    yield client
    close(client)


@pytest.fixture(scope="module")
def reader(server: Server, tokens: Tokens) -> Iterator[WebexAPI]:
    client = make_api(server, tokens.reader)
    yield client
    close(client)


@pytest.fixture(scope="module")
def pager(server: Server, tokens: Tokens) -> Iterator[WebexAPI]:
    client = make_api(server, tokens.pager)
    yield client
    close(client)


@pytest.fixture(scope="module")
def started(server: Server, api: WebexAPI) -> tuple[str, str]:
    """(series id, instance id) of a meeting with a plan, started through the CLI."""
    m = create(api, title="Started")
    return m.id, server.start_meeting(m.id)


def create(api: WebexAPI, **fields: Any) -> Any:
    """A meeting series tomorrow with three invitees and a two-session plan."""
    start, end = future_slot()
    values: dict[str, Any] = {
        "title": "Weekly sync",
        "start": start,
        "end": end,
        "timezone": "UTC",
        "sendEmail": False,
        "invitees": [{"email": e} for e in INVITEES],
        "enabledBreakoutSessions": True,
        "breakoutSessions": PLAN,
    }
    values.update(fields)
    return api.meetings.create(**values)


def sessions_path(meeting_id: str) -> str:
    return f"meetings/{meeting_id}/breakoutSessions"


def sessions(api: WebexAPI, meeting_id: str) -> list[dict[str, Any]]:
    body = api._session.get(sessions_path(meeting_id))
    items: list[dict[str, Any]] = body["items"]
    return items


def plan_of(items: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    return sorted((x["name"], sorted(i.lower() for i in x["invitees"])) for x in items)


def assert_api_error(exc: ApiError, status: int, message: str) -> None:
    """Status, message and trackingId as webexpythonsdk parsed them from our error body."""
    assert exc.status_code == status, exc.response.text
    assert exc.message is not None and message in exc.message, exc.message
    assert exc.details is not None and exc.details["errors"][0]["description"]
    # webexpythonsdk sends no TrackingID; the server makes one and puts it in header and body.
    assert "TrackingID" not in exc.request.headers
    assert exc.tracking_id and exc.tracking_id == exc.response.headers["TrackingID"]
    assert f"[Tracking ID: {exc.tracking_id}]" in str(exc)


def test_create_meeting_returns_series_with_plan(api: WebexAPI) -> None:
    """meetings.create with invitees and breakoutSessions answers 200 with the series."""
    m = create(api, title="Created by webexpythonsdk")
    assert HEX32.match(m.id)
    assert m.title == "Created by webexpythonsdk"
    assert m.meetingType == "meetingSeries"
    assert m.enabledBreakoutSessions is True
    assert plan_of(sessions(api, m.id)) == plan_of(PLAN)


def test_get_meeting_has_every_field_the_schema_requires(api: WebexAPI, tokens: Tokens) -> None:
    """meetings.get returns every field the official schema requires."""
    created = create(api)
    m = api.meetings.get(created.id)
    assert m.id == created.id
    assert m.title == "Weekly sync"
    assert m.meetingType == "meetingSeries"
    assert m.state == "active"
    assert m.timezone == "UTC"
    assert (m.start, m.end) == (created.start, created.end)
    assert m.hostEmail == tokens.host_email
    assert m.hostDisplayName == tokens.host_name
    for name in ("meetingNumber", "password", "hostUserId", "hostKey", "siteUrl", "webLink"):
        value = getattr(m, name)
        assert isinstance(value, str) and value, name
    assert isinstance(m.telephony, dict) and m.telephony
    assert m.enabledBreakoutSessions is True
    links = [x for x in m.links if x["rel"] == "breakoutSessions"]
    assert len(links) == 1
    assert links[0]["href"].endswith(f"/meetings/{m.id}/breakoutSessions")


def test_list_meetings_follows_link_header_across_pages(pager: WebexAPI) -> None:
    """meetings.list(max=2) follows the absolute Link URLs and yields each meeting once."""
    created = {
        create(pager, title=f"Page {n}", invitees=None, breakoutSessions=None).id for n in range(5)
    }
    urls: list[str] = []

    def record(r: requests.Response, *args: Any, **kwargs: Any) -> None:
        urls.append(r.url)

    hooks = pager._session._req_session.hooks["response"]
    hooks.append(record)
    try:
        listed = [m.id for m in pager.meetings.list(max=2)]
    finally:
        hooks.remove(record)
    assert sorted(listed) == sorted(created)
    assert len(listed) == 5
    assert len(urls) == 3
    assert all("offset=" in u and "max=2" in u for u in urls[1:])


def test_list_scheduled_meetings_of_a_recurring_series(api: WebexAPI) -> None:
    """meetingType=scheduledMeeting&meetingSeriesId=… lists each occurrence of the RRULE."""
    series = create(api, recurrence="FREQ=DAILY;COUNT=3", breakoutSessions=None)
    first = datetime.strptime(series.start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    starts = [first + timedelta(days=k) for k in range(3)]
    # meetings.list(meetingSeriesId=…) cannot be used: webexpythonsdk 2.0.6's generator_container
    # re-passes **request_parameters as one kwarg, so the request carries
    # `request_parameters=meetingSeriesId` instead of the filter. Its own pager, as list() uses it:
    params = {"meetingType": "scheduledMeeting", "meetingSeriesId": series.id}
    listed = [
        api.meetings._object_factory("meeting", item)
        for item in api._session.get_items("meetings", params=params)
    ]
    assert [m.id for m in listed] == [f"{series.id}_{s:%Y%m%dT%H%M%SZ}" for s in starts]
    assert {m.meetingType for m in listed} == {"scheduledMeeting"}
    assert {m.meetingSeriesId for m in listed} == {series.id}
    assert [m.start for m in listed] == [f"{s:%Y-%m-%dT%H:%M:%SZ}" for s in starts]


def test_get_breakout_sessions_returns_the_plan(api: WebexAPI) -> None:
    """GET breakoutSessions through _session.get returns the created plan with 32-hex ids."""
    m = create(api)
    items = sessions(api, m.id)
    assert plan_of(items) == plan_of(PLAN)
    assert all(HEX32.match(x["id"]) for x in items)


def test_put_breakout_sessions_replaces_the_plan(api: WebexAPI) -> None:
    """PUT breakoutSessions through _session.put answers 200 with the new items; GET shows them."""
    m = create(api)
    old_ids = {x["id"] for x in sessions(api, m.id)}
    body = api._session.put(
        sessions_path(m.id),
        json={"sendEmail": False, "items": [{"name": "Solo", "invitees": ["ana@example.com"]}]},
    )
    assert [(x["name"], x["invitees"]) for x in body["items"]] == [("Solo", ["ana@example.com"])]
    assert not {x["id"] for x in body["items"]} & old_ids
    assert sessions(api, m.id) == body["items"]
    assert api.meetings.get(m.id).enabledBreakoutSessions is True


def test_delete_breakout_sessions_with_bool_false_clears_plan_silently(
    api: WebexAPI, server: Server
) -> None:
    """DELETE with params sendEmail=False (Python bool) answers 204; no plan, no email."""
    m = create(api)
    assert api._session.delete(sessions_path(m.id), params={"sendEmail": False}) is None
    assert sessions(api, m.id) == []
    assert api.meetings.get(m.id).enabledBreakoutSessions is False
    assert server.deletion_emails(m.id) == 0


def test_delete_breakout_sessions_default_queues_email(api: WebexAPI, server: Server) -> None:
    """DELETE without sendEmail answers 204 and mails the host and each of the three invitees."""
    m = create(api)
    response = api._session.request("DELETE", sessions_path(m.id), 204)
    assert response.status_code == 204
    assert response.content == b""
    assert sessions(api, m.id) == []
    assert server.deletion_emails(m.id) == 4


def test_delete_meeting_then_get_is_404(api: WebexAPI) -> None:
    """meetings.delete answers the expected 204; the meeting is then a 404."""
    m = create(api)
    api.meetings.delete(m.id)
    with pytest.raises(ApiError) as caught:
        api.meetings.get(m.id)
    assert_api_error(caught.value, 404, "")


def test_bad_token_is_401(server: Server, api: WebexAPI) -> None:
    """An unknown bearer token raises ApiError 401 with the upstream message."""
    m = create(api)
    bad = make_api(server, "not-a-real-token-" + "x" * 40)
    try:
        with pytest.raises(ApiError) as caught:
            bad.meetings.get(m.id)
    finally:
        close(bad)
    assert_api_error(caught.value, 401, "requires a valid access token")


def test_unknown_meeting_is_404(api: WebexAPI) -> None:
    """An unknown meeting id raises ApiError 404 on GET and on DELETE breakoutSessions."""
    with pytest.raises(ApiError) as caught:
        api.meetings.get(UNKNOWN)
    assert_api_error(caught.value, 404, "")
    with pytest.raises(ApiError) as caught:
        api._session.delete(sessions_path(UNKNOWN), params={"sendEmail": False})
    assert_api_error(caught.value, 404, "")


def test_instance_id_is_400(api: WebexAPI, started: tuple[str, str]) -> None:
    """DELETE breakoutSessions on an instance id raises ApiError 400 and changes nothing."""
    _, instance_id = started
    before = sessions(api, instance_id)
    assert before
    with pytest.raises(ApiError) as caught:
        api._session.delete(sessions_path(instance_id), params={"sendEmail": False})
    assert_api_error(caught.value, 400, f"Meeting ID '{instance_id}' is not allowed for this API.")
    assert sessions(api, instance_id) == before


def test_bad_send_email_is_400(api: WebexAPI) -> None:
    """sendEmail=maybe raises ApiError 400 naming the parameter; the plan stays."""
    m = create(api)
    with pytest.raises(ApiError) as caught:
        api._session.delete(sessions_path(m.id), params={"sendEmail": "maybe"})
    assert_api_error(caught.value, 400, "sendEmail")
    assert len(sessions(api, m.id)) == 2


def test_read_only_token_is_403(api: WebexAPI, reader: WebexAPI) -> None:
    """A meeting:schedules_read token may GET but DELETE raises ApiError 403; the plan stays."""
    m = create(api)
    assert len(sessions(reader, m.id)) == 2
    with pytest.raises(ApiError) as caught:
        reader._session.delete(sessions_path(m.id), params={"sendEmail": False})
    assert_api_error(caught.value, 403, "")
    assert len(sessions(api, m.id)) == 2


def test_series_in_progress_is_409(api: WebexAPI, started: tuple[str, str]) -> None:
    """DELETE breakoutSessions on a series whose instance is live raises ApiError 409."""
    series_id, _ = started
    before = sessions(api, series_id)
    assert before
    with pytest.raises(ApiError) as caught:
        api._session.delete(sessions_path(series_id), params={"sendEmail": False})
    assert_api_error(caught.value, 409, "Meeting is in progress.")
    assert sessions(api, series_id) == before
