"""Request bodies of the control plane (SPEC §10): JSON in, validated by msgspec like the API's."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from breakouts.meetings.schemas import CreateMeetingObject, MeetingObject
from breakouts.text import LINE_PATTERN

Name = Annotated[str, Meta(min_length=1, max_length=128, pattern=LINE_PATTERN)]
FixedToken = Annotated[str, Meta(min_length=32, max_length=256, pattern="^[A-Za-z0-9._~+/=-]+$")]


class PersonSpec(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    email: Annotated[str, Meta(max_length=320)]
    display_name: Name | None = None
    admin: bool = False
    token: FixedToken | None = None


class OrgSpec(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    name: Name | None = None
    journal: bool = False
    people: Annotated[list[PersonSpec], Meta(max_length=1000)] | None = None
    meetings: Annotated[list[CreateMeetingObject], Meta(max_length=1000)] = []


class ClockMove(msgspec.Struct, forbid_unknown_fields=True):
    advance: float | str | None = None  # seconds, or an ISO 8601 duration such as PT2H
    to: str | None = None  # an instant (RFC 3339)


class FaultSpec(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    operation: Annotated[str, Meta(min_length=1, max_length=64)]
    status: Annotated[int, Meta(ge=400, le=599)] | None = None
    retry_after: Annotated[int, Meta(ge=0, le=86400)] | None = None
    message: Annotated[str, Meta(min_length=1, max_length=1000, pattern=LINE_PATTERN)] | None = None
    probability: Annotated[float, Meta(gt=0, le=1)] = 1.0
    count: Annotated[int, Meta(ge=1, le=1_000_000_000)] | None = None
    latency_ms: Annotated[int, Meta(ge=0, le=60000)] | None = None


# --- answers (documentation: /openapi.json under the control plane's tag) ------------------------


class PersonCreated(msgspec.Struct, rename="camel"):
    id: str
    email: str
    display_name: str
    admin: bool
    token: str


class OrgCreated(msgspec.Struct):
    id: str
    name: str
    journal: bool
    people: list[PersonCreated]
    meetings: list[MeetingObject]


class OrgObject(msgspec.Struct, rename="camel"):
    id: str
    name: str
    journal: bool
    now: str
    offset_seconds: int
    created: str


class OrgsList(msgspec.Struct):
    items: list[OrgObject]


class ClockObject(msgspec.Struct, rename="camel"):
    now: str
    offset_seconds: int


class FaultObject(msgspec.Struct, rename="camel", omit_defaults=True):
    id: str
    operation: str
    probability: float
    remaining: int | None
    status: int | None = None
    retry_after: int | None = None
    message: str | None = None
    latency_ms: int | None = None


class FaultsList(msgspec.Struct):
    items: list[FaultObject]


class MailObject(msgspec.Struct, rename="camel"):
    id: str
    message_id: str
    to: str
    subject: str
    text: str
    html: str
    event: str
    meeting_id: str
    status: str
    attempts: int
    created: str


class MailList(msgspec.Struct):
    items: list[MailObject]


class JournalEntry(msgspec.Struct, rename="camel", omit_defaults=True):
    time: str
    method: str
    path: str
    query: str
    operation_id: str
    status: int
    tracking_id: str
    caller: str
    host_email: str | None
    duration_ms: float
    fault: str | None = None


class JournalList(msgspec.Struct):
    items: list[JournalEntry]
