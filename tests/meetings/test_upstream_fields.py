"""Every field of upstream's meeting request objects is type-checked (#9 item 11).

The fields this server acts on are declared in ``schemas.py``; every other field of the official
``CreateMeetingObject``, ``UpdateMeetingObject`` and ``PatchMeetingObject`` is generated into
``upstream.py`` from the official schema (``tests/data``), then checked and ignored. The cases
below are derived from the official schema too, not listed by hand: every field path, at any
depth, gets a value of the wrong type and ``null`` (and enums a value outside them), and each is
a 400 naming the path that changes nothing.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from breakouts.app import create_app
from breakouts.clock import Clock
from breakouts.config import Settings
from breakouts.openapi import build_openapi
from tests.backends import Backend
from tests.conftest import World, assert_error, auth, future_slot
from tests.meetings.generate_upstream import MODULE_PATH, load_spec, render

MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")  # the loop of the module's app

SPEC = load_spec()
OFFICIAL = SPEC["components"]["schemas"]
BODIES = {  # official request object -> how it is sent
    "CreateMeetingObject": ("POST", "application/json"),
    "UpdateMeetingObject": ("PUT", "application/json"),
    "PatchMeetingObject": ("PATCH", "application/json-patch+json"),
}
WRONG = {"boolean": "yes", "string": 5, "number": "5", "integer": "5", "object": "nope", "array": 5}


def resolve(schema: dict[str, Any], components: dict[str, Any] = OFFICIAL) -> dict[str, Any]:
    if "$ref" in schema:
        resolved: dict[str, Any] = components[schema["$ref"].rsplit("/", 1)[1]]
        return resolved
    return schema


Segment = str | int  # a property name, or 0: the first item of an array


def field_paths(
    schema: dict[str, Any], prefix: tuple[Segment, ...] = ()
) -> Iterator[tuple[tuple[Segment, ...], dict[str, Any]]]:
    """Every property at any depth, and the first item of every array, with its schema."""
    for name, sub in resolve(schema).get("properties", {}).items():
        path = (*prefix, name)
        sub = resolve(sub)
        yield path, sub
        if sub.get("type") == "array":
            item = resolve(sub["items"])
            yield (*path, 0), item
            yield from field_paths(item, (*path, 0))
        elif sub.get("type") == "object":
            yield from field_paths(sub, path)


def dotted(path: tuple[Segment, ...]) -> str:
    """``('invitees', 0, 'coHost')`` -> ``invitees[0].coHost``, as the error message names it."""
    out = ""
    for seg in path:
        out += f"[{seg}]" if isinstance(seg, int) else (f".{seg}" if out else seg)
    return out


def valid(schema: dict[str, Any]) -> Any:
    """A well-typed value of ``schema``: its enum's first, its example, or the simplest one."""
    schema = resolve(schema)
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        required = schema.get("required", [])
        return {name: valid(schema["properties"][name]) for name in required}
    if kind == "array":
        return []
    example = schema.get("example")
    simple = {"string": "x", "boolean": True, "number": 1, "integer": 1}
    return example if isinstance(example, type(simple[kind])) else simple[kind]


def placed(schema: dict[str, Any], path: tuple[Segment, ...], value: Any) -> Any:
    """A value of ``schema`` holding ``value`` at ``path``, every required sibling well-typed."""
    schema = resolve(schema)
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        return [placed(schema["items"], rest, value)]
    out = {n: valid(schema["properties"][n]) for n in schema.get("required", []) if n != head}
    out[head] = placed(schema["properties"][head], rest, value)
    return out


def wrong_values(schema: dict[str, Any]) -> list[Any]:
    """A value of another type, null, and for an enum a string outside it."""
    values = [WRONG[schema["type"]], None]
    if "enum" in schema:
        values.append("notAnUpstreamValue")
    return values


CASES = [
    pytest.param(body, path, id=f"{body}.{dotted(path)}")
    for body in BODIES
    for path, _ in field_paths(OFFICIAL[body])
]


@dataclass
class Site:
    client: httpx.AsyncClient
    world: World
    token: str
    meeting_id: str


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(template_db: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    """One app for the module (the cases are many and change nothing), with one meeting."""
    db = tmp_path_factory.mktemp("upstream") / "breakouts.db"
    shutil.copyfile(template_db, db)
    settings = Settings(
        database_url=f"sqlite:///{db}", mail_worker=False, rate_limit="1000000/minute"
    )
    app = create_app(settings, clock=Clock())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            world = World(app, Backend("sqlite", f"sqlite:///{db}", db), Clock())
            token = await world.person("host@example.com")
            r = await c.post("/v1/meetings", json=_create_body(world), headers=auth(token))
            assert r.status_code == 200, r.text
            yield Site(c, world, token, r.json()["id"])


def _create_body(world: World, **fields: Any) -> dict[str, Any]:
    start, end = future_slot(world.clock)
    return {"title": "Typed", "start": start, "end": end, "timezone": "UTC", **fields}


async def _send(site: Site, body_name: str, body: Any) -> httpx.Response:
    method, media = BODIES[body_name]
    path = "/v1/meetings" if method == "POST" else f"/v1/meetings/{site.meeting_id}"
    headers = {**auth(site.token), "Content-Type": media}
    return await site.client.request(method, path, json=body, headers=headers)


# --- the generated module and the document -------------------------------------------------


def test_generated_module_is_what_the_official_schema_gives() -> None:
    """upstream.py is exactly what `python -m tests.meetings.generate_upstream` writes today."""
    assert MODULE_PATH.read_text(encoding="utf-8") == render(SPEC), (
        "src/breakouts/meetings/upstream.py is stale: run "
        "`.venv/bin/python -m tests.meetings.generate_upstream`"
    )


def test_document_gives_every_official_field_its_upstream_type() -> None:
    """/openapi.json has every official field, at every depth, with the official type and enum."""
    doc = build_openapi()["components"]["schemas"]
    ours_of = {"PatchMeetingObject": "UpdateMeetingObject"}
    for body in BODIES:
        ours_root = doc[ours_of.get(body, body)]
        assert set(ours_root.get("required", [])) == set(OFFICIAL[body].get("required", []))
        for path, official in field_paths(OFFICIAL[body]):
            ours = resolve(_at(ours_root, path, doc), doc)
            where = f"{body}.{dotted(path)}"
            types = {"number": {"number", "integer"}}.get(official["type"], {official["type"]})
            assert ours.get("type") in types, (where, ours)
            assert set(ours.get("enum", [])) == set(official.get("enum", [])), where
            assert set(ours.get("required", [])) == set(official.get("required", [])), where
            assert "nullable" not in ours, where


def _at(schema: dict[str, Any], path: tuple[Segment, ...], doc: dict[str, Any]) -> dict[str, Any]:
    for seg in path:
        schema = resolve(schema, doc)
        schema = schema["items"] if isinstance(seg, int) else schema["properties"][seg]
    return schema


# --- what the server does ------------------------------------------------------------------


@MODULE_LOOP
@pytest.mark.parametrize(("body", "path"), CASES)
async def test_a_value_of_the_wrong_type_is_a_400_naming_the_field(
    site: Site, body: str, path: tuple[Segment, ...]
) -> None:
    """Each field path of the official bodies, wrong-typed or null: 400 naming it, no change."""
    schema = dict(field_paths(OFFICIAL[body]))[path]
    base = _create_body(site.world) if body == "CreateMeetingObject" else {}
    for value in wrong_values(schema):
        request = {**base, **placed(OFFICIAL[body], path, value)}
        before = site.world.snapshot()
        r = await _send(site, body, request)
        assert_error(r, 400, f"'{dotted(path)}'")
        assert site.world.snapshot() == before, (path, value)


@MODULE_LOOP
@pytest.mark.parametrize("body", list(BODIES))
async def test_every_official_field_well_typed_is_accepted(site: Site, body: str) -> None:
    """A body with every official field at a well-typed value is taken; unapplied ones stay unseen."""
    ours = {  # the fields this server applies, at values its own rules admit
        "title": "Every field",
        "timezone": "UTC",
        "hostEmail": "host@example.com",
        "invitees": [{"email": "ana@example.com", "displayName": "Ana", "coHost": True}],
        "breakoutSessions": [{"name": "Room A", "invitees": ["ana@example.com"]}],
    }
    if body == "CreateMeetingObject":
        ours["start"], ours["end"] = future_slot(site.world.clock, days=3)
    else:
        ours["start"], ours["end"] = future_slot(site.world.clock, days=4)
    everything = {}
    for name, schema in OFFICIAL[body]["properties"].items():
        full = _full(schema)
        everything[name] = ours.get(name, full)
    r = await _send(site, body, everything)
    assert r.status_code == 200, r.text
    meeting = r.json()
    assert meeting["title"] == "Every field" and meeting["enabledBreakoutSessions"] is True
    for name in ("liveStream", "registration", "meetingOptions", "trackingCodes", "adhoc"):
        assert name not in meeting  # type-checked, then ignored


def _full(schema: dict[str, Any]) -> Any:
    """A well-typed value of ``schema`` with every property set and one item in every array."""
    schema = resolve(schema)
    if schema.get("type") == "object":
        return {name: _full(sub) for name, sub in schema["properties"].items()}
    if schema.get("type") == "array":
        return [_full(schema["items"])]
    return valid(schema)
