"""Writes of the breakout-session operations that span the plans' and the meetings' tables.

A series DELETE removes the series plan and the future occurrences' plans, points those
occurrences back at the series, and turns the series' flag off. Where the database runs
data-modifying ``WITH`` (PostgreSQL, where each statement is a network round trip) that is one
statement; elsewhere (SQLite, in process) the three statements of the repositories that own
those tables.
"""

from __future__ import annotations

from breakouts.db import Tx, from_json
from breakouts.meetings import repository as meetings_repo
from breakouts.plans import repository as plans_repo
from breakouts.plans.repository import Deleted

# The same three statements, as one: the plans deleted (returned), the future occurrences'
# own plans cleared, the flag off if it was on. Sub-statements of one WITH see the same
# snapshot and touch different tables, so their order does not matter.
DELETE_SERIES_PLAN_CTE = (
    "WITH deleted AS ("
    f"{plans_repo.DELETE_SERIES_PLANS_SQL}"
    "), cleared AS ("
    f"{meetings_repo.CLEAR_FUTURE_PLANS_SQL}"
    "), flag AS ("
    "UPDATE meeting_series SET breakouts_enabled = 0 WHERE id = ? AND breakouts_enabled = 1"
    ") SELECT name, invitees FROM deleted"
)


async def delete_series_plan(
    tx: Tx, series_id: str, future_after: int, breakouts_enabled: bool
) -> Deleted:
    """Delete the series plan and the plans of occurrences starting after ``future_after``,
    clear those occurrences' own plans and the series' flag; returns what was deleted."""
    if tx.db.writable_ctes:
        rows = await tx.fetchall(
            DELETE_SERIES_PLAN_CTE, series_id, future_after, series_id, future_after, series_id
        )
        return [(r["name"], from_json(r["invitees"])) for r in rows]
    deleted = await plans_repo.delete_series_plans(tx, series_id, future_after)
    await meetings_repo.clear_future_plans(tx, series_id, future_after)
    if breakouts_enabled:
        await meetings_repo.set_series_breakouts_enabled(tx, series_id, False)
    return deleted
