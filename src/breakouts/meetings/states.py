"""Meeting states (upstream names), derived from the clock and from start/end events."""

from __future__ import annotations

from typing import Literal

SeriesState = Literal["active", "inProgress", "expired"]
ScheduledState = Literal["scheduled", "ready", "ended", "missed"]
InstanceState = Literal["inProgress", "ended"]
MeetingState = SeriesState | ScheduledState | InstanceState


def series_state(now: int, last_end_at: int | None, live_instance: bool) -> SeriesState:
    if live_instance:
        return "inProgress"
    if last_end_at is not None and last_end_at <= now:
        return "expired"
    return "active"


def scheduled_state(
    now: int, end_at: int, instance_started: bool, instance_ended: bool
) -> ScheduledState:
    if instance_started and not instance_ended:
        return "ready"
    if instance_ended:
        return "ended"
    if end_at <= now:
        return "missed"
    return "scheduled"


def instance_state(ended_at: int | None) -> InstanceState:
    return "inProgress" if ended_at is None else "ended"
