"""SQL for meeting series, their occurrences and instances."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from breakouts.db import Row, Tx, from_json, to_json
from breakouts.people import repository as people

_SERIES_COLUMNS = (
    "s.id, s.host_id, s.title, s.agenda, s.password, s.meeting_number, s.host_key, s.timezone,"
    " s.start_at, s.end_at, s.recurrence, s.last_end_at, s.breakouts_enabled, s.options,"
    " p.email AS host_email, p.display_name AS host_name, s.org_id"
)


# Series `s` of the person's org (SPEC §9) that the person (host id, lower-case email) hosts or
# is invited to. The org comes first: an invitation reaches only people of the same org.
_VISIBLE_TO = (
    "s.org_id = ? AND (s.host_id = ?"
    " OR s.id IN (SELECT series_id FROM meeting_invitees WHERE email_lower = ?))"
)


@dataclass(slots=True)
class Series:
    id: str
    host_id: str
    host_email: str
    host_name: str
    title: str
    agenda: str | None
    password: str
    meeting_number: str
    host_key: str
    timezone: str
    start_at: int
    end_at: int
    recurrence: str | None
    last_end_at: int | None
    breakouts_enabled: bool
    options: dict[str, Any] = field(default_factory=dict)
    org_id: str = ""  # set by the service from the caller's org; never stored empty

    @property
    def duration(self) -> int:
        return self.end_at - self.start_at


@dataclass(slots=True)
class Occurrence:
    """The stored state of one scheduled meeting (absent row: all defaults).

    ``start_at`` is the start its rule gives it, its id forever. ``overrides`` holds what this
    one meeting changed: ``title``, ``agenda``, ``password``, and, once moved by PUT/PATCH,
    ``start`` and ``end`` (epoch seconds; the ``moved_start``/``moved_end`` columns mirror them).
    """

    series_id: str
    start_at: int
    has_plan: bool = False
    breakouts_enabled: bool = False
    cancelled: bool = False
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def moved(self) -> bool:
        return "start" in self.overrides

    def times(self, duration: int) -> tuple[int, int]:
        """Its start and end: where it was moved, else where its rule puts it."""
        if "start" in self.overrides:
            return int(self.overrides["start"]), int(self.overrides["end"])
        return self.start_at, self.start_at + duration


@dataclass(slots=True)
class Instance:
    id: str
    series_id: str
    occurrence_start: int
    started_at: int
    ended_at: int | None


def _series(row: Row) -> Series:
    return Series(
        row["id"],
        row["host_id"],
        row["host_email"],
        row["host_name"],
        row["title"],
        row["agenda"],
        row["password"],
        row["meeting_number"],
        row["host_key"],
        row["timezone"],
        row["start_at"],
        row["end_at"],
        row["recurrence"],
        row["last_end_at"],
        bool(row["breakouts_enabled"]),
        from_json(row["options"]),
        row["org_id"],
    )


def _instance(row: Row) -> Instance:
    return Instance(
        row["id"], row["series_id"], row["occurrence_start"], row["started_at"], row["ended_at"]
    )


async def get_series(tx: Tx, series_id: str) -> Series | None:
    row = await tx.fetchone(
        f"SELECT {_SERIES_COLUMNS} FROM meeting_series s JOIN people p ON p.id = s.host_id"
        " WHERE s.id = ?",
        series_id,
    )
    return None if row is None else _series(row)


LOCK_SERIES_SQL = (
    f"SELECT {_SERIES_COLUMNS} FROM meeting_series s JOIN people p ON p.id = s.host_id"
    " WHERE s.id = ? FOR UPDATE OF s"
)


async def lock_series(tx: Tx, series_id: str, found: SeriesLookup | None = None) -> None:
    """Serialize the writes to one meeting series: every write path calls this first.

    PostgreSQL: the series row ``FOR UPDATE``, held to COMMIT, so a PUT and a DELETE of one
    meeting (on any process) run one after the other; a wait past ``lock_wait_ms`` is a 423.
    SQLite: nothing to do, and no statement: there is one writer at a time.

    ``found``: the hot path's token lookup (``SeriesLookup``) read the series before the lock
    was held, so what it brought may be what the transaction we waited for changed. The series
    comes again with the lock (a locking read returns the newest version of the row); its live
    instance is read again by the next statement that needs it (``live_known``), whose snapshot
    is taken once the lock is held. Folding ``FOR UPDATE OF s`` into the lookup is not possible
    (``s`` is on the nullable side of its LEFT JOINs) nor enough (the other tables it reads
    would keep the snapshot taken before the wait).
    """
    if not tx.db.row_locks:
        return
    row = await tx.fetchone(LOCK_SERIES_SQL, series_id)
    if found is not None and found.done and found.series_id == series_id:
        found.series = None if row is None else _series(row)
        found.live, found.live_known = None, False


async def lock_org_series(tx: Tx, org_id: str) -> None:
    """Every series of an org locked (``lock_series``), before the org's rows are deleted."""
    if tx.db.row_locks:
        await tx.fetchall("SELECT id FROM meeting_series WHERE org_id = ? FOR UPDATE", org_id)


async def is_invitee(tx: Tx, series_id: str, email_lower: str) -> bool:
    return (
        await tx.fetchval(
            "SELECT 1 FROM meeting_invitees WHERE series_id = ? AND email_lower = ?",
            series_id,
            email_lower,
        )
        is not None
    )


async def visible_series(
    tx: Tx,
    org_id: str,
    person_id: str,
    email_lower: str,
    lo: int,
    hi: int,
    series_id: str | None,
) -> list[Series]:
    """Series the person hosts or is invited to that may have an occurrence in [lo, hi)."""
    # An occurrence moved before the series' first start (the first one, moved earlier) counts.
    sql = (
        f"SELECT {_SERIES_COLUMNS} FROM meeting_series s JOIN people p ON p.id = s.host_id"
        f" WHERE {_VISIBLE_TO}"
        " AND (s.start_at < ? OR EXISTS (SELECT 1 FROM occurrences o WHERE o.series_id = s.id"
        " AND o.moved_start < ?)) AND (s.last_end_at IS NULL OR s.last_end_at > ?)"
    )
    args: list[Any] = [org_id, person_id, email_lower, hi, hi, lo - 1]
    if series_id is not None:
        sql += " AND s.id = ?"
        args.append(series_id)
    rows = await tx.fetchall(sql + " ORDER BY s.start_at, s.id", *args)
    return [_series(r) for r in rows]


async def insert_series(tx: Tx, s: Series, now: int) -> None:
    if not s.org_id:
        raise ValueError("a series belongs to an org")
    await tx.execute(
        "INSERT INTO meeting_series (id, org_id, host_id, title, agenda, password,"
        " meeting_number, host_key, timezone, start_at, end_at, recurrence, last_end_at,"
        " breakouts_enabled, options, created_at, updated_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        s.id,
        s.org_id,
        s.host_id,
        s.title,
        s.agenda,
        s.password,
        s.meeting_number,
        s.host_key,
        s.timezone,
        s.start_at,
        s.end_at,
        s.recurrence,
        s.last_end_at,
        int(s.breakouts_enabled),
        to_json(s.options),
        now,
        now,
    )


async def update_series(tx: Tx, s: Series, now: int) -> None:
    await tx.execute(
        "UPDATE meeting_series SET title = ?, agenda = ?, password = ?, timezone = ?,"
        " start_at = ?, end_at = ?, recurrence = ?, last_end_at = ?, breakouts_enabled = ?,"
        " options = ?, updated_at = ? WHERE id = ?",
        s.title,
        s.agenda,
        s.password,
        s.timezone,
        s.start_at,
        s.end_at,
        s.recurrence,
        s.last_end_at,
        int(s.breakouts_enabled),
        to_json(s.options),
        now,
        s.id,
    )


SET_FLAG_SQL = "UPDATE meeting_series SET breakouts_enabled = ? WHERE id = ?"
CLEAR_FUTURE_PLANS_SQL = (
    "UPDATE occurrences SET has_plan = 0, breakouts_enabled = 0"
    " WHERE series_id = ? AND start_at > ? AND has_plan = 1"
)


async def set_series_breakouts_enabled(tx: Tx, series_id: str, enabled: bool) -> None:
    await tx.execute(SET_FLAG_SQL, int(enabled), series_id)


async def delete_series(tx: Tx, series_id: str) -> None:
    # Children go first so the delete does not depend on ON DELETE CASCADE being enforced.
    for table in ("breakout_sessions", "instances", "occurrences", "meeting_invitees"):
        await tx.execute(f"DELETE FROM {table} WHERE series_id = ?", series_id)
    await tx.execute("DELETE FROM meeting_series WHERE id = ?", series_id)


@dataclass(frozen=True, slots=True)
class InviteeRow:
    email: str
    display_name: str | None
    co_host: bool


async def insert_invitees(tx: Tx, series_id: str, invitees: list[InviteeRow]) -> None:
    await tx.executemany(
        "INSERT INTO meeting_invitees (series_id, email_lower, email, display_name, co_host)"
        " VALUES (?, ?, ?, ?, ?)",
        [(series_id, i.email.lower(), i.email, i.display_name, int(i.co_host)) for i in invitees],
    )


async def list_invitees(tx: Tx, series_id: str) -> list[InviteeRow]:
    rows = await tx.fetchall(
        "SELECT email, display_name, co_host FROM meeting_invitees WHERE series_id = ?"
        " ORDER BY email_lower",
        series_id,
    )
    return [InviteeRow(r["email"], r["display_name"], bool(r["co_host"])) for r in rows]


# --- occurrences ---------------------------------------------------------------------------


def _occurrence(row: Row) -> Occurrence:
    return Occurrence(
        row["series_id"],
        row["start_at"],
        bool(row["has_plan"]),
        bool(row["breakouts_enabled"]),
        bool(row["cancelled"]),
        from_json(row["overrides"]),
    )


_OCCURRENCE_COLUMNS = "series_id, start_at, has_plan, breakouts_enabled, cancelled, overrides"


async def get_occurrence(tx: Tx, series_id: str, start_at: int) -> Occurrence | None:
    row = await tx.fetchone(
        f"SELECT {_OCCURRENCE_COLUMNS} FROM occurrences WHERE series_id = ? AND start_at = ?",
        series_id,
        start_at,
    )
    return None if row is None else _occurrence(row)


async def occurrences_between(tx: Tx, series_id: str, lo: int, hi: int) -> dict[int, Occurrence]:
    """The stored occurrences whose id (the start their rule gives them) is in [lo, hi)."""
    rows = await tx.fetchall(
        f"SELECT {_OCCURRENCE_COLUMNS} FROM occurrences"
        " WHERE series_id = ? AND start_at >= ? AND start_at < ?",
        series_id,
        lo,
        hi,
    )
    return {r["start_at"]: _occurrence(r) for r in rows}


async def moved_between(tx: Tx, series_id: str, lo: int, hi: int) -> dict[int, Occurrence]:
    """The occurrences (not cancelled) moved to times that overlap [lo, hi), by id."""
    rows = await tx.fetchall(
        f"SELECT {_OCCURRENCE_COLUMNS} FROM occurrences WHERE series_id = ? AND cancelled = 0"
        " AND moved_start < ? AND moved_end > ?",
        series_id,
        hi,
        lo,
    )
    return {r["start_at"]: _occurrence(r) for r in rows}


async def moved_around(tx: Tx, series_id: str, start_at: int, lo: int, hi: int) -> list[Occurrence]:
    """The moved occurrences (not cancelled) in the way of [lo, hi) for occurrence ``start_at``:
    one before it that ends after ``lo``, one after it that starts before ``hi``."""
    rows = await tx.fetchall(
        f"SELECT {_OCCURRENCE_COLUMNS} FROM occurrences WHERE series_id = ? AND cancelled = 0"
        " AND ((start_at < ? AND moved_end > ?) OR (start_at > ? AND moved_start < ?))",
        series_id,
        start_at,
        lo,
        start_at,
        hi,
    )
    return [_occurrence(r) for r in rows]


async def save_occurrence(tx: Tx, o: Occurrence) -> None:
    moved_start, moved_end = o.times(0) if o.moved else (None, None)
    await tx.execute(
        "INSERT INTO occurrences (series_id, start_at, has_plan, breakouts_enabled, cancelled,"
        " overrides, moved_start, moved_end) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (series_id, start_at) DO UPDATE SET"
        " has_plan = excluded.has_plan, breakouts_enabled = excluded.breakouts_enabled,"
        " cancelled = excluded.cancelled, overrides = excluded.overrides,"
        " moved_start = excluded.moved_start, moved_end = excluded.moved_end",
        o.series_id,
        o.start_at,
        int(o.has_plan),
        int(o.breakouts_enabled),
        int(o.cancelled),
        to_json(o.overrides),
        moved_start,
        moved_end,
    )


async def undo_moves(tx: Tx, series_id: str) -> None:
    """Every moved occurrence of the series goes back where its rule puts it."""
    rows = await tx.fetchall(
        f"SELECT {_OCCURRENCE_COLUMNS} FROM occurrences"
        " WHERE series_id = ? AND moved_start IS NOT NULL",
        series_id,
    )
    for row in rows:
        o = _occurrence(row)
        o.overrides.pop("start", None)
        o.overrides.pop("end", None)
        await save_occurrence(tx, o)


async def clear_future_plans(tx: Tx, series_id: str, after: int) -> None:
    """Future occurrences fall back to the series plan (and its flag)."""
    await tx.execute(CLEAR_FUTURE_PLANS_SQL, series_id, after)


# --- instances -----------------------------------------------------------------------------

_INSTANCE_COLUMNS = "id, series_id, occurrence_start, started_at, ended_at"


async def get_instance(tx: Tx, instance_id: str) -> Instance | None:
    row = await tx.fetchone(f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE id = ?", instance_id)
    return None if row is None else _instance(row)


LIVE_SQL = f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE series_id = ? AND ended_at IS NULL"


async def live_instance(tx: Tx, series_id: str) -> Instance | None:
    row = await tx.fetchone(LIVE_SQL, series_id)
    return None if row is None else _instance(row)


async def instance_for_occurrence(tx: Tx, series_id: str, start_at: int) -> Instance | None:
    row = await tx.fetchone(
        f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE series_id = ? AND occurrence_start = ?"
        " ORDER BY started_at DESC LIMIT 1",
        series_id,
        start_at,
    )
    return None if row is None else _instance(row)


async def instances_of(tx: Tx, series_id: str) -> dict[int, Instance]:
    rows = await tx.fetchall(
        f"SELECT {_INSTANCE_COLUMNS} FROM instances WHERE series_id = ? ORDER BY started_at",
        series_id,
    )
    return {r["occurrence_start"]: _instance(r) for r in rows}


async def visible_instances(
    tx: Tx,
    org_id: str,
    person_id: str,
    email_lower: str,
    lo: int,
    hi: int,
    series_id: str | None,
) -> list[Instance]:
    sql = (
        "SELECT i.id, i.series_id, i.occurrence_start, i.started_at, i.ended_at"
        " FROM instances i JOIN meeting_series s ON s.id = i.series_id"
        f" WHERE {_VISIBLE_TO}"
        " AND i.started_at >= ? AND i.started_at < ?"
    )
    args: list[Any] = [org_id, person_id, email_lower, lo, hi]
    if series_id is not None:
        sql += " AND i.series_id = ?"
        args.append(series_id)
    rows = await tx.fetchall(sql + " ORDER BY i.started_at, i.id", *args)
    return [_instance(r) for r in rows]


async def insert_instance(tx: Tx, i: Instance) -> None:
    await tx.execute(
        "INSERT INTO instances (id, series_id, occurrence_start, started_at, ended_at)"
        " VALUES (?, ?, ?, ?, ?)",
        i.id,
        i.series_id,
        i.occurrence_start,
        i.started_at,
        i.ended_at,
    )


async def end_instance(tx: Tx, instance_id: str, ended_at: int) -> None:
    await tx.execute("UPDATE instances SET ended_at = ? WHERE id = ?", ended_at, instance_id)


# --- the hot path's one lookup ---------------------------------------------------------------


def _names(columns: str) -> list[str]:
    """The result names of a column list ("s.id, p.email AS host_email" -> id, host_email)."""
    return [c.strip().rsplit(" ", 1)[-1].rsplit(".", 1)[-1] for c in columns.split(",")]


_LIVE_COLUMNS = "i.id, i.series_id, i.occurrence_start, i.started_at, i.ended_at"
_OWNER_NAMES = _names(people.OWNER_COLUMNS)
# The series' host is `sp` here: `p` is the token's owner.
_LOOKUP_SERIES_COLUMNS = _SERIES_COLUMNS.replace(" p.email AS", " sp.email AS").replace(
    " p.display_name AS", " sp.display_name AS"
)
_SERIES_NAMES = _names(_SERIES_COLUMNS)
_LIVE_NAMES = _names(_LIVE_COLUMNS)
LOOKUP_SQL = (
    f"SELECT {people.OWNER_COLUMNS}, {_LOOKUP_SERIES_COLUMNS}, {_LIVE_COLUMNS}"
    f" FROM {people.OWNER_FROM}"
    " LEFT JOIN meeting_series s ON s.id = ?"
    " LEFT JOIN people sp ON sp.id = s.host_id"
    " LEFT JOIN instances i ON i.series_id = s.id AND i.ended_at IS NULL"
    " WHERE t.token_hash = ?"
)


@dataclass(slots=True)
class SeriesLookup:
    """The token's owner, the series a request names and its live instance, in one statement.

    Pass ``lookup`` as the unit of work's token lookup (``unit.run(lookup=...)``); once it has
    run (``done``), the service takes ``series`` and ``live`` from it instead of asking again.
    Nothing is trusted blindly: visibility, the org and the host are checked as for any series.
    """

    series_id: str
    done: bool = False
    series: Series | None = None
    live: Instance | None = None
    live_known: bool = True  # False once ``lock_series`` has made ``live`` stale

    async def lookup(self, tx: Tx, token_hash: str) -> people.TokenOwner | None:
        row = await tx.fetchone(LOOKUP_SQL, self.series_id, token_hash)
        if row is None:
            return None
        values = list(row)
        a, b = len(_OWNER_NAMES), len(_OWNER_NAMES) + len(_SERIES_NAMES)
        owner = people.owner_of(dict(zip(_OWNER_NAMES, values[:a], strict=True)))
        series = dict(zip(_SERIES_NAMES, values[a:b], strict=True))
        live = dict(zip(_LIVE_NAMES, values[b:], strict=True))
        self.series = None if series["id"] is None else _series(series)
        self.live = None if live["id"] is None else _instance(live)
        self.done = True
        return owner
