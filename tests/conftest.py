"""Shared fixtures: a migrated SQLite file per test, the app with its lifespan, an HTTP client.

The schema is migrated once per session into a template file (Alembic), then copied for each
test, so every test starts from a real, migrated, empty database in a few milliseconds.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from breakouts.app import create_app
from breakouts.clock import Clock
from breakouts.config import Settings
from breakouts.db.migrate import upgrade
from breakouts.mail import outbox
from breakouts.orgs.repository import DEFAULT_ORG
from breakouts.people import service as people

HOUR = 3600
DAY = 24 * HOUR


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_path(template_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "breakouts.db"
    shutil.copyfile(template_db, path)
    return path


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Override in a test module (or with @pytest.mark.parametrize indirect) to tune settings."""
    overrides: dict[str, Any] = getattr(request, "param", {})
    return overrides


@pytest.fixture
def settings(db_path: Path, settings_overrides: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{db_path}",
        "mail_worker": False,
        "rate_limit": "100000/minute",
        "log_level": "warning",
    }
    values.update(settings_overrides)
    return Settings(**values)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def app(settings: Settings, clock: Clock) -> AsyncIterator[Starlette]:
    application = create_app(settings, clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@dataclass
class World:
    """Seeds people and tokens through the service layer, and reads the state left behind."""

    app: Starlette
    db_path: Path
    clock: Clock
    tokens: dict[str, str] = field(default_factory=dict)

    async def person(
        self,
        email: str,
        *,
        admin: bool = False,
        name: str | None = None,
        scopes: list[str] | None = None,
        expires_in: int | None = None,
    ) -> str:
        """Add a person (if new) and return a fresh token for them."""
        db = self.app.state.breakouts.db
        async with db.transaction() as tx:
            from breakouts.people import repository

            if await repository.get_by_email(tx, DEFAULT_ORG, email) is None:
                await people.add_person(tx, self.clock, email, name, admin)
            token = await people.create_token(tx, self.clock, email, scopes, expires_in)
        self.tokens[email] = token
        return token

    def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        conn = sqlite3.connect(self.db_path)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(sql, args).fetchall()]
        finally:
            conn.close()

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table: compare before/after to prove a refusal changed nothing."""
        conn = sqlite3.connect(self.db_path)
        try:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            return {
                t: sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables
            }
        finally:
            conn.close()

    def outbox(self) -> list[dict[str, Any]]:
        """Every outbox row, once the queued mail events are fanned out as a worker would."""
        expand_events(self.db_path)
        return self.rows("SELECT * FROM outbox ORDER BY id")


def expand_events(db_path: Path) -> int:
    """Fan every queued mail event out into outbox rows (``outbox.fan_out``), on a connection
    of the test's own, in one transaction, as ``outbox.expand`` does in a worker."""
    conn = sqlite3.connect(db_path, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        with conn:
            events = conn.execute(outbox.EVENTS_SQL + " ORDER BY id").fetchall()
            rows = outbox.fan_out(events)
            conn.executemany(outbox.INSERT_SQL, rows)
            conn.executemany("DELETE FROM mail_events WHERE id = ?", [(e["id"],) for e in events])
        return len(rows)
    finally:
        conn.close()


@pytest.fixture
def world(app: Starlette, db_path: Path, clock: Clock) -> World:
    return World(app, db_path, clock)


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def future_slot(clock: Clock, days: int = 1, hours: int = 0) -> tuple[str, str]:
    """(start, end) one hour long, ``days`` ahead, on the hour."""
    now = clock.now_s()
    start = now - now % HOUR + days * DAY + hours * HOUR
    return iso(start), iso(start + HOUR)


async def create_meeting(
    client: httpx.AsyncClient,
    token: str,
    *,
    days: int = 1,
    clock: Clock | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """POST /v1/meetings with sensible defaults; asserts 200 and returns the meeting.

    Pass the server's ``clock`` when the test has moved it; the start is ``days`` ahead of it.
    """
    start, end = future_slot(clock or Clock(), days)
    body: dict[str, Any] = {"title": "Weekly sync", "start": start, "end": end, "timezone": "UTC"}
    body.update(fields)
    r = await client.post("/v1/meetings", json=body, headers=auth(token))
    assert r.status_code == 200, r.text
    meeting: dict[str, Any] = r.json()
    return meeting


def assert_error(r: httpx.Response, status: int, text: str | None = None) -> dict[str, Any]:
    """The Webex error contract: status, body shape, TrackingID header = body, message text."""
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == {"message", "errors", "trackingId"}
    assert body["errors"] and all(set(e) == {"description"} for e in body["errors"])
    assert body["trackingId"] == r.headers["TrackingID"]
    if text is not None:
        assert text in body["message"], body["message"]
    return body


async def start_meeting(world: World, meeting_id: str) -> str:
    """Start a scheduled meeting (a series: its next occurrence) as the CLI does; the instance id."""
    from breakouts.meetings import service

    async with world.app.state.breakouts.db.transaction() as tx:
        return (await service.start_meeting(tx, world.clock.now_s(), meeting_id)).id


async def list_occurrences(
    client: httpx.AsyncClient, token: str, series_id: str, **params: str
) -> list[dict[str, Any]]:
    """Every scheduled meeting of a series, whatever its date (asserts 200)."""
    query = {
        "meetingType": "scheduledMeeting", "meetingSeriesId": series_id, "max": "100",
        "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", **params,
    }  # fmt: skip
    r = await client.get("/v1/meetings", params=query, headers=auth(token))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def sessions_path(meeting_id: str) -> str:
    return f"/v1/meetings/{meeting_id}/breakoutSessions"


async def put_sessions(
    client: httpx.AsyncClient,
    token: str,
    meeting_id: str,
    items: list[dict[str, Any]],
    **extra: Any,
) -> httpx.Response:
    """PUT a breakout plan (``extra``: sendEmail, hostEmail) and return the response as is."""
    return await client.put(
        sessions_path(meeting_id), json={"items": items, **extra}, headers=auth(token)
    )


async def get_sessions(
    client: httpx.AsyncClient, token: str, meeting_id: str
) -> list[dict[str, Any]]:
    """GET the breakout sessions a meeting shows (asserts 200)."""
    r = await client.get(sessions_path(meeting_id), headers=auth(token))
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items
