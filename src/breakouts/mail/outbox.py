"""Queueing email in the same transaction as the change that causes it.

A change queues one *event* (``mail_events``: what happened, to whom, by whom) in its own
transaction; a worker fans it out into one outbox row per recipient, holding what that message
must say (a JSON payload), and renders it only when sending, off the request path. The
``Message-ID`` of each is fixed by the event's key and the recipient's position, so every retry
or duplicate delivery carries the same one.

Workers hear of new events at once instead of at their next poll: once the transaction that
queued them has committed (``Tx.after_commit``, never for a change that was rolled back), the
database notifies ``CHANNEL``: the workers of this process directly and, on PostgreSQL, those
of every other process through ``NOTIFY`` (``Database.notify``/``listen``). It is only a hint:
delivery never depends on it (workers poll as well).
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

import msgspec

from breakouts.db import Tx

_encode = msgspec.json.Encoder().encode


# Notified (``Database.notify``) once a change that queued mail is committed.
CHANNEL = "breakouts_mail"


def message_id(event_id: str, position: int, domain: str) -> str:
    """Unique per (event, recipient): the event's random id and the recipient's position in it.

    Fixed in the row when it is queued, so every retry and duplicate carries the same one.
    """
    return f"<{event_id}.{position}@{domain}>"


def distinct_recipients(emails: Iterable[str]) -> list[str]:
    """Each person once, compared case-insensitively, first spelling kept, order kept."""
    seen: set[str] = set()
    out: list[str] = []
    for e in emails:
        key = e.lower()
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def plan_recipients(
    host: str, sessions: Iterable[tuple[str, Iterable[str]]]
) -> list[tuple[str, dict[str, Any]]]:
    """A plan's mail: one message to the host (the whole plan), one to each distinct invitee
    (their session), compared case-insensitively, the host never twice."""
    sessions = [(name, list(invitees)) for name, invitees in sessions]
    recipients: list[tuple[str, dict[str, Any]]] = [
        (host, {"role": "host", "sessions": [name for name, _ in sessions]})
    ]
    seen = {host.lower()}
    for name, invitees in sessions:
        for email in invitees:
            if email.lower() not in seen:
                seen.add(email.lower())
                recipients.append((email, {"role": "invitee", "session": name}))
    return recipients


EVENT_SQL = (
    "INSERT INTO mail_events (org_id, event, meeting_id, event_key, domain, common,"
    " recipients, recipient_count, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def event_row(
    *,
    org_id: str,
    event: str,
    meeting_id: str,
    recipients: list[tuple[str, dict[str, Any]]],
    common: dict[str, Any],
    domain: str,
    now: int,
) -> tuple[Any, ...]:
    """``EVENT_SQL``'s parameters: the event with a new random key (the Message-IDs' stem)."""
    return (
        org_id,
        event,
        meeting_id,
        f"{random.getrandbits(128):032x}",  # unique, not secret
        domain,
        _encode({**common, "event": event}).decode(),
        _encode(recipients).decode(),
        len(recipients),
        now,
    )


async def enqueue(
    tx: Tx,
    *,
    org_id: str,
    event: str,
    meeting_id: str,
    recipients: list[tuple[str, dict[str, Any]]],
    common: dict[str, Any],
    domain: str,
    now: int,
) -> int:
    """Queue one event for its recipients (one row, whatever their number); returns how many.

    ``now`` is the org's clock (the messages' ``Date``). A mail worker fans the event out into
    one outbox row per recipient (``expand``); the Message-ID of each is fixed by the event's
    key and the recipient's position, so it is the same however often anything is retried.
    """
    if not recipients:
        return 0
    row = event_row(org_id=org_id, event=event, meeting_id=meeting_id, recipients=recipients,
                    common=common, domain=domain, now=now)  # fmt: skip
    await tx.execute(EVENT_SQL, *row)
    db = tx.db
    tx.after_commit(lambda: db.notify(CHANNEL))
    return len(recipients)


# The fan-out's statements, shared with anything that must expand events outside a worker.
EVENTS_SQL = (
    "SELECT id, org_id, event, meeting_id, event_key, domain, common, recipients, created_at,"
    " recipient_count FROM mail_events"
)
# Due at once (0): ``created_at`` is the org's clock, which may run ahead of the worker's.
INSERT_SQL = (
    "INSERT INTO outbox (message_id, event, meeting_id, recipient, payload, status,"
    " attempts, next_attempt_at, created_at, org_id)"
    " VALUES (?, ?, ?, ?, ?, 'pending', 0, 0, ?, ?)"
)


def fan_out(events: Iterable[Any]) -> list[tuple[Any, ...]]:
    """The outbox rows (``INSERT_SQL``'s parameters) of events read with ``EVENTS_SQL``.

    Each recipient's payload is the event's common part with their own keys spliced on (the
    common part is encoded once per event, not once per recipient).
    """
    rows: list[tuple[Any, ...]] = []
    for e in events:
        head = e["common"].encode()[:-1]  # b'{...' without its closing brace
        for position, (recipient, extra) in enumerate(msgspec.json.decode(e["recipients"])):
            payload = (head + b"," + _encode({**extra, "to": recipient})[1:]).decode()
            rows.append(
                (
                    message_id(e["event_key"], position, e["domain"]),
                    e["event"],
                    e["meeting_id"],
                    recipient,
                    payload,
                    e["created_at"],
                    e["org_id"],
                )
            )
    return rows


async def expand(
    tx: Tx,
    *,
    org_id: str | None = None,
    limit: int = 200,
    max_rows: int | None = None,
    skip_locked: bool = False,
) -> int:
    """Fan queued events out into outbox rows, one per recipient; returns how many rows.

    The events are deleted in the same transaction that writes their rows, so each is expanded
    exactly once: a crash before the commit leaves the event for the next worker, after it the
    rows. ``org_id`` limits it to one org's events (the mail listings expand before reading).
    ``max_rows`` bounds one call's work (the oldest event is always taken, whatever its size):
    a worker inside the server shares the event loop with requests (~15 µs a row).
    """
    # Where rows lock (PostgreSQL), the events are locked as they are read: a listing and a
    # worker expanding the same event at once would otherwise both write its rows (seen in
    # tests/test_scale.py). A worker passes over events another one holds; a listing waits for
    # them, and then finds that the ones expanded meanwhile are gone. Callers hold a write
    # transaction: the lock, the rows and the deletion commit together.
    lock = ""
    if tx.db.row_locks:
        lock = " FOR UPDATE SKIP LOCKED" if skip_locked else " FOR UPDATE"
    where = "" if org_id is None else " WHERE org_id = ?"
    args: list[Any] = [] if org_id is None else [org_id]
    events = await tx.fetchall(f"{EVENTS_SQL}{where} ORDER BY id LIMIT ?{lock}", *args, limit)
    if max_rows is not None:
        kept, rows_so_far = 0, 0
        for e in events:
            if kept and rows_so_far + e["recipient_count"] > max_rows:
                break
            kept += 1
            rows_so_far += e["recipient_count"]
        events = events[:kept]
    if not events:
        return 0
    rows = fan_out(events)
    await tx.executemany(INSERT_SQL, rows)
    ids = [e["id"] for e in events]
    deleted = await tx.execute(
        f"DELETE FROM mail_events WHERE id IN ({', '.join('?' * len(ids))})", *ids
    )
    if deleted != len(ids):  # expanded by someone else meanwhile: undo this copy (rollback)
        raise RuntimeError(f"mail events expanded twice: {len(ids) - deleted} of {len(ids)}")
    return len(rows)
