"""listMeetings: series, their scheduled occurrences (from the RRULE) and instances, paged."""

from __future__ import annotations

from dataclasses import dataclass

from breakouts.context import Ctx
from breakouts.errors import BadRequest
from breakouts.ids import parse_meeting_id, scheduled_meeting_id
from breakouts.meetings import occurrences
from breakouts.meetings import repository as repo
from breakouts.meetings.repository import Occurrence, Series
from breakouts.meetings.service import MAX_DURATION, parse_time
from breakouts.meetings.view import (
    MeetingView,
    instance_view,
    parse_or_404,
    scheduled_view,
    view_of,
)

MAX_PAGE = 100
DEFAULT_PAGE = 10
WEEK = 7 * 24 * 3600


@dataclass(frozen=True, slots=True)
class ListQuery:
    meeting_type: str | None
    state: str | None
    series_id: str | None
    from_: str | None
    to: str | None
    max: int
    offset: int


def _window(q: ListQuery, now: int, kind: str) -> tuple[int, int]:
    # Present but empty is not a date-time either: 400, as the document says.
    lo = None if q.from_ is None else parse_time(q.from_, "from", "UTC")
    hi = None if q.to is None else parse_time(q.to, "to", "UTC")
    if lo is None and hi is None:
        lo, hi = (now - WEEK, now) if kind == "meeting" else (now, now + WEEK)
    elif lo is None:
        assert hi is not None
        lo = hi - WEEK
    elif hi is None:
        hi = lo + WEEK
    if lo > hi:
        raise BadRequest("'from' cannot be after 'to'.")
    return lo, hi


async def list_meetings(ctx: Ctx, q: ListQuery) -> tuple[list[MeetingView], bool]:
    """One page of meetings and whether there is another."""
    series_id = None
    if q.series_id is not None:
        ref = parse_meeting_id(q.series_id)
        if ref is None or ref.kind != "series":
            raise BadRequest(f"'meetingSeriesId' is not a meeting series id: '{q.series_id}'.")
        series_id = ref.series_id
    kinds = (
        [q.meeting_type]
        if q.meeting_type
        else (["scheduledMeeting", "meeting"] if series_id else ["meetingSeries"])
    )
    views: list[MeetingView] = []
    cap = q.offset + q.max + 1
    for kind in kinds:
        lo, hi = _window(q, ctx.now, kind)
        if kind == "meeting":
            views += await _list_instances(ctx, lo, hi, series_id)
        else:
            views += await _list_planned(ctx, kind, lo, hi, series_id, cap)
    if q.state:
        views = [v for v in views if v.state == q.state]
    views.sort(key=lambda v: (v.start, v.ref.raw))
    page = views[q.offset : q.offset + q.max]
    return page, len(views) > q.offset + q.max


async def _list_planned(
    ctx: Ctx, kind: str, lo: int, hi: int, series_id: str | None, cap: int
) -> list[MeetingView]:
    person = ctx.caller.person
    out: list[MeetingView] = []
    # An occurrence that started before `lo` but is still on counts: widen by the longest meeting.
    candidates = await repo.visible_series(
        ctx.tx, ctx.caller.org.id, person.id, person.email.lower(), lo - MAX_DURATION, hi, series_id
    )
    for s in candidates:
        if kind == "meetingSeries":
            first = occurrences.starts_between(
                s.recurrence, s.start_at, s.timezone, lo - s.duration + 1, hi, 1
            )
            if first or await repo.moved_between(ctx.tx, s.id, lo, hi):
                out.append(await view_of(ctx.tx, ctx.now, parse_or_404(s.id), s))
            continue
        out += await _scheduled_in(ctx, s, lo, hi, cap)
    return out


async def _scheduled_in(ctx: Ctx, s: Series, lo: int, hi: int, cap: int) -> list[MeetingView]:
    """The first ``cap`` scheduled meetings of ``s`` that overlap [lo, hi), by their start.

    A moved one is found by its new times (asked for at once: they are stored rows), never at
    the start its rule gives it; the others come from the rule, in batches, until ``cap`` of
    them are neither moved nor cancelled (or the window is done).
    """
    found = list((await repo.moved_between(ctx.tx, s.id, lo, hi)).values())
    kept = 0
    after = lo - s.duration + 1
    while kept < cap:
        starts = occurrences.starts_between(s.recurrence, s.start_at, s.timezone, after, hi, cap)
        if not starts:
            break
        stored = await repo.occurrences_between(ctx.tx, s.id, starts[0], starts[-1] + 1)
        for start in starts:
            occ = stored.get(start) or Occurrence(s.id, start)
            if not (occ.cancelled or occ.moved):
                found.append(occ)
                kept += 1
        if len(starts) < cap:
            break
        after = starts[-1] + 1
    if not found:
        return []
    found.sort(key=lambda o: (o.times(s.duration)[0], o.start_at))
    insts = await repo.instances_of(ctx.tx, s.id)
    return [
        scheduled_view(
            ctx.now,
            parse_or_404(scheduled_meeting_id(s.id, occ.start_at)),
            s,
            occ,
            insts.get(occ.start_at),
        )
        for occ in found[:cap]
    ]


async def _list_instances(ctx: Ctx, lo: int, hi: int, series_id: str | None) -> list[MeetingView]:
    person = ctx.caller.person
    out: list[MeetingView] = []
    cache: dict[str, Series] = {}
    for inst in await repo.visible_instances(
        ctx.tx, ctx.caller.org.id, person.id, person.email.lower(), lo, hi, series_id
    ):
        s = cache.get(inst.series_id) or await repo.get_series(ctx.tx, inst.series_id)
        assert s is not None
        cache[s.id] = s
        out.append(await instance_view(ctx.tx, parse_or_404(inst.id), s, inst))
    return out
