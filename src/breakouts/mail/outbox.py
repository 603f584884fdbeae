"""Queueing email in the same transaction as the change that causes it.

A row holds what the message must say (a JSON payload), not the rendered message: rendering
happens in the worker, off the request path. ``Message-ID`` is fixed at enqueue time from the
event id and the recipient, so every retry or duplicate delivery carries the same one.

``on_enqueue`` lets a worker in this process hear of new rows at once instead of at its next
poll. The ring comes *before* the commit; that is harmless: on SQLite the worker's claim waits
for the request's transaction to end, and a worker that looks too early (another backend, a
rollback) finds nothing and polls again. It is only a hint: delivery never depends on it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from breakouts.db import Tx

_encode = msgspec.json.Encoder().encode


_listeners: set[Callable[[], None]] = set()


def on_enqueue(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` (cheap, non-blocking) whenever rows are queued; returns the unsubscriber."""
    _listeners.add(listener)
    return lambda: _listeners.discard(listener)


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
    """One outbox row per (recipient, per-recipient payload); returns how many.

    ``now`` is the org's clock (the message's ``Date``); the row is due at once.

    The payload is one JSON object: the event's common part is encoded once and each
    recipient's own keys are spliced onto it (this runs inside the request, per recipient).
    """
    event_id = f"{random.getrandbits(128):032x}"  # unique, not secret
    head = _encode({**common, "event": event})[:-1]  # b'{...' without its closing brace
    rows = []
    for position, (recipient, extra) in enumerate(recipients):
        payload = (head + b"," + _encode({**extra, "to": recipient})[1:]).decode()
        rows.append(
            (
                message_id(event_id, position, domain),
                event,
                meeting_id,
                recipient,
                payload,
                now,
                org_id,
            )
        )
    # Due at once (0): ``now`` is the org's clock, which may run ahead of the worker's.
    await tx.executemany(
        "INSERT INTO outbox (message_id, event, meeting_id, recipient, payload, status,"
        " attempts, next_attempt_at, created_at, org_id)"
        " VALUES (?, ?, ?, ?, ?, 'pending', 0, 0, ?, ?)",
        rows,
    )
    for listener in tuple(_listeners):
        listener()
    return len(rows)
