"""Orgs (SPEC §9) through the control plane: creation, isolation, deletion, reset, People API."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest

from tests.conftest import World, assert_error, auth, create_meeting, sessions_path
from tests.control.conftest import Org, make_org, op


def _uuid_of(api_id: str) -> str:
    return base64.urlsafe_b64decode(api_id + "==").decode().rsplit("/", 1)[1]


async def test_new_org_has_a_host_and_an_admin_with_working_tokens(
    client: httpx.AsyncClient, org_a: Org
) -> None:
    """Without people, an org gets host@example.com and admin admin@example.com, tokens shown."""
    people = org_a.body["people"]
    assert [(p["email"], p["admin"]) for p in people] == [
        ("host@example.com", False),
        ("admin@example.com", True),
    ]
    assert all(len(p["token"]) >= 32 and p["id"] and p["displayName"] for p in people)
    assert org_a.body["name"] == "A" and org_a.body["meetings"] == []
    r = await client.get("/v1/people/me", headers=auth(org_a.host))
    assert r.status_code == 200
    me = r.json()
    assert me["emails"] == ["host@example.com"] and me["orgId"] == org_a.id
    assert base64.urlsafe_b64decode(org_a.id + "==").startswith(b"ciscospark://us/ORGANIZATION/")


async def test_seed_document_makes_people_with_fixed_tokens_and_meetings(
    client: httpx.AsyncClient,
) -> None:
    """people with fixed tokens and meetings (createMeeting bodies + hostEmail) come back 201."""
    fixed = "a-fixed-token-for-reproducible-tests-0001"
    org = await make_org(
        client,
        name="seeded",
        people=[
            {"email": "ana@example.com", "displayName": "Ana", "token": fixed},
            {"email": "boss@example.com", "admin": True},
        ],
        meetings=[
            {
                "title": "Seeded", "start": "2030-01-01T10:00:00Z", "end": "2030-01-01T11:00:00Z",
                "hostEmail": "ana@example.com", "enabledBreakoutSessions": True,
                "breakoutSessions": [{"name": "A", "invitees": ["x@example.com"]}],
            }
        ],
    )  # fmt: skip
    assert org.token("ana@example.com") == fixed
    [meeting] = org.body["meetings"]
    assert meeting["title"] == "Seeded" and meeting["hostEmail"] == "ana@example.com"
    r = await client.get(sessions_path(meeting["id"]), headers=auth(fixed))
    assert r.status_code == 200 and [s["name"] for s in r.json()["items"]] == ["A"]


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"people": [{"email": "a@example.com", "token": "short"}]}, "'people[0].token'"),
        ({"people": [{"email": "not-an-email"}]}, "not a valid email"),
        ({"people": [{"email": "a@example.com"}, {"email": "A@example.com"}]}, "already exists"),
        ({"name": "x\ny"}, "'name'"),
        ({"unknown": 1}, "unknown"),
        ({"meetings": [{"title": "t"}]}, "'meetings[0]"),
    ],
)
async def test_a_bad_seed_document_is_refused_whole(
    client: httpx.AsyncClient, world: World, body: dict[str, Any], text: str
) -> None:
    """A seed document with any fault is a 4xx naming it, and no org is left half made."""
    before = world.snapshot()
    r = await client.post("/_control/orgs", json=body, headers=op())
    assert r.status_code in (400, 409), r.text
    assert text.lower() in r.json()["message"].lower()
    assert world.snapshot() == before


async def test_the_same_email_lives_in_two_orgs_and_nothing_crosses(
    client: httpx.AsyncClient, org_a: Org, org_b: Org
) -> None:
    """host@example.com of B cannot GET, list, PUT or DELETE what host@example.com of A made."""
    meeting = await create_meeting(
        client, org_a.host, invitees=[{"email": "admin@example.com"}], sendEmail=False,
        enabledBreakoutSessions=True, breakoutSessions=[{"name": "A"}],
    )  # fmt: skip
    mid = meeting["id"]
    for token in (org_b.host, org_b.admin):
        assert_error(await client.get(f"/v1/meetings/{mid}", headers=auth(token)), 404)
        assert_error(await client.get(sessions_path(mid), headers=auth(token)), 404)
        assert_error(await client.delete(sessions_path(mid), headers=auth(token)), 404)
        r = await client.put(sessions_path(mid), json={"items": []}, headers=auth(token))
        assert_error(r, 404)
        r = await client.get("/v1/meetings", headers=auth(token))
        assert r.status_code == 200 and r.json()["items"] == []
    # A's admin, invited by email, does see it; B's admin of the same email does not.
    r = await client.get(f"/v1/meetings/{mid}", headers=auth(org_a.admin))
    assert r.status_code == 200
    r = await client.get(sessions_path(mid), headers=auth(org_a.host))
    assert [s["name"] for s in r.json()["items"]] == ["A"]


async def test_host_email_reaches_only_the_admins_own_org(
    client: httpx.AsyncClient, org_a: Org, org_b: Org
) -> None:
    """B's admin acting as host@example.com acts for B's host, never A's; an A-only email is 404."""
    a_meeting = await create_meeting(client, org_a.host, sendEmail=False)
    r = await client.delete(
        sessions_path(a_meeting["id"]), headers=auth(org_b.admin, hostEmail="host@example.com")
    )
    assert_error(r, 404)
    made = await create_meeting(client, org_b.admin, hostEmail="host@example.com", sendEmail=False)
    r = await client.get(f"/v1/meetings/{made['id']}", headers=auth(org_b.host))
    assert r.status_code == 200
    assert_error(await client.get(f"/v1/meetings/{made['id']}", headers=auth(org_a.host)), 404)
    await org_a.post("people", {"email": "only-a@example.com"}, status=201)
    r = await client.get("/v1/meetings", headers=auth(org_b.admin, hostEmail="only-a@example.com"))
    assert_error(r, 404, "only-a@example.com")


async def test_people_api_reads_only_the_callers_org(
    client: httpx.AsyncClient, org_a: Org, org_b: Org
) -> None:
    """/v1/people?email= and /v1/people/{id} find people of the caller's org, 404 for another's."""
    r = await client.get(
        "/v1/people", params={"email": "ADMIN@example.com"}, headers=auth(org_a.host)
    )
    assert r.status_code == 200
    [admin] = r.json()["items"]
    assert admin["orgId"] == org_a.id and admin["type"] == "person"
    r = await client.get(f"/v1/people/{admin['id']}", headers=auth(org_a.host))
    assert r.status_code == 200 and r.json() == admin
    assert_error(await client.get(f"/v1/people/{admin['id']}", headers=auth(org_b.host)), 404)
    assert_error(await client.get("/v1/people/not-an-id", headers=auth(org_a.host)), 404)
    r = await client.get(
        "/v1/people", params={"email": "nobody@example.com"}, headers=auth(org_a.host)
    )
    assert r.json() == {"items": []}
    r = await client.get("/v1/people", headers=auth(org_b.host))
    assert {p["orgId"] for p in r.json()["items"]} == {org_b.id}


async def test_mail_and_journal_belong_to_their_org(
    client: httpx.AsyncClient, world: World, org_a: Org, org_b: Org
) -> None:
    """A's DELETE mails only show in A's mail; each org's journal lists only its own requests."""
    m = await create_meeting(
        client, org_a.host, sendEmail=False, invitees=[{"email": "ben@example.com"}],
        enabledBreakoutSessions=True, breakoutSessions=[{"name": "A", "invitees": ["ben@example.com"]}],
    )  # fmt: skip
    assert (
        await client.delete(sessions_path(m["id"]), headers=auth(org_a.host))
    ).status_code == 204
    await client.get("/v1/meetings", headers=auth(org_b.host))
    mail_a = (await org_a.get("mail"))["items"]
    assert sorted(x["to"] for x in mail_a) == ["ben@example.com", "host@example.com"]
    assert all(x["event"] == "breakouts.deleted" and x["meetingId"] == m["id"] for x in mail_a)
    assert (await org_b.get("mail"))["items"] == []
    ops_a = [e["operationId"] for e in (await org_a.get("requests"))["items"]]
    ops_b = [e["operationId"] for e in (await org_b.get("requests"))["items"]]
    assert ops_a == ["createMeeting", "deleteBreakoutSessions"] and ops_b == ["listMeetings"]


async def test_deleting_an_org_removes_everything_it_owns_and_nothing_else(
    client: httpx.AsyncClient, world: World, org_a: Org, org_b: Org
) -> None:
    """DELETE /_control/orgs/{id}: its people, tokens, meetings, mail, faults, journal go; B stays."""
    for org in (org_a, org_b):
        m = await create_meeting(
            client, org.host, invitees=[{"email": "ben@example.com"}],
            enabledBreakoutSessions=True, breakoutSessions=[{"name": "A", "invitees": ["ben@example.com"]}],
        )  # fmt: skip
        await client.delete(sessions_path(m["id"]), headers=auth(org.host))
        await org.post("faults", {"operation": "listMeetings", "status": 500}, status=201)
    b_before = {t: rows for t, rows in _rows_of(world, _uuid_of(org_b.id)).items()}
    r = await client.delete(f"/_control/orgs/{org_a.id}", headers=op())
    assert r.status_code == 204
    assert_error(await client.get("/v1/meetings", headers=auth(org_a.host)), 401)
    assert all(rows == [] for rows in _rows_of(world, _uuid_of(org_a.id)).values())
    assert _rows_of(world, _uuid_of(org_b.id)) == b_before
    assert_error(await client.delete(f"/_control/orgs/{org_a.id}", headers=op()), 404)


def _rows_of(world: World, org_uuid: str) -> dict[str, list[dict[str, Any]]]:
    series = "SELECT id FROM meeting_series WHERE org_id = ?"
    out = {
        t: world.rows(f"SELECT * FROM {t} WHERE org_id = ?", org_uuid)
        for t in ("people", "meeting_series", "outbox", "audit_log", "faults", "journal")
    }
    for t in ("breakout_sessions", "meeting_invitees", "occurrences", "instances"):
        out[t] = world.rows(f"SELECT * FROM {t} WHERE series_id IN ({series})", org_uuid)
    out["tokens"] = world.rows(
        "SELECT * FROM tokens WHERE person_id IN (SELECT id FROM people WHERE org_id = ?)", org_uuid
    )
    out["orgs"] = world.rows("SELECT id, name FROM orgs WHERE id = ?", org_uuid)
    return out


async def test_reset_leaves_a_fresh_default_org_only(
    client: httpx.AsyncClient, world: World, org_a: Org
) -> None:
    """POST /_control/reset: every org and row gone, the default org back, old tokens 401."""
    await create_meeting(client, org_a.host)
    assert (await client.post("/_control/reset", headers=op())).status_code == 204
    r = await client.get("/_control/orgs", headers=op())
    [default] = r.json()["items"]
    assert default["name"] == "Default" and default["offsetSeconds"] == 0
    assert world.rows("SELECT COUNT(*) AS n FROM meeting_series")[0]["n"] == 0
    assert world.rows("SELECT COUNT(*) AS n FROM people")[0]["n"] == 0
    assert_error(await client.get("/v1/meetings", headers=auth(org_a.host)), 401)


async def test_the_default_org_cannot_be_deleted(client: httpx.AsyncClient) -> None:
    """DELETE of the default org is a 409 that points at reset instead."""
    [default] = (await client.get("/_control/orgs", headers=op())).json()["items"]
    r = await client.delete(f"/_control/orgs/{default['id']}", headers=op())
    assert_error(r, 409, "reset")


async def test_many_orgs_created_at_once_each_get_their_own_people(
    client: httpx.AsyncClient,
) -> None:
    """Twenty concurrent POST /_control/orgs: twenty orgs, each with its own two tokens."""
    orgs = await asyncio.gather(*(make_org(client, name=f"o{i}") for i in range(20)))
    assert len({o.id for o in orgs}) == 20
    for org in orgs[:5]:
        r = await client.get("/v1/people/me", headers=auth(org.host))
        assert r.json()["orgId"] == org.id


async def test_mail_and_journal_ids_and_filters_that_are_not_numbers(
    client: httpx.AsyncClient, org_a: Org
) -> None:
    """A mail id or journal status that is not a plain number is a 404 / 400, never a 500."""
    for mail_id in ("²", "9" * 30, "x"):
        r = await client.get(f"/_control/orgs/{org_a.id}/mail/{mail_id}", headers=op())
        assert_error(r, 404)
    for status in ("²", "2000", "abc"):
        r = await client.get(
            f"/_control/orgs/{org_a.id}/requests", params={"status": status}, headers=op()
        )
        assert_error(r, 400)
