"""SQL for orgs and what the control plane stores per org: clock, fault rules, request journal."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Protocol

from breakouts.db import Row, Tx, from_json, to_json

# The default org (migration 0003): every row that existed before orgs belongs to it.
DEFAULT_ORG = "00000000-0000-4000-8000-000000000000"
JOURNAL_KEEP = 1000


@dataclass(frozen=True, slots=True)
class OrgState:
    """What every request needs of its caller's org; read with the token, never on its own."""

    id: str
    clock_offset: int
    version: int
    journal: bool


@dataclass(frozen=True, slots=True)
class Org:
    id: str
    name: str
    journal: bool
    clock_offset: int
    version: int
    created_at: int


class FaultFields(Protocol):
    """What a stored fault rule holds (``orgs.faults.FaultRule`` has these)."""

    @property
    def operation(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def retry_after(self) -> int | None: ...
    @property
    def message(self) -> str | None: ...
    @property
    def probability(self) -> float: ...
    @property
    def remaining(self) -> int | None: ...
    @property
    def latency_ms(self) -> int | None: ...


def new_version() -> int:
    """A fault-rules version no process can have cached (random: a reset org starts afresh)."""
    return random.getrandbits(62)


def _org(row: Row) -> Org:
    return Org(
        row["id"],
        row["name"],
        bool(row["journal"]),
        row["clock_offset"],
        row["version"],
        row["created_at"],
    )


_ORG_COLUMNS = "id, name, journal, clock_offset, version, created_at"


async def get(tx: Tx, org_id: str) -> Org | None:
    row = await tx.fetchone(f"SELECT {_ORG_COLUMNS} FROM orgs WHERE id = ?", org_id)
    return None if row is None else _org(row)


async def list_all(tx: Tx) -> list[Org]:
    rows = await tx.fetchall(f"SELECT {_ORG_COLUMNS} FROM orgs ORDER BY created_at, id")
    return [_org(r) for r in rows]


async def insert(tx: Tx, org_id: str, name: str, journal: bool, now: int) -> None:
    await tx.execute(
        "INSERT INTO orgs (id, name, journal, clock_offset, version, created_at)"
        " VALUES (?, ?, ?, 0, ?, ?)",
        org_id,
        name,
        int(journal),
        new_version(),
        now,
    )


async def set_clock_offset(tx: Tx, org_id: str, offset: int) -> None:
    await tx.execute("UPDATE orgs SET clock_offset = ? WHERE id = ?", offset, org_id)


async def bump_version(tx: Tx, org_id: str) -> None:
    await tx.execute("UPDATE orgs SET version = ? WHERE id = ?", new_version(), org_id)


async def delete_everything(tx: Tx, org_id: str) -> None:
    """The org and every row it owns, children first (no reliance on cascades)."""
    series = "SELECT id FROM meeting_series WHERE org_id = ?"
    for table in ("breakout_sessions", "instances", "occurrences", "meeting_invitees"):
        await tx.execute(f"DELETE FROM {table} WHERE series_id IN ({series})", org_id)
    await tx.execute(
        "DELETE FROM tokens WHERE person_id IN (SELECT id FROM people WHERE org_id = ?)", org_id
    )
    for table in (
        "meeting_series", "people", "mail_events", "outbox", "audit_log", "faults", "journal",
    ):  # fmt: skip
        await tx.execute(f"DELETE FROM {table} WHERE org_id = ?", org_id)
    await tx.execute("DELETE FROM orgs WHERE id = ?", org_id)


async def delete_all(tx: Tx) -> None:
    """Every row of every table (a reset): the caller then creates the default org again."""
    for table in (
        "breakout_sessions", "instances", "occurrences", "meeting_invitees", "tokens",
        "meeting_series", "people", "mail_events", "outbox", "audit_log", "faults", "journal",
        "orgs",
    ):  # fmt: skip
        await tx.execute(f"DELETE FROM {table}")
    await tx.execute("UPDATE mail_counters SET value = 0")


# --- fault rules ---------------------------------------------------------------------------------

_FAULT_COLUMNS = (
    "id, operation, status, retry_after, message, probability, remaining, latency_ms, created_at"
)


async def fault_rows(tx: Tx, org_id: str) -> list[Row]:
    return await tx.fetchall(
        f"SELECT {_FAULT_COLUMNS} FROM faults WHERE org_id = ? ORDER BY id", org_id
    )


async def smtp_fault_rows(tx: Tx, org_ids: list[str]) -> list[Row]:
    marks = ", ".join("?" * len(org_ids))
    return await tx.fetchall(
        f"SELECT org_id, {_FAULT_COLUMNS} FROM faults"
        f" WHERE operation = 'smtp' AND org_id IN ({marks}) ORDER BY id",
        *org_ids,
    )


async def insert_fault(tx: Tx, org_id: str, rule: FaultFields, now: int) -> int:
    """Store a rule (its ``id`` is ignored); returns the id it got. Bumps the org's version."""
    fault_id = await tx.fetchval(
        "INSERT INTO faults (org_id, operation, status, retry_after, message, probability,"
        " remaining, latency_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        org_id,
        rule.operation,
        rule.status,
        rule.retry_after,
        rule.message,
        rule.probability,
        rule.remaining,
        rule.latency_ms,
        now,
    )
    await bump_version(tx, org_id)
    return int(fault_id)


async def delete_faults(tx: Tx, org_id: str, fault_id: int | None = None) -> int:
    if fault_id is None:
        n = await tx.execute("DELETE FROM faults WHERE org_id = ?", org_id)
    else:
        n = await tx.execute("DELETE FROM faults WHERE org_id = ? AND id = ?", org_id, fault_id)
    await bump_version(tx, org_id)
    return n


async def take_fault(tx: Tx, org_id: str, fault_id: int) -> bool:
    """Use one hit of a counted rule; False if another request (on any process) took the last.

    The rule that runs out is deleted and the org's version bumped, so every process drops it.
    """
    taken = await tx.execute(
        "UPDATE faults SET remaining = remaining - 1 WHERE id = ? AND remaining > 0", fault_id
    )
    if taken:
        gone = await tx.execute("DELETE FROM faults WHERE id = ? AND remaining <= 0", fault_id)
        if gone:
            await bump_version(tx, org_id)
    return bool(taken)


# --- request journal -----------------------------------------------------------------------------


async def insert_journal(
    tx: Tx, org_id: str, entry: dict[str, Any], operation: str, status: int
) -> None:
    await tx.execute(
        "INSERT INTO journal (org_id, entry, operation, status) VALUES (?, ?, ?, ?)",
        org_id,
        to_json(entry),
        operation,
        status,
    )
    # The newest JOURNAL_KEEP of the org are kept.
    await tx.execute(
        "DELETE FROM journal WHERE org_id = ? AND id < (SELECT id FROM journal WHERE org_id = ?"
        " ORDER BY id DESC LIMIT 1 OFFSET ?)",
        org_id,
        org_id,
        JOURNAL_KEEP - 1,
    )


async def journal_entries(
    tx: Tx, org_id: str, operation: str | None, status: int | None
) -> list[dict[str, Any]]:
    sql = "SELECT entry FROM journal WHERE org_id = ?"
    args: list[Any] = [org_id]
    if operation is not None:
        sql += " AND operation = ?"
        args.append(operation)
    if status is not None:
        sql += " AND status = ?"
        args.append(status)
    rows = await tx.fetchall(sql + " ORDER BY id", *args)
    return [from_json(r["entry"]) for r in rows]


async def clear_journal(tx: Tx, org_id: str) -> None:
    await tx.execute("DELETE FROM journal WHERE org_id = ?", org_id)
