"""What the control plane does (SPEC §10), for its HTTP routes and the CLI alike.

Every function works inside the caller's transaction and stores what it sets, so every process
obeys it for every request that starts after the call answered: the clock offset and the fault
rules' version travel with the token lookup of each request (``people.repository.token_owner``),
mail and the journal are rows.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from breakouts.auth import Caller
from breakouts.clock import Clock
from breakouts.context import Ctx, Site
from breakouts.db import Tx, from_json
from breakouts.errors import BadRequest, Conflict, NotFound
from breakouts.ids import new_person_uuid, org_api_id, parse_meeting_id, parse_org_api_id
from breakouts.mail import outbox
from breakouts.mail import repository as mail_repo
from breakouts.mail.render import render as render_mail
from breakouts.meetings import repository as meetings_repo
from breakouts.meetings import service as meetings
from breakouts.meetings.view import MEETING_NOT_FOUND, render, view_of
from breakouts.orgs import repository as orgs
from breakouts.orgs.faults import ANY_OPERATION, SMTP, FaultRule, rule_of
from breakouts.orgs.repository import DEFAULT_ORG, Org, OrgState
from breakouts.people import repository as people
from breakouts.people import service as people_service
from breakouts.people.repository import Person
from breakouts.text import whole_number

from .schemas import ClockMove, FaultSpec, OrgSpec, PersonSpec

# The upstream operationIds a fault may name (with "*" for all of them, "smtp" for delivery).
OPERATIONS = frozenset(
    {
        "listMeetings", "createMeeting", "getMeetingById", "updateMeeting", "patchMeeting",
        "deleteMeeting", "endMeeting", "listBreakoutSessions", "updateBreakoutSessions",
        "deleteBreakoutSessions", "getMyOwnDetails", "listPeople", "getPersonDetails",
    }
)  # fmt: skip
DEFAULT_PEOPLE = (
    PersonSpec("host@example.com", "Host User"),
    PersonSpec("admin@example.com", "Admin User", admin=True),
)


@dataclass(frozen=True, slots=True)
class Env:
    """What control actions need besides the transaction: the real clock, the site, link base."""

    clock: Clock
    site: Site
    api_base: str


def iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def org_or_404(tx: Tx, api_id: str) -> Org:
    org_id = parse_org_api_id(api_id)
    org = None if org_id is None else await orgs.get(tx, org_id)
    if org is None:
        raise NotFound(f"Org '{api_id}' was not found.")
    return org


def org_json(org: Org, env: Env) -> dict[str, Any]:
    return {
        "id": org_api_id(org.id),
        "name": org.name,
        "journal": org.journal,
        "now": iso(env.clock.now_s() + org.clock_offset),
        "offsetSeconds": org.clock_offset,
        "created": iso(org.created_at),
    }


# --- orgs ----------------------------------------------------------------------------------------


async def create_org(
    tx: Tx, env: Env, spec: OrgSpec, *, org_id: str | None = None
) -> dict[str, Any]:
    """A new org with its people (default: a host and an admin) and its seed meetings."""
    org_id = org_id or new_person_uuid()
    now = env.clock.now_s()
    name = spec.name or f"Org {org_id[:8]}"
    await orgs.insert(tx, org_id, name, spec.journal, now)
    created = [await _add_person(tx, env, org_id, p) for p in (spec.people or DEFAULT_PEOPLE)]
    org = await orgs.get(tx, org_id)
    assert org is not None
    meetings_out = [await _seed_meeting(tx, env, org, created, body) for body in spec.meetings]
    return {
        "id": org_api_id(org_id),
        "name": name,
        "journal": spec.journal,
        "people": [item for _, item in created],
        "meetings": meetings_out,
    }


async def add_person(tx: Tx, env: Env, org: Org, spec: PersonSpec) -> dict[str, Any]:
    return (await _add_person(tx, env, org.id, spec))[1]


async def _add_person(
    tx: Tx, env: Env, org_id: str, spec: PersonSpec
) -> tuple[Person, dict[str, Any]]:
    person = await people_service.add_person(
        tx, env.clock, spec.email, spec.display_name, spec.admin, org_id=org_id
    )
    token = spec.token or secrets.token_urlsafe(32)
    await people_service.store_token(tx, env.clock, person, token)
    item = {
        "id": people_service.api_id(person),
        "email": person.email,
        "displayName": person.display_name,
        "admin": person.is_admin,
        "token": token,
    }
    return person, item


async def _seed_meeting(
    tx: Tx,
    env: Env,
    org: Org,
    created: list[tuple[Person, dict[str, Any]]],
    body: Any,
) -> dict[str, Any]:
    host = created[0][0]
    if body.host_email:
        named = await people.get_by_email(tx, org.id, body.host_email)
        if named is None:
            raise BadRequest(f"'meetings': host '{body.host_email}' is not a person of this org.")
        host = named
    state = OrgState(org.id, org.clock_offset, org.version, org.journal)
    caller = Caller(host, host, frozenset(people_service.USER_SCOPES), state)
    now = env.clock.now_s() + org.clock_offset
    view = await meetings.create_meeting(Ctx(tx, now, caller, "control", env.site), body)
    return render(view, env.site, env.api_base)


async def list_orgs(tx: Tx, env: Env) -> list[dict[str, Any]]:
    return [org_json(o, env) for o in await orgs.list_all(tx)]


async def delete_org(tx: Tx, org: Org) -> None:
    if org.id == DEFAULT_ORG:
        raise Conflict("The default org cannot be deleted; POST /_control/reset empties it.")
    await meetings_repo.lock_org_series(tx, org.id)  # no write to them is half done
    await orgs.delete_everything(tx, org.id)


async def reset(tx: Tx, env: Env) -> None:
    """Every org and everything in them gone; the default org again, empty."""
    await orgs.delete_all(tx)
    await orgs.insert(tx, DEFAULT_ORG, "Default", False, env.clock.now_s())


# --- clock ---------------------------------------------------------------------------------------

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
# The clock moves at most this far at once, and never past LATEST: times stay printable.
LONGEST_MOVE_S = 100 * 366 * 86400
LATEST = 32503680000  # 3000-01-01T00:00:00Z
_ISO_DURATION = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_SHORT_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)([wdhms]))+$")


def parse_duration(value: float | str) -> float:
    """Seconds from a number, an ISO 8601 duration (``PT2H``, ``P1DT30M``) or ``2h``/``90m``/``1d``.

    Years and months are refused: their length depends on the date they start from.
    """
    if isinstance(value, bool):
        raise BadRequest("'advance' must be seconds or an ISO 8601 duration such as PT2H.")
    seconds = float(value) if isinstance(value, int | float) else _duration_text(value)
    if not -LONGEST_MOVE_S <= seconds <= LONGEST_MOVE_S:  # also refuses NaN and infinity
        raise BadRequest(f"'advance' must be at most {LONGEST_MOVE_S} seconds (about a century).")
    return seconds


def _duration_text(value: str) -> float:
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    match = _ISO_DURATION.match(text.upper())
    if match and text.upper() not in ("P", "PT") and not text.upper().endswith("T"):
        return sum(float(v) * _UNITS[k.lower()] for k, v in match.groupdict().items() if v)
    if _SHORT_DURATION.match(text.lower()):
        pairs = re.findall(r"(\d+(?:\.\d+)?)([wdhms])", text.lower())
        return sum(float(n) * _UNITS[u] for n, u in pairs)
    raise BadRequest(
        f"'advance' must be seconds or an ISO 8601 duration (PT2H, P1DT30M), not {value!r}."
    )


def _instant(text: str) -> int:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"'to' must be an RFC 3339 instant, not {text!r}.") from exc
    if moment.tzinfo is None:
        raise BadRequest("'to' needs a time zone offset (Z or ±hh:mm).")
    return int(moment.timestamp())


def clock_json(org: Org, env: Env, offset: int | None = None) -> dict[str, Any]:
    offset = org.clock_offset if offset is None else offset
    return {"now": iso(env.clock.now_s() + offset), "offsetSeconds": offset}


async def move_clock(tx: Tx, env: Env, org: Org, move: ClockMove) -> dict[str, Any]:
    """Forward by ``advance`` or to ``to``; never backwards (400)."""
    if (move.advance is None) == (move.to is None):
        raise BadRequest("Send exactly one of 'advance' (seconds or ISO 8601) and 'to'.")
    real_now = env.clock.now_s()
    current = real_now + org.clock_offset
    if move.advance is not None:
        seconds = parse_duration(move.advance)
        if seconds < 0:
            raise BadRequest("The clock only moves forward: 'advance' must not be negative.")
        target = current + round(seconds)
    else:
        assert move.to is not None
        target = _instant(move.to)
        if target < current:
            raise BadRequest(f"The clock only moves forward: it is already {iso(current)}.")
    if target >= LATEST:
        raise BadRequest(f"The clock cannot go past {iso(LATEST)}.")
    offset = target - real_now
    await orgs.set_clock_offset(tx, org.id, offset)
    return clock_json(org, env, offset)


# --- meetings ------------------------------------------------------------------------------------


async def start_meeting(tx: Tx, env: Env, meeting_id: str) -> dict[str, Any]:
    """Start a scheduled meeting (a series: its next occurrence) on its org's clock."""
    ref = parse_meeting_id(meeting_id)
    series = None if ref is None else await meetings_repo.get_series(tx, ref.series_id)
    if ref is None or series is None:
        raise NotFound(MEETING_NOT_FOUND)
    org = await orgs.get(tx, series.org_id)
    assert org is not None
    now = env.clock.now_s() + org.clock_offset
    instance = await meetings.start_meeting(tx, now, meeting_id)
    inst_ref = parse_meeting_id(instance.id)
    assert inst_ref is not None
    return render(await view_of(tx, now, inst_ref, series), env.site, env.api_base)


# --- faults --------------------------------------------------------------------------------------


async def add_fault(tx: Tx, env: Env, org: Org, spec: FaultSpec) -> dict[str, Any]:
    if spec.operation not in OPERATIONS and spec.operation not in (ANY_OPERATION, SMTP):
        raise BadRequest(
            f"'operation' must be an upstream operationId, '*' or 'smtp', not {spec.operation!r}."
        )
    if spec.status is None and spec.latency_ms is None:
        raise BadRequest("A fault needs a 'status', a 'latencyMs', or both.")
    if spec.operation == SMTP and spec.status is None:
        raise BadRequest("An 'smtp' fault needs a 'status' (an SMTP reply code, 4xx or 5xx).")
    now = env.clock.now_s()
    rule = FaultRule(
        0,
        spec.operation,
        spec.status,
        spec.retry_after,
        spec.message,
        spec.probability,
        spec.count,
        spec.latency_ms,
        now,
    )
    fault_id = await orgs.insert_fault(tx, org.id, rule, now)
    return replace(rule, id=fault_id).as_json()


async def list_faults(tx: Tx, org: Org) -> list[dict[str, Any]]:
    return [rule_of(r).as_json() for r in await orgs.fault_rows(tx, org.id)]


async def delete_fault(tx: Tx, org: Org, fault_id: str) -> None:
    number = whole_number(fault_id)
    if number is None or not await orgs.delete_faults(tx, org.id, number):
        raise NotFound(f"Fault '{fault_id}' was not found.")


async def clear_faults(tx: Tx, org: Org) -> None:
    await orgs.delete_faults(tx, org.id)


# --- captured mail -------------------------------------------------------------------------------


def mail_json(row: dict[str, Any]) -> dict[str, Any]:
    content = render_mail(row["event"], from_json(row["payload"]))
    return {
        "id": str(row["id"]),
        "messageId": row["message_id"],
        "to": row["recipient"],
        "subject": content.subject,
        "text": content.text(),
        "html": content.html(),
        "event": row["event"],
        "meetingId": row["meeting_id"],
        "status": row["status"],
        "attempts": row["attempts"],
        "created": iso(row["created_at"]),
    }


async def list_mail(
    tx: Tx,
    org: Org,
    *,
    to: str | None = None,
    meeting_id: str | None = None,
    event: str | None = None,
    status: str | None = None,
) -> list[dict[str, Any]]:
    await outbox.expand(tx, org_id=org.id, limit=1_000_000)  # what is queued shows at once
    rows = await mail_repo.list_org_messages(
        tx, org.id, to=to, meeting_id=meeting_id, event=event, status=status
    )
    return [mail_json(r) for r in rows]


async def get_mail(tx: Tx, org: Org, mail_id: str) -> dict[str, Any]:
    row = (
        None
        if (number := whole_number(mail_id)) is None
        else await mail_repo.get_org_message(tx, org.id, number)
    )
    if row is None:
        raise NotFound(f"Message '{mail_id}' was not found.")
    return mail_json(row)


async def clear_mail(tx: Tx, org: Org) -> None:
    await mail_repo.delete_org_messages(tx, org.id)


# --- journal -------------------------------------------------------------------------------------


async def list_journal(
    tx: Tx, org: Org, operation: str | None, status: str | None
) -> list[dict[str, Any]]:
    code = None if status is None else whole_number(status, 3)
    if status is not None and code is None:
        raise BadRequest(f"'status' must be an HTTP status code, not {status!r}.")
    return await orgs.journal_entries(tx, org.id, operation, code)


async def clear_journal(tx: Tx, org: Org) -> None:
    await orgs.clear_journal(tx, org.id)
