"""Who gets what, for each event that mails people, delivered to a real SMTP server (SPEC §5, §7)."""

from __future__ import annotations

from collections import Counter
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.conftest import World, assert_error, auth, create_meeting, start_meeting
from tests.mail.conftest import Sink, make_worker

HOST = "host@example.com"
PLAN = [
    {"name": "Room A", "invitees": ["ana@example.com", "Ben@example.com"]},
    {"name": "Room B", "invitees": ["cleo@example.com"]},
]
INVITEES = [
    {"email": "ana@example.com"},
    {"email": "ben@example.com"},
    {"email": "cleo@example.com"},
]


@pytest.fixture
def settings_overrides(sink: Sink) -> dict[str, Any]:
    return {"smtp_url": sink.url}


@pytest.fixture
async def host(world: World) -> str:
    return await world.person(HOST, name="Harper Host")


async def deliver(app: Starlette) -> None:
    await make_worker(app).drain()


def path(meeting_id: str) -> str:
    return f"/v1/meetings/{meeting_id}/breakoutSessions"


def body(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    text: str = part.get_content()
    return text


def by_recipient(sink: Sink) -> dict[str, EmailMessage]:
    """Each recipient's one message (asserting there is exactly one each)."""
    counts = Counter(t.lower() for r in sink.received for t in r.rcpt_tos)
    assert all(n == 1 for n in counts.values()), counts
    return {r.rcpt_tos[0].lower(): r.message for r in sink.received}


async def meeting_with_plan(client: httpx.AsyncClient, token: str, **fields: Any) -> dict[str, Any]:
    return await create_meeting(
        client, token, invitees=INVITEES, enabledBreakoutSessions=True,
        breakoutSessions=PLAN, sendEmail=False, **fields,
    )  # fmt: skip


async def test_delete_mails_the_host_and_each_distinct_invitee_once(
    client: httpx.AsyncClient, host: str, app: Starlette, sink: Sink
) -> None:
    """DELETE: the host gets the list of deleted sessions, each invitee the session they lose."""
    m = await meeting_with_plan(client, host)
    assert (await client.delete(path(m["id"]), headers=auth(host))).status_code == 204
    await deliver(app)
    got = by_recipient(sink)
    assert set(got) == {HOST, "ana@example.com", "ben@example.com", "cleo@example.com"}
    assert got[HOST]["Subject"].startswith("Breakout sessions deleted: Weekly sync (")
    assert "Room A" in body(got[HOST]) and "Room B" in body(got[HOST])
    assert got["cleo@example.com"]["Subject"].startswith("Breakout session cancelled: Weekly sync")
    cleo = body(got["cleo@example.com"])
    assert '"Room B"' in cleo and "Room A" not in cleo
    assert all(r.mail_from == "messenger@webex.com" for r in sink.received)


async def test_put_mails_each_invitee_their_assignment(
    client: httpx.AsyncClient, host: str, app: Starlette, sink: Sink
) -> None:
    """PUT: the host gets the whole plan, each distinct invitee (any case, host aside) their session."""
    m = await create_meeting(client, host, sendEmail=False)
    items = [
        {"name": "Design", "invitees": ["ana@example.com", "ANA@example.com"]},
        {"name": "Ops", "invitees": [HOST.upper(), "dan@example.com"]},
    ]
    r = await client.put(path(m["id"]), json={"items": items}, headers=auth(host))
    assert r.status_code == 200, r.text
    await deliver(app)
    got = by_recipient(sink)
    assert set(got) == {HOST, "ana@example.com", "dan@example.com"}
    assert got["dan@example.com"]["Subject"].startswith("Your breakout session: Ops - Weekly sync")
    assert "Design" in body(got[HOST]) and "Ops" in body(got[HOST])


@pytest.mark.parametrize(
    ("action", "subject"),
    [
        ("create", "Invitation: "),
        ("update", "Meeting updated: "),
        ("cancel", "Meeting cancelled: "),
    ],
)
async def test_meeting_events_mail_the_host_and_every_invitee(
    client: httpx.AsyncClient, host: str, app: Starlette, sink: Sink, action: str, subject: str
) -> None:
    """Create, update and cancel each mail the host and every invitee, once."""
    m = await create_meeting(client, host, invitees=INVITEES, sendEmail=action == "create")
    if action == "update":
        r = await client.put(
            f"/v1/meetings/{m['id']}", json={"title": "Weekly sync"}, headers=auth(host)
        )
        assert r.status_code == 200
    elif action == "cancel":
        r = await client.delete(f"/v1/meetings/{m['id']}", headers=auth(host))
        assert r.status_code == 204
    await deliver(app)
    got = by_recipient(sink)
    assert set(got) == {HOST, "ana@example.com", "ben@example.com", "cleo@example.com"}
    assert got["ana@example.com"]["Subject"].startswith(subject + "Weekly sync (")
    assert "Harper Host" in body(got["ana@example.com"])


async def test_the_acting_admin_is_named_in_every_message(
    client: httpx.AsyncClient, host: str, world: World, app: Starlette, sink: Sink
) -> None:
    """An admin deleting with hostEmail is named as the one who acted, on the host's behalf."""
    m = await meeting_with_plan(client, host)
    admin = await world.person("ada@example.com", admin=True, name="Ada Admin")
    r = await client.delete(path(m["id"]), headers=auth(admin, hostEmail=HOST))
    assert r.status_code == 204
    await deliver(app)
    for msg in by_recipient(sink).values():
        who = "Ada Admin <ada@example.com>, on behalf of Harper Host <host@example.com>"
        assert who in body(msg)


async def test_utf8_names_survive_delivery(
    client: httpx.AsyncClient, world: World, app: Starlette, sink: Sink
) -> None:
    """A non-ASCII title, host name and session name arrive intact."""
    token = await world.person("zoe@example.com", name="Zoë Ünal")
    m = await create_meeting(client, token, title="Café ☕ planning", sendEmail=False)
    items = [{"name": "Salle Été", "invitees": ["ana@example.com"]}]
    assert (
        await client.put(path(m["id"]), json={"items": items}, headers=auth(token))
    ).status_code == 200
    await deliver(app)
    got = by_recipient(sink)
    assert "Café ☕ planning" in got["ana@example.com"]["Subject"]
    assert "Salle Été" in got["ana@example.com"]["Subject"]
    assert got["zoe@example.com"]["To"].addresses[0].display_name == "Zoë Ünal"
    assert "Zoë Ünal" in body(got["ana@example.com"])


@pytest.mark.parametrize("call", ["delete", "put", "create", "update", "cancel"])
async def test_send_email_false_sends_nothing(
    client: httpx.AsyncClient, host: str, world: World, app: Starlette, sink: Sink, call: str
) -> None:
    """sendEmail=false queues and sends nothing, whatever the operation."""
    m = await meeting_with_plan(client, host)
    no = {"sendEmail": "false"}
    if call == "delete":
        r = await client.delete(path(m["id"]), params=no, headers=auth(host))
    elif call == "put":
        r = await client.put(
            path(m["id"]), json={"items": PLAN, "sendEmail": False}, headers=auth(host)
        )
    elif call == "create":
        await meeting_with_plan(client, host)
        r = httpx.Response(200)
    elif call == "update":
        r = await client.put(
            f"/v1/meetings/{m['id']}", json={"title": "X", "sendEmail": False}, headers=auth(host)
        )
    else:
        r = await client.delete(f"/v1/meetings/{m['id']}", params=no, headers=auth(host))
    assert r.status_code < 300, r.text
    await deliver(app)
    assert world.outbox() == [] and sink.received == []


async def test_delete_that_deleted_nothing_sends_nothing(
    client: httpx.AsyncClient, host: str, world: World, app: Starlette, sink: Sink
) -> None:
    """A second DELETE (nothing left) answers 204 and mails no one."""
    m = await meeting_with_plan(client, host)
    await client.delete(path(m["id"]), params={"sendEmail": "false"}, headers=auth(host))
    assert (await client.delete(path(m["id"]), headers=auth(host))).status_code == 204
    await deliver(app)
    assert world.outbox() == [] and sink.received == []


async def test_refused_requests_send_nothing(
    client: httpx.AsyncClient, host: str, world: World, app: Starlette, sink: Sink
) -> None:
    """A 403 (invitee, not host) and a 409 (meeting in progress) queue and send nothing."""
    m = await meeting_with_plan(client, host)
    ana = await world.person("ana@example.com")
    assert_error(await client.delete(path(m["id"]), headers=auth(ana)), 403)
    await start_meeting(world, m["id"])
    assert_error(await client.delete(path(m["id"]), headers=auth(host)), 409)
    await deliver(app)
    assert world.outbox() == [] and sink.received == []


async def test_a_rolled_back_request_sends_nothing(
    client: httpx.AsyncClient,
    host: str,
    world: World,
    app: Starlette,
    sink: Sink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fault after the mail is queued (the audit write fails) rolls the mail back with the rest."""
    from breakouts.breakouts import service

    m = await meeting_with_plan(client, host)

    async def broken_audit(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(service, "_audit", broken_audit)
    assert_error(await client.delete(path(m["id"]), headers=auth(host)), 500)
    await deliver(app)
    assert world.outbox() == [] and sink.received == []
    assert len(world.rows("SELECT * FROM breakout_sessions")) == 2
