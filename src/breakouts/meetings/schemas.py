"""Request and response shapes (field names as upstream), validated by msgspec.

Response structs document ``/openapi.json``; the service renders plain dicts with the same
fields, and the schemathesis test checks every response against these schemas.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from breakouts.text import LINE_PATTERN

Title = Annotated[str, Meta(min_length=1, max_length=128, pattern=LINE_PATTERN)]
Agenda = Annotated[str, Meta(max_length=1300)]
Email = Annotated[str, Meta(max_length=320)]


class Invitee(msgspec.Struct, rename="camel", omit_defaults=True):
    email: Email
    display_name: Annotated[str, Meta(max_length=128, pattern=LINE_PATTERN)] | None = None
    co_host: bool = False
    panelist: bool = False


class BreakoutSessionInput(msgspec.Struct, rename="camel"):
    name: Annotated[str, Meta(min_length=1, max_length=255, pattern=LINE_PATTERN)]
    invitees: Annotated[list[Email], Meta(max_length=1000)] = []


class MeetingOptions(msgspec.Struct, rename="camel", omit_defaults=True):
    """Upstream settings kept and echoed back; they change no behaviour here."""

    enabled_auto_record_meeting: bool | None = None
    allow_any_user_to_be_co_host: bool | None = None
    enabled_join_before_host: bool | None = None
    enable_connect_audio_before_host: bool | None = None
    join_before_host_minutes: Annotated[int, Meta(ge=0, le=15)] | None = None
    exclude_password: bool | None = None
    public_meeting: bool | None = None
    reminder_time: Annotated[int, Meta(ge=0)] | None = None
    unlocked_meeting_join_security: (
        Literal["allowJoin", "allowJoinWithLobby", "blockFromJoin"] | None
    ) = None
    session_type_id: int | None = None
    scheduled_type: Literal["meeting", "webinar", "personalRoomMeeting"] | None = None
    enable_automatic_lock: bool | None = None
    automatic_lock_minutes: Annotated[int, Meta(ge=0)] | None = None
    allow_first_user_to_be_co_host: bool | None = None
    allow_authenticated_devices: bool | None = None


# (attribute, JSON name) of every option field
OPTION_FIELDS = tuple((f.name, f.encode_name) for f in msgspec.structs.fields(MeetingOptions))


class CreateMeetingObject(MeetingOptions, kw_only=True):
    title: Title
    start: str
    end: str
    agenda: Agenda | None = None
    password: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    timezone: str | None = None
    recurrence: Annotated[str, Meta(max_length=1024)] | None = None
    invitees: Annotated[list[Invitee], Meta(max_length=1000)] = []
    enabled_breakout_sessions: bool | None = None
    breakout_sessions: list[BreakoutSessionInput] = []
    send_email: bool = True
    host_email: Email | None = None
    site_url: str | None = None


class UpdateMeetingObject(MeetingOptions, kw_only=True):
    title: Title | None = None
    start: str | None = None
    end: str | None = None
    agenda: Agenda | None = None
    password: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    timezone: str | None = None
    recurrence: Annotated[str, Meta(max_length=1024)] | None = None
    enabled_breakout_sessions: bool | None = None
    send_email: bool = True
    host_email: Email | None = None


class EndMeetingRequestObject(msgspec.Struct, rename="camel"):
    reason: str | None = None


class UpdateMeetingBreakoutSessionsObject(msgspec.Struct, rename="camel"):
    items: list[BreakoutSessionInput]
    host_email: Email | None = None
    send_email: bool = True


# --- responses (documentation and schema checks) --------------------------------------------


class BreakoutSessionObject(msgspec.Struct, rename="camel", omit_defaults=True):
    id: str
    name: str
    invitees: list[str] = []
    start_time: str | None = None
    end_time: str | None = None


class BreakoutSessionsObject(msgspec.Struct):
    items: list[BreakoutSessionObject]


class Link(msgspec.Struct):
    rel: str
    href: str
    method: str


class CallInNumber(msgspec.Struct, rename="camel"):
    label: str
    call_in_number: str
    toll_type: Literal["toll", "tollFree"]


class Telephony(msgspec.Struct, rename="camel"):
    access_code: str
    call_in_numbers: list[CallInNumber]
    links: list[Link] = []


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
