"""Expanding a series' RRULE into occurrence start times (epoch seconds, UTC).

The rule is applied in the meeting's own timezone, so a weekly 09:00 meeting stays at 09:00
local time across daylight-saving changes. dateutil parses the rule and fills in its defaults (a
weekly rule's day is its start's weekday, a monthly rule's day its start's day…); the expansion
is done here, on dates. dateutil's iterator walks a series from its first occurrence, and on to
the next match however far: on the event loop, an id thirty years out cost ~70 ms (of CPU), and
refusing a rule that never matches a second.

Here every question starts at the period (day, week, month or year of the rule) that holds the
time asked about: checking an occurrence id evaluates one or two periods (tens of µs), whatever
its date. A month's matching days are computed once per kind of month (first weekday, length) and
rule shape. Only two things count from the first occurrence, and never past the horizon: the end
of a COUNT rule (once per rule and process, cached with the rule: at most 361 months, ~2 ms) and
``last_start`` at create/update (the same bound). A month without a match costs a few µs, so a
rule that never matches is as cheap as one that does. ``tests/meetings/test_occurrence_cost.py``
checks the answers against dateutil's own walk, and measures the worst ids.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr

from breakouts.errors import BadRequest
from breakouts.text import whole_number

# A finite series longer than this is refused, so listing and "last occurrence" stay bounded.
MAX_OCCURRENCES = 5000
# No occurrence is considered beyond this many seconds after the series start: a search to the
# end of an endless rule covers at most 31 years, 361 months (of a few operations each).
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
_DAY_S = 24 * 3600
_MAX_DAY = date.max.toordinal()
_NEVER = 1 << 62  # the timestamp of a date past year 9999


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


# What picks the days of a month: BYMONTHDAY (negative: from the month's end), BYDAY without
# ordinals (0 = Monday), and, when the month is the rule's period (MONTHLY) or BYMONTH splits a
# year in months (YEARLY), BYDAY with ordinals; BYSETPOS when the month is the period.
Shape = tuple[tuple[int, ...], frozenset[int] | None, tuple[tuple[int, int], ...], tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Rule:
    """A parsed rule, on proleptic Gregorian day numbers (``date.toordinal()``).

    Every occurrence is at the start's wall time, ``hms``, on a matching day ``d`` with
    ``first <= d <= last``; its instant is that wall time in ``tz`` (``fold=0``, as dateutil).
    """

    freq: int
    interval: int
    tz: ZoneInfo
    hms: tuple[int, int, int]
    first: int  # the start's day: dateutil yields nothing before it
    last: int  # the last day that UNTIL, the horizon and COUNT allow
    counted: int | None  # for a COUNT rule, its occurrences (COUNT, or fewer if cut short)
    week0: int  # the first day (WKST) of the start's week: weekly periods count from it
    months: frozenset[int] | None
    templates: tuple[bytes, ...]  # a month's matching days, by kind of month (_templates)
    every_day: bool  # no BYMONTHDAY, no BYDAY: every day of a month in BYMONTH is a candidate
    nth_weekdays: tuple[tuple[int, int], ...]  # BYDAY with an ordinal: (weekday, n)
    setpos: tuple[int, ...]
    count: int | None  # COUNT
    until: datetime | None  # the rule's own UNTIL
    horizon: datetime


def _parse(recurrence: str, start_s: int, timezone: str) -> tuple[rrule, datetime]:
    dtstart = datetime.fromtimestamp(start_s, UTC).astimezone(_zone(timezone))
    parsed = rrulestr(recurrence.removeprefix("RRULE:"), dtstart=dtstart, forceset=False)
    if not isinstance(parsed, rrule):
        raise ValueError("only a single RRULE is supported")
    # dateutil exposes no accessors: these are its normalized fields, its defaults filled in.
    if (
        parsed._freq not in (YEARLY, MONTHLY, WEEKLY, DAILY)
        or len(parsed._timeset) != 1
        or parsed._byweekno
        or parsed._byyearday
        or parsed._byeaster
    ):
        raise ValueError("unsupported rule")
    return parsed, datetime.fromtimestamp(start_s + HORIZON_S, UTC)


@lru_cache(maxsize=4096)
def _rule(recurrence: str, start_s: int, timezone: str) -> Rule:
    """Parse once; a COUNT rule's last day is counted here, once per rule and process."""
    p, horizon = _parse(recurrence, start_s, timezone)
    t = p._timeset[0]
    first = p._dtstart.toordinal()
    until: datetime | None = p._until
    nth: tuple[tuple[int, int], ...] = tuple(p._bynweekday or ())
    setpos: tuple[int, ...] = tuple(p._bysetpos or ())
    monthdays = tuple(p._bymonthday or ()) + tuple(p._bynmonthday or ())
    weekdays = frozenset(p._byweekday or ())
    if len(weekdays) == 7:  # every day of the week: no filter
        weekdays = frozenset()
    rule = Rule(
        freq=p._freq,
        interval=p._interval,
        tz=_zone(timezone),
        hms=(t.hour, t.minute, t.second),
        first=first,
        last=first,
        counted=None,
        week0=first - (date.fromordinal(first).weekday() - p._wkst) % 7,
        months=frozenset(p._bymonth) if p._bymonth else None,
        templates=_templates(
            (
                monthdays,
                weekdays or None,
                nth if p._freq == MONTHLY or (p._freq == YEARLY and p._bymonth) else (),
                setpos if p._freq == MONTHLY else (),
            )
        ),
        every_day=not (monthdays or weekdays or nth or setpos),
        nth_weekdays=nth,
        setpos=setpos,
        count=p._count,
        until=until,
        horizon=horizon,
    )
    # UNTIL and the horizon are instants; an occurrence's instant grows with its day. None
    # starts a day before the series (and an UNTIL in year 1 would not convert).
    cap = horizon if until is None else min(until, horizon)
    cap_s = max(cap.timestamp(), start_s - _DAY_S)
    rule = replace(rule, last=_first_day_at_or_after(rule, cap_s, strictly=True) - 1)
    if rule.count is not None:
        # No occurrence lies between the last counted and the cap: the last day is the last one.
        counted, last = _count(rule, rule.count)
        rule = replace(rule, last=last if counted else first - 1, counted=counted)
    return rule


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
    interval = whole_number(parts.get("INTERVAL", "1"))
    if interval is None or not 1 <= interval <= 1000:
        raise BadRequest("'recurrence' INTERVAL must be a whole number from 1 to 1000.")
    count = whole_number(parts.get("COUNT", "1"))
    if count is None or not 1 <= count <= MAX_OCCURRENCES:
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
    """Refuse the rule shapes that never occur (February 31), naming the part at fault.

    (dateutil's own iterator searched such a rule to the year 9999; the expansion below does not
    search past the horizon, so a shape missed here only ends in "yields no occurrence".)
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
            number = whole_number(ordinal.lstrip("+-"), 2)
            if freq not in ("MONTHLY", "YEARLY") or number is None:
                raise BadRequest(f"'recurrence' BYDAY={day} needs FREQ=MONTHLY or YEARLY.")
            if not 1 <= number <= limit:
                raise BadRequest(f"'recurrence' BYDAY={day}: the ordinal must be 1 to {limit}.")
    positions = _numbers(parts.get("BYSETPOS"))
    if positions:
        if freq not in ("MONTHLY", "YEARLY") or not (days or parts.get("BYDAY")):
            raise BadRequest(
                "'recurrence' BYSETPOS needs FREQ=MONTHLY or YEARLY with BYDAY or BYMONTHDAY."
            )
        if any(p == 0 or abs(p) > 4 for p in positions):
            raise BadRequest("'recurrence' BYSETPOS must be 1 to 4 or -4 to -1.")


# --- days and instants ------------------------------------------------------------------------


def _instant(r: Rule, day: int) -> int:
    """The start of the occurrence on ``day`` (whether or not the rule matches it)."""
    if day > _MAX_DAY:
        return _NEVER
    d = date.fromordinal(day)
    h, m, s = r.hms
    return int(datetime(d.year, d.month, d.day, h, m, s, tzinfo=r.tz).timestamp())


def _first_day_at_or_after(r: Rule, at: float, *, strictly: bool = False) -> int:
    """The first day whose occurrence would start at or after ``at`` (after, if ``strictly``).

    Instants grow with the day (an offset changes by less than a day), so the answer is within a
    day or two of ``at``'s local date, itself within a day of its UTC date (which, unlike the
    local one, cannot overflow: ``at`` is within the horizon).
    """
    utc = datetime.fromtimestamp(at, UTC).toordinal()
    for day in range(utc - 2, utc + 4):
        s = _instant(r, day)
        if s > at or (s == at and not strictly):
            return day
    return utc + 4


_LENGTHS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _length(year: int, month: int) -> int:
    return 29 if month == 2 and calendar.isleap(year) else _LENGTHS[month]


def _pick(days: list[int], setpos: tuple[int, ...]) -> list[int]:
    """BYSETPOS: the n-th (from the end, if negative) of a period's days, in order."""
    n = len(days)
    return sorted(
        {days[p - 1 if p > 0 else p] for p in setpos if -n <= (p - 1 if p > 0 else p) < n}
    )


def _nth(nth_weekdays: tuple[tuple[int, int], ...], weekday0: int, length: int) -> set[int]:
    """The days (1-based) of a span of ``length`` days, starting on ``weekday0``, that a BYDAY
    with ordinals names (``2MO``, ``-1FR``)."""
    last_weekday = (weekday0 + length - 1) % 7
    out: set[int] = set()
    for weekday, n in nth_weekdays:
        if n > 0:
            day = 1 + (weekday - weekday0) % 7 + (n - 1) * 7
        else:
            day = length - (last_weekday - weekday) % 7 + (n + 1) * 7
        if 1 <= day <= length:
            out.add(day)
    return out


@lru_cache(maxsize=4096)
def _templates(shape: Shape) -> tuple[bytes, ...]:
    """The matching days (offsets from the 1st) of every kind of month, from the rule's shape.

    A month's matches depend only on its first weekday and its length: 28 kinds, indexed by
    ``weekday * 4 + length - 28``. Shared by the rules of one shape; 2 KB at most each.
    """
    monthdays, weekdays, nth, setpos = shape
    out: list[bytes] = []
    for weekday0 in range(7):
        for length in (28, 29, 30, 31):
            if monthdays:
                days = sorted(
                    {d if d > 0 else length + 1 + d for d in monthdays if abs(d) <= length}
                )
            else:
                days = list(range(1, length + 1))
            if weekdays is not None:
                days = [d for d in days if (weekday0 + d - 1) % 7 in weekdays]
            if nth:
                named = _nth(nth, weekday0, length)
                days = [d for d in days if d in named]
            if setpos:
                days = _pick(days, setpos)
            out.append(bytes(d - 1 for d in days))
    return tuple(out)


def _month_days(r: Rule, first: int, month: int, length: int) -> list[int]:
    """The days of the month starting on day ``first`` that BYMONTH, BYMONTHDAY and BYDAY let
    through (for MONTHLY, with its BYDAY ordinals and BYSETPOS)."""
    if r.months is not None and month not in r.months:
        return []
    return [first + offset for offset in r.templates[(first - 1) % 7 * 4 + length - 28]]


def _year_days(r: Rule, year: int) -> list[int]:
    """The matching days of a year (YEARLY): BYDAY ordinals count in the year without BYMONTH."""
    days: list[int] = []
    year_first = first = date(year, 1, 1).toordinal()
    for month in range(1, 13):
        length = _length(year, month)
        days += _month_days(r, first, month, length)
        first += length
    if r.nth_weekdays and r.months is None:
        named = _nth(r.nth_weekdays, (year_first - 1) % 7, first - year_first)
        days = [d for d in days if d - year_first + 1 in named]
    return _pick(days, r.setpos) if r.setpos else days


def _weekly_daily(r: Rule, first: int, month: int, length: int, lo: int, hi: int) -> Sequence[int]:
    """The matching days of [lo, hi] in one month (DAILY, WEEKLY: no ordinals nor BYSETPOS)."""
    start = _next_aligned(r, lo)
    if start > hi or (r.months is not None and month not in r.months):
        return ()
    if r.every_day and r.freq == DAILY:
        return range(start, hi + 1, r.interval)
    days = _month_days(r, first, month, length)
    if start > first or hi < first + length - 1:
        days = days[bisect_left(days, start) : bisect_right(days, hi)]
    step = r.interval
    if step == 1 or not days:
        return days
    if r.freq == DAILY:
        if days[-1] - days[0] + 1 == len(days):  # every day: every step-th of them
            return days[(start - days[0]) % step :: step]
        return [day for day in days if (day - start) % step == 0]
    out: list[int] = []
    week = start - (start - r.week0) % 7  # the first day of each week that is in the rule
    while week <= hi:
        out += days[bisect_left(days, week) : bisect_left(days, week + 7)]
        week += 7 * step
    return out


def _next_aligned(r: Rule, day: int) -> int:
    """The first day at or after ``day`` in one of the rule's periods (DAILY, WEEKLY)."""
    if r.interval == 1:
        return day
    if r.freq == DAILY:
        return day + (r.first - day) % r.interval
    week = (day - r.week0) // 7
    if week % r.interval == 0:
        return day
    return r.week0 + 7 * (week + (-week) % r.interval)


def _chunks(r: Rule, lo: int, hi: int) -> Iterator[Sequence[int]]:
    """The matching days of [lo, hi] (within the rule's first and last), a period or month a
    list, in order. Starts at the period that holds ``lo``, found by arithmetic."""
    lo, hi = max(lo, r.first), min(hi, r.last)
    if lo > hi:
        return
    start = date.fromordinal(lo)
    step = r.interval
    if r.freq == YEARLY:
        origin = date.fromordinal(r.first).year
        year = start.year + (origin - start.year) % step
        while year <= date.max.year and date(year, 1, 1).toordinal() <= hi:
            yield [d for d in _year_days(r, year) if lo <= d <= hi]
            year += step
    elif r.freq == MONTHLY:
        origin_day = date.fromordinal(r.first)
        origin = origin_day.year * 12 + origin_day.month - 1
        index = start.year * 12 + start.month - 1
        index += (origin - index) % step
        while index // 12 <= date.max.year:
            year, month = divmod(index, 12)
            first = date(year, month + 1, 1).toordinal()
            if first > hi:
                return
            days = _month_days(r, first, month + 1, _length(year, month + 1))
            yield [d for d in days if lo <= d <= hi]
            index += step
    else:
        year, month = start.year, start.month
        first = date(year, month, 1).toordinal()
        while first <= hi:
            length = _length(year, month)
            yield _weekly_daily(
                r, first, month, length, max(lo, first), min(hi, first + length - 1)
            )
            first += length
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            if year > date.max.year:
                return


def _days(r: Rule, lo: int, hi: int) -> Iterator[int]:
    """The matching days of [lo, hi] (within the rule's first and last), in order."""
    for chunk in _chunks(r, lo, hi):
        yield from chunk


def _count(r: Rule, most: int) -> tuple[int, int]:
    """How many occurrences the rule has (stopping at ``most``), and the day of the last."""
    n, last = 0, r.first
    for chunk in _chunks(r, r.first, r.last):
        if n + len(chunk) >= most:
            return most, chunk[most - n - 1]
        if chunk:
            n, last = n + len(chunk), chunk[-1]
    return n, last


# --- what the rest of the service asks --------------------------------------------------------


def last_start(recurrence: str | None, start_s: int, timezone: str) -> int | None:
    """Start of the last occurrence; None for an endless series. 400 if it cannot be served.

    Bounded: counts at most MAX_OCCURRENCES + 1 occurrences, over at most the horizon (a COUNT
    rule was counted when it was parsed); an endless rule only looks for its first occurrence.
    """
    if recurrence is None:
        return start_s
    parse_rule(recurrence, start_s, timezone)
    r = _rule(recurrence, start_s, timezone)
    if r.count is None and r.until is None:
        if next(_days(r, r.first, r.last), None) is None:
            raise BadRequest("'recurrence' yields no occurrence within thirty years of 'start'.")
        return None
    found, last = (r.counted, r.last) if r.counted is not None else _count(r, MAX_OCCURRENCES + 1)
    if not found:
        raise BadRequest("'recurrence' yields no occurrence within thirty years of 'start'.")
    if found > MAX_OCCURRENCES:
        raise BadRequest(f"'recurrence' yields more than {MAX_OCCURRENCES} occurrences.")
    cut_by_horizon = r.until is None or r.until > r.horizon
    if cut_by_horizon and (r.count is None or found < r.count):
        raise BadRequest("'recurrence' runs past thirty years after 'start'; end it sooner.")
    return _instant(r, last)


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
    # No occurrence starts a day before the series (an ambiguous start hour moves it by one).
    lo = max(lo, start_s - _DAY_S)
    if hi <= lo or limit <= 0:
        return []
    r = _rule(recurrence, start_s, timezone)
    out: list[int] = []
    for day in _days(r, _first_day_at_or_after(r, lo), _first_day_at_or_after(r, hi) - 1):
        out.append(_instant(r, day))
        if len(out) >= limit:
            break
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
