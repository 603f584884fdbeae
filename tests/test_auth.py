"""Who may call (SPEC §3): scopes, admin acting-as on reads, token storage."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import World, assert_error, auth, create_meeting

HOST = "host@example.com"


@pytest.fixture
async def host(world: World) -> str:
    return await world.person(HOST)


async def test_admin_read_scope_reads_on_behalf_of_host(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """meeting:admin_schedule_read + hostEmail (query or header) reads the host's meetings."""
    m = await create_meeting(client, host, sendEmail=False, enabledBreakoutSessions=True,
                             breakoutSessions=[{"name": "A"}])  # fmt: skip
    admin = await world.person("admin@example.com", admin=True,
                               scopes=["meeting:admin_schedule_read"])  # fmt: skip
    r = await client.get(f"/v1/meetings/{m['id']}", params={"hostEmail": HOST}, headers=auth(admin))
    assert r.status_code == 200 and r.json()["id"] == m["id"]
    r = await client.get(
        f"/v1/meetings/{m['id']}/breakoutSessions", headers=auth(admin, hostEmail=HOST)
    )
    assert [s["name"] for s in r.json()["items"]] == ["A"]
    listed = await client.get("/v1/meetings", params={"hostEmail": HOST}, headers=auth(admin))
    assert [x["id"] for x in listed.json()["items"]] == [m["id"]]


async def test_admin_read_only_token_cannot_write(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """An admin token with only the admin read scope is 403 on DELETE, even naming the host."""
    m = await create_meeting(client, host, sendEmail=False)
    admin = await world.person("admin@example.com", admin=True,
                               scopes=["meeting:admin_schedule_read"])  # fmt: skip
    before = world.snapshot()
    r = await client.delete(
        f"/v1/meetings/{m['id']}/breakoutSessions", headers=auth(admin, hostEmail=HOST)
    )
    assert_error(r, 403)
    assert world.snapshot() == before


async def test_user_read_scope_ignores_host_email(
    client: httpx.AsyncClient, host: str, world: World
) -> None:
    """A user's hostEmail on a read is ignored: they still see only their own meetings."""
    await create_meeting(client, host, sendEmail=False)
    other = await world.person("other@example.com")
    r = await client.get("/v1/meetings", params={"hostEmail": HOST}, headers=auth(other))
    assert r.status_code == 200 and r.json()["items"] == []


async def test_tokens_are_stored_only_as_hashes(world: World) -> None:
    """No token appears in the database; only its SHA-256 does."""
    token = await world.person("a@example.com")
    dump = repr(world.snapshot())
    assert token not in dump
    assert len(world.rows("SELECT token_hash FROM tokens")[0]["token_hash"]) == 64


async def test_people_emails_are_unique_case_insensitively(
    client: httpx.AsyncClient, world: World
) -> None:
    """A token for A@x.com and one for a@x.com belong to the same person."""
    t1 = await world.person("Case@Example.com")
    t2 = await world.person("case@example.com")
    assert len(world.rows("SELECT * FROM people")) == 1
    m = await create_meeting(client, t1, sendEmail=False)
    assert (await client.get(f"/v1/meetings/{m['id']}", headers=auth(t2))).status_code == 200
