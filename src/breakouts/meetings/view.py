"""Finding a meeting by id as the caller may see it, and rendering it in the upstream shape."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from breakouts.auth import Caller
from breakouts.context import Ctx, Site
from breakouts.db import Tx
from breakouts.errors import Conflict, Forbidden, NotFound
from breakouts.ids import MeetingRef, parse_meeting_id, person_api_id, scheduled_meeting_id
from breakouts.meetings import occurrences, states
from breakouts.meetings import repository as repo
from breakouts.meetings.repository import Instance, Occurrence, Series
from breakouts.meetings.states import MeetingState

MEETING_NOT_FOUND = "Meeting not found."


@dataclass(slots=True)
class MeetingView:
    """A meeting of any kind with everything its state depends on."""

    ref: MeetingRef
    series: Series
    state: MeetingState
    occurrence: Occurrence | None = None  # scheduled meetings
    instance: Instance | None = None  # instances; for a scheduled meeting, its latest instance
    live: Instance | None = None  # series: the instance in progress, if any
    # An instance in progress: the scheduled length of its occurrence (moved: its new length).
    length: int | None = None

    @property
    def start(self) -> int:
        if self.ref.kind == "scheduled":
            return self._scheduled_times()[0]
        if self.ref.kind == "instance" and self.instance is not None:
            return self.instance.started_at
        return self.series.start_at

    @property
    def end(self) -> int:
        """A scheduled meeting's (moved) end; an instance's end, or, while it is on, when it ends
        if it keeps its scheduled length (started a day early, it does not last a day more)."""
        if self.ref.kind == "instance" and self.instance is not None:
            if self.instance.ended_at is not None:
                return self.instance.ended_at
            length = self.series.duration if self.length is None else self.length
            return self.instance.started_at + length
        if self.ref.kind == "scheduled":
            return self._scheduled_times()[1]
        return self.start + self.series.duration

    def _scheduled_times(self) -> tuple[int, int]:
        if self.occurrence is not None:
            return self.occurrence.times(self.series.duration)
        assert self.ref.occurrence_start is not None
        return self.ref.occurrence_start, self.ref.occurrence_start + self.series.duration


def parse_or_404(meeting_id: str) -> MeetingRef:
    ref = parse_meeting_id(meeting_id)
    if ref is None:
        raise NotFound(MEETING_NOT_FOUND)
    return ref


async def can_see(tx: Tx, series: Series, caller: Caller) -> bool:
    """Host or invitee, of the same org: another org's meeting is a 404 whoever is invited."""
    if series.org_id != caller.org.id:
        return False
    return series.host_id == caller.person.id or await repo.is_invitee(
        tx, series.id, caller.person.email.lower()
    )


def require_host(view: MeetingView, caller: Caller) -> None:
    """Only the host (or an admin acting as the host) may change a meeting."""
    if view.series.host_id != caller.person.id:
        raise Forbidden("Only the meeting host can change this meeting.")


async def load_meeting(
    ctx: Ctx, meeting_id: str, found: repo.SeriesLookup | None = None
) -> MeetingView:
    """The meeting the caller may see, or 404 (unknown, malformed, deleted and invisible alike).

    ``found``: what the request's token lookup already brought (no statement asks again).
    """
    ref = parse_or_404(meeting_id)
    series = await find_series(ctx.tx, ref, found)
    if series is None or not await can_see(ctx.tx, series, ctx.caller):
        raise NotFound(MEETING_NOT_FOUND)
    return await view_of(ctx.tx, ctx.now, ref, series, found)


async def lock_for_write(tx: Tx, meeting_id: str, found: repo.SeriesLookup | None = None) -> None:
    """The first step of every write to a meeting: its series locked (``repo.lock_series``).

    Before anything about the meeting is read, so what the write decides on cannot change
    under it. An id that names no series locks nothing (the read that follows answers 404).
    """
    ref = parse_meeting_id(meeting_id)
    if ref is not None:
        await repo.lock_series(tx, ref.series_id, found)


async def find_series(tx: Tx, ref: MeetingRef, found: repo.SeriesLookup | None) -> Series | None:
    """The series of ``ref``, from the token lookup when it brought it, else from the database."""
    if found is not None and found.done and found.series_id == ref.series_id:
        return found.series
    return await repo.get_series(tx, ref.series_id)


async def view_of(
    tx: Tx, now: int, ref: MeetingRef, series: Series, found: repo.SeriesLookup | None = None
) -> MeetingView:
    if ref.kind == "series":
        if found is not None and found.done and found.live_known and found.series_id == series.id:
            live = found.live
        else:
            live = await repo.live_instance(tx, series.id)
        series_state = states.series_state(now, series.last_end_at, live is not None)
        return MeetingView(ref, series, series_state, live=live)
    if ref.kind == "scheduled":
        start = ref.occurrence_start
        assert start is not None
        if not occurrences.is_occurrence(
            series.recurrence, series.start_at, series.timezone, start
        ):
            raise NotFound(MEETING_NOT_FOUND)
        occ = await repo.get_occurrence(tx, series.id, start) or Occurrence(series.id, start)
        if occ.cancelled:
            raise NotFound(MEETING_NOT_FOUND)
        inst = await repo.instance_for_occurrence(tx, series.id, start)
        return scheduled_view(now, ref, series, occ, inst)
    inst = await repo.get_instance(tx, ref.raw)
    if inst is None or inst.series_id != series.id:
        raise NotFound(MEETING_NOT_FOUND)
    return await instance_view(tx, ref, series, inst)


def scheduled_view(
    now: int, ref: MeetingRef, series: Series, occ: Occurrence, inst: Instance | None
) -> MeetingView:
    """A scheduled meeting, its state from its (moved) end and its latest instance."""
    state = states.scheduled_state(
        now,
        occ.times(series.duration)[1],
        inst is not None,
        inst is not None and inst.ended_at is not None,
    )
    return MeetingView(ref, series, state, occurrence=occ, instance=inst)


async def instance_view(tx: Tx, ref: MeetingRef, series: Series, inst: Instance) -> MeetingView:
    """An instance; one in progress learns the scheduled length of its occurrence."""
    length = None
    if inst.ended_at is None:
        occ = await repo.get_occurrence(tx, series.id, inst.occurrence_start)
        start, end = (occ or Occurrence(series.id, 0)).times(series.duration)
        length = end - start
    state = states.instance_state(inst.ended_at)
    return MeetingView(ref, series, state, instance=inst, length=length)


def require_pre_meeting(view: MeetingView) -> None:
    """Changes are for before the meeting: 409 while it runs and once it is over."""
    if view.state in ("inProgress", "ready"):
        raise Conflict("Meeting is in progress.")
    if view.state in ("ended", "missed", "expired"):
        raise Conflict(f"Meeting is {view.state} and can no longer be changed.")


def breakouts_enabled(view: MeetingView) -> bool:
    occ = view.occurrence
    if occ is not None and occ.has_plan:
        return occ.breakouts_enabled
    return view.series.breakouts_enabled


def format_time(epoch: int, timezone: str) -> str:
    """ISO 8601 in the meeting's timezone; ``Z`` for UTC, as upstream."""
    if timezone == "UTC":
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return datetime.fromtimestamp(epoch, occurrences.zone(timezone)).isoformat()


def render(view: MeetingView, site: Site, api_base: str) -> dict[str, Any]:
    """The upstream meeting object (every field the official schema marks required).

    Every link is absolute (``api_base``) and answers: ``telephony.links`` is left out, since
    its upstream target (``globalCallinNumbers``) has no operation in the public specification.
    """
    s = view.series
    tz = s.timezone
    overrides = view.occurrence.overrides if view.occurrence is not None else {}
    mid = view.ref.raw
    meeting_type = {"series": "meetingSeries", "scheduled": "scheduledMeeting"}.get(
        view.ref.kind, "meeting"
    )
    out: dict[str, Any] = {
        "id": mid,
        "meetingNumber": s.meeting_number,
        "title": overrides.get("title", s.title),
        "password": overrides.get("password", s.password),
        "phoneAndVideoSystemPassword": _numeric_password(s.password),
        "meetingType": meeting_type,
        "state": view.state,
        "timezone": tz,
        "start": format_time(view.start, tz),
        "end": format_time(view.end, tz),
        "hostUserId": person_api_id(s.host_id),
        "hostDisplayName": s.host_name,
        "hostEmail": s.host_email,
        "hostKey": s.host_key,
        "siteUrl": site.site_url,
        "webLink": f"{site.web_base}/{site.site_url.split('.')[0]}/j.php?MTID=m{s.id}",
        "sipAddress": f"{s.meeting_number}@{site.site_url}",
        "telephony": {
            "accessCode": s.meeting_number,
            "callInNumbers": [
                {
                    "label": "Call-in toll-free number (US/Canada)",
                    "callInNumber": "+1-800-555-0100",
                    "tollType": "tollFree",
                },
                {
                    "label": "Call-in toll number (US/Canada)",
                    "callInNumber": "+1-408-555-0100",
                    "tollType": "toll",
                },
            ],
        },
        "enabledBreakoutSessions": breakouts_enabled(view),
        "links": [
            {
                "rel": "breakoutSessions",
                "href": f"{api_base}/meetings/{mid}/breakoutSessions",
                "method": "GET",
            }
        ],
    }
    agenda = overrides.get("agenda", s.agenda)
    if agenda is not None:
        out["agenda"] = agenda
    out.update(s.options)
    if view.ref.kind == "series":
        if s.recurrence:
            out["recurrence"] = s.recurrence
    else:
        out["meetingSeriesId"] = s.id
    if view.ref.kind == "scheduled":
        out["isModified"] = bool(overrides)
    if view.ref.kind == "instance" and view.instance is not None:
        out["scheduledMeetingId"] = scheduled_meeting_id(s.id, view.instance.occurrence_start)
    return out


def _numeric_password(password: str) -> str:
    digits = "".join(str(ord(c) % 10) for c in password)
    return (digits * 2)[:8]


def mail_facts(view: MeetingView, ctx: Ctx) -> dict[str, Any]:
    """What every email about this meeting says (its event's common part): title, time, who acted.

    Here, beside the view, so that every domain that mails about a meeting builds the same facts
    and hands them to the mail package (``mail.outbox.enqueue``).
    """
    s = view.series
    title = s.title
    if view.occurrence is not None:
        title = view.occurrence.overrides.get("title", title)
    return {
        "meetingId": view.ref.raw,
        "title": title,
        "start": view.start,
        "end": view.end,
        "timezone": s.timezone,
        "recurrence": s.recurrence if view.ref.kind == "series" else None,
        "hostEmail": s.host_email,
        "hostName": s.host_name,
        "actorEmail": ctx.caller.actor.email,
        "actorName": ctx.caller.actor.display_name,
        "onBehalf": ctx.caller.on_behalf,
        "siteUrl": ctx.site.site_url,
    }
