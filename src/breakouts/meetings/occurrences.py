"""Expanding a series' RRULE into occurrence start times (epoch seconds, UTC).

The rule is applied in the meeting's own timezone, so a weekly 09:00 meeting stays at 09:00
local time across daylight-saving changes. Parsed rules are cached: a request touching the
same series twice parses it once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from itertools import islice
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

from breakouts.errors import BadRequest

# A finite series longer than this is refused, so listing and "last occurrence" stay bounded.
MAX_OCCURRENCES = 5000
# No occurrence is considered beyond this many seconds after the series start: every expansion
# (an id lookup, a listing window, an endless rule) then walks at most ~11,000 daily steps.
HORIZON_S = 30 * 366 * 24 * 3600
# What Webex accepts in a meeting recurrence; finer rules (hourly, BYHOUR…) are refused.
_FREQS = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
_PARTS = {
    "FREQ",
    "INTERVAL",
    "COUNT",
    "UNTIL",
    "BYDAY",
    "BYMONTHDAY",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
}


def zone(name: str) -> ZoneInfo:
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise BadRequest(f"'{name}' is not a valid timezone.") from exc


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    if not name or name.startswith(("/", ".")) or ".." in name:
        raise ValueError(name)
    return ZoneInfo(name)


class Rule(NamedTuple):
    capped: rrule  # the rule with its search stopped at the horizon, without COUNT
    count_: int | None  # COUNT, applied by the caller (NamedTuple reserves `count`)
    until: datetime | None  # the rule's own UNTIL
    horizon: datetime


@lru_cache(maxsize=4096)
def _rule(recurrence: str, start_s: int, timezone: str) -> Rule:
    """Parse once; stop every later search at the horizon.

    dateutil stops looking only at UNTIL or when COUNT is reached: a rule that never matches
    (FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31) would otherwise be searched to the year 9999 on the
    event loop. UNTIL is capped at the horizon and COUNT is taken off the rule (dateutil warns
    when a rule has both) and applied with islice instead.
    """
    dtstart = datetime.fromtimestamp(start_s, UTC).astimezone(_zone(timezone))
    rule = rrulestr(recurrence.removeprefix("RRULE:"), dtstart=dtstart, forceset=False)
    if not isinstance(rule, rrule):
        raise ValueError("only a single RRULE is supported")
    count: int | None = rule._count  # dateutil exposes no accessor
    until: datetime | None = rule._until
    horizon = datetime.fromtimestamp(start_s + HORIZON_S, UTC)
    capped = horizon if until is None else min(until, horizon)
    return Rule(rule.replace(count=None, until=capped), count, until, horizon)


def _starts(recurrence: str, start_s: int, timezone: str) -> Iterator[datetime]:
    r = _rule(recurrence, start_s, timezone)
    return iter(r.capped) if r.count_ is None else islice(r.capped, r.count_)


def parse_rule(recurrence: str, start_s: int, timezone: str) -> None:
    """Check the rule, or 400 naming the field."""
    zone(timezone)
    _check_parts(recurrence)
    try:
        _rule(recurrence, start_s, timezone)
    except Exception as exc:  # dateutil raises several kinds for bad input; all are the client's
        raise BadRequest(f"'recurrence' is not a valid RRULE: {recurrence!r}.") from exc


def _check_parts(recurrence: str) -> None:
    parts: dict[str, str] = {}
    for item in recurrence.removeprefix("RRULE:").split(";"):
        key, sep, value = item.partition("=")
        key = key.strip().upper()
        if not sep or key not in _PARTS or key in parts:
            raise BadRequest(
                f"'recurrence' part '{item}' is not supported; use FREQ (DAILY, WEEKLY, MONTHLY, "
                "YEARLY) with INTERVAL, COUNT, UNTIL, BYDAY, BYMONTHDAY, BYMONTH, BYSETPOS, WKST."
            )
        parts[key] = value.strip().upper()
    if parts.get("FREQ") not in _FREQS:
        raise BadRequest("'recurrence' needs FREQ=DAILY, WEEKLY, MONTHLY or YEARLY.")
    interval = parts.get("INTERVAL", "1")
    if not interval.isdigit() or not 1 <= int(interval) <= 1000:
        raise BadRequest("'recurrence' INTERVAL must be a whole number from 1 to 1000.")
    count = parts.get("COUNT", "1")
    if not count.isdigit() or not 1 <= int(count) <= MAX_OCCURRENCES:
        raise BadRequest(f"'recurrence' COUNT must be a whole number from 1 to {MAX_OCCURRENCES}.")
    _check_can_occur(parts)


# Longest month for each month number (February 29 counts: leap years come round).
_MONTH_DAYS = {
    1: 31,
    2: 29,
    3: 31,
    4: 30,
    5: 31,
    6: 30,
    7: 31,
    8: 31,
    9: 30,
    10: 31,
    11: 30,
    12: 31,
}


def _numbers(text: str | None) -> list[int]:
    if not text:
        return []
    try:
        return [int(x) for x in text.split(",")]
    except ValueError as exc:
        raise BadRequest(
            f"'recurrence' has a part that is not a list of numbers: {text!r}."
        ) from exc


def _check_can_occur(parts: dict[str, str]) -> None:
    """Refuse the rule shapes that never occur, before dateutil searches for them.

    dateutil stops a search only at a match, or at the year 9999: a rule that never matches
    (February 31) costs seconds of CPU on the event loop. These are the shapes that cannot
    occur within the grammar we accept.
    """
    freq = parts["FREQ"]
    months = _numbers(parts.get("BYMONTH")) or list(range(1, 13))
    if any(not 1 <= m <= 12 for m in months):
        raise BadRequest("'recurrence' BYMONTH must be from 1 to 12.")
    days = _numbers(parts.get("BYMONTHDAY"))
    if any(d == 0 or not -31 <= d <= 31 for d in days):
        raise BadRequest("'recurrence' BYMONTHDAY must be from 1 to 31 or -31 to -1.")
    if days and not any(abs(d) <= _MONTH_DAYS[m] for d in days for m in months):
        raise BadRequest("'recurrence' names no day that exists (BYMONTH with BYMONTHDAY).")
    for day in filter(None, (parts.get("BYDAY") or "").split(",")):
        ordinal = day[:-2]
        if ordinal:
            limit = 53 if freq == "YEARLY" and "BYMONTH" not in parts else 5
            if freq not in ("MONTHLY", "YEARLY") or not ordinal.lstrip("+-").isdigit():
                raise BadRequest(f"'recurrence' BYDAY={day} needs FREQ=MONTHLY or YEARLY.")
            if not 1 <= abs(int(ordinal)) <= limit:
                raise BadRequest(f"'recurrence' BYDAY={day}: the ordinal must be 1 to {limit}.")
    positions = _numbers(parts.get("BYSETPOS"))
    if positions:
        if freq not in ("MONTHLY", "YEARLY") or not (days or parts.get("BYDAY")):
            raise BadRequest(
                "'recurrence' BYSETPOS needs FREQ=MONTHLY or YEARLY with BYDAY or BYMONTHDAY."
            )
        if any(p == 0 or abs(p) > 4 for p in positions):
            raise BadRequest("'recurrence' BYSETPOS must be 1 to 4 or -4 to -1.")


def last_start(recurrence: str | None, start_s: int, timezone: str) -> int | None:
    """Start of the last occurrence; None for an endless series. 400 if it cannot be served."""
    if recurrence is None:
        return start_s
    parse_rule(recurrence, start_s, timezone)
    r = _rule(recurrence, start_s, timezone)
    found = list(islice(_starts(recurrence, start_s, timezone), MAX_OCCURRENCES + 1))
    if not found:
        raise BadRequest("'recurrence' yields no occurrence within thirty years of 'start'.")
    if r.count_ is None and r.until is None:
        return None
    if len(found) > MAX_OCCURRENCES:
        raise BadRequest(f"'recurrence' yields more than {MAX_OCCURRENCES} occurrences.")
    cut_by_horizon = r.until is None or r.until > r.horizon
    if cut_by_horizon and (r.count_ is None or len(found) < r.count_):
        raise BadRequest("'recurrence' runs past thirty years after 'start'; end it sooner.")
    return int(found[-1].timestamp())


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
    hi = min(hi, start_s + HORIZON_S + 1)
    if hi <= lo:
        return []
    out: list[int] = []
    for occ in _starts(recurrence, start_s, timezone):
        s = int(occ.timestamp())
        if s < lo:
            continue
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
    found = starts_between(recurrence, start_s, timezone, after, after + HORIZON_S, 1)
    return found[0] if found else None
