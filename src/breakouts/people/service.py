"""Adding people and issuing tokens (used by the CLI, the demo and the control plane)."""

from __future__ import annotations

import hashlib
import re
import secrets

from breakouts.clock import Clock
from breakouts.db import Tx
from breakouts.errors import BadRequest, Conflict, NotFound
from breakouts.ids import new_person_uuid
from breakouts.people import repository as people
from breakouts.people.repository import Person

READ_SCOPE = "meeting:schedules_read"
WRITE_SCOPE = "meeting:schedules_write"
ADMIN_READ_SCOPE = "meeting:admin_schedule_read"
ADMIN_WRITE_SCOPE = "meeting:admin_schedule_write"
USER_SCOPES = [READ_SCOPE, WRITE_SCOPE]
ADMIN_SCOPES = [ADMIN_READ_SCOPE, ADMIN_WRITE_SCOPE]
KNOWN_SCOPES = frozenset(USER_SCOPES + ADMIN_SCOPES)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def hash_token(token: str) -> str:
    """Tokens are stored only as this hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def is_email(value: str) -> bool:
    return len(value) <= 320 and EMAIL_RE.match(value) is not None


async def add_person(tx: Tx, clock: Clock, email: str, name: str | None, admin: bool) -> Person:
    if not is_email(email):
        raise BadRequest(f"'{email}' is not a valid email address.")
    if await people.get_by_email(tx, email) is not None:
        raise Conflict(f"A person with email '{email}' already exists.")
    person = Person(new_person_uuid(), email, name or email.split("@")[0], admin)
    await people.insert(tx, person, clock.now_s())
    return person


async def create_token(
    tx: Tx,
    clock: Clock,
    email: str,
    scopes: list[str] | None = None,
    expires_in_s: int | None = None,
) -> str:
    """A new random bearer token for ``email``; returned once, stored as a hash."""
    person = await people.get_by_email(tx, email)
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
