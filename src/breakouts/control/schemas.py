"""Request bodies of the control plane (SPEC §10): JSON in, validated by msgspec like the API's."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from breakouts.meetings.schemas import CreateMeetingObject
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
    count: Annotated[int, Meta(ge=1)] | None = None
    latency_ms: Annotated[int, Meta(ge=0, le=60000)] | None = None
