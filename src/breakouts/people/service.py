"""Adding people and issuing tokens (used by the CLI, the demo and the control plane)."""

from __future__ import annotations

import hashlib
import secrets

from breakouts.clock import Clock
from breakouts.db import Tx
from breakouts.errors import BadRequest, Conflict, NotFound
from breakouts.ids import new_person_uuid, person_api_id
from breakouts.orgs.repository import DEFAULT_ORG
from breakouts.people import repository as people
from breakouts.people.repository import Person
from breakouts.text import is_email

READ_SCOPE = "meeting:schedules_read"
WRITE_SCOPE = "meeting:schedules_write"
ADMIN_READ_SCOPE = "meeting:admin_schedule_read"
ADMIN_WRITE_SCOPE = "meeting:admin_schedule_write"
USER_SCOPES = [READ_SCOPE, WRITE_SCOPE]
ADMIN_SCOPES = [ADMIN_READ_SCOPE, ADMIN_WRITE_SCOPE]
KNOWN_SCOPES = frozenset(USER_SCOPES + ADMIN_SCOPES)


def hash_token(token: str) -> str:
    """Tokens are stored only as this hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def api_id(person: Person) -> str:
    return person_api_id(person.id)


async def add_person(
    tx: Tx,
    clock: Clock,
    email: str,
    name: str | None,
    admin: bool,
    *,
    org_id: str = DEFAULT_ORG,
) -> Person:
    """A new person of ``org_id``; emails are unique within an org (SPEC §9)."""
    if not is_email(email):
        raise BadRequest(f"'{email}' is not a valid email address.")
    if await people.get_by_email(tx, org_id, email) is not None:
        raise Conflict(f"A person with email '{email}' already exists.")
    now = clock.now_s()
    person = Person(new_person_uuid(), email, name or email.split("@")[0], admin, org_id, now)
    await people.insert(tx, person, now)
    return person


async def create_token(
    tx: Tx,
    clock: Clock,
    email: str,
    scopes: list[str] | None = None,
    expires_in_s: int | None = None,
    *,
    org_id: str = DEFAULT_ORG,
) -> str:
    """A new random bearer token for ``email`` of ``org_id``; returned once, stored as a hash."""
    person = await people.get_by_email(tx, org_id, email)
    if person is None:
        raise NotFound(f"No person with email '{email}'.")
    if not scopes:
        scopes = USER_SCOPES + (ADMIN_SCOPES if person.is_admin else [])
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if unknown:
        raise BadRequest(f"Unknown scope(s): {', '.join(unknown)}.")
    if not person.is_admin and set(scopes) & set(ADMIN_SCOPES):
        raise BadRequest(f"'{email}' is not a site admin and cannot hold admin scopes.")
    token = secrets.token_urlsafe(48)  # 48 random bytes
    now = clock.now_s()
    expires_at = None if expires_in_s is None else now + expires_in_s
    await people.insert_token(tx, hash_token(token), person.id, scopes, expires_at, now)
    return token


async def store_token(tx: Tx, clock: Clock, person: Person, token: str) -> None:
    """A token chosen by the caller (the control plane's fixed tokens), with the role's scopes."""
    if len(token) < 32:
        raise BadRequest("A fixed token must be at least 32 characters long.")
    if await people.token_owner(tx, hash_token(token)) is not None:
        raise Conflict("That token is already in use.")
    scopes = USER_SCOPES + (ADMIN_SCOPES if person.is_admin else [])
    await people.insert_token(tx, hash_token(token), person.id, scopes, None, clock.now_s())
