"""The PostgreSQL backend's own behaviour: its failures answered with 423/503/504 and
``Retry-After``, recovery after PostgreSQL comes back, writes to one meeting serialized, and the
hot DELETE's statements. Everything goes through HTTP against a real database; PostgreSQL's
outages are played by a TCP relay the test controls (tests/relay.py), never by stopping it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.applications import Starlette

from breakouts.app import create_app
from breakouts.clock import Clock
from breakouts.config import Settings
from tests.backends import Backend
from tests.conftest import World, assert_error, auth, create_meeting
from tests.conftest import get_sessions as sessions
from tests.conftest import sessions_path as path
from tests.mail.conftest import Sink, eventually, free_port, sink
from tests.relay import Relay

pytestmark = pytest.mark.postgres_only
__all__ = ["sink"]  # the fixture, imported for these tests

HOST = "host@example.com"
PLAN = [
    {"name": "Room A", "invitees": ["ana@example.com", "ben@example.com"]},
    {"name": "Room B", "invitees": ["cleo@example.com"]},
]
NEW_PLAN = [{"name": "Room C", "invitees": ["dan@example.com"]}]


@pytest.fixture
async def host(world: World) -> str:
    return await world.person(HOST, name="Harper Host")


async def meeting_with_plan(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    invitees = [{"email": e} for e in ("ana@example.com", "ben@example.com", "cleo@example.com")]
    return await create_meeting(
        client, token, enabledBreakoutSessions=True, breakoutSessions=PLAN, sendEmail=False,
        invitees=invitees,
    )  # fmt: skip


async def flag(client: httpx.AsyncClient, token: str, meeting_id: str) -> bool:
    r = await client.get(f"/v1/meetings/{meeting_id}", headers=auth(token))
    assert r.status_code == 200, r.text
    return bool(r.json()["enabledBreakoutSessions"])


class SeriesLock:
    """A connection of the test's own holding a series' row lock, as a concurrent write would."""

    def __init__(self, backend: Backend, series_id: str) -> None:
        self.conn = backend.connect()
        self.conn.autocommit = False
        self.conn.execute("SELECT id FROM meeting_series WHERE id = %s FOR UPDATE", (series_id,))

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()


def waiting_for_locks(backend: Backend) -> int:
    """Sessions of the test's database waiting for a lock now."""
    rows = backend.rows(
        "SELECT COUNT(*) AS n FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    return int(rows[0]["n"])


async def wait_until(predicate: Any, what: str) -> None:
    """Poll ``predicate`` (it asks PostgreSQL: nothing to wait on but time) for up to 10 s."""
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


# --- 423 and 504 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("settings_overrides", [{"lock_wait_ms": 100}])
async def test_a_meeting_locked_past_the_wait_is_423_with_retry_after(
    client: httpx.AsyncClient, host: str, world: World, backend: Backend
) -> None:
    """Another connection holds the meeting's row past lock_wait: 423 with Retry-After, and
    nothing changed."""
    m = await meeting_with_plan(client, host)
    before = world.snapshot()
    lock = SeriesLock(backend, m["id"])
    try:
        r = await client.delete(path(m["id"]), headers=auth(host))
    finally:
        lock.release()
    assert_error(r, 423)
    assert int(r.headers["Retry-After"]) >= 1
    assert world.snapshot() == before
    assert len(await sessions(client, host, m["id"])) == 2


@pytest.mark.parametrize("settings_overrides", [{"lock_wait_ms": 10_000, "statement_timeout_ms": 150}])
async def test_a_statement_past_its_time_limit_is_504_with_retry_after(
    client: httpx.AsyncClient, host: str, world: World, backend: Backend
) -> None:
    """A statement still waiting when statement_timeout runs out is cancelled: 504 with
    Retry-After, nothing changed, and the next request is served."""
    m = await meeting_with_plan(client, host)
    before = world.snapshot()
    lock = SeriesLock(backend, m["id"])
    try:
        r = await client.delete(path(m["id"]), headers=auth(host))
    finally:
        lock.release()
    assert_error(r, 504)
    assert int(r.headers["Retry-After"]) >= 1
    assert world.snapshot() == before
    assert (await client.delete(path(m["id"]), headers=auth(host))).status_code == 204


# --- writes to one meeting are serialized ---------------------------------------------------------


async def test_a_concurrent_put_and_delete_on_one_meeting_do_not_interleave(
    client: httpx.AsyncClient, host: str, world: World, backend: Backend
) -> None:
    """A PUT of a new plan and a DELETE of the plan, fired together while the meeting is held,
    both wait, then run one after the other: the outcome is one of the two serial ones."""
    m = await meeting_with_plan(client, host)
    lock = SeriesLock(backend, m["id"])
    try:
        put = asyncio.create_task(
            client.put(path(m["id"]), json={"items": NEW_PLAN, "sendEmail": False},
                       headers=auth(host))
        )  # fmt: skip
        delete = asyncio.create_task(
            client.delete(path(m["id"]), params={"sendEmail": "false"}, headers=auth(host))
        )
        await wait_until(lambda: waiting_for_locks(backend) == 2, "both requests to wait")
        assert not put.done() and not delete.done()
    finally:
        lock.release()
    put_r, delete_r = await put, await delete
    assert put_r.status_code == 200, put_r.text
    assert delete_r.status_code == 204, delete_r.text

    left = await sessions(client, host, m["id"])
    enabled = await flag(client, host, m["id"])
    rows = world.rows("SELECT name, scope FROM breakout_sessions ORDER BY position")
    # PUT then DELETE: nothing left, flag off. DELETE then PUT: the new plan alone, flag on.
    assert (left, enabled, rows) in (
        ([], False, []),
        ([{**left[0], "name": "Room C", "invitees": ["dan@example.com"]}] if left else [], True,
         [{"name": "Room C", "scope": ""}]),
    )  # fmt: skip
    actions = world.rows("SELECT action, sessions_count FROM audit_log ORDER BY id")
    deleted = 2 if enabled else 1  # what the DELETE found: the old two (it ran first) or the new one
    assert sorted((a["action"], a["sessions_count"]) for a in actions) == [
        ("breakoutSessions.delete", deleted), ("breakoutSessions.update", 1),
    ]  # fmt: skip


async def test_the_hot_delete_locks_then_reads_again(
    client: httpx.AsyncClient, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A series DELETE on PostgreSQL: the one lookup, the row lock (bringing the series again),
    the live instance read again after it, then the plan's three writes as one statement (a
    data-modifying WITH), the mail event and the audit record: six statements."""
    from breakouts.db import postgres

    m = await meeting_with_plan(client, host)
    statements: list[str] = []
    translate = postgres.translate

    def recording(sql: str) -> str:
        statements.append(sql)
        return translate(sql)

    monkeypatch.setattr(postgres, "translate", recording)
    r = await client.delete(path(m["id"]), headers=auth(host))
    monkeypatch.setattr(postgres, "translate", translate)
    assert r.status_code == 204
    work = [s.split()[0].upper() + " " + s.split()[2 if s.startswith(("INSERT", "DELETE")) else 1]
            for s in statements]  # fmt: skip
    assert work == [
        "SELECT p.id,", "SELECT s.id,", "SELECT id,", "WITH deleted",
        "INSERT mail_events", "INSERT audit_log",
    ], statements  # fmt: skip
    assert "FOR UPDATE OF s" in statements[1]
    for write in ("DELETE FROM breakout_sessions", "UPDATE occurrences", "UPDATE meeting_series"):
        assert write in statements[3]


# --- unreachable: 503, and recovery -----------------------------------------------------------------


@pytest.fixture
def relay(backend: Backend) -> Iterator[Relay]:
    parts = urlsplit(backend.url)
    r = Relay(parts.hostname or "127.0.0.1", parts.port or 5432)
    yield r
    r.close()


def through(url: str, relay: Relay) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    at = f"{netloc[0]}@" if len(netloc) == 2 else ""
    return parts._replace(netloc=f"{at}127.0.0.1:{relay.port}").geturl()


@pytest.fixture
async def relayed(
    backend: Backend, relay: Relay, clock: Clock, world: World
) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same database, connected through the relay (the first one, the
    ``world``'s, seeds and checks state directly)."""
    settings = Settings(
        database_url=through(backend.url, relay), mail_worker=False, log_level="critical",
        rate_limit="100000/minute", pg_pool_timeout_ms=500, retry_after_s=2,
    )  # fmt: skip
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def test_postgres_unreachable_is_503_and_the_pool_heals(
    client: httpx.AsyncClient, host: str, relay: Relay, relayed: httpx.AsyncClient
) -> None:
    """Connections cut and new ones refused: 503 with Retry-After (the process goes on);
    PostgreSQL back: the pool replaces its dead connections and requests succeed again."""
    m = await meeting_with_plan(client, host)
    # Warm the pool: several connections, all of which die together below.
    answers = await asyncio.gather(*(sessions(relayed, host, m["id"]) for _ in range(4)))
    assert all(len(a) == 2 for a in answers)

    relay.refuse()
    for _ in range(3):
        r = await relayed.get(path(m["id"]), headers=auth(host))
        assert_error(r, 503)
        assert r.headers["Retry-After"] == "2"
    r = await relayed.delete(path(m["id"]), headers=auth(host))
    assert_error(r, 503)
    assert r.headers["Retry-After"] == "2"

    relay.restore()
    assert (await relayed.delete(path(m["id"]), headers=auth(host))).status_code == 204
    answers = await asyncio.gather(*(sessions(relayed, host, m["id"]) for _ in range(4)))
    assert answers == [[]] * 4
    assert (await relayed.get("/readyz")).status_code == 200


async def test_connections_dropped_while_idle_are_replaced_without_an_error(
    client: httpx.AsyncClient, host: str, relay: Relay, relayed: httpx.AsyncClient
) -> None:
    """Every pooled connection dropped while idle (a PostgreSQL restart): the next requests
    are served on new connections, none answers an error."""
    m = await meeting_with_plan(client, host)
    await asyncio.gather(*(sessions(relayed, host, m["id"]) for _ in range(3)))
    relay.cut()
    await asyncio.sleep(0.05)  # the pool's connections see their sockets closed
    answers = await asyncio.gather(
        *(relayed.get(path(m["id"]), headers=auth(host)) for _ in range(3))
    )
    assert [a.status_code for a in answers] == [200] * 3
    assert (await relayed.delete(path(m["id"]), headers=auth(host))).status_code == 204


async def test_a_server_started_while_postgres_is_down_answers_503_then_works(
    backend: Backend, relay: Relay, clock: Clock, world: World, host: str
) -> None:
    """Started with PostgreSQL unreachable, the app starts all the same (no connection is made
    up front), answers 503 with Retry-After, and serves once PostgreSQL is reachable."""
    relay.refuse()
    settings = Settings(
        database_url=through(backend.url, relay), mail_worker=True, log_level="critical",
        pg_pool_timeout_ms=500,
    )  # fmt: skip
    app: Starlette = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            r = await c.get("/v1/people/me", headers=auth(host))
            assert_error(r, 503)
            assert int(r.headers["Retry-After"]) >= 1
            assert_error(await c.get("/readyz"), 503)
            relay.restore()
            r = await c.get("/v1/people/me", headers=auth(host))
            assert r.status_code == 200, r.text
            assert r.json()["emails"] == [HOST]
            assert (await c.get("/readyz")).status_code == 200


async def test_a_worker_elsewhere_is_woken_by_notify_and_listens_again_after_an_outage(
    backend: Backend, relay: Relay, clock: Clock, client: httpx.AsyncClient, host: str,
    sink: Sink,
) -> None:  # fmt: skip
    """A mail worker in another app (its own database object, as another process would have),
    reaching PostgreSQL through the relay, polling only every 30 s: a commit made by the test's
    app wakes it through NOTIFY; after its LISTEN connection is cut, and after PostgreSQL was
    unreachable for a while, it listens again and catches up with what it missed."""
    settings = Settings(
        database_url=through(backend.url, relay), mail_worker=True, mail_poll_s=30.0,
        smtp_url=sink.url, log_level="critical", pg_pool_timeout_ms=500,
    )  # fmt: skip
    m = await meeting_with_plan(client, host)  # PLAN's invitees: no mail yet (sendEmail off)

    def listeners() -> set[int]:
        rows = backend.rows(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'breakouts-listen'"
            " AND datname = current_database() AND query ILIKE 'LISTEN%'"
        )
        return {r["pid"] for r in rows}

    async def listening(other_than: set[int]) -> set[int]:
        deadline = asyncio.get_running_loop().time() + 10
        while not (pids := listeners()) or pids <= other_than:
            assert asyncio.get_running_loop().time() < deadline, "no LISTEN connection"
            await asyncio.sleep(0.05)
        return pids

    async def put(name: str) -> None:
        r = await client.put(path(m["id"]), headers=auth(host),
                             json={"items": [{"name": name, "invitees": ["ana@example.com"]}]})  # fmt: skip
        assert r.status_code == 200, r.text

    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        first = await listening(set())
        await put("Woken")  # host + ana
        await eventually(lambda: len(sink.received) == 2, within=5)

        relay.cut()  # the LISTEN connection (and the pool's) dropped
        second = await listening(first)
        await put("After a cut")
        await eventually(lambda: len(sink.received) == 4, within=5)

        relay.refuse()
        relay.cut()
        await put("While away")  # committed directly; the worker cannot see it yet
        await asyncio.sleep(1.0)
        assert len(sink.received) == 4
        relay.restore()
        await listening(second)
        await eventually(lambda: len(sink.received) == 6, within=10)
    assert len({r.message_id for r in sink.received}) == 6
    assert sorted(x.rcpt_tos[0] for x in sink.received) == ["ana@example.com"] * 3 + [HOST] * 3


async def test_serve_started_while_postgres_is_unreachable_waits_for_it(
    backend: Backend, relay: Relay, host: str, tmp_path: Path
) -> None:
    """`breakouts serve` (which migrates first) with PostgreSQL unreachable: it says so in one
    line and keeps trying; once PostgreSQL answers it starts and serves."""
    from tests.mail.test_processes import Proc

    relay.refuse()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKOUTS_", "DATABASE_"))}
    env.update(DATABASE_URL=through(backend.url, relay), BREAKOUTS_MAIL_WORKER="false",
               BREAKOUTS_DATABASE_STARTUP_WAIT_S="30")  # fmt: skip
    proc = Proc(["serve", "--port", str(port)], env, tmp_path / "serve.log")
    try:
        await asyncio.sleep(2.5)
        assert proc.popen.poll() is None, proc.log.read_text()
        waiting = [line for line in proc.log.read_text().splitlines() if "waiting for" in line]
        assert len(waiting) == 1 and "waiting for the database at" in waiting[0], waiting
        relay.restore()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as c:
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                assert proc.popen.poll() is None, proc.log.read_text()
                try:
                    if (await c.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert asyncio.get_running_loop().time() < deadline, proc.log.read_text()
                await asyncio.sleep(0.1)
            r = await c.get("/v1/people/me", headers=auth(host))
            assert r.status_code == 200 and r.json()["emails"] == [HOST], r.text
            assert (await c.get("/readyz")).status_code == 200
    finally:
        proc.stop()


async def test_a_worker_started_while_postgres_is_unreachable_waits_then_delivers(
    backend: Backend, relay: Relay, client: httpx.AsyncClient, host: str, sink: Sink,
    tmp_path: Path,
) -> None:  # fmt: skip
    """`breakouts worker` with PostgreSQL unreachable: one line, no exit; once it is reachable,
    the mail committed meanwhile is delivered."""
    from tests.mail.test_processes import Proc

    relay.refuse()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKOUTS_", "DATABASE_"))}
    env.update(DATABASE_URL=through(backend.url, relay), SMTP_URL=sink.url,
               BREAKOUTS_MAIL_POLL_S="0.2", BREAKOUTS_DATABASE_STARTUP_WAIT_S="30")  # fmt: skip
    proc = Proc(["worker"], env, tmp_path / "worker.log")
    try:
        m = await meeting_with_plan(client, host)
        r = await client.put(path(m["id"]), headers=auth(host),
                             json={"items": [{"name": "Late", "invitees": ["ana@example.com"]}]})  # fmt: skip
        assert r.status_code == 200, r.text
        await asyncio.sleep(2.5)
        assert proc.popen.poll() is None, proc.log.read_text()
        assert proc.log.read_text().count("waiting for the database") == 1, proc.log.read_text()
        assert sink.received == []
        relay.restore()
        await eventually(lambda: len(sink.received) == 2, within=15)
        assert sorted(x.rcpt_tos[0] for x in sink.received) == ["ana@example.com", HOST]
    finally:
        proc.stop()


# --- the CLI on PostgreSQL -------------------------------------------------------------------------


def test_the_cli_on_an_empty_or_missing_postgres_database_says_so_in_one_line(
    backend: Backend,
) -> None:
    """A database without the schema, or none at all: one line naming it, exit 1, no
    traceback; `breakouts migrate` then makes it usable."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.backends import POSTGRES_URL, drop_postgres, with_database

    exe = str(Path(sys.executable).parent / "breakouts")
    empty = f"bk_t_empty_{os.getpid()}"
    drop_postgres(empty)
    backend.execute(f"CREATE DATABASE {empty}")
    try:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKOUTS_", "DATABASE_"))}
        for name, expected in ((empty, "has no breakouts tables"), ("bk_t_absent", "does not exist")):
            env = {**clean, "DATABASE_URL": with_database(POSTGRES_URL, name)}
            r = subprocess.run([exe, "orgs", "list"], env=env, capture_output=True, text=True, timeout=60)
            assert r.returncode == 1, r.stderr
            assert r.stderr.count("\n") == 1 and expected in r.stderr and name in r.stderr
        env = {**clean, "DATABASE_URL": with_database(POSTGRES_URL, empty)}
        subprocess.run([exe, "migrate"], env=env, check=True, capture_output=True, timeout=120)
        r = subprocess.run([exe, "orgs", "list"], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and "Default" in r.stdout, r.stderr
    finally:
        drop_postgres(empty)


@pytest.mark.parametrize(
    "settings_overrides",
    [{"pg_pool_size": 1, "max_db_waiters": 1, "lock_wait_ms": 10_000, "pg_pool_timeout_ms": 500}],
)
async def test_more_requests_waiting_for_a_connection_than_allowed_is_503_at_once(
    client: httpx.AsyncClient, host: str, world: World, backend: Backend
) -> None:
    """One pooled connection, held by a DELETE waiting for the meeting's lock; one more request
    may wait for the connection, the rest answer 503 with Retry-After at once."""
    m = await meeting_with_plan(client, host)
    lock = SeriesLock(backend, m["id"])
    try:
        first = asyncio.create_task(client.delete(path(m["id"]), headers=auth(host)))
        await wait_until(lambda: waiting_for_locks(backend) == 1, "the DELETE to wait")
        rest = await asyncio.gather(
            *(client.get(path(m["id"]), headers=auth(host)) for _ in range(4)),
            return_exceptions=False,
        )
        refused = [r for r in rest if r.status_code == 503]
        assert len(refused) >= 3
        for r in refused:
            assert_error(r, 503)
            assert int(r.headers["Retry-After"]) >= 1
    finally:
        lock.release()
    assert (await first).status_code == 204
    assert await sessions(client, host, m["id"]) == []


def test_servers_starting_together_on_a_new_database_migrate_one_at_a_time(
    backend: Backend,
) -> None:
    """Three `breakouts migrate` at once on a database without the schema (what three `serve`
    processes starting together do first): each waits its turn, all exit 0, one schema."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.backends import POSTGRES_URL, drop_postgres, with_database

    exe = str(Path(sys.executable).parent / "breakouts")
    fresh = f"bk_t_fresh_{os.getpid()}"
    drop_postgres(fresh)
    backend.execute(f"CREATE DATABASE {fresh}")
    try:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("BREAKOUTS_", "DATABASE_"))}
        env = {**clean, "DATABASE_URL": with_database(POSTGRES_URL, fresh)}
        runs = [subprocess.Popen([exe, "migrate"], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(3)]  # fmt: skip
        outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in runs]
        for p in runs:
            for stream in (p.stdout, p.stderr):
                if stream:
                    stream.close()
        assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
        fresh_db = Backend("postgres", with_database(POSTGRES_URL, fresh))
        assert len(fresh_db.rows("SELECT version_num FROM alembic_version")) == 1
        assert [r["name"] for r in fresh_db.rows("SELECT name FROM orgs")] == ["Default"]
    finally:
        drop_postgres(fresh)
