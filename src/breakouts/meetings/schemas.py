"""Request and response shapes (field names as upstream), validated by msgspec.

Response structs document ``/openapi.json``; the service renders plain dicts with the same
fields, and the schemathesis test checks every response against these schemas.

Request fields upstream does not mark nullable default to ``UNSET``: a ``null`` is refused (400)
as the document says, instead of being read as "absent". What the decoder cannot check (a
date-time's grammar, a time zone's existence) the service checks, and the field's description
in the document says what is accepted.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from breakouts.fields import HOST_EMAIL_FIELD, Email, HostEmail
from breakouts.meetings.options import OPTION_FIELDS as OPTION_FIELDS
from breakouts.meetings.options import MeetingOptions
from breakouts.meetings.upstream import IgnoredCreateFields, IgnoredUpdateFields
from breakouts.plans.schemas import BreakoutSessionInput
from breakouts.text import LINE_PATTERN

Title = Annotated[str, Meta(min_length=1, max_length=128, pattern=LINE_PATTERN)]
Agenda = Annotated[str, Meta(max_length=1300)]

DATE_TIME_TEXT = (
    "An RFC 3339 date-time, e.g. `2020-05-15T20:30:00-08:00`. Upstream takes any ISO 8601 "
    "date-time, so these are accepted too: no seconds (`2020-05-15T20:30-08:00`), no offset "
    "(`2020-05-15T20:30:00`, read in {local}), an offset without colon or minutes (`-0800`, "
    "`-08`), a space for `T`, a decimal comma. Other ISO 8601 forms (a date alone, week or "
    "ordinal dates, the basic format `20200515T203000Z`) and surrounding spaces are refused "
    "(400), as are times before 1970 or after 9999. Seconds and fractions are dropped: times "
    "count to the minute."
)
MEETING_TIME_TEXT = DATE_TIME_TEXT.format(local="`timezone`")
DateTime = Annotated[
    str,
    Meta(
        extra_json_schema={"format": "date-time"},
        description=MEETING_TIME_TEXT,
        examples=["2020-05-15T20:30:00-08:00"],
    ),
]
TimeZone = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        description="An IANA time zone name (tz database), e.g. `America/New_York`, "
        "`Europe/Paris` or `UTC`; anything else is 400. When creating, `UTC` if absent. Times "
        "without an offset are read in it, and the meeting's times are shown in it.",
        examples=["America/New_York"],
    ),
]
Password = Annotated[str, Meta(min_length=1, max_length=64)]
Recurrence = Annotated[
    str,
    Meta(
        max_length=1024,
        description="An RFC 5545 RRULE (`FREQ=DAILY`, `WEEKLY`, `MONTHLY` or `YEARLY`), e.g. "
        "`FREQ=WEEKLY;BYDAY=MO;COUNT=10`. On update, an empty string makes the series "
        "a single meeting.",
        examples=["FREQ=DAILY;INTERVAL=1;COUNT=20"],
    ),
]


class Invitee(msgspec.Struct, rename="camel", omit_defaults=True):
    email: Email
    display_name: Annotated[str, Meta(max_length=128, pattern=LINE_PATTERN)] | UnsetType = UNSET
    co_host: bool = False
    panelist: bool = False


class CreateMeetingObject(IgnoredCreateFields, HostEmail, kw_only=True):
    """createMeeting's body: every upstream field is type-checked; some are then ignored."""

    title: Title
    start: DateTime
    end: DateTime
    agenda: Agenda | UnsetType = UNSET
    password: Password | UnsetType = UNSET
    timezone: TimeZone | UnsetType = UNSET
    recurrence: Recurrence | UnsetType = UNSET
    invitees: Annotated[list[Invitee], Meta(max_length=1000)] = msgspec.field(default_factory=list)
    enabled_breakout_sessions: bool | UnsetType = UNSET
    breakout_sessions: list[BreakoutSessionInput] = msgspec.field(default_factory=list)
    send_email: bool = True
    host_email_value: Email | UnsetType = msgspec.field(default=UNSET, name=HOST_EMAIL_FIELD)
    site_url: str | UnsetType = UNSET


class UpdateMeetingObject(IgnoredUpdateFields, HostEmail, kw_only=True):
    """updateMeeting's and patchMeeting's body: every upstream field is type-checked."""

    title: Title | UnsetType = UNSET
    start: DateTime | UnsetType = UNSET
    end: DateTime | UnsetType = UNSET
    agenda: Agenda | UnsetType = UNSET
    password: Password | UnsetType = UNSET
    timezone: TimeZone | UnsetType = UNSET
    recurrence: Recurrence | UnsetType = UNSET
    enabled_breakout_sessions: bool | UnsetType = UNSET
    send_email: bool = True
    host_email_value: Email | UnsetType = msgspec.field(default=UNSET, name=HOST_EMAIL_FIELD)


class EndMeetingRequestObject(msgspec.Struct, rename="camel"):
    reason: str | UnsetType = UNSET


# --- responses (documentation and schema checks) --------------------------------------------


class Link(msgspec.Struct):
    rel: str
    href: str
    method: str


class CallInNumber(msgspec.Struct, rename="camel"):
    label: str
    call_in_number: str
    toll_type: Literal["toll", "tollFree"]


class Telephony(msgspec.Struct, rename="camel"):
    """Upstream's ``links`` (to ``globalCallinNumbers``, not a public operation) is left out."""

    access_code: str
    call_in_numbers: list[CallInNumber]


class MeetingObject(MeetingOptions, kw_only=True):
    id: str
    meeting_number: str
    title: str
    password: str
    meeting_type: Literal["meetingSeries", "scheduledMeeting", "meeting"]
    state: Literal[
        "active", "inProgress", "expired", "scheduled", "ready", "ended", "missed", "lobby"
    ]
    timezone: str
    start: str
    end: str
    host_user_id: str
    host_display_name: str
    host_email: str
    host_key: str
    site_url: str
    web_link: str
    sip_address: str
    telephony: Telephony
    enabled_breakout_sessions: bool
    links: list[Link]
    agenda: str | None = None
    recurrence: str | None = None
    meeting_series_id: str | None = None
    scheduled_meeting_id: str | None = None
    is_modified: bool | None = None
    phone_and_video_system_password: str | None = None


class MeetingsList(msgspec.Struct):
    items: list[MeetingObject]


class ErrorDescription(msgspec.Struct):
    description: str


class ErrorObject(msgspec.Struct, rename="camel"):
    message: str
    errors: list[ErrorDescription]
    tracking_id: str
