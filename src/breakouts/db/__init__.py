"""Storage: the ``Database``/``Tx`` protocols every repository is written against.

Repositories write portable SQL with ``?`` placeholders and read rows by column name; the
SQLite backend (``db/sqlite.py``) runs it as is, inline on the event loop (measured here: a
thread hand-off costs as much as the whole transaction); the PostgreSQL backend
(``db/postgres.py``, asyncpg) translates the placeholders once per statement. ``open_database``
is the only place that looks at the URL: where the backends behave differently, code asks the
database's capabilities (``dialect``, ``row_locks``, ``skip_locked``, ``writable_ctes``, ``group_commit``).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol

import msgspec

Row = Mapping[str, Any]

_encoder = msgspec.json.Encoder()


def to_json(value: Any) -> str:
    """A JSON column's text (columns are TEXT on SQLite and PostgreSQL alike)."""
    return _encoder.encode(value).decode()


def from_json(text: str | bytes) -> Any:
    """A JSON column's value; msgspec, several times faster than ``json.loads`` on our rows."""
    return msgspec.json.decode(text)


class Tx(Protocol):
    """One open transaction."""

    @property
    def db(self) -> Database:
        """The database it belongs to (for its capabilities)."""
        ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (cheap, non-blocking) once this transaction's changes are committed;
        never if it rolls back. It runs on the event loop after the COMMIT, not inside it."""
        ...

    async def fetchone(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchall(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchval(self, sql: str, *args: Any) -> Any: ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; returns the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...


class Database(Protocol):
    url: str

    # What differs between backends, asked instead of the URL.
    @property
    def dialect(self) -> Literal["sqlite", "postgresql"]: ...

    @property
    def row_locks(self) -> bool:
        """``SELECT … FOR UPDATE`` locks rows (SQLite: one writer at a time anyway)."""
        ...

    @property
    def skip_locked(self) -> bool:
        """``FOR UPDATE SKIP LOCKED``: concurrent claimers pass each other."""
        ...

    @property
    def writable_ctes(self) -> bool:
        """Data-modifying statements inside ``WITH``: several writes in one round trip."""
        ...

    @property
    def group_commit(self) -> bool:
        """Concurrent write transactions may share one COMMIT."""
        ...

    def transaction(self, *, write: bool = True) -> AbstractAsyncContextManager[Tx]:
        """A transaction that commits on success and rolls back on any exception."""
        ...

    def notify(self, channel: str) -> None:
        """Wake ``channel``'s listeners: this process's at once, and (PostgreSQL, ``NOTIFY``)
        every other process's. Call it once something is committed (``Tx.after_commit``). A
        hint only: listeners must not depend on it (they poll too); never raises."""
        ...

    def listen(self, channel: str, callback: Callable[[], None]) -> Callable[[], Awaitable[None]]:
        """Call ``callback`` (cheap, non-blocking, on the event loop) when ``channel`` is
        notified, here or (PostgreSQL, ``LISTEN`` on a connection of its own, reopened when
        lost) in any process; also once whenever that listening (re)starts, since a notification
        sent while it was down is lost. Returns the coroutine function that stops it."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class Channels:
    """This process's listeners per channel (both backends' ``notify``/``listen`` local part)."""

    def __init__(self) -> None:
        self._listeners: dict[str, set[Callable[[], None]]] = {}

    def add(self, channel: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Listen; returns the function that stops listening."""
        self._listeners.setdefault(channel, set()).add(callback)
        return lambda: self._listeners.get(channel, set()).discard(callback)

    def ring(self, channel: str) -> None:
        for callback in tuple(self._listeners.get(channel, ())):
            callback()


def open_database(url: str, **options: Any) -> Database:
    """The backend for a ``DATABASE_URL``: ``sqlite:///…`` or ``postgresql://…``.

    ``options`` may name both backends' settings (the app passes every one it has); each backend
    takes the ones it knows. Opening never connects to a server: PostgreSQL's pool is made on
    first use, so a server started while PostgreSQL is down answers 503 until it is back.
    """
    backend: Callable[..., Database]
    if url.startswith("sqlite:"):
        from breakouts.db.sqlite import SqliteDatabase

        backend = SqliteDatabase
    elif url.startswith(("postgresql://", "postgres://")):
        from breakouts.db.postgres import PostgresDatabase

        backend = PostgresDatabase
    else:
        raise ValueError(
            f"unsupported DATABASE_URL scheme: {url.split(':', 1)[0]}"
            " (use sqlite:///path/to/file.db or postgresql://user@host/dbname)"
        )
    known = inspect.signature(backend).parameters
    return backend(url, **{k: v for k, v in options.items() if k in known})
