"""Shared fixtures: a migrated database per test (on each backend), the app with its lifespan,
an HTTP client.

The schema is migrated once per session into a template (tests/backends.py), then copied for
each test, so every test starts from a real, migrated, empty database: a SQLite file, or a
PostgreSQL database made from a template database.
"""

from __future__ import annotations

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
from breakouts.orgs.repository import DEFAULT_ORG
from breakouts.people import service as people
from tests.backends import (  # noqa: F401 - fixtures and the hook that parametrizes them
    Backend,
    backend_fixture,
    postgres_template_fixture,
    pytest_generate_tests,
    pytest_runtest_setup,
    sqlite_template_fixture,
)

HOUR = 3600
DAY = 24 * HOUR


@pytest.fixture(scope="session")
def template_db(sqlite_template: Path) -> Path:
    return sqlite_template


@pytest.fixture
def db_path(backend: Backend) -> Path:
    """The SQLite file of the test's database (a test that needs a file is ``sqlite_only``)."""
    if backend.path is None:
        pytest.fail("db_path is a SQLite file: mark the test sqlite_only, or use `backend`")
    return backend.path


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Override in a test module (or with @pytest.mark.parametrize indirect) to tune settings."""
    overrides: dict[str, Any] = getattr(request, "param", {})
    return overrides


@pytest.fixture
def settings(backend: Backend, settings_overrides: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {
        "database_url": backend.url,
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
    backend: Backend
    clock: Clock
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        assert self.backend.path is not None, "a SQLite file only: mark the test sqlite_only"
        return self.backend.path

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
        return self.backend.rows(sql, *args)

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table: compare before/after to prove a refusal changed nothing."""
        return self.backend.snapshot()

    def outbox(self) -> list[dict[str, Any]]:
        """Every outbox row, once the queued mail events are fanned out as a worker would."""
        self.backend.expand_events()
        return self.rows("SELECT * FROM outbox ORDER BY id")


@pytest.fixture
def world(app: Starlette, backend: Backend, clock: Clock) -> World:
    return World(app, backend, clock)


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
