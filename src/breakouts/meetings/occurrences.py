"""Expanding a series' RRULE into occurrence start times (epoch seconds, UTC).

The rule is applied in the meeting's own timezone, so a weekly 09:00 meeting stays at 09:00
local time across daylight-saving changes. Parsed rules are cached: a request touching the
same series twice parses it once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

from breakouts.errors import BadRequest

# A finite series longer than this is refused, so listing and "last occurrence" stay bounded.
MAX_OCCURRENCES = 5000


def zone(name: str) -> ZoneInfo:
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadRequest(f"'{name}' is not a valid timezone.") from exc


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    if not name or name.startswith(("/", ".")) or ".." in name:
        raise ValueError(name)
    return ZoneInfo(name)


@lru_cache(maxsize=4096)
def _rule(recurrence: str, start_s: int, timezone: str) -> rrule:
    dtstart = datetime.fromtimestamp(start_s, UTC).astimezone(_zone(timezone))
    rule = rrulestr(recurrence.removeprefix("RRULE:"), dtstart=dtstart, forceset=False)
    if not isinstance(rule, rrule):
        raise ValueError("only a single RRULE is supported")
    return rule


def parse_rule(recurrence: str, start_s: int, timezone: str) -> rrule:
    """The rule, or 400 naming the field."""
    zone(timezone)
    try:
        return _rule(recurrence, start_s, timezone)
    except (ValueError, TypeError, OverflowError) as exc:
        raise BadRequest(f"'recurrence' is not a valid RRULE: {recurrence!r}.") from exc


def last_start(recurrence: str | None, start_s: int, timezone: str) -> int | None:
    """Start of the last occurrence; None for an endless series. 400 if too long."""
    if recurrence is None:
        return start_s
    rule = parse_rule(recurrence, start_s, timezone)
    if getattr(rule, "_count", None) is None and getattr(rule, "_until", None) is None:
        return None
    last: datetime | None = None
    for n, occ in enumerate(rule):
        if n >= MAX_OCCURRENCES:
            raise BadRequest(
                f"'recurrence' yields more than {MAX_OCCURRENCES} occurrences; use COUNT or UNTIL."
            )
        last = occ
    if last is None:
        raise BadRequest("'recurrence' yields no occurrence on or after 'start'.")
    return int(last.timestamp())


def starts_between(
    recurrence: str | None,
    start_s: int,
    timezone: str,
    lo: int,
    hi: int,
    limit: int = MAX_OCCURRENCES,
) -> list[int]:
    """Occurrence starts ``s`` with ``lo <= s < hi``, in order, at most ``limit``."""
    if recurrence is None:
        return [start_s] if lo <= start_s < hi else []
    if hi <= lo:
        return []
    rule = _rule(recurrence, start_s, timezone)
    out: list[int] = []
    lo_dt = datetime.fromtimestamp(max(lo, start_s), UTC)
    for occ in rule.xafter(lo_dt, inc=True):
        s = int(occ.timestamp())
        if s >= hi or len(out) >= limit:
            break
        out.append(s)
    return out


def is_occurrence(recurrence: str | None, start_s: int, timezone: str, candidate: int) -> bool:
    if candidate < start_s:
        return False
    return starts_between(recurrence, start_s, timezone, candidate, candidate + 1, 1) == [candidate]


def first_start_after(
    recurrence: str | None, start_s: int, timezone: str, after: int
) -> int | None:
    """The first occurrence starting at or after ``after``."""
    if recurrence is None:
        return start_s if start_s >= after else None
    rule = _rule(recurrence, start_s, timezone)
    occ = rule.after(datetime.fromtimestamp(max(after, start_s), UTC), inc=True)
    return None if occ is None else int(occ.timestamp())
