"""The SQLite backend's own guarantees: a bounded WAL, rollback on error, group commit."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from breakouts.db.sqlite import SqliteDatabase

pytestmark = pytest.mark.sqlite_only  # the SQLite backend itself: its files, WAL, group commit

INSERT = (
    "INSERT INTO audit_log (at, action, actor_id, meeting_id, sessions_count, tracking_id)"
    " VALUES (1, ?, 'actor', 'meeting', 1, 'trace')"
)


@pytest.fixture
def path(template_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "db.sqlite"
    copy.write_bytes(template_db.read_bytes())
    return copy


def wal_size(path: Path) -> int:
    return os.path.getsize(f"{path}-wal")


async def test_wal_stays_bounded_under_a_steady_stream_of_writes(path: Path) -> None:
    """A steady stream of writes never lets a passive checkpoint finish; the WAL is still truncated."""
    db = SqliteDatabase(f"sqlite:///{path}", checkpoint_interval_s=0.05, wal_limit_bytes=1 << 20)
    biggest = 0
    try:
        for n in range(3000):  # ~100 MB of WAL if nothing truncated it
            async with db.transaction() as tx:
                await tx.executemany(INSERT, [(f"{n}-{i}-{'x' * 100}",) for i in range(60)])
            await asyncio.sleep(0.0005)  # the request work between two transactions
            if n % 100 == 0:
                biggest = max(biggest, wal_size(path))
    finally:
        await db.close()
    assert biggest < 40 << 20


async def test_an_error_inside_a_transaction_rolls_it_back(path: Path) -> None:
    """Whatever raises inside ``transaction()`` leaves no row behind."""
    db = SqliteDatabase(f"sqlite:///{path}")
    try:
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.execute(INSERT, "x")
                raise RuntimeError("boom")
        async with db.transaction(write=False) as tx:
            assert await tx.fetchval("SELECT COUNT(*) FROM audit_log") == 0
    finally:
        await db.close()


# --- group commit ------------------------------------------------------------------------------


def committed_actions(path: Path) -> list[str]:
    """What another connection sees: only what was really committed."""
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY id")]
    finally:
        conn.close()


async def write(db: SqliteDatabase, action: str, fail: bool = False) -> str:
    async with db.transaction() as tx:
        await tx.execute(INSERT, action)
        if fail:
            raise RuntimeError(f"{action} failed")
    return action


async def test_writes_of_one_loop_turn_share_one_commit(path: Path) -> None:
    """Concurrent write transactions are committed together, and each caller returns after it."""
    db = SqliteDatabase(f"sqlite:///{path}")
    try:
        done = await asyncio.gather(*(write(db, f"a{i}") for i in range(10)))
        assert done == [f"a{i}" for i in range(10)]
        assert committed_actions(path) == done
        assert (db.committed_writes, db.commits) == (10, 1)
    finally:
        await db.close()


async def test_a_failing_member_of_a_group_rolls_back_alone(path: Path) -> None:
    """One transaction of a group raising leaves no row of its own; the others commit."""
    db = SqliteDatabase(f"sqlite:///{path}")
    try:
        results = await asyncio.gather(
            write(db, "first"),
            write(db, "broken", fail=True),
            write(db, "third"),
            return_exceptions=True,
        )
        assert results[0] == "first" and results[2] == "third"
        assert isinstance(results[1], RuntimeError)
        assert committed_actions(path) == ["first", "third"]
        assert (db.committed_writes, db.commits) == (2, 1)
    finally:
        await db.close()


async def test_a_failed_commit_fails_every_member_and_keeps_nothing(path: Path) -> None:
    """If the shared COMMIT fails, no member is told it succeeded and no row stays."""
    import sqlite3

    setup = sqlite3.connect(path)
    setup.executescript(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER"
        " REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);"
    )
    setup.close()
    db = SqliteDatabase(f"sqlite:///{path}")

    async def orphan() -> None:
        async with db.transaction() as tx:  # a deferred key: only COMMIT can refuse it
            await tx.execute("INSERT INTO child (parent_id) VALUES (42)")

    try:
        results = await asyncio.gather(write(db, "innocent"), orphan(), return_exceptions=True)
        assert all(isinstance(r, sqlite3.IntegrityError) for r in results), results
        assert committed_actions(path) == []
        assert db.commits == 0
        assert await write(db, "after") == "after"  # the connection is usable again
        assert committed_actions(path) == ["after"]
    finally:
        await db.close()


async def test_a_read_commits_the_open_group_before_it_reads(path: Path) -> None:
    """A read never sees uncommitted work: it commits the group that is open first."""
    db = SqliteDatabase(f"sqlite:///{path}")

    async def read() -> int:
        async with db.transaction(write=False) as tx:
            count: int = await tx.fetchval("SELECT COUNT(*) FROM audit_log")
        return count

    try:
        writer = asyncio.ensure_future(write(db, "w"))
        await asyncio.sleep(0)  # the write has run and waits for its group's COMMIT
        assert db.commits == 0
        assert await read() == 1
        assert committed_actions(path) == ["w"]
        assert await writer == "w"
    finally:
        await db.close()


async def test_a_cancelled_member_does_not_cancel_the_commit(path: Path) -> None:
    """A caller cancelled while waiting for the COMMIT: the others are answered; all is committed."""
    db = SqliteDatabase(f"sqlite:///{path}")
    try:
        tasks = [asyncio.ensure_future(write(db, f"c{i}")) for i in range(3)]
        await asyncio.sleep(0)  # all three wrote and wait for the COMMIT
        tasks[1].cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert results[0] == "c0" and results[2] == "c2"
        assert isinstance(results[1], asyncio.CancelledError)
        assert committed_actions(path) == ["c0", "c1", "c2"]
    finally:
        await db.close()


async def test_group_commit_off_commits_each_transaction_alone(path: Path) -> None:
    """With group commit off every write transaction is its own SQLite transaction."""
    db = SqliteDatabase(f"sqlite:///{path}", group_commit=False)
    try:
        await asyncio.gather(*(write(db, f"s{i}") for i in range(5)), return_exceptions=True)
        assert committed_actions(path) == [f"s{i}" for i in range(5)]
        assert (db.committed_writes, db.commits) == (5, 5)
    finally:
        await db.close()


async def test_a_group_never_grows_past_its_limit(path: Path) -> None:
    """More concurrent writers than ``max_group`` make several COMMITs, all of them kept."""
    db = SqliteDatabase(f"sqlite:///{path}", max_group=4)
    try:
        await asyncio.gather(*(write(db, f"m{i}") for i in range(10)))
        assert committed_actions(path) == [f"m{i}" for i in range(10)]
        assert (db.committed_writes, db.commits) == (10, 3)
    finally:
        await db.close()


async def test_a_quiet_database_keeps_a_small_wal(path: Path) -> None:
    """A few writes do not make the WAL file any bigger than they need (no preallocation)."""
    db = SqliteDatabase(f"sqlite:///{path}", checkpoint_interval_s=0.02)
    try:
        for n in range(5):
            await write(db, f"few-{n}")
        await asyncio.sleep(0.1)  # a few checkpoints
        assert wal_size(path) < 1 << 20
    finally:
        await db.close()


async def test_sustained_writes_preallocate_the_wal_and_it_survives_a_crash(
    path: Path, tmp_path: Path
) -> None:
    """Under sustained writes the WAL file gets its full size; zeros after the last frame are
    harmless to recovery."""
    import shutil
    import sqlite3

    db = SqliteDatabase(f"sqlite:///{path}", checkpoint_interval_s=0.01, wal_limit_bytes=8 << 20)
    try:
        n = 0
        while n == 0 or (wal_size(path) < 10 << 20 and n < 5000):  # the limit plus a quarter
            async with db.transaction() as tx:
                await tx.executemany(INSERT, [(f"bulk-{n}-{i}-{'x' * 200}",) for i in range(20)])
            await asyncio.sleep(0.001)
            n += 1
        # Far fewer transactions than it takes to write 10 MB of WAL (~10 KB each): the size
        # came from the preallocation, done once an eighth of the limit was live.
        assert wal_size(path) >= 10 << 20 and n < 500, n
        for k in range(20):
            await write(db, f"kept-{k}")
        # A crash now: the files as they are on disk, with no clean close.
        crashed = tmp_path / "crashed.sqlite"
        shutil.copy(path, crashed)
        shutil.copy(f"{path}-wal", f"{crashed}-wal")
    finally:
        await db.close()
    conn = sqlite3.connect(crashed)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        kept = conn.execute("SELECT action FROM audit_log WHERE action LIKE 'kept-%' ORDER BY id")
        assert [r[0] for r in kept.fetchall()] == [f"kept-{k}" for k in range(20)]
        bulk = conn.execute("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'bulk-%'")
        assert bulk.fetchone()[0] == n * 20
    finally:
        conn.close()


async def test_an_interrupted_member_never_leaves_the_others_misinformed(path: Path) -> None:
    """A member past its time limit is 504; whatever SQLite rolled back, every other member's
    answer matches what is committed."""
    import sqlite3

    from breakouts.errors import GatewayTimeout

    db = SqliteDatabase(f"sqlite:///{path}", checkpoint_interval_s=0)

    async def slow() -> None:
        async with db.transaction() as tx:
            db._deadline = 0.0  # already past its limit: the next long statement is interrupted
            await tx.execute(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 200000)"
                " INSERT INTO audit_log (at, action, actor_id, meeting_id, sessions_count,"
                " tracking_id) SELECT x, 'slow', 'a', 'm', 0, 't' FROM c"
            )

    try:
        results = await asyncio.gather(
            write(db, "before"), slow(), write(db, "after"), return_exceptions=True
        )
        assert isinstance(results[1], GatewayTimeout), results
        told_ok = {r for r in results if isinstance(r, str)}
        assert set(committed_actions(path)) == told_ok  # nothing more, nothing less
        assert "slow" not in committed_actions(path)
        assert await write(db, "later") == "later"  # the connection is usable again
    finally:
        await db.close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def test_switching_to_wal_waits_for_another_process_instead_of_failing(tmp_path: Path) -> None:
    """Two processes opening a new file at once both switch it to WAL; one waits, none fails."""
    import sqlite3
    import threading

    from breakouts.db.sqlite import set_wal_mode

    db = tmp_path / "new.sqlite"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.close()
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN")
    other.execute("SELECT * FROM t").fetchall()  # holds the lock the switch needs
    threading.Timer(0.2, lambda: other.execute("COMMIT")).start()
    conn = sqlite3.connect(db, isolation_level=None, timeout=0)  # SQLite itself does not wait
    try:
        set_wal_mode(conn)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
        other.close()


def test_migrate_leaves_a_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    """A migrated file is already in WAL mode: the processes that open it never switch it."""
    import sqlite3

    from breakouts.db.migrate import upgrade

    db = tmp_path / "migrated.sqlite"
    upgrade(f"sqlite:///{db}")
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
