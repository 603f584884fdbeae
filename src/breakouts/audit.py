"""The audit trail: who changed what, on whose behalf, under which TrackingID."""

from __future__ import annotations

from breakouts.db import Tx

INSERT_SQL = (
    "INSERT INTO audit_log (org_id, at, action, actor_id, on_behalf_of_id, meeting_id,"
    " sessions_count, tracking_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


async def record(
    tx: Tx,
    *,
    org_id: str,
    at: int,
    action: str,
    actor_id: str,
    on_behalf_of_id: str | None,
    meeting_id: str,
    sessions_count: int,
    tracking_id: str,
) -> None:
    await tx.execute(
        INSERT_SQL,
        org_id,
        at,
        action,
        actor_id,
        on_behalf_of_id,
        meeting_id,
        sessions_count,
        tracking_id,
    )
