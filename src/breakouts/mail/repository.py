"""SQL for the outbox, after it is queued: claiming, settling, listing, counting.

Statuses: ``pending`` (due at ``next_attempt_at``), ``sending`` (claimed by a worker until
``lease_until``), ``sent`` / ``captured`` (delivered to SMTP / kept in the database), ``dead``
(refused for good, or out of tries).

``attempts`` is bumped by every claim and doubles as a fencing token: a worker settles a row
only ``WHERE attempts = <the value its claim returned>``, so a worker whose lease ran out (and
whose rows another worker has claimed since) cannot overwrite what the newer claim decides.

The SQL runs unchanged on SQLite and PostgreSQL; ``skip_locked`` adds ``FOR UPDATE SKIP
LOCKED`` where the backend has it, so concurrent claimers pass each other instead of queueing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from breakouts.db import Row, Tx
from breakouts.text import whole_number

_COLUMNS = (
    "id, message_id, event, meeting_id, recipient, payload, status, attempts, next_attempt_at,"
    " lease_until, last_error, created_at, sent_at"
)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row a worker now holds: what it needs to render and send, and its fence."""

    id: int
    message_id: str
    event: str
    recipient: str
    payload: str
    attempts: int
    created_at: int
    org_id: str = ""


@dataclass(frozen=True, slots=True)
class Delivered:
    id: int
    attempts: int
    raw: str


@dataclass(frozen=True, slots=True)
class Failed:
    id: int
    attempts: int
    error: str
    retry_at: int | None  # None: dead


async def claim(
    tx: Tx, *, now: int, lease_until: int, limit: int, skip_locked: bool = False
) -> list[Claimed]:
    """Take up to ``limit`` due rows: pending ones whose time has come, and leases run out.

    A lease counts as run out only once ``now`` is strictly past it, so a lease never lasts
    less than the seconds it was given, whatever fraction of a second the claim came at.
    """
    lock = " FOR UPDATE SKIP LOCKED" if skip_locked else ""
    rows = await tx.fetchall(
        "UPDATE outbox SET status = 'sending', lease_until = ?, attempts = attempts + 1"
        " WHERE id IN (SELECT id FROM outbox"
        " WHERE (status = 'pending' AND next_attempt_at <= ?)"
        " OR (status = 'sending' AND lease_until < ?)"
        f" ORDER BY id LIMIT ?{lock})"
        " RETURNING id, message_id, event, recipient, payload, attempts, created_at, org_id",
        lease_until,
        now,
        now,
        limit,
    )
    claimed = [
        Claimed(
            r["id"],
            r["message_id"],
            r["event"],
            r["recipient"],
            r["payload"],
            r["attempts"],
            r["created_at"],
            r["org_id"],
        )
        for r in rows
    ]
    claimed.sort(key=lambda c: c.id)  # RETURNING promises no order
    return claimed


async def mark_delivered(tx: Tx, status: str, now: int, rows: Sequence[Delivered]) -> int:
    """``sent`` or ``captured``, with the message exactly as it went out; returns how many."""
    done = 0
    for d in rows:
        done += await tx.execute(
            "UPDATE outbox SET status = ?, sent_at = ?, raw = ?, lease_until = NULL"
            " WHERE id = ? AND status = 'sending' AND attempts = ?",
            status,
            now,
            d.raw,
            d.id,
            d.attempts,
        )
    await _bump(tx, status, done)
    return done


async def mark_failed(tx: Tx, rows: Sequence[Failed]) -> None:
    """Back to ``pending`` for another try at ``retry_at``, or ``dead``."""
    retried = dead = 0
    for f in rows:
        if f.retry_at is not None:
            retried += await tx.execute(
                "UPDATE outbox SET status = 'pending', next_attempt_at = ?, last_error = ?,"
                " lease_until = NULL WHERE id = ? AND status = 'sending' AND attempts = ?",
                f.retry_at,
                f.error[:1000],
                f.id,
                f.attempts,
            )
        else:
            dead += await tx.execute(
                "UPDATE outbox SET status = 'dead', last_error = ?, lease_until = NULL"
                " WHERE id = ? AND status = 'sending' AND attempts = ?",
                f.error[:1000],
                f.id,
                f.attempts,
            )
    await _bump(tx, "retried", retried)
    await _bump(tx, "dead", dead)


async def _bump(tx: Tx, name: str, by: int) -> None:
    """Add to a running total, in the transaction that caused it (so totals are exact)."""
    if by:
        await tx.execute("UPDATE mail_counters SET value = value + ? WHERE name = ?", by, name)


async def release(tx: Tx, rows: Sequence[Claimed]) -> None:
    """Give back claimed rows that were never tried (shutdown, lease running short).

    The claim's attempt is handed back too: nothing was attempted, so nothing counts.
    """
    await tx.executemany(
        "UPDATE outbox SET status = 'pending', attempts = attempts - 1, lease_until = NULL"
        " WHERE id = ? AND status = 'sending' AND attempts = ?",
        [(c.id, c.attempts) for c in rows],
    )


# --- operator views ----------------------------------------------------------------------------


async def list_messages(
    tx: Tx,
    *,
    status: str | None = None,
    recipient: str | None = None,
    org_id: str | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Newest first, optionally of one status, one recipient (any letter case), one org."""
    where, args = [], []
    if org_id is not None:
        where.append("org_id = ?")
        args.append(org_id)
    if status is not None:
        where.append("status = ?")
        args.append(status)
    if recipient is not None:
        where.append("LOWER(recipient) = ?")
        args.append(recipient.lower())
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = await tx.fetchall(
        f"SELECT {_COLUMNS} FROM outbox{clause} ORDER BY id DESC LIMIT ?", *args, limit
    )
    return [dict(r) for r in rows]


async def list_org_messages(
    tx: Tx,
    org_id: str,
    *,
    to: str | None = None,
    meeting_id: str | None = None,
    event: str | None = None,
    status: str | None = None,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """An org's messages, oldest first, filtered by recipient (any case), meeting, event, status."""
    where, args = ["org_id = ?"], [org_id]
    for column, value in (("meeting_id", meeting_id), ("event", event), ("status", status)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if to is not None:
        where.append("LOWER(recipient) = ?")
        args.append(to.lower())
    rows = await tx.fetchall(
        f"SELECT {_COLUMNS} FROM outbox WHERE {' AND '.join(where)} ORDER BY id LIMIT ?",
        *args,
        limit,
    )
    return [dict(r) for r in rows]


async def get_org_message(tx: Tx, org_id: str, outbox_id: int) -> dict[str, Any] | None:
    row = await tx.fetchone(
        f"SELECT {_COLUMNS} FROM outbox WHERE id = ? AND org_id = ?", outbox_id, org_id
    )
    return None if row is None else dict(row)


async def delete_org_messages(tx: Tx, org_id: str) -> int:
    """Forget an org's mail, whatever its status (its test is over with it)."""
    await tx.execute("DELETE FROM mail_events WHERE org_id = ?", org_id)
    return await tx.execute("DELETE FROM outbox WHERE org_id = ?", org_id)


async def get_message(tx: Tx, key: str) -> Row | None:
    """By outbox id (digits) or by Message-ID (with or without its angle brackets)."""
    if (outbox_id := whole_number(key)) is not None:
        return await tx.fetchone(f"SELECT {_COLUMNS}, raw FROM outbox WHERE id = ?", outbox_id)
    mid = key if key.startswith("<") else f"<{key}>"
    return await tx.fetchone(f"SELECT {_COLUMNS}, raw FROM outbox WHERE message_id = ?", mid)


async def retry_now(tx: Tx, message_id: int, now: int) -> bool:
    """A dead (or waiting) message goes back to the queue, due now, with a fresh set of tries."""
    changed = await tx.execute(
        "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?,"
        " lease_until = NULL WHERE id = ? AND status IN ('dead', 'pending')",
        now,
        message_id,
    )
    return changed == 1


async def delete_captured(tx: Tx) -> int:
    """Empty the local mail catcher (captured messages only; real deliveries stay on record)."""
    return await tx.execute("DELETE FROM outbox WHERE status = 'captured'")


@dataclass(frozen=True, slots=True)
class Counts:
    """The queue as an operator reads it.

    ``pending``, ``sending`` and ``dead`` are what the outbox holds now (``dead`` is the dead
    letter pile, shrinking when an operator retries); ``sent``, ``captured`` and ``retried``
    (tries that failed and were rescheduled) are running totals that only grow.
    """

    pending: int = 0
    sending: int = 0
    dead: int = 0
    sent: int = 0
    captured: int = 0
    retried: int = 0

    @property
    def depth(self) -> int:
        return self.pending + self.sending

    def as_dict(self) -> dict[str, int]:
        return {
            "queued": self.depth,
            "sending": self.sending,
            "dead": self.dead,
            "sent": self.sent,
            "captured": self.captured,
            "retried": self.retried,
        }


async def counts(tx: Tx) -> Counts:
    """Cheap at any size: the live statuses through the status index, totals from counters."""
    live = await tx.fetchall(
        "SELECT status, COUNT(*) AS n FROM outbox"
        " WHERE status IN ('pending', 'sending', 'dead') GROUP BY status"
    )
    totals = await tx.fetchall(
        "SELECT name, value FROM mail_counters WHERE name IN ('sent', 'captured', 'retried')"
    )
    values = {r["status"]: int(r["n"]) for r in live}
    # Messages still inside queued events (not yet fanned out) are pending too.
    unexpanded = await tx.fetchval("SELECT COALESCE(SUM(recipient_count), 0) FROM mail_events")
    values["pending"] = values.get("pending", 0) + int(unexpanded)
    values.update({r["name"]: int(r["value"]) for r in totals})
    return Counts(**values)
