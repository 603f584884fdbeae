"""SQL for people and tokens."""

from __future__ import annotations

from dataclasses import dataclass

from breakouts.db import Row, Tx
from breakouts.orgs.repository import OrgState


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    email: str
    display_name: str
    is_admin: bool
    org_id: str
    created_at: int = 0


@dataclass(frozen=True, slots=True)
class TokenOwner:
    person: Person
    scopes: frozenset[str]
    expires_at: int | None
    org: OrgState


_COLUMNS = "id, email, display_name, is_admin, org_id, created_at"


def _person(row: Row) -> Person:
    return Person(
        row["id"],
        row["email"],
        row["display_name"],
        bool(row["is_admin"]),
        row["org_id"],
        row["created_at"],
    )


async def get_by_email(tx: Tx, org_id: str, email: str) -> Person | None:
    """The person of ``org_id`` with this email (compared case-insensitively)."""
    row = await tx.fetchone(
        f"SELECT {_COLUMNS} FROM people WHERE org_id = ? AND email_lower = ?",
        org_id,
        email.lower(),
    )
    return None if row is None else _person(row)


async def get_by_id(tx: Tx, org_id: str, person_id: str) -> Person | None:
    row = await tx.fetchone(
        f"SELECT {_COLUMNS} FROM people WHERE id = ? AND org_id = ?", person_id, org_id
    )
    return None if row is None else _person(row)


async def list_in_org(tx: Tx, org_id: str) -> list[Person]:
    rows = await tx.fetchall(
        f"SELECT {_COLUMNS} FROM people WHERE org_id = ? ORDER BY created_at, email_lower", org_id
    )
    return [_person(r) for r in rows]


async def insert(tx: Tx, person: Person, now: int) -> None:
    await tx.execute(
        "INSERT INTO people (id, email, email_lower, display_name, is_admin, org_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        person.id,
        person.email,
        person.email.lower(),
        person.display_name,
        int(person.is_admin),
        person.org_id,
        now,
    )


async def count(tx: Tx) -> int:
    return int(await tx.fetchval("SELECT COUNT(*) FROM people"))


async def token_owner(tx: Tx, token_hash: str) -> TokenOwner | None:
    """The token's owner with their org's state: the one query that authenticates a request.

    The org's clock offset, journal flag and fault-rules version come along, so what the
    control plane sets reaches every request without a query of its own.
    """
    row = await tx.fetchone(
        f"SELECT {OWNER_COLUMNS} FROM {OWNER_FROM} WHERE t.token_hash = ?", token_hash
    )
    return None if row is None else owner_of(row)


# The token lookup's parts, for a lookup that brings more in the same statement
# (``meetings.repository.SeriesLookup``).
OWNER_COLUMNS = (
    "p.id, p.email, p.display_name, p.is_admin, p.org_id, p.created_at,"
    " t.scopes, t.expires_at, o.clock_offset, o.version, o.journal"
)
OWNER_FROM = "tokens t JOIN people p ON p.id = t.person_id JOIN orgs o ON o.id = p.org_id"


def owner_of(row: Row) -> TokenOwner:
    org = OrgState(row["org_id"], row["clock_offset"], row["version"], bool(row["journal"]))
    return TokenOwner(_person(row), frozenset(row["scopes"].split()), row["expires_at"], org)


async def insert_token(
    tx: Tx, token_hash: str, person_id: str, scopes: list[str], expires_at: int | None, now: int
) -> None:
    await tx.execute(
        "INSERT INTO tokens (token_hash, person_id, scopes, expires_at, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        token_hash,
        person_id,
        " ".join(scopes),
        expires_at,
        now,
    )
