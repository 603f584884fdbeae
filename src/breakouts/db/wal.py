"""Keeping a SQLite WAL bounded under sustained writes, off the request path.

The request connection runs with ``wal_autocheckpoint=0``; a thread of its own, on a connection
of its own, does the checkpoints:

- every ``interval`` a PASSIVE checkpoint copies the WAL into the database without waiting for
  anyone. Under a steady stream of writes it never catches up with the end of the WAL, so the
  WAL is never restarted and grows (~85 MB/s under the bench);
- past ``limit_bytes`` of live WAL the thread does the slow part of a reset (fsync of both
  files, then one more PASSIVE) and raises ``reset_due``; the database's next write transaction
  calls ``reset`` on its own connection, between two transactions, instead of a second
  connection competing for the write lock while requests wait (bench/: p99/p50 3.3 this way,
  6.8 with a TRUNCATE from this thread);
- once an eighth of the limit is live (sustained writes, not a quiet dev server), the WAL file is
  given its full size at once (``preallocate``), and ``journal_size_limit`` (set by the owner to
  ``file_bytes``) keeps that size across resets.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading


class WalKeeper:
    def __init__(self, path: str, limit_bytes: int, interval_s: float) -> None:
        self.path = path
        self.limit_bytes = limit_bytes
        # The WAL file's size under load: the limit plus room for what is written before the
        # reset comes.
        self.file_bytes = int(limit_bytes * 1.25)
        self.reset_due = threading.Event()
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.path != ":memory:" and self._interval > 0:
            self._thread = threading.Thread(target=self._loop, daemon=True, name="wal-keeper")
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def reset(self, conn: sqlite3.Connection) -> None:
        """Checkpoint what is left and restart the WAL from its beginning, on ``conn``.

        Called between two transactions with the owner's lock held, so nothing of this process
        is writing; what is left to copy is what came since the thread's last PASSIVE
        checkpoint, then the fsyncs. RESTART rather than TRUNCATE: shrinking a large file cost
        ~100 ms here. If the thread is checkpointing right now, the next transaction tries
        again.
        """
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()[0]
        except sqlite3.OperationalError:
            return
        if not busy:
            self.reset_due.clear()

    def _loop(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=1000")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        preallocated = False
        try:
            while not self._stop.wait(self._interval):
                try:
                    # (busy, frames in the WAL, frames copied): the WAL's live size, whatever
                    # the size of its file.
                    frames = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
                except sqlite3.Error:
                    continue  # a busy checkpoint is simply tried again next time
                live = frames * page_size
                if not preallocated and live > self.limit_bytes // 8:
                    preallocate(self.path + "-wal", self.file_bytes)
                    preallocated = True
                if live > self.limit_bytes:
                    self._prepare_reset(conn)
                    self.reset_due.set()
        finally:
            conn.close()

    def _prepare_reset(self, conn: sqlite3.Connection) -> None:
        """The slow part of a reset, here: flush both files' dirty pages (the reset fsyncs the
        WAL, then the database) and copy what came meanwhile, so the inline reset is left with
        a few ms of work."""
        for name in (self.path + "-wal", self.path):
            try:
                fd = os.open(name, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        with contextlib.suppress(sqlite3.Error):
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


def preallocate(wal: str, size: int) -> None:
    """Give the WAL file its full size at once (zeros past its end; nothing it holds changes).

    A commit that grows the file has to allocate blocks, and on ext4 that waited for the
    journal commit of the checkpointer's fsync: 5-15 ms stalls every checkpoint until the WAL
    reached its size (bench/). SQLite ignores what follows the last valid frame, so the zeros
    mean nothing to it. ``fallocate`` never overwrites data, so a commit writing meanwhile is
    safe.
    """
    try:
        fd = os.open(wal, os.O_RDWR)
    except OSError:
        return
    try:
        if os.fstat(fd).st_size < size:
            os.posix_fallocate(fd, 0, size)
    except (OSError, AttributeError):
        pass  # a filesystem without fallocate: the file simply grows as it is written
    finally:
        os.close(fd)
