"""Breakout-session operations: listBreakoutSessions, updateBreakoutSessions, deleteBreakoutSessions."""

from __future__ import annotations

from breakouts import audit
from breakouts.breakouts import repository
from breakouts.breakouts.schemas import UpdateMeetingBreakoutSessionsObject
from breakouts.context import Ctx
from breakouts.errors import BadRequest, NotFound
from breakouts.mail import outbox
from breakouts.meetings import repository as meetings_repo
from breakouts.meetings.repository import Occurrence, SeriesLookup
from breakouts.meetings.view import (
    MEETING_NOT_FOUND,
    MeetingView,
    can_see,
    find_series,
    load_meeting,
    lock_for_write,
    mail_facts,
    parse_or_404,
    require_host,
    require_pre_meeting,
    view_of,
)
from breakouts.plans import repository as sessions_repo
from breakouts.plans.repository import Session
from breakouts.plans.rules import build_plan


def not_allowed(meeting_id: str) -> BadRequest:
    return BadRequest(f"Meeting ID '{meeting_id}' is not allowed for this API.")


def _plan_scope(view: MeetingView) -> str:
    """Which stored plan a meeting shows: its own, or (a scheduled meeting without one) the series'."""
    if view.ref.kind == "scheduled" and not (view.occurrence and view.occurrence.has_plan):
        return ""
    return view.ref.scope


# --- listBreakoutSessions --------------------------------------------------------------------


async def list_breakout_sessions(
    ctx: Ctx, meeting_id: str, found: SeriesLookup | None = None
) -> list[Session]:
    view = await load_meeting(ctx, meeting_id, found)
    return await sessions_repo.list_sessions(ctx.tx, view.series.id, _plan_scope(view))


# --- updateBreakoutSessions ------------------------------------------------------------------


async def update_breakout_sessions(
    ctx: Ctx,
    meeting_id: str,
    body: UpdateMeetingBreakoutSessionsObject,
    found: SeriesLookup | None = None,
) -> list[Session]:
    """Replace the whole plan (new ids) and enable breakout sessions."""
    await lock_for_write(ctx.tx, meeting_id, found)
    view = await load_meeting(ctx, meeting_id, found)
    if view.ref.kind == "instance":
        raise not_allowed(meeting_id)
    require_host(view, ctx.caller)
    require_pre_meeting(view)
    plan = build_plan([(i.name, i.invitees) for i in body.items])
    series = view.series
    await sessions_repo.delete_scope(ctx.tx, series.id, view.ref.scope)
    if view.ref.kind == "series":
        await sessions_repo.insert_sessions(ctx.tx, series.id, "", None, plan)
        await meetings_repo.set_series_breakouts_enabled(ctx.tx, series.id, True)
    else:
        occ = view.occurrence
        assert occ is not None
        await sessions_repo.insert_sessions(ctx.tx, series.id, view.ref.scope, occ.start_at, plan)
        occ.has_plan, occ.breakouts_enabled = True, True
        await meetings_repo.save_occurrence(ctx.tx, occ)
    if body.send_email:
        await _mail(ctx, view, "breakouts.updated", [(s.name, s.invitees) for s in plan])
    await _audit(ctx, "breakoutSessions.update", meeting_id, len(plan))
    return plan


# --- deleteBreakoutSessions (the seed) -------------------------------------------------------


async def delete_breakout_sessions(
    ctx: Ctx, meeting_id: str, send_email: bool, found: SeriesLookup | None = None
) -> int:
    """Delete the plan of a series (and its future occurrences) or of one scheduled meeting.

    Returns how many sessions were deleted. Everything happens in the caller's transaction:
    the sessions, the flag, the emails and the audit record commit together or not at all.
    """
    tx = ctx.tx
    await lock_for_write(tx, meeting_id, found)
    ref = parse_or_404(meeting_id)
    series = await find_series(tx, ref, found)
    if series is None or not await can_see(tx, series, ctx.caller):
        raise NotFound(MEETING_NOT_FOUND)
    if ref.kind == "instance":
        inst = await meetings_repo.get_instance(tx, meeting_id)
        if inst is None or inst.series_id != series.id:
            raise NotFound(MEETING_NOT_FOUND)
        raise not_allowed(meeting_id)
    view = await view_of(tx, ctx.now, ref, series, found)
    require_host(view, ctx.caller)
    require_pre_meeting(view)
    if ref.kind == "series":
        # Occurrences that have not ended yet (end > now) are "future"; ended ones keep history.
        future_after = ctx.now - series.duration
        deleted = await repository.delete_series_plan(
            tx, series.id, future_after, series.breakouts_enabled
        )
    else:
        occ = view.occurrence or Occurrence(series.id, ref.occurrence_start or 0)
        if occ.has_plan:
            deleted = await sessions_repo.delete_scope_returning(tx, series.id, ref.scope)
        else:
            # The occurrence showed the series' plan: it now gets an empty plan of its own,
            # and the series and the other occurrences keep theirs.
            inherited = await sessions_repo.list_sessions(tx, series.id, "")
            deleted = [(s.name, s.invitees) for s in inherited]
        if not (occ.has_plan and not occ.breakouts_enabled):
            occ.has_plan, occ.breakouts_enabled = True, False
            await meetings_repo.save_occurrence(tx, occ)
    if deleted and send_email:
        await _mail(ctx, view, "breakouts.deleted", deleted)
    await _audit(ctx, "breakoutSessions.delete", meeting_id, len(deleted))
    return len(deleted)


async def _mail(
    ctx: Ctx, view: MeetingView, event: str, sessions: list[tuple[str, list[str]]]
) -> None:
    """One message to the host (the whole plan) and one to each distinct invitee (their session)."""
    await outbox.enqueue(
        ctx.tx,
        org_id=ctx.caller.org.id,
        event=event,
        meeting_id=view.ref.raw,
        recipients=outbox.plan_recipients(view.series.host_email, sessions),
        common=mail_facts(view, ctx),
        domain=ctx.site.mail_domain,
        now=ctx.now,
    )


async def _audit(ctx: Ctx, action: str, meeting_id: str, count: int) -> None:
    caller = ctx.caller
    await audit.record(
        ctx.tx,
        org_id=caller.org.id,
        at=ctx.now,
        action=action,
        actor_id=caller.actor.id,
        on_behalf_of_id=caller.person.id if caller.on_behalf else None,
        meeting_id=meeting_id,
        sessions_count=count,
        tracking_id=ctx.tracking_id,
    )
