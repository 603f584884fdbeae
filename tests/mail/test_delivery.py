"""Delivery against a real SMTP server that refuses, drops, stalls and rejects (issue #3 §2-3).

Rules: 4xx, connection errors and timeouts are retried with exponential backoff and jitter; a
5xx reply to the message, or a failure on the last try, makes it dead. Time moves by the
service's clock, so no test waits for a backoff.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.applications import Starlette

from breakouts.clock import Clock
from breakouts.mail import outbox
from breakouts.orgs.repository import DEFAULT_ORG
from tests.conftest import World
from tests.mail.conftest import DROP, STALL, Sink, free_port, make_worker

BASE = 10  # mail_backoff_base_s in this module


@pytest.fixture
def settings_overrides(sink: Sink) -> dict[str, Any]:
    return {
        "smtp_url": sink.url,
        "mail_backoff_base_s": BASE,
        "mail_max_attempts": 3,
        "mail_smtp_connections": 1,
    }


async def queue(app: Starlette, *recipients: str, event: str = "breakouts.deleted") -> None:
    """Commit messages straight into the outbox, as a service would."""
    state = app.state.breakouts
    now = state.clock.now_s()
    common = {
        "meetingId": "870f51ff287b41be84648412901e0402", "title": "Weekly sync",
        "start": now + 86400, "end": now + 90000, "timezone": "UTC", "recurrence": None,
        "hostEmail": "host@example.com", "hostName": "Harper Host",
        "actorEmail": "host@example.com", "actorName": "Harper Host", "onBehalf": False,
        "siteUrl": "example.webex.com",
    }  # fmt: skip
    async with state.db.transaction() as tx:
        await outbox.enqueue(
            tx, org_id=DEFAULT_ORG, event=event, meeting_id=common["meetingId"],
            recipients=[(r, {"role": "invitee", "session": "Room A"}) for r in recipients],
            common=common, domain="example.webex.com", now=now,
        )  # fmt: skip
        await outbox.expand(tx)  # as a worker's first step would: one row each


def status(world: World) -> dict[str, tuple[str, int]]:
    return {r["recipient"]: (r["status"], r["attempts"]) for r in world.outbox()}


async def test_delivered_message_is_stored_exactly_as_the_server_received_it(
    app: Starlette, world: World, sink: Sink
) -> None:
    """sent, with sent_at and raw equal to the bytes on the wire; Message-ID is the row's."""
    await queue(app, "ana@example.com")
    await make_worker(app).drain()
    row = world.outbox()[0]
    assert (row["status"], row["attempts"], row["last_error"]) == ("sent", 1, None)
    assert row["sent_at"] == world.clock.now_s()
    [got] = sink.received
    assert got.data == row["raw"].encode()
    assert got.message_id == row["message_id"]
    assert got.rcpt_tos == ["ana@example.com"]


@pytest.mark.parametrize(
    ("where", "answer"),
    [("data", "421 4.3.2 Service not available"), ("data", "451 4.3.0 Try again"),
     ("rcpt", "451 4.2.1 Mailbox busy"), ("data", DROP)],
)  # fmt: skip
async def test_temporary_failure_is_retried_after_a_backoff_then_delivered(
    app: Starlette, world: World, sink: Sink, where: str, answer: str
) -> None:
    """4xx or a dropped connection: pending again, due after the backoff, then delivered once."""
    (sink.on_data if where == "data" else sink.on_rcpt)(answer)
    await queue(app, "ana@example.com")
    await make_worker(app).drain()
    [row] = world.outbox()
    now = world.clock.now_s()
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert BASE / 2 <= row["next_attempt_at"] - now <= BASE
    assert (answer[:3] if answer != DROP else "SMTP connection failed") in row["last_error"]
    assert sink.received == []
    await make_worker(app).drain()  # not due yet: nothing happens
    assert status(world) == {"ana@example.com": ("pending", 1)}
    world.clock.advance(BASE)
    await make_worker(app).drain()
    assert status(world) == {"ana@example.com": ("sent", 2)}
    assert len(sink.received) == 1


async def test_one_failure_does_not_hold_up_the_rest_of_the_batch(
    app: Starlette, world: World, sink: Sink
) -> None:
    """A dropped connection fails one message; the others go out on a new connection."""
    sink.on_data(DROP)
    await queue(app, "a@example.com", "b@example.com", "c@example.com")
    await make_worker(app).drain()
    assert status(world) == {
        "a@example.com": ("pending", 1),
        "b@example.com": ("sent", 1),
        "c@example.com": ("sent", 1),
    }


@pytest.mark.parametrize(
    ("where", "answer"),
    [("data", "550 5.7.1 Message rejected"), ("rcpt", "550 5.1.1 No such user"),
     ("data", "554 5.6.0 Bad content")],
)  # fmt: skip
async def test_permanent_refusal_is_dead_at_once(
    app: Starlette, world: World, sink: Sink, where: str, answer: str
) -> None:
    """A 5xx about the message: dead after one try, with the server's reply kept; others go on."""
    (sink.on_data if where == "data" else sink.on_rcpt)(answer)
    await queue(app, "gone@example.com", "ok@example.com")
    await make_worker(app).drain()
    rows = {r["recipient"]: r for r in world.outbox()}
    dead = rows["gone@example.com"]
    assert (dead["status"], dead["attempts"], dead["last_error"]) == ("dead", 1, answer)
    assert rows["ok@example.com"]["status"] == "sent"
    world.clock.advance(10 * BASE)
    await make_worker(app).drain()
    assert rows["gone@example.com"]["status"] == world.outbox()[0]["status"] == "dead"
    assert [r.rcpt_tos for r in sink.received] == [["ok@example.com"]]


async def test_the_last_try_makes_a_message_dead(app: Starlette, world: World, sink: Sink) -> None:
    """After mail_max_attempts temporary failures the message is dead, never sent."""
    sink.on_data("451 a", "451 b", "451 c")
    await queue(app, "ana@example.com")
    for _ in range(3):
        await make_worker(app).drain()
        world.clock.advance(10 * BASE)
    [row] = world.outbox()
    assert (row["status"], row["attempts"], row["last_error"]) == ("dead", 3, "451 c")
    assert sink.received == []


async def test_backoff_doubles_from_try_to_try(app: Starlette, world: World, sink: Sink) -> None:
    """The wait after try n is between half and all of base * 2**(n-1)."""
    sink.on_data("451 a", "451 b", "451 c")
    await queue(app, "ana@example.com")
    worker = make_worker(app, mail_max_attempts=4)
    for n in (1, 2, 3):
        await worker.drain()
        [row] = world.outbox()
        wait = row["next_attempt_at"] - world.clock.now_s()
        assert BASE * 2 ** (n - 1) / 2 <= wait <= BASE * 2 ** (n - 1), (n, wait)
        world.clock.advance(wait)
    await worker.drain()
    assert status(world) == {"ana@example.com": ("sent", 4)}


async def test_refused_connection_is_retried(app: Starlette, world: World, sink: Sink) -> None:
    """No server listening: every message of the batch waits for a retry; none is lost."""
    await queue(app, "a@example.com", "b@example.com")
    await make_worker(app, smtp_url=f"smtp://127.0.0.1:{free_port()}").drain()
    rows = world.outbox()
    assert [(r["status"], r["attempts"]) for r in rows] == [("pending", 1)] * 2
    assert all("SMTP connection failed" in r["last_error"] for r in rows)
    world.clock.advance(BASE)
    await make_worker(app).drain()
    assert [r["status"] for r in world.outbox()] == ["sent", "sent"]


async def test_a_server_that_stops_answering_times_out_and_is_retried(
    app: Starlette, world: World, sink: Sink
) -> None:
    """A stalled DATA hits the SMTP timeout; the message is retried, then delivered."""
    sink.on_data(STALL)
    await queue(app, "ana@example.com")
    await make_worker(app, mail_smtp_timeout_s=0.3).drain()
    [row] = world.outbox()
    assert (row["status"], row["last_error"]) == ("pending", "SMTP server timed out")
    world.clock.advance(BASE)
    await make_worker(app).drain()
    assert status(world) == {"ana@example.com": ("sent", 2)}


async def test_a_dead_server_costs_one_timeout_per_batch_not_one_per_message(
    app: Starlette, world: World, sink: Sink
) -> None:
    """After two connection failures in a row the rest of the batch fails fast, to be retried."""
    sink.stall_all = True
    await queue(app, *(f"u{i}@example.com" for i in range(6)))
    started = Clock().now()
    await make_worker(app, mail_smtp_timeout_s=0.3).drain()
    assert Clock().now() - started < 1.5
    assert {r["status"] for r in world.outbox()} == {"pending"}
    assert sink.stalled == 2


async def test_user_and_password_in_the_url_log_in(
    app: Starlette, world: World, sink: Sink
) -> None:
    """smtp://user:password@host logs in (percent-encoded password) before sending."""
    await queue(app, "ana@example.com")
    await make_worker(app, smtp_url=f"smtp://mailer:s3cret%2Fpass@127.0.0.1:{sink.port}").drain()
    assert sink.logins == [("mailer", "s3cret/pass")]
    assert status(world) == {"ana@example.com": ("sent", 1)}


async def test_a_wrong_password_is_retried_not_dead(
    app: Starlette, world: World, sink: Sink
) -> None:
    """Refused credentials are the relay's configuration, not the message's fault: retried."""
    await queue(app, "ana@example.com")
    await make_worker(app, smtp_url=f"smtp://mailer:wrong@127.0.0.1:{sink.port}").drain()
    [row] = world.outbox()
    assert (row["status"], row["last_error"][:3]) == ("pending", "535")


async def test_capture_without_smtp_url_keeps_the_message_in_the_database(
    app: Starlette, world: World, sink: Sink
) -> None:
    """No SMTP_URL: captured, with the full rendered message, and nothing goes out."""
    await queue(app, "ana@example.com")
    await make_worker(app, smtp_url=None).drain()
    [row] = world.outbox()
    assert (row["status"], row["attempts"]) == ("captured", 1)
    assert row["message_id"] in row["raw"] and "Subject: Breakout session cancelled" in row["raw"]
    assert sink.received == []


async def test_a_payload_that_cannot_be_rendered_is_dead(
    app: Starlette, world: World, sink: Sink
) -> None:
    """A row whose payload is broken will not render next time either: dead, with the reason."""
    await queue(app, "ana@example.com")
    world_db = app.state.breakouts.db
    async with world_db.transaction() as tx:
        await tx.execute("UPDATE outbox SET payload = ?", json.dumps({"title": "x"}))
    await make_worker(app).drain()
    [row] = world.outbox()
    assert row["status"] == "dead" and row["last_error"].startswith("cannot render")


async def test_an_unforeseen_client_error_is_a_failed_try_not_a_lost_message(
    app: Starlette, world: World, sink: Sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug-like exception inside the SMTP client is recorded and retried like any failure."""
    import aiosmtplib

    async def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("surprise")

    monkeypatch.setattr(aiosmtplib.SMTP, "sendmail", boom)
    await queue(app, "ana@example.com")
    await make_worker(app).drain()
    [row] = world.outbox()
    assert (row["status"], row["last_error"]) == (
        "pending",
        "SMTP client error: RuntimeError('surprise')",
    )


def test_a_lease_no_longer_than_the_smtp_timeout_is_refused(app: Starlette) -> None:
    """A worker whose sends could outlast its lease would never send: refused at start."""
    with pytest.raises(ValueError, match="MAIL_LEASE_S"):
        make_worker(app, mail_lease_s=20, mail_smtp_timeout_s=20)
