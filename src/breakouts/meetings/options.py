"""The plain meeting settings: stored as given, echoed back, no behaviour attached.

Apart from ``schemas.py`` so that the generated ``upstream.py`` can build the request bodies on
top of them (msgspec structs inherit along one line only).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

Int32 = Annotated[int, Meta(ge=0, le=2_147_483_647)]


class MeetingOptions(msgspec.Struct, rename="camel", omit_defaults=True):
    """Upstream settings kept and echoed back; they change no behaviour here.

    Upstream marks none of them nullable: absent means "not set", and ``null`` is refused.
    """

    enabled_auto_record_meeting: bool | UnsetType = UNSET
    allow_any_user_to_be_co_host: bool | UnsetType = UNSET
    enabled_join_before_host: bool | UnsetType = UNSET
    enable_connect_audio_before_host: bool | UnsetType = UNSET
    join_before_host_minutes: Annotated[int, Meta(ge=0, le=15)] | UnsetType = UNSET
    exclude_password: bool | UnsetType = UNSET
    public_meeting: bool | UnsetType = UNSET
    reminder_time: Int32 | UnsetType = UNSET
    unlocked_meeting_join_security: (
        Literal["allowJoin", "allowJoinWithLobby", "blockFromJoin"] | UnsetType
    ) = UNSET
    session_type_id: Int32 | UnsetType = UNSET
    scheduled_type: Literal["meeting", "webinar", "personalRoomMeeting"] | UnsetType = UNSET
    enable_automatic_lock: bool | UnsetType = UNSET
    automatic_lock_minutes: Int32 | UnsetType = UNSET
    allow_first_user_to_be_co_host: bool | UnsetType = UNSET
    allow_authenticated_devices: bool | UnsetType = UNSET


# (attribute, JSON name) of every option field
OPTION_FIELDS = tuple((f.name, f.encode_name) for f in msgspec.structs.fields(MeetingOptions))
