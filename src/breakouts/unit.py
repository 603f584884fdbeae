"""The request's unit of work: rate limit, authenticate, obey the org's faults, one transaction.

Routes stay thin: they parse what the request says, call ``run`` with a service function, and
shape the answer. ``run`` owns the request's one transaction: it checks the token, applies the
rate limit, opens the transaction, authenticates (the same query brings the caller's org: its
clock, journal flag and fault-rules version), obeys a fault rule of the org if one matches,
builds the ``Ctx`` and commits (or rolls back on any error).

A matched fault leaves the transaction before anything is written (so the faulted request
changes nothing and queues no mail); a counted rule is then spent in a transaction of its
own, so ``count`` holds across processes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from starlette.requests import Request

from breakouts.auth import TokenLookup, authorize, bearer_token, check_token
from breakouts.context import Ctx
from breakouts.errors import error_for_status
from breakouts.orgs import faults, journal
from breakouts.orgs.faults import FaultRule
from breakouts.people.repository import token_owner
from breakouts.people.service import hash_token
from breakouts.state import app_state, tracking_id

T = TypeVar("T")


class _Faulted(Exception):
    """Raised inside the transaction so that it rolls back; handled just outside it."""

    def __init__(self, rule: FaultRule, org_id: str) -> None:
        super().__init__(rule.id)
        self.rule = rule
        self.org_id = org_id


async def run(
    request: Request,
    op: Callable[[Ctx], Awaitable[T]],
    *,
    operation: str,
    write: bool,
    host_email: Callable[[], str | None] = lambda: None,
    lookup: TokenLookup | None = None,
) -> T:
    """Run ``op`` as the authenticated caller in one transaction.

    ``operation`` is the upstream operationId (fault rules and the journal name it).
    ``lookup`` replaces the token lookup with one that also brings what the request names
    (``meetings.repository.SeriesLookup``), so the request holds it without another statement.
    The token is checked first: parameters and bodies are parsed inside ``op`` (and
    ``host_email``), so a missing or bad token is 401 whatever else the request says.
    """
    state = app_state(request)
    key = hash_token(bearer_token(request.scope["state"]["authorization"]))
    await state.limits.check(key)
    obey_faults = True
    while True:
        try:
            async with state.db.transaction(write=write) as tx:
                real_now = state.clock.now_s()
                owner = await check_token(tx, key, real_now, lookup or token_owner)
                now = real_now + owner.org.clock_offset
                note = None
                if owner.org.journal:
                    note = journal.Note(owner.org.id, now, operation, owner.person.email)
                    request.scope["state"]["journal"] = note
                caller = await authorize(tx, owner, write=write, host_email=host_email)
                if note is not None and caller.on_behalf:
                    note.host_email = caller.person.email
                if obey_faults:
                    rule = await state.faults.match(tx, owner.org, operation)
                    if rule is not None:
                        raise _Faulted(rule, owner.org.id)
                return await op(Ctx(tx, now, caller, tracking_id(request), state.site))
        except _Faulted as hit:
            obey_faults = await _obey(request, hit)


async def _obey(request: Request, hit: _Faulted) -> bool:
    """Do what the matched rule says; False: run the request for real now, True: ask again."""
    state = app_state(request)
    rule = hit.rule
    if rule.remaining is not None:
        async with state.db.transaction(write=True) as tx:
            taken = await faults.take(tx, hit.org_id, rule)
        if not taken:  # spent by another request, maybe on another process
            state.faults.forget(hit.org_id)
            return True
    if rule.latency_ms:
        await asyncio.sleep(rule.latency_ms / 1000)
    if rule.status is None:
        return False
    note = request.scope["state"].get("journal")
    if note is not None:
        note.fault = str(rule.id)
    raise error_for_status(rule.status, rule.message, retry_after=rule.retry_after)
