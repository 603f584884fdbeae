"""Fault rules (SPEC §10): what the control plane makes an org's requests or mail answer.

Rules are stored per org; each process keeps a copy per org, checked against the org's
``version`` that every request reads with its token (``people.repository.token_owner``). An org
without rules costs a dict lookup; a changed org costs one query on its next request, on every
process. Counted rules are spent in the database (``take``), so ``count`` holds across
processes: a hit that finds the rule spent by another process is not a hit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from breakouts.db import Row, Tx
from breakouts.orgs import repository as repo
from breakouts.orgs.repository import OrgState

ANY_OPERATION = "*"
SMTP = "smtp"


@dataclass(frozen=True, slots=True)
class FaultRule:
    id: int
    operation: str
    status: int | None
    retry_after: int | None
    message: str | None
    probability: float
    remaining: int | None
    latency_ms: int | None
    created_at: int

    def applies_to(self, operation: str) -> bool:
        if self.operation == SMTP:
            return operation == SMTP
        return self.operation in (operation, ANY_OPERATION) and operation != SMTP

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.id),
            "operation": self.operation,
            "probability": self.probability,
            "remaining": self.remaining,
        }
        for key, value in (
            ("status", self.status),
            ("retryAfter", self.retry_after),
            ("message", self.message),
            ("latencyMs", self.latency_ms),
        ):
            if value is not None:
                out[key] = value
        return out


def rule_of(row: Row) -> FaultRule:
    return FaultRule(
        row["id"],
        row["operation"],
        row["status"],
        row["retry_after"],
        row["message"],
        float(row["probability"]),
        row["remaining"],
        row["latency_ms"],
        row["created_at"],
    )


def pick(rules: list[FaultRule], operation: str, rng: random.Random) -> FaultRule | None:
    """The first rule for ``operation`` whose dice say yes (rules in the order they were added)."""
    for rule in rules:
        if rule.applies_to(operation) and (
            rule.probability >= 1 or rng.random() < rule.probability
        ):
            return rule
    return None


class FaultBook:
    """This process's copy of each org's rules, refreshed when the org's version moves."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._cache: dict[str, tuple[int, list[FaultRule]]] = {}
        self.rng = rng or random.Random()

    async def match(self, tx: Tx, org: OrgState, operation: str) -> FaultRule | None:
        cached = self._cache.get(org.id)
        if cached is None or cached[0] != org.version:
            rules = [rule_of(r) for r in await repo.fault_rows(tx, org.id)]
            if len(self._cache) > 10_000:  # orgs come and go in test suites: stay bounded
                self._cache.clear()
            cached = self._cache[org.id] = (org.version, rules)
        if not cached[1]:
            return None
        return pick(cached[1], operation, self.rng)

    def forget(self, org_id: str) -> None:
        self._cache.pop(org_id, None)


async def take(tx: Tx, org_id: str, rule: FaultRule) -> bool:
    """Spend one hit of ``rule`` (always True for an unlimited one)."""
    if rule.remaining is None:
        return True
    return await repo.take_fault(tx, org_id, rule.id)
