"""Schemathesis against our own /openapi.json: no server errors, no response that breaks the schema.

The document is fetched from a docs-only app at import (``from_asgi`` needs it to collect the
operations; that app's database is ``:memory:`` and never queried). Requests go to one app for
the module, on its own migrated SQLite file, passed as ``app=``. Schemathesis runs each app's
lifespan itself (in its own event-loop thread) and keeps it until ``shutdown_lifespans``; people,
tokens, meetings and started instances are seeded before that by a third app on the same file.
(``schemathesis.pytest.from_fixture`` would avoid the import-time app, but its lazy loader reads
``request.node._nodeid``, which pytest 9.2 no longer has.)

Two runs over every operation:
- ``test_api``: as generated (a meetingId is then almost always unknown: 404), as the host;
- ``test_api_on_real_meetings``: every generated meetingId replaced by a real one (a fresh
  series, one of its occurrences, or an instance), called by the host, an admin, an invitee or a
  read-only token, so the 200/204/400/403/409 paths answer too.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi as schemathesis_asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette

from breakouts import fields
from breakouts.app import create_app
from breakouts.breakouts import schemas as breakout_schemas
from breakouts.clock import Clock
from breakouts.config import Settings
from breakouts.meetings import schemas, upstream
from breakouts.people import schemas as people_schemas
from breakouts.plans import schemas as plan_schemas
from breakouts.text import is_email
from tests.backends import Backend
from tests.conftest import DAY, HOUR, World, auth, iso, start_meeting

HOST = "host@example.com"
ADMIN = "admin@example.com"
INVITEE = "ana@example.com"
INSTANCES = 6  # started meetings seeded for the instance-id cases

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Generated data that breaks the document (a null option, a date-time or email that is not one,
# an enum outside its values...) must be refused: the server enforces what the document states.
STRICT = [*CHECKS, negative_data_rejection]
EXAMPLES = 80  # per operation and phase: ~3,400 requests, about 55 s on 2 cores
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # Schema-driven bodies can be large and slow to build; that is not a fault of the test.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
# With extra `given` arguments schemathesis cannot replay the document's examples (the
# explicit phase); test_api replays them.
GENERATED = settings(BOUNDED, phases=[Phase.generate, Phase.target, Phase.shrink])
REQUESTS = itertools.count(1)  # every request the module sends, for the report at the end


@dataclass
class Seeded:
    app: Starlette
    tokens: dict[str, str]  # role -> bearer token
    instances: list[str]


def _settings(db: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{db}",
        mail_worker=False,
        rate_limit="1000000/minute",
        log_level="critical",  # 500s would still fail the checks; their log lines are noise here
    )


def meeting_body(start: int, **fields: Any) -> dict[str, Any]:
    body = {
        "title": "Schemathesis sync",
        "start": iso(start),
        "end": iso(start + HOUR),
        "timezone": "UTC",
        "recurrence": "FREQ=DAILY;COUNT=3",
        "invitees": [{"email": INVITEE}],
        "enabledBreakoutSessions": True,
        "breakoutSessions": [
            {"name": "Room A", "invitees": [INVITEE]},
            {"name": "Room B", "invitees": ["ben@example.com"]},
        ],
        "sendEmail": False,
    }
    body.update(fields)
    return body


async def _seed(settings_: Settings, db: Path) -> tuple[dict[str, str], list[str]]:
    app = create_app(settings_)
    async with app.router.lifespan_context(app):
        world = World(app, Backend("sqlite", f"sqlite:///{db}", db), Clock())
        tokens = {
            "host": await world.person(HOST, name="Harper Host"),
            "admin": await world.person(ADMIN, admin=True),
            "invitee": await world.person(INVITEE),
            "reader": await world.person(HOST, scopes=["meeting:schedules_read"]),
        }
        transport = httpx.ASGITransport(app=app)
        instances = []
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            now = world.clock.now_s()
            for n in range(INSTANCES):
                start = now - now % HOUR + DAY + n * HOUR
                r = await client.post(
                    "/v1/meetings", json=meeting_body(start), headers=auth(tokens["host"])
                )
                assert r.status_code == 200, r.text
                instances.append(await start_meeting(world, r.json()["id"]))
            # Half of them ended: their sessions then carry startTime/endTime.
            for instance in instances[::2]:
                r = await client.post(f"/v1/meetings/{instance}/end", headers=auth(tokens["host"]))
                assert r.status_code == 204, r.text
    return tokens, instances


@pytest.fixture(scope="module")
def seeded(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    db = tmp_path_factory.mktemp("schemathesis") / "breakouts.db"
    shutil.copyfile(template_db, db)
    settings_ = _settings(db)
    tokens, instances = asyncio.run(_seed(settings_, db))
    yield Seeded(create_app(settings_), tokens, instances)
    schemathesis_asgi.shutdown_lifespans()  # the app's lifespan closes its database
    print(f"\nschemathesis: {next(REQUESTS) - 1} requests")  # shown with -s or -rA


schema = schemathesis.openapi.from_asgi(
    "/openapi.json",
    create_app(
        Settings(database_url="sqlite:///:memory:", mail_worker=False, log_level="critical")
    ),
)


SCHEMA_MODULES = (schemas, upstream, breakout_schemas, plan_schemas, people_schemas, fields)


def test_document_describes_every_field_the_api_reads_and_writes() -> None:
    """Each schema in /openapi.json has exactly the fields of its msgspec struct, required ones too."""
    problems = []
    for name, component in schema.raw_schema["components"]["schemas"].items():
        struct = next(getattr(m, name) for m in SCHEMA_MODULES if hasattr(m, name))
        fields = {f.encode_name for f in msgspec.structs.fields(struct)}
        properties = set(component.get("properties", {}))
        if properties != fields:
            problems.append(
                f"{name}: missing {sorted(fields - properties)}, extra {sorted(properties - fields)}"
            )
        if not set(component.get("required", [])) <= properties:
            problems.append(
                f"{name}: required but undescribed {sorted(set(component['required']) - properties)}"
            )
    assert not problems, "\n".join(problems)


@BOUNDED
@schema.parametrize()
def test_api(case: schemathesis.Case, seeded: Seeded) -> None:
    """Every operation, as generated, by the host: no 5xx, every answer as documented."""
    next(REQUESTS)
    case.call_and_validate(
        headers=_auth(case, seeded.tokens["host"]), checks=STRICT, app=seeded.app
    )


def _auth(case: schemathesis.Case, token: str) -> dict[str, str]:
    """A real token for the generated one; none where a negative case left the header out (401)."""
    return auth(token) if "Authorization" in (case.headers or {}) else {}


_fresh_starts = itertools.count(2)  # 2-hour slots from tomorrow: each fresh meeting gets its own


def _fresh_meeting(case: schemathesis.Case, seeded: Seeded) -> dict[str, Any]:
    """A new recurring series with sessions, created through the same app as the case."""
    now = Clock().now_s()
    start = now - now % HOUR + DAY + next(_fresh_starts) * 2 * HOUR
    create = case.operation.schema["/v1/meetings"]["POST"]
    next(REQUESTS)
    r = create.Case(body=meeting_body(start)).call(
        headers=auth(seeded.tokens["host"]), app=seeded.app
    )
    assert r.status_code == 200, r.text
    meeting: dict[str, Any] = r.json()
    return meeting


def _repair(case: schemathesis.Case, seeded: Seeded) -> None:
    """Fix what the schema cannot say (future times, real emails, a real series), keep the rest.

    Generated bodies almost never hold a start in the future or a valid email, so without this
    the 200 answers of createMeeting and updateBreakoutSessions would hardly ever be checked.
    """
    now = Clock().now_s()
    slot = now - now % HOUR + 400 * DAY + next(_fresh_starts) * 2 * HOUR
    if isinstance(case.query, dict) and "meetingSeriesId" in case.query:
        case.query["meetingSeriesId"] = _fresh_meeting(case, seeded)["id"]
        case.query["from"], case.query["to"] = iso(now - DAY), iso(now + 30 * DAY)
    body = case.body
    if not isinstance(body, dict):
        return
    if case.operation.label == "POST /v1/meetings" or "start" in body or "end" in body:
        body.update(start=iso(slot), end=iso(slot + HOUR), timezone="UTC")
    if "title" in body and not (isinstance(body["title"], str) and body["title"].strip()):
        body["title"] = "Generated"
    body.pop("recurrence", None)
    body.pop("hostEmail", None)
    # Generated addresses are kept when valid (the server must take every address the document
    # admits); invalid ones, and one person in two sessions, get a fresh address.
    invitees = body.get("invitees")
    if isinstance(invitees, list):
        for n, invitee in enumerate(invitees):
            if isinstance(invitee, dict) and not _valid_email(invitee.get("email")):
                invitee["email"] = f"guest{n}@example.com"
    seen: set[str] = set()
    for key in ("breakoutSessions", "items"):
        sessions = body.get(key)
        if isinstance(sessions, list):
            for n, session in enumerate(sessions):
                if isinstance(session, dict) and isinstance(session.get("invitees"), list):
                    emails = session["invitees"]
                    for k, email in enumerate(emails):
                        if not _valid_email(email) or email.lower() in seen:
                            emails[k] = email = f"s{n}.{k}@example.com"
                        seen.add(email.lower())


def _valid_email(value: object) -> bool:
    return isinstance(value, str) and is_email(value)


@GENERATED
@schema.parametrize()
@schema.given(
    target=st.sampled_from(["series", "occurrence", "instance"]),
    who=st.sampled_from(["host", "host", "admin", "invitee", "reader"]),
    pick=st.integers(0, 1000),
    repair=st.booleans(),
)
def test_api_on_real_meetings(
    case: schemathesis.Case, seeded: Seeded, target: str, who: str, pick: int, repair: bool
) -> None:
    """Every operation on real meetings, by several callers: no 5xx, every answer as documented."""
    if case.path_parameters and "meetingId" in case.path_parameters:
        if target == "instance":
            meeting_id = seeded.instances[pick % len(seeded.instances)]
        else:
            m = _fresh_meeting(case, seeded)
            meeting_id = m["id"]
            if target == "occurrence":
                start = m["start"].replace("-", "").replace(":", "")
                meeting_id = f"{m['id']}_{start}"
        case.path_parameters["meetingId"] = meeting_id
    if repair:
        _repair(case, seeded)
    headers = _auth(case, seeded.tokens[who])
    if who == "admin" and headers:
        headers["hostEmail"] = HOST
    next(REQUESTS)
    # A repaired case is no longer the one generated: a negative one may have become valid.
    checks = CHECKS if repair else STRICT
    case.call_and_validate(headers=headers, checks=checks, app=seeded.app)
