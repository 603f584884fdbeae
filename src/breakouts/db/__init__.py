"""Storage: the ``Database``/``Tx`` protocols every repository is written against.

Repositories write portable SQL with ``?`` placeholders and read rows by column name; the
SQLite backend runs it as is, inline on the event loop (measured here: a thread hand-off costs as
much as the whole transaction). A PostgreSQL backend (asyncpg) implements the same protocols.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

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

    async def fetchone(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchall(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchval(self, sql: str, *args: Any) -> Any: ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run a statement; returns the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...


class Database(Protocol):
    url: str

    def transaction(self, *, write: bool = True) -> AbstractAsyncContextManager[Tx]:
        """A transaction that commits on success and rolls back on any exception."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


def open_database(url: str, **options: Any) -> Database:
    """The backend for a ``DATABASE_URL``."""
    if url.startswith("sqlite:"):
        from breakouts.db.sqlite import SqliteDatabase

        return SqliteDatabase(url, **options)
    raise ValueError(f"unsupported DATABASE_URL scheme: {url.split(':', 1)[0]}")
