"""Bearer token -> caller; scopes; ``hostEmail`` acting-as (SPEC §3).

The token is hashed and looked up inside the request's transaction, so a revoked or expired
token is refused on its next request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from breakouts.db import Tx
from breakouts.errors import Forbidden, NotFound, Unauthorized
from breakouts.orgs.repository import OrgState
from breakouts.people import repository as people
from breakouts.people.repository import Person
from breakouts.people.service import (
    ADMIN_READ_SCOPE,
    ADMIN_WRITE_SCOPE,
    READ_SCOPE,
    WRITE_SCOPE,
)

_READ_OK = frozenset({READ_SCOPE, ADMIN_READ_SCOPE, WRITE_SCOPE, ADMIN_WRITE_SCOPE})
_WRITE_OK = frozenset({WRITE_SCOPE, ADMIN_WRITE_SCOPE})


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling (``actor``) and on whose behalf (``person``: the host named by an admin)."""

    actor: Person
    person: Person
    scopes: frozenset[str]
    org: OrgState

    @property
    def on_behalf(self) -> bool:
        return self.actor.id != self.person.id


# What the HTTP layer records when a request carries more than one Authorization header.
SEVERAL_AUTHORIZATIONS = "\x00several"


def bearer_token(authorization: str | None) -> str:
    """The token from an ``Authorization: Bearer …`` header, or 401.

    Several ``Authorization`` headers are refused: a proxy that reads the last one and a
    server that reads the first would disagree about who is calling.
    """
    if not authorization:
        raise Unauthorized()
    if authorization == SEVERAL_AUTHORIZATIONS:
        raise Unauthorized("Send exactly one Authorization header.", token_sent=True)
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized()
    return token


TokenLookup = Callable[[Tx, str], Awaitable["people.TokenOwner | None"]]


async def check_token(
    tx: Tx, token_hash: str, real_now: int, lookup: TokenLookup = people.token_owner
) -> people.TokenOwner:
    """The token's owner, or 401 for an unknown token or one expired by its org's clock.

    ``lookup`` may bring more in the same statement (the meeting a request names).
    """
    owner = await lookup(tx, token_hash)
    if owner is None or (
        owner.expires_at is not None and owner.expires_at <= real_now + owner.org.clock_offset
    ):
        raise Unauthorized(token_sent=True)
    return owner


async def authorize(
    tx: Tx,
    owner: people.TokenOwner,
    *,
    write: bool,
    host_email: Callable[[], str | None],
) -> Caller:
    """The caller for an operation that reads (``write=False``) or changes meetings: 403 without
    the scope; with an admin scope, ``hostEmail`` names the person acted for (404 if unknown).

    ``host_email`` is called only once the token is known good and has the scope: whatever it
    parses (a request body) cannot turn a 401 or 403 into a 400.
    """
    needed = _WRITE_OK if write else _READ_OK
    if not owner.scopes & needed:
        raise Forbidden()
    host_email_value = host_email()
    admin_scope = ADMIN_WRITE_SCOPE if write else ADMIN_READ_SCOPE
    person = owner.person
    # hostEmail is "only used if the caller has admin-level scopes": otherwise it is ignored.
    # Only people of the caller's own org can be named (SPEC §9).
    if host_email_value and (admin_scope in owner.scopes or ADMIN_WRITE_SCOPE in owner.scopes):
        host = await people.get_by_email(tx, owner.person.org_id, host_email_value)
        if host is None:
            raise NotFound(f"Host '{host_email_value}' was not found.")
        person = host
    return Caller(owner.person, person, owner.scopes, owner.org)
