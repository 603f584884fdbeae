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
    load_meeting,
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


async def get_meeting(ctx: Ctx, meeting_id: str) -> MeetingView:
    return await load_meeting(ctx, meeting_id)


# --- updateMeeting / patchMeeting ------------------------------------------------------------


def _require_pre_meeting(view: MeetingView) -> None:
    if view.ref.kind == "instance":
        raise BadRequest(f"Meeting ID '{view.ref.raw}' is not allowed for this API.")
    require_pre_meeting(view)


async def update_meeting(ctx: Ctx, meeting_id: str, body: UpdateMeetingObject) -> MeetingView:
    view = await load_meeting(ctx, meeting_id)
    require_host(view, ctx.caller)
    _require_pre_meeting(view)
    s = view.series
    if view.ref.kind == "scheduled":
        await _update_occurrence(ctx, view, body)
    else:
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
        await repo.update_series(ctx.tx, s, ctx.now)
    view = await view_of(ctx.tx, ctx.now, view.ref, s)
    if body.send_email:
        await _mail_everyone(ctx, view, "meeting.updated", {})
    return view


async def _update_occurrence(ctx: Ctx, view: MeetingView, body: UpdateMeetingObject) -> None:
    changed = (body.start, body.end, body.timezone, body.recurrence)
    if any(value is not UNSET for value in changed):
        raise BadRequest(
            "Changing 'start', 'end', 'timezone' or 'recurrence' of a single scheduled meeting "
            "is not supported; change the meeting series."
        )
    occ = view.occurrence
    assert occ is not None
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
    ref = parse_or_404(meeting_id)
    series = await repo.get_series(tx, ref.series_id)
    if series is None:
        raise NotFound(MEETING_NOT_FOUND)
    if await repo.live_instance(tx, series.id) is not None:
        raise Conflict("Meeting is in progress.")
    if ref.kind == "instance":
        raise BadRequest(f"Meeting ID '{meeting_id}' is an instance; start a scheduled meeting.")
    if ref.kind == "series":
        start = await _next_startable(tx, series, now)
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


async def _next_startable(tx: Tx, series: Series, now: int) -> int:
    after = now - series.duration + 1
    for _ in range(1000):
        start = occurrences.first_start_after(
            series.recurrence, series.start_at, series.timezone, after
        )
        if start is None:
            break
        occ = await repo.get_occurrence(tx, series.id, start)
        inst = await repo.instance_for_occurrence(tx, series.id, start)
        if (occ is None or not occ.cancelled) and inst is None:
            return start
        after = start + 1
    raise Conflict("The meeting series has no occurrence left to start.")
