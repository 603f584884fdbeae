"""Fault rules (SPEC §10): each kind, what a faulted request leaves behind, and the rules' CRUD."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from breakouts.orgs.repository import DEFAULT_ORG
from tests.conftest import World, assert_error, auth, create_meeting, sessions_path
from tests.control.conftest import Org, make_org, op
from tests.mail.conftest import make_worker

PLAN = [{"name": "A", "invitees": ["ben@example.com"]}]


async def planned_meeting(client: httpx.AsyncClient, org: Org) -> str:
    m = await create_meeting(
        client, org.host, sendEmail=False, invitees=[{"email": "ben@example.com"}],
        enabledBreakoutSessions=True, breakoutSessions=PLAN,
    )  # fmt: skip
    meeting_id: str = m["id"]
    return meeting_id


async def test_a_faulted_delete_answers_the_status_and_changes_nothing(
    client: httpx.AsyncClient, world: World, org_a: Org
) -> None:
    """503 with Retry-After and the message; sessions, flag, outbox, audit untouched; journaled."""
    mid = await planned_meeting(client, org_a)
    rule = await org_a.post(
        "faults",
        {"operation": "deleteBreakoutSessions", "status": 503, "retryAfter": 7, "message": "Down."},
        status=201,
    )
    assert rule["remaining"] is None and rule["status"] == 503
    before = world.snapshot()
    r = await client.delete(sessions_path(mid), headers=auth(org_a.host))
    assert_error(r, 503, "Down.")
    assert r.headers["Retry-After"] == "7"
    after = world.snapshot()
    assert {t: v for t, v in after.items() if t != "journal"} == {
        t: v for t, v in before.items() if t != "journal"
    }
    [entry] = (await org_a.get("requests", operationId="deleteBreakoutSessions"))["items"]
    assert entry["status"] == 503 and entry["fault"] == rule["id"]
    assert entry["caller"] == "host@example.com" and entry["method"] == "DELETE"


@pytest.mark.parametrize("status", [400, 404, 409, 423, 429, 500, 502, 503, 504])
async def test_any_status_is_answered_with_the_webex_error_body(
    client: httpx.AsyncClient, org_a: Org, status: int
) -> None:
    """Every 4xx/5xx a rule names comes back with the Webex error body and a TrackingID."""
    await org_a.post("faults", {"operation": "listMeetings", "status": status}, status=201)
    assert_error(await client.get("/v1/meetings", headers=auth(org_a.host)), status)


async def test_count_expires_a_rule_after_that_many_hits(
    client: httpx.AsyncClient, org_a: Org
) -> None:
    """count=2: two 429s, then the real answer; the spent rule is gone from the list."""
    await org_a.post(
        "faults", {"operation": "listMeetings", "status": 429, "retryAfter": 1, "count": 2}, 201
    )
    codes = [
        (await client.get("/v1/meetings", headers=auth(org_a.host))).status_code for _ in range(4)
    ]
    assert codes == [429, 429, 200, 200]
    assert (await org_a.get("faults"))["items"] == []


async def test_star_matches_every_api_operation(client: httpx.AsyncClient, org_a: Org) -> None:
    """operation "*" faults GET, PUT, DELETE and the People API alike."""
    mid = await planned_meeting(client, org_a)
    await org_a.post("faults", {"operation": "*", "status": 500}, status=201)
    h = auth(org_a.host)
    for r in [
        await client.get(f"/v1/meetings/{mid}", headers=h),
        await client.put(sessions_path(mid), json={"items": []}, headers=h),
        await client.delete(sessions_path(mid), headers=h),
        await client.get("/v1/people/me", headers=h),
    ]:
        assert_error(r, 500)


async def test_latency_delays_then_proceeds(client: httpx.AsyncClient, org_a: Org) -> None:
    """latencyMs without a status: the request waits that long, then does its real work."""
    mid = await planned_meeting(client, org_a)
    await org_a.post(
        "faults", {"operation": "deleteBreakoutSessions", "latencyMs": 300}, status=201
    )
    started = time.monotonic()
    r = await client.delete(sessions_path(mid), headers=auth(org_a.host))
    assert r.status_code == 204
    assert time.monotonic() - started >= 0.3
    r = await client.get(sessions_path(mid), headers=auth(org_a.host))
    assert r.json()["items"] == []


async def test_probability_faults_about_that_share(client: httpx.AsyncClient, org_a: Org) -> None:
    """probability 0.5 over 200 requests faults some and not all of them."""
    await org_a.post(
        "faults", {"operation": "listMeetings", "status": 503, "probability": 0.5}, 201
    )
    codes = [
        (await client.get("/v1/meetings", headers=auth(org_a.host))).status_code for _ in range(200)
    ]
    assert 50 <= codes.count(503) <= 150 and codes.count(200) == 200 - codes.count(503)


async def test_a_rule_of_one_org_touches_no_other(
    client: httpx.AsyncClient, org_a: Org, org_b: Org
) -> None:
    """A's "*" rule leaves B (and the default org) answering normally."""
    await org_a.post("faults", {"operation": "*", "status": 500}, status=201)
    assert (await client.get("/v1/meetings", headers=auth(org_b.host))).status_code == 200
    assert_error(await client.get("/v1/meetings", headers=auth(org_a.host)), 500)


async def test_rules_are_listed_deleted_and_cleared(client: httpx.AsyncClient, org_a: Org) -> None:
    """GET lists rules in order; DELETE one (404 if unknown); DELETE all; requests pass again."""
    one = await org_a.post("faults", {"operation": "listMeetings", "status": 500}, status=201)
    two = await org_a.post("faults", {"operation": "getMeetingById", "status": 500}, status=201)
    assert [f["id"] for f in (await org_a.get("faults"))["items"]] == [one["id"], two["id"]]
    path = f"/_control/orgs/{org_a.id}/faults"
    assert (await client.delete(f"{path}/{one['id']}", headers=op())).status_code == 204
    for gone in (one["id"], "²", "9" * 30, "-1"):
        assert_error(await client.delete(f"{path}/{gone}", headers=op()), 404)
    assert (await client.get("/v1/meetings", headers=auth(org_a.host))).status_code == 200
    assert (await client.delete(path, headers=op())).status_code == 204
    assert (await org_a.get("faults"))["items"] == []


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"operation": "noSuchOperation", "status": 500}, "operationId"),
        ({"operation": "listMeetings"}, "status"),
        ({"operation": "smtp", "latencyMs": 10}, "SMTP reply code"),
        ({"operation": "listMeetings", "status": 200}, "'status'"),
        ({"operation": "listMeetings", "status": 500, "probability": 0}, "'probability'"),
        ({"operation": "listMeetings", "status": 500, "count": 0}, "'count'"),
        ({"operation": "listMeetings", "status": 500, "count": 10**20}, "'count'"),
        ({"operation": "listMeetings", "status": 500, "latencyMs": -1}, "'latencyMs'"),
    ],
)
async def test_a_bad_rule_is_400_and_not_stored(
    client: httpx.AsyncClient, org_a: Org, body: dict[str, Any], text: str
) -> None:
    """Unknown operations, missing status, out-of-range fields: 400 naming the problem."""
    r = await client.post(f"/_control/orgs/{org_a.id}/faults", json=body, headers=op())
    assert_error(r, 400, text)
    assert (await org_a.get("faults"))["items"] == []


async def test_smtp_faults_fail_delivery_with_that_code(
    app: Starlette, client: httpx.AsyncClient, world: World
) -> None:
    """smtp 451: the org's mail is retried later; smtp 550: dead at once; other orgs unaffected."""
    transient = await make_org(client, name="t")
    permanent = await make_org(client, name="p")
    await transient.post("faults", {"operation": "smtp", "status": 451, "message": "Later"}, 201)
    await permanent.post("faults", {"operation": "smtp", "status": 550}, status=201)
    for org in (transient, permanent):  # meeting.created mail to the host and ben
        await create_meeting(client, org.host, invitees=[{"email": "ben@example.com"}])
    token = await world.person("host@example.com")  # the default org: no rule
    await create_meeting(client, token)
    worker = make_worker(app)
    await worker.run_once()
    statuses = {
        org.body["name"]: sorted(m["status"] for m in (await org.get("mail"))["items"])
        for org in (transient, permanent)
    }
    assert statuses == {"t": ["pending", "pending"], "p": ["dead", "dead"]}
    errors = {
        r["last_error"]
        for r in world.rows("SELECT last_error FROM outbox WHERE status != 'captured'")
    }
    assert any(e.startswith("451 Later") for e in errors) and any(
        e.startswith("550") for e in errors
    )
    [default_mail] = world.rows("SELECT status FROM outbox WHERE org_id = ?", DEFAULT_ORG)
    assert default_mail["status"] == "captured"
