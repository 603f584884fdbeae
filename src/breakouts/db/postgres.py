"""PostgreSQL backend: asyncpg, a pool made on first use that heals by itself.

asyncpg rather than psycopg on the request path: it is asyncio-native, speaks the binary
protocol and keeps each statement prepared per connection, so a statement is one round trip
(psycopg 3's async mode is slower per statement; Alembic still uses psycopg, which it needs as
a SQLAlchemy dialect). The repositories' ``?`` placeholders become ``$1, $2, …`` once per SQL
string (``translate``); an asyncpg ``Record`` is the ``Row`` (``row["col"]``, ``keys()``,
``dict(row)``, values in order when iterated).

Round trips. A write transaction is ``BEGIN``, its statements, ``COMMIT``. The time limits are
connection settings (``lock_timeout``, ``statement_timeout`` in ``server_settings``, sent once
when a connection opens) rather than ``SET LOCAL`` in every transaction: the same limits, no
bytes per transaction (measured on this machine, BEGIN / SELECT 1 / COMMIT: 154 µs; with both
``SET LOCAL`` in BEGIN's message 250 µs; as round trips of their own 427 µs). A read (``write=False``) opens no transaction at all: under READ
COMMITTED every statement takes its own snapshot anyway, so ``BEGIN``/``COMMIT`` would only
add two round trips.

Failures, as SQLite's (``db/sqlite.py``), each with ``Retry-After``:

- a lock held past ``lock_wait_ms`` (55P03 lock_not_available)   -> 423 Locked
- a serialization failure or deadlock (40001, 40P01)             -> 423 Locked: the unit of work
  (``unit.run``) owns the request, not the database layer, so it is not re-run here; the client
  retries after ``Retry-After``, as for any 423
- a statement past ``statement_timeout_ms`` (57014 query_canceled) -> 504 Gateway Timeout
- PostgreSQL unreachable, a connection lost, no connection from the pool within
  ``pool_timeout_ms``, more than ``max_db_waiters`` waiting        -> 503 Service Unavailable

A lost connection never takes the process down: the request answers 503, the pool drops every
connection it holds (after a restart they are all dead) and opens new ones on demand. A
connection that fails before its transaction did anything (``BEGIN``, or a read's first
statement) is replaced and the work tried once more, so the first request after PostgreSQL
comes back succeeds rather than meeting a dead connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Literal

import asyncpg
import asyncpg.exceptions as pgerr

from breakouts.db import Channels, Row
from breakouts.errors import ApiError, GatewayTimeout, Locked, ServiceUnavailable

_CACHE_LIMIT = 2048  # distinct SQL strings remembered (IN lists of every length count)
_translated: dict[str, str] = {}

# Quoted text the placeholder scan must step over: '…' literals ('' inside) and "…" names.
_QUOTED_OR_MARK = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?")


def translate(sql: str) -> str:
    """``?`` placeholders as ``$1, $2, …``, remembered per SQL string.

    A ``?`` inside a quoted literal or name is left alone (the repositories have none; it is
    handled rather than assumed). ``$`` placeholders or dollar quoting would be ambiguous, so
    SQL that has them is refused.
    """
    out = _translated.get(sql)
    if out is not None:
        return out
    if "$" in sql:
        raise ValueError(f"SQL for the repositories uses ? placeholders, not $: {sql[:80]}")
    n = 0

    def number(match: re.Match[str]) -> str:
        nonlocal n
        if match.group(0) != "?":
            return match.group(0)
        n += 1
        return f"${n}"

    out = _QUOTED_OR_MARK.sub(number, sql)
    if len(_translated) >= _CACHE_LIMIT:
        _translated.clear()
    _translated[sql] = out
    return out


# A connection lost or refused by the server, whenever it happens.
_LOST = (
    asyncpg.InterfaceError,  # "connection is closed", "pool is closing"
    pgerr.PostgresConnectionError,  # SQLSTATE class 08; mid-statement: ConnectionDoesNotExist
    pgerr.CannotConnectNowError,  # 57P03: starting up, shutting down
    pgerr.AdminShutdownError,  # 57P01
    pgerr.CrashShutdownError,  # 57P02
    pgerr.TooManyConnectionsError,  # 53300
)
# Also lost, when they come from the connection itself (connecting, acquiring, BEGIN, COMMIT):
# refused, reset, unreachable, timed out (TimeoutError is an OSError). Raised by a
# transaction's own code, they are that code's, not the database's.
_UNREACHABLE = (
    OSError,
    pgerr.InvalidCatalogNameError,  # 3D000: no such database (yet)
    pgerr.InvalidAuthorizationSpecificationError,  # 28000, 28P01: refused to log in
    *_LOST,
)


def _rowcount(status: str) -> int:
    """``UPDATE 3``, ``DELETE 0``, ``INSERT 0 1`` -> the rows changed (0 for other commands)."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class PostgresTx:
    __slots__ = ("_after", "_conn", "db")

    def __init__(self, db: PostgresDatabase, conn: asyncpg.Connection) -> None:
        self.db = db
        self._conn = conn
        self._after: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        self._after.append(callback)

    async def fetchone(self, sql: str, *args: Any) -> Row | None:
        row: Row | None = await self._conn.fetchrow(translate(sql), *args)
        return row

    async def fetchall(self, sql: str, *args: Any) -> list[Row]:
        rows: list[Row] = await self._conn.fetch(translate(sql), *args)
        return rows

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._conn.fetchval(translate(sql), *args)

    async def execute(self, sql: str, *args: Any) -> int:
        status: str = await self._conn.execute(translate(sql), *args)
        return _rowcount(status)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:  # asyncpg pipelines the rows: one round trip for the lot
            await self._conn.executemany(translate(sql), rows)


class PostgresDatabase:
    dialect: Literal["postgresql"] = "postgresql"
    row_locks = True
    skip_locked = True
    writable_ctes = True  # INSERT/UPDATE/DELETE inside WITH: several writes, one round trip
    group_commit = False  # PostgreSQL has its own (commit_delay); nothing to do here

    def __init__(
        self,
        url: str,
        *,
        lock_wait_ms: int = 2000,
        max_db_waiters: int = 256,
        statement_timeout_ms: int = 5000,
        retry_after_s: int = 1,
        pool_size: int = 10,
        pool_timeout_ms: int = 2000,
    ) -> None:
        self.url = url
        self.lock_wait_ms = lock_wait_ms
        self.statement_timeout_ms = statement_timeout_ms
        self.max_waiters = max_db_waiters
        self.retry_after = retry_after_s
        self.pool_size = pool_size
        self.pool_timeout_s = pool_timeout_ms / 1000
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._waiting = 0
        self._closed = False
        self._expiring: set[asyncio.Task[None]] = set()
        # Write transactions committed and COMMITs (equal here: no group commit), for /metrics.
        self.committed_writes = 0
        self.commits = 0
        self._channels = Channels()
        self._to_notify: set[str] = set()
        self._notifier: asyncio.Task[None] | None = None
        self._listeners: set[asyncio.Task[None]] = set()
        # NOTIFYs sent, and ones that could not be (PostgreSQL away): tests, /metrics.
        self.notifies_sent = 0
        self.notifies_failed = 0

    def transaction(self, *, write: bool = True) -> _Transaction:
        return _Transaction(self, write)

    async def _get_pool(self) -> asyncpg.Pool:
        """The pool, made on first use. ``min_size=0``: making it connects to nothing, so it
        cannot fail while PostgreSQL is down; connections open as requests need them."""
        if self._pool is not None:
            return self._pool
        async with self._pool_lock:
            if self._pool is None:
                if self._closed:
                    raise ServiceUnavailable("The database is closed.", retry_after=5)
                self._pool = await asyncpg.create_pool(
                    self.url,
                    min_size=0,
                    max_size=self.pool_size,
                    # A connection PostgreSQL dropped while idle is found at its next use; one
                    # idle this long is closed anyway.
                    max_inactive_connection_lifetime=60,
                    timeout=self.pool_timeout_s,  # connecting
                    statement_cache_size=1024,
                    server_settings={
                        "application_name": "breakouts",
                        "lock_timeout": str(self.lock_wait_ms),
                        "statement_timeout": str(self.statement_timeout_ms),
                    },
                )
            return self._pool

    async def _acquire(self) -> asyncpg.Connection:
        if self._waiting >= self.max_waiters:
            raise ServiceUnavailable(retry_after=self.retry_after)
        self._waiting += 1
        try:
            pool = await self._get_pool()
            conn: asyncpg.Connection = await pool.acquire(timeout=self.pool_timeout_s)
            return conn
        except _UNREACHABLE as exc:
            raise self.translate(exc) from exc
        finally:
            self._waiting -= 1

    async def _release(self, conn: asyncpg.Connection) -> None:
        pool = self._pool
        if pool is None:
            conn.terminate()
            return
        try:
            # The pool resets a connection it gets back (and closes a broken one).
            await pool.release(conn, timeout=self.pool_timeout_s)
        except Exception:
            conn.terminate()

    def lost(self) -> None:
        """A connection was lost: PostgreSQL may have restarted, so every pooled connection
        is suspect. They are replaced as they are next acquired."""
        pool = self._pool
        if pool is not None and not self._expiring:
            task = asyncio.get_running_loop().create_task(pool.expire_connections())
            self._expiring.add(task)
            task.add_done_callback(self._expiring.discard)

    def translate(self, exc: BaseException, *, own: bool = True) -> BaseException:
        """The storage failure as the error a client gets; anything else unchanged.

        ``own``: raised by the connection itself (so an ``OSError`` means it is lost), rather
        than by the code inside a transaction.
        """
        if isinstance(exc, ApiError) or not isinstance(exc, Exception):
            return exc
        retry = self.retry_after
        if isinstance(exc, pgerr.LockNotAvailableError):
            return Locked(retry_after=retry)
        if isinstance(exc, pgerr.TransactionRollbackError):  # serialization failure, deadlock
            return Locked(retry_after=retry)
        if isinstance(exc, pgerr.QueryCanceledError):
            return GatewayTimeout(retry_after=retry)
        if isinstance(exc, _UNREACHABLE if own else _LOST):
            self.lost()
            return ServiceUnavailable(
                "The database cannot be reached. Try again later.", retry_after=retry
            )
        return exc

    # --- LISTEN/NOTIFY -----------------------------------------------------------------------

    def notify(self, channel: str) -> None:
        """This process's listeners at once; other processes' through one ``NOTIFY`` sent by a
        task of its own, after the commit and off the request's path. Commits that come while
        one is in flight share the next: under load, one ``NOTIFY`` carries many commits."""
        self._channels.ring(channel)
        self._to_notify.add(channel)
        if self._notifier is None or self._notifier.done():
            self._notifier = asyncio.get_running_loop().create_task(self._send_notifies())

    async def _send_notifies(self) -> None:
        while self._to_notify:
            channels = sorted(self._to_notify)
            self._to_notify.clear()
            try:
                pool = await self._get_pool()
                async with pool.acquire(timeout=self.pool_timeout_s) as conn:
                    for channel in channels:
                        await conn.execute("SELECT pg_notify($1, '')", channel)
                self.notifies_sent += len(channels)
            except Exception:  # a hint only: the listeners poll as well
                self.notifies_failed += len(channels)
                return

    def listen(self, channel: str, callback: Callable[[], None]) -> Callable[[], Awaitable[None]]:
        remove = self._channels.add(channel, callback)
        task = asyncio.get_running_loop().create_task(self._listen(channel, callback))
        self._listeners.add(task)
        task.add_done_callback(self._listeners.discard)

        async def stop() -> None:
            remove()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        return stop

    async def _listen(self, channel: str, callback: Callable[[], None]) -> None:
        """``LISTEN`` on a connection of its own, for as long as the listener lives: a lost
        connection (PostgreSQL restarted, a network cut) is reopened with a capped backoff, and
        one that is silently gone is found by a ``SELECT 1`` every 30 s of quiet."""
        delay = 0.1
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self.url,
                    timeout=self.pool_timeout_s,
                    server_settings={"application_name": "breakouts-listen"},
                )
                lost = asyncio.Event()
                conn.add_termination_listener(functools.partial(_set_event, lost))
                await conn.add_listener(channel, lambda *_: callback())
                callback()  # anything committed while nobody listened is found now
                delay = 0.1
                while not lost.is_set():
                    try:
                        await asyncio.wait_for(lost.wait(), 30)
                    except TimeoutError:
                        await conn.fetchval("SELECT 1", timeout=5)
            except (Exception, TimeoutError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                if conn is not None:
                    conn.terminate()

    async def ping(self) -> None:
        async with self.transaction(write=False) as tx:
            await tx.fetchval("SELECT 1")

    async def close(self) -> None:
        self._closed = True
        for task in (*self._listeners, *([self._notifier] if self._notifier else [])):
            task.cancel()
        await asyncio.gather(*self._listeners, return_exceptions=True)
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), timeout=5)
        except _UNREACHABLE:
            pool.terminate()


def _set_event(event: asyncio.Event, *_: object) -> None:
    event.set()


class _Transaction:
    """``async with db.transaction(write=...) as tx``: a pooled connection, ``BEGIN`` (writes
    only), then ``COMMIT`` or ``ROLLBACK``, and the connection back to the pool."""

    __slots__ = ("_conn", "_db", "_tx", "_write")

    def __init__(self, db: PostgresDatabase, write: bool) -> None:
        self._db = db
        self._write = write
        self._conn: asyncpg.Connection | None = None
        self._tx: PostgresTx | None = None

    async def __aenter__(self) -> PostgresTx:
        db = self._db
        for tries_left in (1, 0):
            conn = await db._acquire()
            try:
                if self._write:
                    await conn.execute("BEGIN")
                else:
                    # Nothing is sent yet for a read: check the connection is alive the cheap
                    # way (asyncpg knows when the socket was closed under it).
                    if conn.is_closed():
                        raise asyncpg.InterfaceError("connection is closed")
            except _UNREACHABLE as exc:
                await db._release(conn)
                error = db.translate(exc)
                if tries_left:
                    continue  # a dead pooled connection: one more try on a fresh one
                raise error from exc
            except BaseException:
                await db._release(conn)
                raise
            self._conn = conn
            self._tx = PostgresTx(db, conn)
            return self._tx
        raise AssertionError("unreachable")

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        db, conn, tx = self._db, self._conn, self._tx
        assert conn is not None and tx is not None
        committed = False
        try:
            if self._write:
                if exc_type is None:
                    await conn.execute("COMMIT")
                    committed = True
                    db.committed_writes += 1
                    db.commits += 1
                elif not conn.is_closed():
                    await conn.execute("ROLLBACK")
            else:
                committed = exc_type is None
        except Exception as error:
            if exc_type is None:
                raise db.translate(error) from error
            # Rolling back failed (the connection is gone): the original error says more.
        finally:
            await db._release(conn)
        if committed and tx._after:
            loop = asyncio.get_running_loop()
            for callback in tx._after:
                loop.call_soon(callback)
        if exc is not None:
            mapped = db.translate(exc, own=False)
            if mapped is not exc:
                raise mapped from exc
