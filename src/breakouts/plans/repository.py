"""SQL for breakout sessions.

A plan is the ordered set of sessions of one *scope* of a series: ``""`` for the series itself,
the occurrence key (``20261201T120000Z``) for a scheduled meeting with a plan of its own, or the
instance suffix (``I_…``) for the sessions a started meeting held.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from breakouts.db import Tx, from_json, to_json


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    name: str
    invitees: list[str]
    start_time: int | None = None
    end_time: int | None = None


async def list_sessions(tx: Tx, series_id: str, scope: str) -> list[Session]:
    rows = await tx.fetchall(
        "SELECT id, name, invitees, start_time, end_time FROM breakout_sessions"
        " WHERE series_id = ? AND scope = ? ORDER BY position",
        series_id,
        scope,
    )
    return [
        Session(r["id"], r["name"], from_json(r["invitees"]), r["start_time"], r["end_time"])
        for r in rows
    ]


async def insert_sessions(
    tx: Tx, series_id: str, scope: str, occurrence_start: int | None, sessions: list[Session]
) -> None:
    await tx.executemany(
        "INSERT INTO breakout_sessions (id, series_id, scope, occurrence_start, position, name,"
        " invitees, start_time, end_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                s.id,
                series_id,
                scope,
                occurrence_start,
                n,
                s.name,
                to_json(s.invitees),
                s.start_time,
                s.end_time,
            )
            for n, s in enumerate(sessions)
        ],
    )


async def delete_scope(tx: Tx, series_id: str, scope: str) -> int:
    return await tx.execute(
        "DELETE FROM breakout_sessions WHERE series_id = ? AND scope = ?", series_id, scope
    )


Deleted = list[tuple[str, list[str]]]  # (name, invitees) of each deleted session


# The series plan and the plans of occurrences starting after a moment, deleted (bench/ runs it too).
DELETE_SERIES_PLANS_SQL = (
    "DELETE FROM breakout_sessions WHERE series_id = ? AND (scope = ''"
    " OR (occurrence_start IS NOT NULL AND occurrence_start > ?)) RETURNING name, invitees"
)


async def delete_series_plans(tx: Tx, series_id: str, future_after: int) -> Deleted:
    """Delete the series plan and the plans of occurrences starting after ``future_after``.

    Returns what was deleted (for the emails) in the same round trip.
    """
    rows = await tx.fetchall(DELETE_SERIES_PLANS_SQL, series_id, future_after)
    return [(r["name"], from_json(r["invitees"])) for r in rows]


async def delete_scope_returning(tx: Tx, series_id: str, scope: str) -> Deleted:
    rows = await tx.fetchall(
        "DELETE FROM breakout_sessions WHERE series_id = ? AND scope = ? RETURNING name, invitees",
        series_id,
        scope,
    )
    return [(r["name"], from_json(r["invitees"])) for r in rows]


async def end_sessions(tx: Tx, series_id: str, scope: str, start: int, end: int) -> None:
    await tx.execute(
        "UPDATE breakout_sessions SET start_time = COALESCE(start_time, ?), end_time = ?"
        " WHERE series_id = ? AND scope = ?",
        start,
        end,
        series_id,
        scope,
    )


def sessions_json(
    sessions: list[Session], *, with_times: bool, fmt: Any = None
) -> list[dict[str, Any]]:
    """Upstream item shape; ``fmt`` renders epoch seconds for startTime/endTime."""
    out: list[dict[str, Any]] = []
    for s in sessions:
        item: dict[str, Any] = {"id": s.id, "name": s.name, "invitees": s.invitees}
        if with_times and fmt is not None:
            if s.start_time is not None:
                item["startTime"] = fmt(s.start_time)
            if s.end_time is not None:
                item["endTime"] = fmt(s.end_time)
        out.append(item)
    return out
