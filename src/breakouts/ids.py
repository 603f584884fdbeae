"""Identifier formats (SPEC §2): generation and parsing, with no I/O.

series              870f51ff287b41be84648412901e0402
scheduled meeting   870f51ff287b41be84648412901e0402_20261201T120000Z   (UTC start)
instance            870f51ff287b41be84648412901e0402_I_167427437874906709
"""

from __future__ import annotations

import base64
import random
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

_HEX32 = r"[0-9a-f]{32}"
MEETING_ID_RE = re.compile(
    rf"^(?P<series>{_HEX32})(?:_(?P<occ>\d{{8}}T\d{{6}}Z)|_(?P<inst>I_\d{{18}}))?$"
)
HEX32_RE = re.compile(rf"^{_HEX32}$")
_UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

Kind = Literal["series", "scheduled", "instance"]


@dataclass(frozen=True, slots=True)
class MeetingRef:
    """A parsed meeting id."""

    raw: str
    series_id: str
    kind: Kind
    occurrence_start: int | None = None  # epoch seconds, for a scheduled meeting
    scope: str = ""  # "" (series), occurrence key, or "I_…" (instance)


def parse_meeting_id(raw: str) -> MeetingRef | None:
    """Parse a path meeting id; None when it matches no upstream format (a 404)."""
    m = MEETING_ID_RE.match(raw)
    if m is None:
        return None
    series = m.group("series")
    if occ := m.group("occ"):
        try:
            start = datetime.strptime(occ, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            return None
        return MeetingRef(raw, series, "scheduled", int(start.timestamp()), occ)
    if inst := m.group("inst"):
        return MeetingRef(raw, series, "instance", None, inst)
    return MeetingRef(raw, series, "series")


def occurrence_key(start_s: int) -> str:
    """The suffix of a scheduled meeting id for an occurrence starting at ``start_s``."""
    return datetime.fromtimestamp(start_s, UTC).strftime("%Y%m%dT%H%M%SZ")


def scheduled_meeting_id(series_id: str, start_s: int) -> str:
    return f"{series_id}_{occurrence_key(start_s)}"


def new_hex32() -> str:
    return uuid.uuid4().hex


def new_tracking_id() -> str:
    """A request's TrackingID: unique, not secret, so no system entropy call (uuid4 costs ~10 µs)."""
    return f"breakouts_{random.getrandbits(128):032x}"


def new_instance_scope() -> str:
    return "I_" + "".join(secrets.choice("0123456789") for _ in range(18))


def new_person_uuid() -> str:
    return str(uuid.uuid4())


def person_api_id(person_uuid: str) -> str:
    """The upstream person id: base64 of ``ciscospark://us/PEOPLE/{uuid}``, unpadded."""
    raw = f"ciscospark://us/PEOPLE/{person_uuid}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def org_api_id(org_uuid: str) -> str:
    """The upstream org id: base64 of ``ciscospark://us/ORGANIZATION/{uuid}``, unpadded."""
    raw = f"ciscospark://us/ORGANIZATION/{org_uuid}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def parse_org_api_id(api_id: str) -> str | None:
    """The org uuid inside an upstream org id (the uuid itself is accepted too); None if neither."""
    if _UUID_RE.match(api_id):
        return api_id
    try:
        raw = base64.urlsafe_b64decode(api_id + "=" * (-len(api_id) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    prefix = "ciscospark://us/ORGANIZATION/"
    uuid_part = raw.removeprefix(prefix)
    if not raw.startswith(prefix) or not _UUID_RE.match(uuid_part):
        return None
    return uuid_part


def parse_person_api_id(api_id: str) -> str | None:
    """The person uuid inside an upstream person id; None if it is not one."""
    try:
        raw = base64.urlsafe_b64decode(api_id + "=" * (-len(api_id) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    prefix = "ciscospark://us/PEOPLE/"
    uuid_part = raw.removeprefix(prefix)
    if not raw.startswith(prefix) or not _UUID_RE.match(uuid_part):
        return None
    return uuid_part


def new_meeting_number() -> str:
    return str(secrets.randbelow(9 * 10**9) + 10**9)


def new_host_key() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def new_password() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
    return "".join(secrets.choice(alphabet) for _ in range(8))
