"""DELETE /v1/meetings/{meetingId}/breakoutSessions: every row of SPEC §5's table."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.conftest import (
    DAY,
    World,
    assert_error,
    auth,
    create_meeting,
    list_occurrences,
    start_meeting,
)
from tests.conftest import get_sessions as sessions
from tests.conftest import sessions_path as path

HOST = "host@example.com"
PLAN = [
    {"name": "Room A", "invitees": ["ana@example.com", "Ben@example.com"]},
    {"name": "Room B", "invitees": ["cleo@example.com"]},
]


@pytest.fixture
async def host(world: World) -> str:
    return await world.person(HOST, name="Harper Host")


async def meeting_with_plan(client: httpx.AsyncClient, token: str, **fields: Any) -> dict[str, Any]:
    fields.setdefault(
        "invitees",
        [{"email": "ana@example.com"}, {"email": "ben@example.com"}, {"email": "cleo@example.com"}],
    )
    return await create_meeting(
        client, token, enabledBreakoutSessions=True, breakoutSessions=PLAN, **fields
    )


async def meeting(client: httpx.AsyncClient, token: str, meeting_id: str) -> dict[str, Any]:
    r = await client.get(f"/v1/meetings/{meeting_id}", headers=auth(token))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_success_is_204_with_empty_body(client: httpx.AsyncClient, host: str) -> None:
    """A DELETE that removes sessions answers 204 with no body and a TrackingID."""
    m = await meeting_with_plan(client, host)
    r = await client.delete(path(m["id"]), headers=auth(host))
    assert r.status_code == 204
    assert r.content == b""
    assert r.headers["TrackingID"]


async def test_deleted_sessions_are_gone_and_flag_is_false(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """After DELETE the list is empty, the rows are gone and enabledBreakoutSessions is false."""
    m = await meeting_with_plan(client, host)
    assert m["enabledBreakoutSessions"] is True
    await client.delete(path(m["id"]), headers=auth(host))
    assert await sessions(client, host, m["id"]) == []
    assert (await meeting(client, host, m["id"]))["enabledBreakoutSessions"] is False
    assert world.rows("SELECT * FROM breakout_sessions") == []


async def test_second_delete_is_204_and_sends_no_email(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """Nothing left to delete: 204 again, and no email is queued the second time."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    assert (await client.delete(path(m["id"]), headers=auth(host))).status_code == 204
    queued = len(world.outbox())
    r = await client.delete(path(m["id"]), headers=auth(host))
    assert r.status_code == 204
    assert len(world.outbox()) == queued


async def test_default_send_email_queues_one_message_per_person(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """sendEmail defaults to true: the host and each distinct invitee get one message."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    r = await client.delete(path(m["id"]), headers=auth(host))
    assert r.status_code == 204
    rows = world.outbox()
    assert sorted(x["recipient"].lower() for x in rows) == [
        "ana@example.com",
        "ben@example.com",
        "cleo@example.com",
        HOST,
    ]
    assert {x["event"] for x in rows} == {"breakouts.deleted"}
    assert {x["status"] for x in rows} == {"pending"}
    ids = world.outbox()
    assert len({x["message_id"] for x in ids}) == 4


@pytest.mark.parametrize("value", ["false", "False", "FALSE"])
async def test_send_email_false_in_any_case_sends_nothing(
    client: httpx.AsyncClient, host: str, world: World, value: str
) -> None:
    """sendEmail=false (any letter case, as wxc-sdk sends False) queues no email at all."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    r = await client.delete(path(m["id"]), params={"sendEmail": value}, headers=auth(host))
    assert r.status_code == 204
    assert world.outbox() == []
    assert await sessions(client, host, m["id"]) == []


@pytest.mark.parametrize("value", ["yes", "1", "", "tru"])
async def test_send_email_not_boolean_is_400_and_changes_nothing(
    client: httpx.AsyncClient, host: str, world: World, value: str
) -> None:
    """A sendEmail that is not true/false is 400 naming the parameter; nothing changes."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    before = world.snapshot()
    r = await client.delete(path(m["id"]), params={"sendEmail": value}, headers=auth(host))
    assert_error(r, 400, "sendEmail")
    assert world.snapshot() == before


async def test_series_delete_clears_future_occurrence_plans(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """On a series, the series' plan and the plans of its future occurrences are deleted."""
    m = await meeting_with_plan(client, host, recurrence="FREQ=DAILY;COUNT=5", sendEmail=False)
    occurrences = await list_occurrences(client, host, m["id"])
    assert len(occurrences) == 5
    third = occurrences[2]["id"]
    r = await client.put(
        path(third), json={"items": [{"name": "Own plan"}], "sendEmail": False}, headers=auth(host)
    )
    assert r.status_code == 200
    assert (await client.delete(path(m["id"]), headers=auth(host))).status_code == 204
    for occ in occurrences:
        assert await sessions(client, host, occ["id"]) == []
        assert (await meeting(client, host, occ["id"]))["enabledBreakoutSessions"] is False
    assert world.rows("SELECT * FROM breakout_sessions") == []


async def test_scheduled_meeting_delete_touches_that_occurrence_only(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """On a scheduled meeting only its sessions go; the series and other occurrences keep theirs."""
    m = await meeting_with_plan(client, host, recurrence="FREQ=DAILY;COUNT=3", sendEmail=False)
    occ = await list_occurrences(client, host, m["id"])
    r = await client.delete(path(occ[1]["id"]), headers=auth(host))
    assert r.status_code == 204
    assert await sessions(client, host, occ[1]["id"]) == []
    assert (await meeting(client, host, occ[1]["id"]))["enabledBreakoutSessions"] is False
    assert [s["name"] for s in await sessions(client, host, m["id"])] == ["Room A", "Room B"]
    assert [s["name"] for s in await sessions(client, host, occ[0]["id"])] == ["Room A", "Room B"]
    assert (await meeting(client, host, m["id"]))["enabledBreakoutSessions"] is True
    assert (await meeting(client, host, occ[2]["id"]))["enabledBreakoutSessions"] is True
    # The occurrence's inherited sessions were "deleted" for it: its people are told.
    assert len(world.outbox()) == 4


async def test_instance_id_is_400_and_changes_nothing(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """An instance id (in progress or ended) is refused with the upstream message."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    instance = await start_meeting(world, m["id"])
    before = world.snapshot()
    r = await client.delete(path(instance), headers=auth(host))
    assert_error(r, 400, f"Meeting ID '{instance}' is not allowed for this API.")
    assert world.snapshot() == before
    assert (
        await client.post(f"/v1/meetings/{instance}/end", headers=auth(host))
    ).status_code == 204
    before = world.snapshot()
    r = await client.delete(path(instance), headers=auth(host))
    assert_error(r, 400, "is not allowed for this API")
    assert world.snapshot() == before


async def test_in_progress_is_409_for_series_and_scheduled_meeting(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """While an instance runs, DELETE on its series or scheduled meeting is 409; nothing changes."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    instance = await start_meeting(world, m["id"])
    scheduled = (await meeting(client, host, instance))["scheduledMeetingId"]
    before = world.snapshot()
    for target in (m["id"], scheduled):
        r = await client.delete(path(target), headers=auth(host))
        assert_error(r, 409, "Meeting is in progress.")
    assert world.snapshot() == before


async def test_ended_missed_and_expired_are_409(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """A scheduled meeting ended or missed, and an expired series, refuse with 409."""
    m = await meeting_with_plan(client, host, sendEmail=False, recurrence="FREQ=DAILY;COUNT=2")
    instance = await start_meeting(world, m["id"])
    scheduled_ended = (await meeting(client, host, instance))["scheduledMeetingId"]
    await client.post(f"/v1/meetings/{instance}/end", headers=auth(host))
    assert (await meeting(client, host, scheduled_ended))["state"] == "ended"
    assert_error(await client.delete(path(scheduled_ended), headers=auth(host)), 409)
    world.clock.advance(3 * DAY)
    occ = await list_occurrences(client, host, m["id"])
    missed = [o for o in occ if o["state"] == "missed"]
    assert len(missed) == 1
    before = world.snapshot()
    assert_error(await client.delete(path(missed[0]["id"]), headers=auth(host)), 409)
    assert (await meeting(client, host, m["id"]))["state"] == "expired"
    assert_error(await client.delete(path(m["id"]), headers=auth(host)), 409)
    assert world.snapshot() == before


@pytest.mark.parametrize(
    "meeting_id",
    [
        "0" * 32,  # unknown series
        "not-a-meeting",  # malformed
        "0" * 32 + "_20990101T000000Z",
        "0" * 32 + "_I_123456789012345678",
        "ABCDEF" + "0" * 26,  # upper-case hex is not an upstream id
    ],
)
async def test_unknown_or_malformed_meeting_is_404(
    client: httpx.AsyncClient, host: str, world: World, meeting_id: str
) -> None:
    """Unknown and malformed ids alike are 404 with the Webex error body."""
    before = world.snapshot()
    assert_error(await client.delete(path(meeting_id), headers=auth(host)), 404)
    assert world.snapshot() == before


async def test_occurrence_not_in_the_series_is_404(client: httpx.AsyncClient, host: str) -> None:
    """A well-formed scheduled-meeting id that is not an occurrence of its series is 404."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    wrong = m["id"] + "_20990101T000000Z"
    assert_error(await client.delete(path(wrong), headers=auth(host)), 404)


async def test_deleted_meeting_is_404(client: httpx.AsyncClient, host: str) -> None:
    """After DELETE /meetings/{id}, its breakout sessions are 404."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    r = await client.delete(
        f"/v1/meetings/{m['id']}", params={"sendEmail": "false"}, headers=auth(host)
    )
    assert r.status_code == 204
    assert_error(await client.delete(path(m["id"]), headers=auth(host)), 404)


async def test_invisible_meeting_is_404_not_403(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """A meeting the caller neither hosts nor is invited to is 404 (no existence oracle)."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    stranger = await world.person("stranger@example.com")
    before = world.snapshot()
    assert_error(await client.delete(path(m["id"]), headers=auth(stranger)), 404)
    assert world.snapshot() == before


async def test_invitee_who_is_not_host_is_403(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """An invitee sees the meeting but may not change it: 403, nothing changes."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    ana = await world.person("ana@example.com")
    assert len(await sessions(client, ana, m["id"])) == 2
    before = world.snapshot()
    assert_error(await client.delete(path(m["id"]), headers=auth(ana)), 403)
    assert world.snapshot() == before


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer "},
    ],
)
async def test_missing_or_bad_token_is_401_with_upstream_message(
    client: httpx.AsyncClient, host: str, world: World, headers: dict[str, str]
) -> None:
    """No token, an unknown token or another scheme: 401 with the upstream message."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    before = world.snapshot()
    r = await client.delete(path(m["id"]), headers=headers)
    assert_error(
        r, 401, "The request requires a valid access token set in the Authorization request header."
    )
    assert world.snapshot() == before


async def test_expired_token_is_401(client: httpx.AsyncClient, host: str, world: World) -> None:
    """A token past its expiry is refused like an unknown one."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    short = await world.person(HOST, expires_in=60)
    world.clock.advance(61)
    assert_error(await client.delete(path(m["id"]), headers=auth(short)), 401)
    assert len(await sessions(client, host, m["id"])) == 2


async def test_read_only_token_is_403(client: httpx.AsyncClient, host: str, world: World) -> None:
    """A valid token without a write scope is 403 and nothing changes."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    reader = await world.person(HOST, scopes=["meeting:schedules_read"])
    before = world.snapshot()
    assert_error(await client.delete(path(m["id"]), headers=auth(reader)), 403)
    assert world.snapshot() == before


async def test_admin_acts_for_host_via_header(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """An admin naming the host in the hostEmail header deletes; the audit says on whose behalf."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    admin = await world.person("admin@example.com", admin=True)
    r = await client.delete(path(m["id"]), headers=auth(admin, hostEmail=HOST))
    assert r.status_code == 204
    audit = world.rows("SELECT * FROM audit_log WHERE action = 'breakoutSessions.delete'")
    assert len(audit) == 1
    people = {p["email"]: p["id"] for p in world.rows("SELECT id, email FROM people")}
    assert audit[0]["actor_id"] == people["admin@example.com"]
    assert audit[0]["on_behalf_of_id"] == people[HOST]
    assert audit[0]["sessions_count"] == 2
    assert audit[0]["meeting_id"] == m["id"]
    assert audit[0]["tracking_id"] == r.headers["TrackingID"]


async def test_admin_acts_for_host_via_query(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """hostEmail is also accepted as a query parameter."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    admin = await world.person("admin@example.com", admin=True)
    r = await client.delete(path(m["id"]), params={"hostEmail": HOST}, headers=auth(admin))
    assert r.status_code == 204


async def test_admin_without_host_email_cannot_see_others_meeting(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """Without hostEmail an admin acts as themself: the host's meeting is invisible (404)."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    admin = await world.person("admin@example.com", admin=True)
    assert_error(await client.delete(path(m["id"]), headers=auth(admin)), 404)


async def test_admin_naming_unknown_host_is_404_host_not_found(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """An admin naming an unknown person gets 404 saying the host was not found."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    admin = await world.person("admin@example.com", admin=True)
    before = world.snapshot()
    r = await client.delete(path(m["id"]), headers=auth(admin, hostEmail="ghost@example.com"))
    assert_error(r, 404, "Host 'ghost@example.com' was not found.")
    assert world.snapshot() == before


async def test_host_email_ignored_without_admin_scope(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """A non-admin sending hostEmail is not refused; the value is ignored."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    r = await client.delete(path(m["id"]), headers=auth(host, hostEmail="ghost@example.com"))
    assert r.status_code == 204
    audit = world.rows("SELECT on_behalf_of_id FROM audit_log")
    assert audit == [{"on_behalf_of_id": None}]


async def test_every_delete_leaves_an_audit_record(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """Each successful DELETE records who, which meeting, how many, TrackingID and when."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    r1 = await client.delete(path(m["id"]), headers=auth(host, TrackingID="client-trace-1"))
    r2 = await client.delete(path(m["id"]), headers=auth(host))
    assert r1.headers["TrackingID"] == "client-trace-1"
    rows = world.rows("SELECT * FROM audit_log ORDER BY id")
    assert [(r["sessions_count"], r["tracking_id"]) for r in rows] == [
        (2, "client-trace-1"),
        (0, r2.headers["TrackingID"]),
    ]
    assert all(abs(r["at"] - world.clock.now_s()) < 5 for r in rows)


async def test_failure_mid_transaction_rolls_everything_back(
    client: httpx.AsyncClient, host: str, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault after the sessions were deleted answers 500 and leaves nothing half-done."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    before = world.snapshot()

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire at /secret/path.db")

    monkeypatch.setattr("breakouts.audit.record", broken)
    r = await client.delete(path(m["id"]), headers=auth(host))
    assert_error(r, 500)
    assert "secret" not in r.text and "RuntimeError" not in r.text and "Traceback" not in r.text
    assert world.snapshot() == before
    assert len(await sessions(client, host, m["id"])) == 2


@pytest.mark.sqlite_only  # its lock, its interrupt: tests/db/test_postgres.py has PostgreSQL's
async def test_held_lock_is_423_with_retry_after(
    client: httpx.AsyncClient, host: str, world: World, settings: Any
) -> None:
    """Another connection holding the write lock past the wait: 423 with Retry-After."""
    import sqlite3

    m = await meeting_with_plan(client, host, sendEmail=False)
    settings.lock_wait_ms = 50
    world.app.state.breakouts.db.lock_wait_s = 0.05
    other = sqlite3.connect(world.db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        r = await client.delete(path(m["id"]), headers=auth(host))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert_error(r, 423)
    assert int(r.headers["Retry-After"]) >= 1
    assert len(await sessions(client, host, m["id"])) == 2


@pytest.mark.sqlite_only  # its lock, its interrupt: tests/db/test_postgres.py has PostgreSQL's
async def test_statement_past_time_limit_is_504(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """A transaction running past the statement time limit is interrupted: 504, nothing changes."""
    m = await meeting_with_plan(client, host, sendEmail=False)
    before = world.snapshot()
    db = world.app.state.breakouts.db
    db.timeout_s = -1.0  # every statement is already past its limit
    try:
        r = await client.delete(path(m["id"]), headers=auth(host))
    finally:
        db.timeout_s = 5.0
    assert_error(r, 504)
    assert int(r.headers["Retry-After"]) >= 1
    assert world.snapshot() == before


@pytest.mark.parametrize("settings_overrides", [{"rate_limit": "3/minute"}])
async def test_over_rate_limit_is_429_with_retry_after(
    client: httpx.AsyncClient, host: str, world: World, settings_overrides: dict[str, Any]
) -> None:
    """The per-token limit answers 429 with Retry-After in whole seconds; nothing changes."""
    m = await meeting_with_plan(client, host, sendEmail=False)  # request 1
    await sessions(client, host, m["id"])  # 2
    await sessions(client, host, m["id"])  # 3
    before = world.snapshot()
    r = await client.delete(path(m["id"]), headers=auth(host))
    assert_error(r, 429)
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert world.snapshot() == before
    other = await world.person("other@example.com")
    assert (await client.get("/v1/meetings", headers=auth(other))).status_code == 200


@pytest.mark.sqlite_only  # its lock, its interrupt: tests/db/test_postgres.py has PostgreSQL's
async def test_too_many_waiters_is_503(client: httpx.AsyncClient, host: str, world: World) -> None:
    """When more requests wait for the database than allowed, the excess is 503 at once."""
    import asyncio
    import sqlite3

    m = await meeting_with_plan(client, host, sendEmail=False)
    db = world.app.state.breakouts.db
    db.max_waiters, db.lock_wait_s = 2, 0.3
    other = sqlite3.connect(world.db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        results = await asyncio.gather(
            *(client.delete(path(m["id"]), headers=auth(host)) for _ in range(6))
        )
    finally:
        other.execute("ROLLBACK")
        other.close()
    codes = sorted(r.status_code for r in results)
    assert 503 in codes and set(codes) <= {423, 503}
    for r in results:
        assert int(r.headers["Retry-After"]) >= 1
    assert len(await sessions(client, host, m["id"])) == 2


@pytest.mark.parametrize(
    "settings_overrides",
    [{"sqlite_group_commit": True}, {"sqlite_group_commit": False}],
    ids=["group-commit", "one-commit-each"],
)
async def test_concurrent_deletes_each_commit_alone_or_not_at_all(
    client: httpx.AsyncClient, host: str, world: World, settings_overrides: dict[str, Any]
) -> None:
    """DELETEs running at once: each succeeds or fails on its own, whether commits are shared."""
    import asyncio

    meetings = [await meeting_with_plan(client, host) for _ in range(6)]
    outsider = await world.person("outsider@example.com")
    untouched = meetings[2]
    db = world.app.state.breakouts.db
    writes_before, commits_before = db.committed_writes, db.commits
    queued_before = len(world.outbox())

    def delete(m: dict[str, Any]) -> Any:
        token = outsider if m is untouched else host
        return client.delete(path(m["id"]), headers=auth(token))

    answers = await asyncio.gather(*(delete(m) for m in meetings))

    assert_error(answers[2], 404)  # the outsider cannot see the meeting
    assert [r.status_code for i, r in enumerate(answers) if i != 2] == [204] * 5
    for m in meetings:
        state = await meeting(client, host, m["id"])
        assert state["enabledBreakoutSessions"] is (m is untouched)
        assert len(await sessions(client, host, m["id"])) == (2 if m is untouched else 0)
    audited = world.rows(
        "SELECT meeting_id FROM audit_log WHERE action = ?", "breakoutSessions.delete"
    )
    assert sorted(r["meeting_id"] for r in audited) == sorted(
        m["id"] for m in meetings if m is not untouched
    )
    assert len(world.outbox()) - queued_before == 5 * 4  # host + 3 invitees, per meeting
    assert db.committed_writes - writes_before == 5
    assert db.commits - commits_before == (1 if db.group_commit else 5)


async def test_a_delete_failing_midway_in_a_shared_commit_rolls_back_alone(
    client: httpx.AsyncClient, host: str, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three DELETEs in one group commit, the middle one failing after its sessions were deleted:
    it answers 500 and keeps everything; the other two are deleted, mailed and audited."""
    import asyncio

    from breakouts import audit

    meetings = [await meeting_with_plan(client, host) for _ in range(3)]
    broken_id = meetings[1]["id"]
    queued_before = len(world.outbox())
    db = world.app.state.breakouts.db
    commits_before = db.commits
    record = audit.record

    async def record_or_fail(*args: Any, **kwargs: Any) -> None:
        if kwargs["meeting_id"] == broken_id:
            raise RuntimeError("disk on fire")
        await record(*args, **kwargs)

    monkeypatch.setattr("breakouts.audit.record", record_or_fail)
    answers = await asyncio.gather(
        *(client.delete(path(m["id"]), headers=auth(host)) for m in meetings)
    )

    assert [r.status_code for r in answers] == [204, 500, 204]
    # SQLite: the two successes shared one COMMIT
    assert db.commits - commits_before == (1 if db.group_commit else 2)
    for m in meetings:
        kept = m["id"] == broken_id
        assert (await meeting(client, host, m["id"]))["enabledBreakoutSessions"] is kept
        assert len(await sessions(client, host, m["id"])) == (2 if kept else 0)
    mailed = {r["meeting_id"] for r in world.outbox()[queued_before:]}
    assert mailed == {meetings[0]["id"], meetings[2]["id"]}
    audited = world.rows(
        "SELECT meeting_id FROM audit_log WHERE action = ?", "breakoutSessions.delete"
    )
    assert {r["meeting_id"] for r in audited} == {meetings[0]["id"], meetings[2]["id"]}


@pytest.mark.sqlite_only  # its lock, its interrupt: tests/db/test_postgres.py has PostgreSQL's
async def test_a_series_delete_runs_six_statements(
    app: Starlette, client: httpx.AsyncClient, world: World
) -> None:
    """One lookup (token, caller, org, series, live instance), then the delete, the plans of
    occurrences, the flag, one mail event, the audit row: nothing asked twice (issue #11)."""
    host = await world.person("host@example.com")
    m = await create_meeting(
        client, host, enabledBreakoutSessions=True, breakoutSessions=PLAN, sendEmail=False
    )
    statements: list[str] = []
    conn = app.state.breakouts.db._conn
    conn.set_trace_callback(statements.append)
    try:
        r = await client.delete(f"/v1/meetings/{m['id']}/breakoutSessions", headers=auth(host))
    finally:
        conn.set_trace_callback(None)
    assert r.status_code == 204
    work = [s.split()[0].upper() + " " + s.split()[2 if s.startswith(("INSERT", "DELETE")) else 1]
            for s in statements if not s.startswith(("BEGIN", "SAVEPOINT", "RELEASE", "COMMIT"))]  # fmt: skip
    assert work == [
        "SELECT p.id,", "DELETE breakout_sessions", "UPDATE occurrences",
        "UPDATE meeting_series", "INSERT mail_events", "INSERT audit_log",
    ], statements  # fmt: skip
