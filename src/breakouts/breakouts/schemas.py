"""Request and response shapes of /v1/meetings/{meetingId}/breakoutSessions (upstream names)."""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

from breakouts.fields import HOST_EMAIL_FIELD, Email, HostEmail
from breakouts.plans.schemas import BreakoutSessionInput


class UpdateMeetingBreakoutSessionsObject(msgspec.Struct, HostEmail, rename="camel"):
    items: list[BreakoutSessionInput]
    host_email_value: Email | UnsetType = msgspec.field(default=UNSET, name=HOST_EMAIL_FIELD)
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
