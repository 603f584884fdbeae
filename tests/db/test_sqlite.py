"""The SQLite backend's own guarantees: a bounded WAL and rollback on error."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from breakouts.db.sqlite import SqliteDatabase

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
