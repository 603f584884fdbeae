"""The databases the suite runs on: SQLite, and PostgreSQL from ``BREAKOUTS_TEST_POSTGRES_URL``.

Every test that uses the ``backend`` fixture (directly, or through ``settings``, ``app``,
``client``, ``world``…) runs once per backend, ``[sqlite]`` and ``[postgres]``, unless marked
``sqlite_only`` or ``postgres_only``. Each test gets a fresh, migrated, empty database:

- SQLite: a copy of a template file migrated once per session;
- PostgreSQL: ``CREATE DATABASE bk_t_<random> TEMPLATE bk_tpl_<pid>``, the template migrated
  once per pytest process (so pytest-xdist workers each have their own), dropped after the test.

Without ``BREAKOUTS_TEST_POSTGRES_URL`` the PostgreSQL runs are skipped with one reason; with
``BREAKOUTS_REQUIRE_SERVICES=1`` (CI) a missing or unreachable PostgreSQL fails them instead.

Tests read the state left behind through ``Backend.rows`` (``?`` placeholders on both).
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from breakouts.db.migrate import upgrade
from breakouts.mail import outbox

BACKENDS = ("sqlite", "postgres")
POSTGRES_URL = os.environ.get("BREAKOUTS_TEST_POSTGRES_URL", "")
REQUIRED = os.environ.get("BREAKOUTS_REQUIRE_SERVICES") == "1"
NO_POSTGRES = (
    "PostgreSQL runs need BREAKOUTS_TEST_POSTGRES_URL"
    " (e.g. postgresql://postgres@127.0.0.1:5432/test; `bash .ci/run` sets it)"
)


def with_database(url: str, name: str) -> str:
    """``url`` naming another database on the same server."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _pg(url: str) -> Any:
    import psycopg
    from psycopg.rows import dict_row

    return psycopg.connect(url, autocommit=True, row_factory=dict_row, connect_timeout=5)


def _pg_sql(sql: str) -> str:
    """Test SQL with ``?`` placeholders, for psycopg (``%s``; a literal ``%`` doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


@dataclass
class Backend:
    """One test's database: its URL, and a side door for reading and seeding it directly."""

    name: str
    url: str
    path: Path | None = None  # SQLite's file

    def connect(self) -> Any:
        """A new DB-API connection of the test's own (autocommit on PostgreSQL)."""
        if self.path is not None:
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
            conn.row_factory = sqlite3.Row
            return conn
        return _pg(self.url)

    def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        conn = self.connect()
        try:
            if self.path is None:
                sql = _pg_sql(sql)
            return [dict(r) for r in conn.execute(sql, args).fetchall()]
        finally:
            conn.close()

    def execute(self, sql: str, *args: Any) -> None:
        conn = self.connect()
        try:
            conn.execute(sql if self.path is not None else _pg_sql(sql), args)
        finally:
            conn.close()

    def tables(self) -> list[str]:
        if self.path is not None:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        else:
            sql = (
                "SELECT table_name AS name FROM information_schema.tables"
                " WHERE table_schema = 'public'"
            )
        return sorted(r["name"] for r in self.rows(sql))

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table: compare before/after to prove a refusal changed nothing."""
        return {
            t: sorted((tuple(r.values()) for r in self.rows(f"SELECT * FROM {t}")), key=repr)
            for t in self.tables()
        }

    def expand_events(self) -> int:
        """Fan every queued mail event out into outbox rows (``outbox.fan_out``), in one
        transaction on a connection of the test's own, as ``outbox.expand`` does in a worker."""
        conn = self.connect()
        pg = self.path is None
        try:
            if pg:
                conn.autocommit = False
            else:
                conn.execute("BEGIN")  # deferred: no write lock unless there are events
            q = _pg_sql if pg else (lambda s: s)
            events = conn.execute(q(outbox.EVENTS_SQL + " ORDER BY id")).fetchall()
            rows = outbox.fan_out(events)
            cur = conn.cursor()
            if rows:
                cur.executemany(q(outbox.INSERT_SQL), rows)
            if events:
                cur.executemany(q("DELETE FROM mail_events WHERE id = ?"), [(e["id"],) for e in events])
            conn.commit() if pg else conn.execute("COMMIT")
            return len(rows)
        finally:
            conn.close()


# --- fixtures (registered by tests/conftest.py) ----------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``[sqlite]`` and ``[postgres]`` for every test that reaches the ``backend`` fixture."""
    if "backend" not in metafunc.fixturenames:
        return
    names = [m.name for m in metafunc.definition.iter_markers()]
    if "sqlite_only" in names and "postgres_only" in names:
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: sqlite_only and postgres_only")
    if "sqlite_only" in names:
        params = ["sqlite"]
    elif "postgres_only" in names:
        params = ["postgres"]
    else:
        params = list(BACKENDS)
    metafunc.parametrize("backend", params, indirect=True, scope="function")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A [postgres] run without a PostgreSQL to run on: skipped here, before its fixtures, so
    that `-ra` reports every one at this line, folded into one line with one reason (a skip in
    a fixture is reported at each test's own line)."""
    callspec = getattr(item, "callspec", None)
    if callspec is None or callspec.params.get("backend") != "postgres" or POSTGRES_URL:
        return
    if REQUIRED:
        pytest.fail(f"BREAKOUTS_REQUIRE_SERVICES=1: {NO_POSTGRES}", pytrace=False)
    pytest.skip(NO_POSTGRES)


@pytest.fixture(scope="session", name="sqlite_template")
def sqlite_template_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session", name="postgres_template")
def postgres_template_fixture() -> Iterator[str]:
    """The migrated template database of this pytest process; its name."""
    if not POSTGRES_URL:
        if REQUIRED:
            pytest.fail(f"BREAKOUTS_REQUIRE_SERVICES=1: {NO_POSTGRES}", pytrace=False)
        pytest.skip(NO_POSTGRES)
    name = f"bk_tpl_{os.getpid()}"
    try:
        admin = _pg(POSTGRES_URL)
    except Exception as exc:
        message = f"PostgreSQL at {POSTGRES_URL} cannot be reached: {exc}"
        if REQUIRED:
            pytest.fail(f"BREAKOUTS_REQUIRE_SERVICES=1: {message}", pytrace=False)
        pytest.skip(message)
    try:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # a killed run's
        admin.execute(f"CREATE DATABASE {name}")
        upgrade(with_database(POSTGRES_URL, name))
        yield name
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        admin.close()


def new_postgres_database(template: str) -> str:
    """A fresh database made from ``template``; its name (drop it with ``drop_postgres``)."""
    name = f"bk_t_{secrets.token_hex(6)}"
    admin = _pg(POSTGRES_URL)
    try:
        admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    finally:
        admin.close()
    return name


def drop_postgres(name: str) -> None:
    admin = _pg(POSTGRES_URL)
    try:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        admin.close()


@pytest.fixture(name="backend")
def backend_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "breakouts.db"
        shutil.copyfile(template, path)
        yield Backend("sqlite", f"sqlite:///{path}", path)
        return
    pg_template: str = request.getfixturevalue("postgres_template")
    name = new_postgres_database(pg_template)
    try:
        yield Backend("postgres", with_database(POSTGRES_URL, name))
    finally:
        drop_postgres(name)
