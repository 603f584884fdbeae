"""Each org's clock (SPEC §10): moving it ends meetings, expires series and turns DELETE into 409."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.conftest import DAY, HOUR, assert_error, auth, create_meeting, sessions_path
from tests.control.conftest import Org, op

PLAN = [{"name": "A", "invitees": ["ben@example.com"]}]


def _epoch(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp())


async def test_clock_starts_at_real_time_and_moves_forward(org_a: Org) -> None:
    """GET clock: now within a few seconds of real time, offset 0; advance 2h adds 7200 s."""
    clock = await org_a.get("clock")
    assert clock["offsetSeconds"] == 0
    assert abs(_epoch(clock["now"]) - datetime.now(UTC).timestamp()) < 5
    moved = await org_a.post("clock", {"advance": 7200})
    assert moved["offsetSeconds"] == 7200
    assert (await org_a.get("clock"))["offsetSeconds"] == 7200


@pytest.mark.parametrize(
    ("advance", "seconds"),
    [
        ("PT2H", 7200),
        ("P1DT30M", 86400 + 1800),
        ("P1W", 604800),
        ("90", 90),
        (1.5, 2),
        ("2h", 7200),
    ],
)
async def test_advance_takes_seconds_or_an_iso_8601_duration(
    org_a: Org, advance: Any, seconds: int
) -> None:
    """advance accepts a number, a number as text, an ISO 8601 duration, or 2h/90m/1d."""
    assert (await org_a.post("clock", {"advance": advance}))["offsetSeconds"] == seconds


@pytest.mark.parametrize(
    "body",
    [{"advance": -1}, {"advance": "-PT1H"}, {"advance": "P1Y"}, {"advance": "soon"}, {}, {"advance": 1, "to": "2030-01-01T00:00:00Z"},
     {"to": "2000-01-01T00:00:00Z"}, {"to": "tomorrow"}, {"to": "2030-01-01T00:00:00"},
     {"advance": "nan"}, {"advance": "inf"}, {"advance": "1e300"}, {"advance": 1e18},
     {"to": "9999-12-31T23:59:59Z"}],
)  # fmt: skip
async def test_the_clock_never_moves_backwards_and_bad_moves_are_400(
    client: httpx.AsyncClient, org_a: Org, body: dict[str, Any]
) -> None:
    """Negative, past, ambiguous (years), unparseable or doubled moves: 400, offset unchanged."""
    r = await client.post(f"/_control/orgs/{org_a.id}/clock", json=body, headers=op())
    assert_error(r, 400)
    assert (await org_a.get("clock"))["offsetSeconds"] == 0


async def test_to_sets_an_instant(org_a: Org) -> None:
    """to: an RFC 3339 instant in the future becomes the org's now."""
    moved = await org_a.post("clock", {"to": "2031-06-01T12:00:00+02:00"})
    assert moved["now"] == "2031-06-01T10:00:00Z"


async def test_moving_the_clock_ends_a_meeting_and_delete_becomes_409(
    client: httpx.AsyncClient, org_a: Org, org_b: Org
) -> None:
    """Past its end, a single meeting's occurrence is missed and its series expired: DELETE 409."""
    m = await create_meeting(
        client, org_a.host, sendEmail=False, enabledBreakoutSessions=True, breakoutSessions=PLAN
    )
    assert m["state"] == "active"
    await org_a.post("clock", {"advance": 2 * DAY})
    r = await client.get(f"/v1/meetings/{m['id']}", headers=auth(org_a.host))
    assert r.json()["state"] == "expired"
    r = await client.get(
        "/v1/meetings",
        params={"meetingType": "scheduledMeeting", "meetingSeriesId": m["id"],
                "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"},
        headers=auth(org_a.host),
    )  # fmt: skip
    assert [o["state"] for o in r.json()["items"]] == ["missed"]
    assert_error(await client.delete(sessions_path(m["id"]), headers=auth(org_a.host)), 409)
    # B's clock did not move: the same kind of meeting is still active there.
    b = await create_meeting(client, org_b.host, sendEmail=False)
    assert b["state"] == "active"


async def test_a_started_meeting_ends_when_the_clock_passes_its_end(
    client: httpx.AsyncClient, org_a: Org
) -> None:
    """Started by the control plane: inProgress (DELETE 409); its occurrence is ended later on."""
    m = await create_meeting(
        client, org_a.host, sendEmail=False, enabledBreakoutSessions=True, breakoutSessions=PLAN
    )
    r = await client.post(f"/_control/meetings/{m['id']}/start", headers=op())
    assert r.status_code == 200, r.text
    instance = r.json()
    assert instance["meetingType"] == "meeting" and instance["state"] == "inProgress"
    assert "_I_" in instance["id"]
    assert_error(await client.delete(sessions_path(m["id"]), headers=auth(org_a.host)), 409)
    r = await client.get(sessions_path(instance["id"]), headers=auth(org_a.host))
    assert [s["name"] for s in r.json()["items"]] == ["A"]


async def test_mail_date_and_journal_use_the_orgs_clock(
    client: httpx.AsyncClient, org_a: Org
) -> None:
    """After advancing a year, mail 'created' and journal 'time' are a year ahead of real time."""
    await org_a.post("clock", {"advance": 365 * DAY})
    await create_meeting(client, org_a.host, days=400, invitees=[{"email": "ben@example.com"}])
    year_ahead = datetime.now(UTC).timestamp() + 365 * DAY
    [mail, *_] = (await org_a.get("mail"))["items"]
    assert abs(_epoch(mail["created"]) - year_ahead) < HOUR
    [entry] = (await org_a.get("requests"))["items"]
    assert abs(_epoch(entry["time"]) - year_ahead) < HOUR
    assert mail["status"] in ("pending", "captured")


async def test_start_of_an_unknown_meeting_is_404(client: httpx.AsyncClient) -> None:
    """POST /_control/meetings/{id}/start of nothing is a 404 with the Webex body."""
    r = await client.post("/_control/meetings/" + "0" * 32 + "/start", headers=op())
    assert_error(r, 404)
