"""The rules a breakout plan must keep (SPEC §5), as pure functions."""

from __future__ import annotations

from collections.abc import Sequence

from breakouts.errors import BadRequest
from breakouts.ids import new_hex32
from breakouts.plans.repository import Session
from breakouts.text import is_email

MAX_SESSIONS = 100
MAX_NAME = 255
MAX_INVITEES_PER_SESSION = 1000


def build_plan(items: Sequence[tuple[str, Sequence[str]]], field: str = "items") -> list[Session]:
    """Validate ``(name, invitees)`` pairs and give each session a new id.

    400 names the offending item: too many sessions, an empty or long name, a bad email, or an
    invitee in two sessions (emails compared case-insensitively).
    """
    if len(items) > MAX_SESSIONS:
        raise BadRequest(
            f"'{field}' has {len(items)} sessions; at most {MAX_SESSIONS} are allowed."
        )
    seen: dict[str, int] = {}
    sessions: list[Session] = []
    for n, (name, invitees) in enumerate(items):
        where = f"{field}[{n}]"
        if not name.strip():
            raise BadRequest(f"'{where}.name' must not be empty.")
        if len(name) > MAX_NAME:
            raise BadRequest(f"'{where}.name' is longer than {MAX_NAME} characters.")
        if len(invitees) > MAX_INVITEES_PER_SESSION:
            raise BadRequest(
                f"'{where}.invitees' has more than {MAX_INVITEES_PER_SESSION} entries."
            )
        kept: list[str] = []
        for k, email in enumerate(invitees):
            if not is_email(email):
                raise BadRequest(f"'{where}.invitees[{k}]' is not a valid email: '{email}'.")
            key = email.lower()
            if key in seen:
                if seen[key] == n:
                    continue  # the same person twice in one session counts once
                raise BadRequest(
                    f"'{where}.invitees[{k}]': '{email}' is already assigned to "
                    f"'{field}[{seen[key]}]'; one invitee can be in one breakout session only."
                )
            seen[key] = n
            kept.append(email)
        sessions.append(Session(new_hex32(), name, kept))
    return sessions
