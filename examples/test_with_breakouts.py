"""A project's tests of its wxc-sdk code, run against breakouts instead of Webex.

Installing breakouts brings the fixtures (no import, no conftest.py): ``webex_org`` is a fresh
org on a real breakouts server, with its own people, clock, faults, captured mail and request
journal, deleted after the test. Run with ``pytest`` or ``pytest -n 4``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from wxc_sdk import WebexSimpleApi
from wxc_sdk.meetings import BreakoutSession, InviteeForCreateMeeting, Meeting

from breakouts.pytest_plugin import WebexOrg  # for the type hints only


@pytest.fixture
def api(webex_org: WebexOrg) -> Iterator[WebexSimpleApi]:
    """wxc-sdk as the org's host, talking to breakouts instead of https://webexapis.com/v1."""
    api = WebexSimpleApi(tokens=webex_org.host.token)
    api.session.BASE = webex_org.base_url
    yield api
    api.session.close()


def utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def schedule(api: WebexSimpleApi, org: WebexOrg, starts_in: timedelta) -> Meeting:
    """A one-hour meeting with two invitees, each in a breakout session of their own."""
    start = org.clock.now() + starts_in
    return api.meetings.create(
        title="Planning",
        start=utc(start),
        end=utc(start + timedelta(hours=1)),
        send_email=False,
        invitees=[InviteeForCreateMeeting(email=e) for e in ("ana@example.com", "ben@example.com")],
        enabled_breakout_sessions=True,
        breakout_sessions=[
            BreakoutSession(name="Room A", invitees=["ana@example.com"]),
            BreakoutSession(name="Room B", invitees=["ben@example.com"]),
        ],
    )


def test_deleting_breakout_sessions_mails_everyone(
    api: WebexSimpleApi, webex_org: WebexOrg
) -> None:
    meeting = schedule(api, webex_org, starts_in=timedelta(days=1))
    # wxc-sdk has no breakout-session methods: its own request layer sends the DELETE.
    api.session.rest_delete(api.session.ep(f"meetings/{meeting.id}/breakoutSessions"))
    # The server's mail worker delivers in the background: wait until it has.
    mail = webex_org.mail.wait(3, meeting_id=meeting.id, status="captured")
    assert sorted(m["to"] for m in mail) == [
        "ana@example.com",
        "ben@example.com",
        "host@example.com",
    ]
    assert {m["event"] for m in mail} == {"breakouts.deleted"}


@pytest.mark.breakouts_org(journal=True)  # this org records its requests
def test_the_sdk_retries_a_429(api: WebexSimpleApi, webex_org: WebexOrg) -> None:
    meeting = schedule(api, webex_org, starts_in=timedelta(days=1))
    assert meeting.id is not None
    webex_org.faults.add("getMeetingById", status=429, retry_after=1, count=1)
    # wxc-sdk (retry_429=True by default) waits Retry-After, 1 s, and asks again.
    assert api.meetings.get(meeting.id).title == "Planning"
    requests = webex_org.journal.list(operation_id="getMeetingById")
    assert [r["status"] for r in requests] == [429, 200]


def test_a_meeting_expires_when_the_clock_passes_its_end(
    api: WebexSimpleApi, webex_org: WebexOrg
) -> None:
    meeting = schedule(api, webex_org, starts_in=timedelta(minutes=10))
    assert meeting.id is not None
    assert api.meetings.get(meeting.id).state == "active"
    webex_org.clock.advance(timedelta(hours=2))  # this org's clock only; nothing sleeps
    assert api.meetings.get(meeting.id).state == "expired"
