"""The fields of upstream's meeting request objects that this server type-checks and ignores.

GENERATED from the official Webex Meetings OpenAPI specification (the trimmed copy in
``tests/data/webex-meetings-subset.openapi.json``, CC BY 4.0, (c) Cisco Systems) by
``python -m tests.meetings.generate_upstream``; do not edit (``tests/meetings/
test_upstream_fields.py`` fails when this module and the specification differ).

Every field of ``CreateMeetingObject``, ``UpdateMeetingObject`` and ``PatchMeetingObject`` that
``schemas.py`` does not declare itself has its upstream type here: nested objects (with their
required fields), arrays, enums, booleans, numbers. A value of another type is a 400 naming the
field, ``null`` included (upstream marks nothing nullable); a well-typed value changes nothing.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from breakouts.meetings.options import MeetingOptions

IGNORED = Meta(
    description="Upstream field not applied here: a value of another type is refused (400), "
    "a well-typed one is accepted and ignored."
)


class MeetingOptionsObject(msgspec.Struct, rename="camel", kw_only=True):
    """Upstream's ``meetingOptions`` object: type-checked, not applied here."""

    enabled_chat: bool | UnsetType = UNSET
    enabled_video: bool | UnsetType = UNSET
    enabled_polling: bool | UnsetType = UNSET
    enabled_note: bool | UnsetType = UNSET
    note_type: Literal["allowAll", "allowOne"] | UnsetType = UNSET
    enabled_file_transfer: bool | UnsetType = UNSET
    enabled_ucfrich_media: bool | UnsetType = msgspec.field(
        default=UNSET, name="enabledUCFRichMedia"
    )


class AttendeePrivilegesObject(msgspec.Struct, rename="camel", kw_only=True):
    """Upstream's ``attendeePrivileges`` object: type-checked, not applied here."""

    enabled_share_content: bool | UnsetType = UNSET
    enabled_save_document: bool | UnsetType = UNSET
    enabled_print_document: bool | UnsetType = UNSET
    enabled_annotate: bool | UnsetType = UNSET
    enabled_view_participant_list: bool | UnsetType = UNSET
    enabled_view_thumbnails: bool | UnsetType = UNSET
    enabled_remote_control: bool | UnsetType = UNSET
    enabled_view_any_document: bool | UnsetType = UNSET
    enabled_view_any_page: bool | UnsetType = UNSET
    enabled_contact_operator_privately: bool | UnsetType = UNSET
    enabled_chat_host: bool | UnsetType = UNSET
    enabled_chat_presenter: bool | UnsetType = UNSET
    enabled_chat_other_participants: bool | UnsetType = UNSET


class TrackingCodeItemForCreateMeetingObject(msgspec.Struct, rename="camel", kw_only=True):
    """Upstream's ``TrackingCodeItemForCreateMeetingObject``: type-checked, not applied here."""

    name: str
    value: str


class AudioConnectionOptionsObject(msgspec.Struct, rename="camel", kw_only=True):
    """Upstream's ``audioConnectionOptions`` object: type-checked, not applied here."""

    audio_connection_type: Literal["webexAudio", "VoIP", "other", "none"] | UnsetType = UNSET
    enabled_toll_free_call_in: bool | UnsetType = UNSET
    enabled_global_call_in: bool | UnsetType = UNSET
    enabled_audience_call_back: bool | UnsetType = UNSET
    entry_and_exit_tone: Literal["beep", "announceName", "noTone"] | UnsetType = UNSET
    allow_host_to_unmute_participants: bool | UnsetType = UNSET
    allow_attendee_to_unmute_self: bool | UnsetType = UNSET
    mute_attendee_upon_entry: bool | UnsetType = UNSET


class LiveStreamObject(msgspec.Struct, rename="camel", kw_only=True):
    """Upstream's ``LiveStreamObject``: type-checked, not applied here."""

    destination: str
    rtmp_url: str
    stream_url: str
    layout_without_shared_content: Literal["grid", "stack", "focus"] | UnsetType = UNSET
    layout_with_shared_content: (
        Literal["stack", "focusedContentWithActiveSpeaker", "focusedContent"] | UnsetType
    ) = UNSET
    allow_change_layout_in_meeting: bool | UnsetType = UNSET
    follow_stage_layout_when_synced: bool | UnsetType = UNSET
    resolution: str | UnsetType = UNSET


class IgnoredUpdateFields(MeetingOptions, kw_only=True):
    """The fields of upstream's ``UpdateMeetingObject`` and ``PatchMeetingObject`` that ``schemas.py`` does not declare."""

    enabled_webcast_view: Annotated[bool, IGNORED] | UnsetType = UNSET
    panelist_password: Annotated[str, IGNORED] | UnsetType = UNSET
    meeting_options: Annotated[MeetingOptionsObject, IGNORED] | UnsetType = UNSET
    attendee_privileges: Annotated[AttendeePrivilegesObject, IGNORED] | UnsetType = UNSET
    integration_tags: Annotated[list[str], IGNORED] | UnsetType = UNSET
    tracking_codes: Annotated[list[TrackingCodeItemForCreateMeetingObject], IGNORED] | UnsetType = (
        UNSET
    )
    enabled_audio_watermark: Annotated[bool, IGNORED] | UnsetType = UNSET
    enabled_visual_watermark: Annotated[bool, IGNORED] | UnsetType = UNSET
    visual_watermark_opacity: Annotated[float, IGNORED] | UnsetType = UNSET
    audio_connection_options: Annotated[AudioConnectionOptionsObject, IGNORED] | UnsetType = UNSET
    require_attendee_login: Annotated[bool, IGNORED] | UnsetType = UNSET
    restrict_to_invitees: Annotated[bool, IGNORED] | UnsetType = UNSET
    enabled_live_stream: Annotated[bool, IGNORED] | UnsetType = UNSET
    live_stream: Annotated[LiveStreamObject, IGNORED] | UnsetType = UNSET


class CustomizedQuestionForCreateMeetingOptionsItem(msgspec.Struct, rename="camel", kw_only=True):
    """An item of ``options`` in ``CustomizedQuestionForCreateMeeting``: type-checked, not applied here."""

    value: str


class CustomizedQuestionForCreateMeetingRulesItem(msgspec.Struct, rename="camel", kw_only=True):
    """An item of ``rules`` in ``CustomizedQuestionForCreateMeeting``: type-checked, not applied here."""

    condition: Literal["contains", "notContains", "beginsWith", "endsWith", "equals", "notEquals"]
    value: str
    result: Literal["approve", "reject"]
    match_case: bool | UnsetType = UNSET


class CustomizedQuestionForCreateMeeting(msgspec.Struct, rename="camel", kw_only=True):
    """Upstream's ``CustomizedQuestionForCreateMeeting``: type-checked, not applied here."""

    question: str
    required: bool | UnsetType = UNSET
    type: Literal[
        "singleLineTextBox", "multiLineTextBox", "checkbox", "dropdownList", "radioButtons"
    ]
    max_length: float | UnsetType = UNSET
    options: list[CustomizedQuestionForCreateMeetingOptionsItem] | UnsetType = UNSET
    rules: list[CustomizedQuestionForCreateMeetingRulesItem] | UnsetType = UNSET


class StandardRegistrationApproveRule(msgspec.Struct, rename="camel", kw_only=True):
    """Upstream's ``StandardRegistrationApproveRule``: type-checked, not applied here."""

    question: Literal[
        "lastName",
        "email",
        "jobTitle",
        "companyName",
        "address1",
        "address2",
        "city",
        "state",
        "zipCode",
        "countryRegion",
        "workPhone",
        "fax",
    ]
    condition: Literal["contains", "notContains", "beginsWith", "endsWith", "equals", "notEquals"]
    value: str
    result: Literal["approve", "reject"]
    match_case: bool | UnsetType = UNSET
    order: float


class RegistrationObject(msgspec.Struct, rename="camel", kw_only=True):
    """Upstream's ``registration`` object: type-checked, not applied here."""

    auto_accept_request: bool | UnsetType = UNSET
    require_first_name: bool | UnsetType = UNSET
    require_last_name: bool | UnsetType = UNSET
    require_email: bool | UnsetType = UNSET
    require_job_title: bool | UnsetType = UNSET
    require_company_name: bool | UnsetType = UNSET
    require_address1: bool | UnsetType = UNSET
    require_address2: bool | UnsetType = UNSET
    require_city: bool | UnsetType = UNSET
    require_state: bool | UnsetType = UNSET
    require_zip_code: bool | UnsetType = UNSET
    require_country_region: bool | UnsetType = UNSET
    require_work_phone: bool | UnsetType = UNSET
    require_fax: bool | UnsetType = UNSET
    max_register_num: float | UnsetType = UNSET
    customized_questions: list[CustomizedQuestionForCreateMeeting] | UnsetType = UNSET
    rules: list[StandardRegistrationApproveRule] | UnsetType = UNSET


class InterpreterObjectForSimultaneousInterpretationOfCreateOrUpdateMeeting(
    msgspec.Struct, rename="camel", kw_only=True
):
    """Upstream's ``InterpreterObjectForSimultaneousInterpretationOfCreateOrUpdateMeeting``: type-checked, not applied here."""

    language_code1: str
    language_code2: str
    email: str | UnsetType = UNSET
    display_name: str | UnsetType = UNSET


class SimultaneousInterpretationObject(msgspec.Struct, rename="camel", kw_only=True):
    """Upstream's ``simultaneousInterpretation`` object: type-checked, not applied here."""

    enabled: bool
    interpreters: (
        list[InterpreterObjectForSimultaneousInterpretationOfCreateOrUpdateMeeting] | UnsetType
    ) = UNSET


class IgnoredCreateFields(IgnoredUpdateFields, kw_only=True):
    """The fields of upstream's ``CreateMeetingObject`` (beside those of updates) that ``schemas.py`` does not declare."""

    adhoc: Annotated[bool, IGNORED] | UnsetType = UNSET
    room_id: Annotated[str, IGNORED] | UnsetType = UNSET
    template_id: Annotated[str, IGNORED] | UnsetType = UNSET
    registration: Annotated[RegistrationObject, IGNORED] | UnsetType = UNSET
    simultaneous_interpretation: (
        Annotated[SimultaneousInterpretationObject, IGNORED] | UnsetType
    ) = UNSET
