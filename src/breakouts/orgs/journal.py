"""The request journal (SPEC §10): opt-in per org, the newest 1 000 requests of each.

The unit of work leaves a ``Note`` on the request once it knows the caller's org keeps a
journal; the outermost middleware completes it with the answer's status and writes it before
the answer leaves, so a test that reads the journal after its call returned finds the entry.
Orgs without a journal pay nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from breakouts.db import Database
from breakouts.orgs import repository as repo


@dataclass(slots=True)
class Note:
    org_id: str
    now: int  # the org's clock when the request started
    operation: str
    caller: str
    host_email: str | None = None
    fault: str | None = None


def _iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def write(
    db: Database,
    note: Note,
    *,
    method: str,
    path: str,
    query: str,
    status: int,
    tracking_id: str,
    duration_ms: float,
) -> None:
    entry: dict[str, Any] = {
        "time": _iso(note.now),
        "method": method,
        "path": path,
        "query": query,
        "operationId": note.operation,
        "status": status,
        "trackingId": tracking_id,
        "caller": note.caller,
        "hostEmail": note.host_email,
        "durationMs": round(duration_ms, 2),
    }
    if note.fault is not None:
        entry["fault"] = note.fault
    async with db.transaction(write=True) as tx:
        await repo.insert_journal(tx, note.org_id, entry, note.operation, status)
