"""Meeting operations, named after the upstream operations (createMeeting, listMeetings, …)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from datetime import timezone as dt_timezone
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from msgspec import UNSET

from breakouts.context import Ctx
from breakouts.db import Tx
from breakouts.errors import BadRequest, Conflict, NotFound
from breakouts.ids import (
    new_hex32,
    new_host_key,
    new_instance_scope,
    new_meeting_number,
    new_password,
    scheduled_meeting_id,
)
from breakouts.mail import outbox
from breakouts.meetings import occurrences
from breakouts.meetings import repository as repo
from breakouts.meetings.repository import Instance, InviteeRow, Series
from breakouts.meetings.schemas import OPTION_FIELDS, CreateMeetingObject, UpdateMeetingObject
from breakouts.meetings.view import (
    MEETING_NOT_FOUND,
    MeetingView,
    format_time,
    load_meeting,
    lock_for_write,
    mail_facts,
    parse_or_404,
    require_host,
    require_pre_meeting,
    view_of,
)
from breakouts.plans import repository as sessions_repo
from breakouts.plans.rules import build_plan
from breakouts.text import is_email

MIN_DURATION = 10 * 60
MAX_DURATION = 23 * 3600 + 59 * 60
_NEVER = 1 << 62  # later than any time


# RFC 3339 (section 5.6) and the ISO 8601 relaxations the document lists (DATE_TIME_TEXT): no
# seconds, no offset, an offset without colon or minutes, a space for `T`, a decimal comma.
_DATE_TIME = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt ]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:[.,][0-9]+)?)?"
    r"(?:(?P<utc>[Zz])|(?P<sign>[+-])(?P<off_h>[0-9]{2})(?::?(?P<off_m>[0-9]{2}))?)?"
)
_LATEST = 253402300799  # 9999-12-31T23:59:59Z


def parse_time(value: str, field: str, timezone: str) -> int:
    """A date-time as /openapi.json describes it, in epoch seconds truncated to the minute.

    Without an offset it is read in ``timezone``. A leap second (``:60``) falls in its minute.
    """
    m = _DATE_TIME.fullmatch(value)
    if m is None:
        raise BadRequest(f"'{field}' is not an RFC 3339 date-time: '{value}'.")
    num = {k: int(v) for k, v in m.groupdict().items() if v is not None and v.isdigit()}
    second, off_h, off_m = num.get("second", 0), num.get("off_h", 0), num.get("off_m", 0)
    if num["year"] == 0:
        raise BadRequest(f"'{field}' is out of range: '{value}'.")
    if second > 60 or off_h > 23 or off_m > 59:
        raise BadRequest(f"'{field}' is not an RFC 3339 date-time: '{value}'.")
    tz: tzinfo
    if m["sign"]:
        sign = -1 if m["sign"] == "-" else 1
        tz = dt_timezone(sign * timedelta(hours=off_h, minutes=off_m))
    elif m["utc"]:
        tz = UTC
    else:
        tz = _zone(timezone)
    try:
        y, mo, d, h, mi = (num[k] for k in ("year", "month", "day", "hour", "minute"))
        dt = datetime(y, mo, d, h, mi, min(second, 59), tzinfo=tz)
    except ValueError as exc:
        raise BadRequest(f"'{field}' is not an RFC 3339 date-time: '{value}'.") from exc
    try:
        epoch = int(dt.timestamp())
    except (OverflowError, OSError, ValueError) as exc:
        raise BadRequest(f"'{field}' is out of range: '{value}'.") from exc
    if not 0 < epoch < _LATEST:
        raise BadRequest(f"'{field}' is out of range: '{value}'.")
    return epoch - epoch % 60


def _zone(name: str) -> ZoneInfo:
    """The meeting's time zone; 400 naming the field when it is not an IANA zone name."""
    try:
        return occurrences.zone(name)
    except BadRequest:
        raise BadRequest(f"'timezone' is not an IANA time zone name: '{name}'.") from None


def _check_times(start: int, end: int, now: int) -> None:
    if start < now - now % 60:
        raise BadRequest("'start' cannot be in the past.")
    if end <= start:
        raise BadRequest("'end' must be after 'start'.")
    if not MIN_DURATION <= end - start <= MAX_DURATION:
        raise BadRequest("The meeting must last between 10 minutes and 23 hours 59 minutes.")


def _options(body: msgspec.Struct) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, json_name in OPTION_FIELDS:
        value = getattr(body, name)
        if value is not UNSET:
            out[json_name] = value
    return out


async def _mail_everyone(ctx: Ctx, view: MeetingView, event: str, extra: dict[str, Any]) -> None:
    invitees = [i.email for i in await repo.list_invitees(ctx.tx, view.series.id)]
    recipients = outbox.distinct_recipients([view.series.host_email, *invitees])
    await outbox.enqueue(
        ctx.tx,
        org_id=ctx.caller.org.id,
        event=event,
        meeting_id=view.ref.raw,
        recipients=[
            (r, {"role": "host" if r == view.series.host_email else "invitee"}) for r in recipients
        ],
        common={**mail_facts(view, ctx), **extra},
        domain=ctx.site.mail_domain,
        now=ctx.now,
    )


# --- createMeeting ---------------------------------------------------------------------------


async def create_meeting(ctx: Ctx, body: CreateMeetingObject) -> MeetingView:
    timezone = "UTC" if body.timezone is UNSET else body.timezone
    _zone(timezone)
    start = parse_time(body.start, "start", timezone)
    end = parse_time(body.end, "end", timezone)
    _check_times(start, end, ctx.now)
    recurrence = body.recurrence.strip() if body.recurrence else None
    last = occurrences.last_start(recurrence, start, timezone)
    plan = build_plan([(b.name, b.invitees) for b in body.breakout_sessions], "breakoutSessions")
    if body.enabled_breakout_sessions is False and plan:
        raise BadRequest("'breakoutSessions' requires 'enabledBreakoutSessions' to be true.")
    host = ctx.caller.person
    invitees = _invitees(body, host.email)
    series = Series(
        id=new_hex32(),
        host_id=host.id,
        host_email=host.email,
        host_name=host.display_name,
        title=body.title,
        agenda=None if body.agenda is UNSET else body.agenda,
        password=body.password or new_password(),
        meeting_number=new_meeting_number(),
        host_key=new_host_key(),
        timezone=timezone,
        start_at=start,
        end_at=end,
        recurrence=recurrence,
        last_end_at=None if last is None else last + (end - start),
        breakouts_enabled=bool(body.enabled_breakout_sessions or plan),
        options=_options(body),
        org_id=ctx.caller.org.id,
    )
    await repo.insert_series(ctx.tx, series, ctx.now)
    await repo.insert_invitees(ctx.tx, series.id, invitees)
    await sessions_repo.insert_sessions(ctx.tx, series.id, "", None, plan)
    view = await view_of(ctx.tx, ctx.now, parse_or_404(series.id), series)
    if body.send_email:
        await _mail_everyone(ctx, view, "meeting.created", {})
    return view


def _invitees(body: CreateMeetingObject, host_email: str) -> list[InviteeRow]:
    out: dict[str, InviteeRow] = {}
    for n, i in enumerate(body.invitees):
        if not is_email(i.email):
            raise BadRequest(f"'invitees[{n}].email' is not a valid email: '{i.email}'.")
        key = i.email.lower()
        if key != host_email.lower() and key not in out:
            name = None if i.display_name is UNSET else i.display_name
            out[key] = InviteeRow(i.email, name, i.co_host)
    return list(out.values())


# --- getMeeting ------------------------------------------------------------------------------


async def get_meeting(ctx: Ctx, meeting_id: str, current: bool = False) -> MeetingView:
    """A meeting; with ``current``, a series answers its current scheduled meeting instead.

    That is the one whose instance is on (``ready``), else the next one not cancelled, not
    started and not over (by its start, moved or not). None left: 404 (upstream has nothing to
    answer). ``current`` applies to a series only, as upstream: other ids answer themselves.
    """
    view = await load_meeting(ctx, meeting_id)
    if not current or view.ref.kind != "series":
        return view
    s = view.series
    start = view.live.occurrence_start if view.live is not None else None
    if start is None:
        start = await _next_open(ctx.tx, s, ctx.now)
    if start is None:
        raise NotFound(
            f"Meeting series '{meeting_id}' has no current or upcoming scheduled meeting."
        )
    return await view_of(ctx.tx, ctx.now, parse_or_404(scheduled_meeting_id(s.id, start)), s)


# --- updateMeeting / patchMeeting ------------------------------------------------------------


def _require_pre_meeting(view: MeetingView) -> None:
    if view.ref.kind == "instance":
        raise BadRequest(f"Meeting ID '{view.ref.raw}' is not allowed for this API.")
    require_pre_meeting(view)


async def update_meeting(ctx: Ctx, meeting_id: str, body: UpdateMeetingObject) -> MeetingView:
    await lock_for_write(ctx.tx, meeting_id)
    view = await load_meeting(ctx, meeting_id)
    require_host(view, ctx.caller)
    _require_pre_meeting(view)
    s = view.series
    if view.ref.kind == "scheduled":
        await _update_occurrence(ctx, view, body)
    else:
        pattern = (s.timezone, s.start_at, s.end_at, s.recurrence)
        timezone = s.timezone if body.timezone is UNSET else body.timezone
        _zone(timezone)
        start = s.start_at if body.start is UNSET else parse_time(body.start, "start", timezone)
        end = start + s.duration if body.end is UNSET else parse_time(body.end, "end", timezone)
        if body.start is not UNSET or body.end is not UNSET:
            _check_times(start, end, ctx.now)
        elif end <= start:
            raise BadRequest("'end' must be after 'start'.")
        recurrence = s.recurrence
        if body.recurrence is not UNSET:
            recurrence = body.recurrence.strip() or None
        last = occurrences.last_start(recurrence, start, timezone)
        s.title = s.title if body.title is UNSET else body.title
        s.agenda = s.agenda if body.agenda is UNSET else body.agenda
        s.password = body.password or s.password
        s.timezone, s.start_at, s.end_at, s.recurrence = timezone, start, end, recurrence
        s.last_end_at = None if last is None else last + (end - start)
        if body.enabled_breakout_sessions is not UNSET:
            s.breakouts_enabled = body.enabled_breakout_sessions
        s.options.update(_options(body))
        if (s.timezone, s.start_at, s.end_at, s.recurrence) != pattern:
            # Upstream: "any exceptional scheduled meeting in this series is cancelled". Here a
            # moved occurrence goes back where the new rule puts it (its other changes stay).
            await repo.undo_moves(ctx.tx, s.id)
        await repo.update_series(ctx.tx, s, ctx.now)
    view = await view_of(ctx.tx, ctx.now, view.ref, s)
    if body.send_email:
        await _mail_everyone(ctx, view, "meeting.updated", {})
    return view


async def _update_occurrence(ctx: Ctx, view: MeetingView, body: UpdateMeetingObject) -> None:
    s = view.series
    timezone_changed = body.timezone is not UNSET and body.timezone != s.timezone
    recurrence_changed = body.recurrence is not UNSET and body.recurrence.strip() != (
        s.recurrence or ""
    )
    if timezone_changed or recurrence_changed:
        raise BadRequest(
            "Changing 'timezone' or 'recurrence' of a single scheduled meeting is not "
            "supported; change the meeting series."
        )
    occ = view.occurrence
    assert occ is not None
    if body.start is not UNSET or body.end is not UNSET:
        await _move(ctx, s, occ, body)
    for name in ("title", "agenda", "password"):
        value = getattr(body, name)
        if value is not UNSET:
            occ.overrides[name] = value
    if body.enabled_breakout_sessions is not UNSET:
        if not occ.has_plan:
            occ.has_plan = True
            plan = await sessions_repo.list_sessions(ctx.tx, view.series.id, "")
            await _copy_plan(ctx.tx, view.series.id, view.ref.scope, occ.start_at, plan)
        occ.breakouts_enabled = body.enabled_breakout_sessions
    await repo.save_occurrence(ctx.tx, occ)


async def _move(ctx: Ctx, s: Series, occ: repo.Occurrence, body: UpdateMeetingObject) -> None:
    """Move one scheduled meeting (``start``, ``end``; either alone keeps its length).

    Its id stays (the start its rule gives it), and so does everything keyed by it (its
    breakout plan). The rules of a meeting's times apply (not in the past, 10 minutes to
    23 h 59 min), and it keeps its place in the series: it may not overlap or pass another
    scheduled meeting of the series (cancelled ones aside). Times it already has are no change
    (a PUT sends them back); moved back to where its rule puts it, it is no longer moved.
    """
    was_start, was_end = occ.times(s.duration)
    start = was_start if body.start is UNSET else parse_time(body.start, "start", s.timezone)
    end = start + was_end - was_start
    if body.end is not UNSET:
        end = parse_time(body.end, "end", s.timezone)
    if (start, end) == (was_start, was_end):
        return
    _check_times(start, end, ctx.now)
    await _check_place(ctx.tx, s, occ.start_at, start, end)
    if (start, end) == (occ.start_at, occ.start_at + s.duration):
        occ.overrides.pop("start", None)
        occ.overrides.pop("end", None)
    else:
        occ.overrides["start"], occ.overrides["end"] = start, end
    if occurrences.last_start(s.recurrence, s.start_at, s.timezone) == occ.start_at:
        s.last_end_at = end  # the last meeting of the series: the series ends with it
        await repo.update_series(ctx.tx, s, ctx.now)


async def _check_place(tx: Tx, s: Series, occ_id: int, start: int, end: int) -> None:
    """400 when [start, end) would overlap or pass another scheduled meeting of the series.

    The others keep their order (the rule's), so only the nearest on each side that is in the
    way matters: the latest before it that ends after ``start``, the first after it that starts
    before ``end``; each is looked for among the rule's starts and among the moved ones.
    """
    earlier = await _in_place(tx, s, start - s.duration + 1, occ_id, last=True)
    later = await _in_place(tx, s, occ_id + 1, end, last=False)
    for moved in await repo.moved_around(tx, s.id, occ_id, start, end):
        if moved.start_at < occ_id and (earlier is None or moved.start_at > earlier):
            earlier = moved.start_at
        if moved.start_at > occ_id and (later is None or moved.start_at < later):
            later = moved.start_at
    if earlier is not None:
        other = await _occurrence(tx, s, earlier)
        raise BadRequest(
            f"'start' must be at or after {format_time(other.times(s.duration)[1], s.timezone)},"
            f" when scheduled meeting '{scheduled_meeting_id(s.id, earlier)}' ends: a scheduled"
            " meeting may not overlap or pass another of its series."
        )
    if later is not None:
        other = await _occurrence(tx, s, later)
        raise BadRequest(
            f"'end' must be at or before {format_time(other.times(s.duration)[0], s.timezone)},"
            f" when scheduled meeting '{scheduled_meeting_id(s.id, later)}' starts: a scheduled"
            " meeting may not overlap or pass another of its series."
        )


async def _in_place(tx: Tx, s: Series, lo: int, hi: int, *, last: bool) -> int | None:
    """The first (``last``: the last) occurrence starting in [lo, hi) where its rule puts it:
    neither moved nor cancelled. Bounded: the rule's starts come a thousand at a time, with one
    query for the stored rows among them."""
    found = None
    while lo < hi:
        starts = occurrences.starts_between(s.recurrence, s.start_at, s.timezone, lo, hi, 1000)
        if not starts:
            break
        stored = await repo.occurrences_between(tx, s.id, starts[0], starts[-1] + 1)
        for start in reversed(starts) if last else starts:
            o = stored.get(start)
            if o is None or not (o.cancelled or o.moved):
                found = start
                break
        if found is not None and not last:
            return found
        lo = starts[-1] + 1
    return found


async def _occurrence(tx: Tx, s: Series, occ_id: int) -> repo.Occurrence:
    return await repo.get_occurrence(tx, s.id, occ_id) or repo.Occurrence(s.id, occ_id)


async def _copy_plan(
    tx: Tx,
    series_id: str,
    scope: str,
    occurrence_start: int | None,
    plan: list[sessions_repo.Session],
) -> None:
    copies = [sessions_repo.Session(new_hex32(), p.name, p.invitees) for p in plan]
    await sessions_repo.insert_sessions(tx, series_id, scope, occurrence_start, copies)


# --- deleteMeeting ---------------------------------------------------------------------------


async def delete_meeting(ctx: Ctx, meeting_id: str, send_email: bool) -> None:
    await lock_for_write(ctx.tx, meeting_id)
    view = await load_meeting(ctx, meeting_id)
    require_host(view, ctx.caller)
    _require_pre_meeting(view)
    if send_email:
        await _mail_everyone(ctx, view, "meeting.cancelled", {})
    if view.ref.kind == "series":
        await repo.delete_series(ctx.tx, view.series.id)
        return
    occ = view.occurrence
    assert occ is not None
    occ.cancelled = True
    await sessions_repo.delete_scope(ctx.tx, view.series.id, view.ref.scope)
    await repo.save_occurrence(ctx.tx, occ)


# --- endMeeting and starting (the control plane's "start") ------------------------------------


async def end_meeting(ctx: Ctx, meeting_id: str) -> MeetingView:
    await lock_for_write(ctx.tx, meeting_id)
    view = await load_meeting(ctx, meeting_id)
    require_host(view, ctx.caller)
    inst = view.live if view.ref.kind == "series" else view.instance
    if inst is None or inst.ended_at is not None:
        raise Conflict("Meeting is not in progress.")
    await end_instance(ctx.tx, inst, ctx.now)
    return view


async def end_instance(tx: Tx, inst: Instance, now: int) -> None:
    await repo.end_instance(tx, inst.id, now)
    scope = inst.id.split("_", 1)[1]
    await sessions_repo.end_sessions(tx, inst.series_id, scope, inst.started_at, now)


async def start_meeting(tx: Tx, now: int, meeting_id: str) -> Instance:
    """Start a scheduled meeting (a series: its next occurrence); returns the new instance.

    The instance copies the breakout sessions planned for that occurrence.
    """
    await lock_for_write(tx, meeting_id)
    ref = parse_or_404(meeting_id)
    series = await repo.get_series(tx, ref.series_id)
    if series is None:
        raise NotFound(MEETING_NOT_FOUND)
    if await repo.live_instance(tx, series.id) is not None:
        raise Conflict("Meeting is in progress.")
    if ref.kind == "instance":
        raise BadRequest(f"Meeting ID '{meeting_id}' is an instance; start a scheduled meeting.")
    if ref.kind == "series":
        start = await _next_open(tx, series, now)
        if start is None:
            raise Conflict("The meeting series has no occurrence left to start.")
        ref = parse_or_404(scheduled_meeting_id(series.id, start))
    view = await view_of(tx, now, ref, series)
    if view.state != "scheduled":
        raise Conflict(f"Meeting is {view.state} and cannot be started.")
    assert ref.occurrence_start is not None
    occ = view.occurrence
    scope = ref.scope if occ is not None and occ.has_plan else ""
    plan = await sessions_repo.list_sessions(tx, series.id, scope)
    inst = Instance(
        f"{series.id}_{new_instance_scope()}", series.id, ref.occurrence_start, now, None
    )
    await repo.insert_instance(tx, inst)
    await _copy_plan(tx, series.id, inst.id.split("_", 1)[1], None, plan)
    return inst


async def _next_open(tx: Tx, series: Series, now: int) -> int | None:
    """The id of the first scheduled meeting, by its start (moved or not), that is neither
    cancelled nor started and not over yet (it ends after ``now``); None if none is left.

    Moved ones are stored rows, asked for at once; the others come from the rule, in order,
    from the first that may not be over (at most 1000 cancelled or started ones are skipped).
    """
    best: tuple[int, int] | None = None  # (start, id)
    for moved in (await repo.moved_between(tx, series.id, now, _NEVER)).values():
        if await repo.instance_for_occurrence(tx, series.id, moved.start_at) is None:
            best = min(best or (_NEVER, 0), (moved.times(series.duration)[0], moved.start_at))
    after = now - series.duration + 1
    for _ in range(1000):
        start = occurrences.first_start_after(
            series.recurrence, series.start_at, series.timezone, after
        )
        if start is None or (best is not None and start >= best[0]):
            break
        after = start + 1
        stored = await repo.get_occurrence(tx, series.id, start)
        if stored is not None and (stored.cancelled or stored.moved):
            continue  # a moved one was asked for above
        if await repo.instance_for_occurrence(tx, series.id, start) is None:
            return start
    return None if best is None else best[1]
