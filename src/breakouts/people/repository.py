"""SQL for people and tokens."""

from __future__ import annotations

from dataclasses import dataclass

from breakouts.db import Row, Tx


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    email: str
    display_name: str
    is_admin: bool


@dataclass(frozen=True, slots=True)
class TokenOwner:
    person: Person
    scopes: frozenset[str]
    expires_at: int | None


def _person(row: Row) -> Person:
    return Person(row["id"], row["email"], row["display_name"], bool(row["is_admin"]))


async def get_by_email(tx: Tx, email: str) -> Person | None:
    row = await tx.fetchone(
        "SELECT id, email, display_name, is_admin FROM people WHERE email_lower = ?",
        email.lower(),
    )
    return None if row is None else _person(row)


async def get_by_id(tx: Tx, person_id: str) -> Person | None:
    row = await tx.fetchone(
        "SELECT id, email, display_name, is_admin FROM people WHERE id = ?", person_id
    )
    return None if row is None else _person(row)


async def insert(tx: Tx, person: Person, now: int) -> None:
    await tx.execute(
        "INSERT INTO people (id, email, email_lower, display_name, is_admin, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        person.id,
        person.email,
        person.email.lower(),
        person.display_name,
        int(person.is_admin),
        now,
    )


async def count(tx: Tx) -> int:
    return int(await tx.fetchval("SELECT COUNT(*) FROM people"))


async def token_owner(tx: Tx, token_hash: str) -> TokenOwner | None:
    row = await tx.fetchone(
        "SELECT p.id, p.email, p.display_name, p.is_admin, t.scopes, t.expires_at"
        " FROM tokens t JOIN people p ON p.id = t.person_id WHERE t.token_hash = ?",
        token_hash,
    )
    if row is None:
        return None
    return TokenOwner(_person(row), frozenset(row["scopes"].split()), row["expires_at"])


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
