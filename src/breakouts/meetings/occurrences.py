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
# No occurrence is considered beyond this many seconds after the series start: every expansion
# (an id lookup, a listing window, an endless rule) then walks at most ~3,700 daily steps.
HORIZON_S = 10 * 366 * 24 * 3600
# What Webex accepts in a meeting recurrence; finer rules (hourly, BYHOUR…) are refused.
_FREQS = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}
_PARTS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"}


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
    _check_parts(recurrence)
    try:
        return _rule(recurrence, start_s, timezone)
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


def last_start(recurrence: str | None, start_s: int, timezone: str) -> int | None:
    """Start of the last occurrence; None for an endless series. 400 if too long."""
    if recurrence is None:
        return start_s
    rule = parse_rule(recurrence, start_s, timezone)
    if getattr(rule, "_count", None) is None and getattr(rule, "_until", None) is None:
        return None
    last: datetime | None = None
    horizon = datetime.fromtimestamp(start_s + HORIZON_S, UTC)
    for n, occ in enumerate(rule):
        if occ > horizon:
            break
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
    hi = min(hi, start_s + HORIZON_S + 1)
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
    found = starts_between(recurrence, start_s, timezone, after, after + HORIZON_S, 1)
    return found[0] if found else None
