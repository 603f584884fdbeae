"""The error contract (SPEC §6): Webex error body, TrackingID, 405/413/415/400, no leaks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.conftest import World, auth, create_meeting


@pytest.fixture
async def token(world: World) -> str:
    return await world.person("host@example.com")


def assert_webex_error(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = r.json()
    assert set(body) == {"message", "errors", "trackingId"}
    assert isinstance(body["message"], str) and body["message"]
    assert body["errors"] == [{"description": body["errors"][0]["description"]}]
    assert body["trackingId"] == r.headers["TrackingID"]
    return body


async def test_client_tracking_id_is_echoed(client: httpx.AsyncClient, token: str) -> None:
    """A TrackingID sent by the client comes back in the header (and in error bodies)."""
    r = await client.get("/v1/meetings", headers=auth(token, TrackingID="ROUTER_abc-123"))
    assert r.headers["TrackingID"] == "ROUTER_abc-123"
    r = await client.get("/v1/meetings/nope", headers=auth(token, TrackingID="ROUTER_abc-124"))
    assert assert_webex_error(r, 404)["trackingId"] == "ROUTER_abc-124"


async def test_tracking_id_is_generated_and_unsafe_ones_replaced(client: httpx.AsyncClient) -> None:
    """Without a (usable) TrackingID, each response gets a new one."""
    a = await client.get("/healthz")
    b = await client.get("/healthz", headers={"TrackingID": "bad value\twith <html>"})
    assert a.headers["TrackingID"].startswith("breakouts_")
    assert b.headers["TrackingID"].startswith("breakouts_")
    assert a.headers["TrackingID"] != b.headers["TrackingID"]


@pytest.mark.parametrize("settings_overrides", [{"log_level": "info"}])
async def test_tracking_id_appears_in_the_request_log_line(
    client: httpx.AsyncClient,
    token: str,
    capfd: pytest.CaptureFixture[str],
    settings_overrides: dict[str, Any],
) -> None:
    """The request's log line is JSON and carries its TrackingID."""
    await client.get("/v1/meetings", headers=auth(token, TrackingID="trace-in-logs-1"))
    await asyncio.sleep(0)  # access log lines are written once per event-loop turn
    lines = [json.loads(x) for x in capfd.readouterr().err.splitlines() if "trace-in-logs-1" in x]
    assert lines and lines[-1]["status"] == 200 and lines[-1]["path"] == "/v1/meetings"


@pytest.mark.parametrize("settings_overrides", [{"log_level": "info"}])
async def test_requests_answered_together_each_get_one_whole_log_line(
    client: httpx.AsyncClient,
    token: str,
    capfd: pytest.CaptureFixture[str],
    settings_overrides: dict[str, Any],
) -> None:
    """Lines written together (one write per loop turn) stay one JSON object per line each."""
    ids = [f"batch-{i}" for i in range(5)]
    await asyncio.gather(
        *(client.get("/v1/meetings", headers=auth(token, TrackingID=t)) for t in ids)
    )
    await asyncio.sleep(0)
    lines = [json.loads(x) for x in capfd.readouterr().err.splitlines() if "batch-" in x]
    assert sorted(x["tracking_id"] for x in lines) == ids
    assert all(x["event"] == "request" and x["status"] == 200 for x in lines)


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("PATCH", "/v1/meetings/x/breakoutSessions", {"GET", "HEAD", "PUT", "DELETE"}),
        ("DELETE", "/v1/meetings", {"GET", "HEAD", "POST"}),
        ("GET", "/v1/meetings/x/end", {"POST"}),
    ],
)
async def test_wrong_method_is_405_with_allow(
    client: httpx.AsyncClient, method: str, url: str, allowed: set[str]
) -> None:
    """A known path with the wrong method is 405 listing every allowed method."""
    r = await client.request(method, url)
    assert_webex_error(r, 405)
    assert {m.strip() for m in r.headers["Allow"].split(",")} == allowed


async def test_unknown_path_is_404_webex_body(client: httpx.AsyncClient) -> None:
    """Paths we do not serve answer 404 in the Webex error shape."""
    assert_webex_error(await client.get("/v1/rooms"), 404)


@pytest.mark.parametrize("ctype", [None, "text/plain", "application/x-www-form-urlencoded"])
async def test_non_json_body_is_415(
    client: httpx.AsyncClient, token: str, world: World, ctype: str | None
) -> None:
    """A body that is not declared JSON is 415 and creates nothing."""
    headers = auth(token)
    if ctype:
        headers["Content-Type"] = ctype
    before = world.snapshot()
    r = await client.post("/v1/meetings", content=b'{"title": "x"}', headers=headers)
    assert_webex_error(r, 415)
    assert world.snapshot() == before


async def test_malformed_json_is_400(client: httpx.AsyncClient, token: str, world: World) -> None:
    """Broken JSON is a 400 that says so."""
    before = world.snapshot()
    r = await client.post(
        "/v1/meetings",
        content=b'{"title": ',
        headers=auth(token, **{"Content-Type": "application/json"}),
    )
    assert "not valid JSON" in assert_webex_error(r, 400)["message"]
    assert world.snapshot() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ["x"], "start": "a", "end": "b"}, "'title'"),
        ({"start": "a", "end": "b"}, "title"),
        (
            {"title": "x", "start": "a", "end": "b", "invitees": [{"email": 3}]},
            "'invitees[0].email'",
        ),
        ({"title": "x", "start": "a", "end": "b", "sendEmail": "yes"}, "'sendEmail'"),
    ],
)
async def test_wrong_field_type_is_400_naming_the_field(
    client: httpx.AsyncClient, token: str, body: dict[str, Any], field: str
) -> None:
    """A wrong or missing field is a 400 whose message names it."""
    r = await client.post("/v1/meetings", json=body, headers=auth(token))
    assert field in assert_webex_error(r, 400)["message"]


@pytest.mark.parametrize("settings_overrides", [{"max_body_bytes": 200}])
async def test_oversized_body_is_413(
    client: httpx.AsyncClient, token: str, world: World, settings_overrides: dict[str, Any]
) -> None:
    """Bodies beyond the configured limit are refused before parsing."""
    r = await client.post("/v1/meetings", json={"title": "x" * 500}, headers=auth(token))
    assert_webex_error(r, 413)


async def test_unexpected_error_is_500_without_internals(
    client: httpx.AsyncClient, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Any unexpected fault answers 500 in the Webex shape with no trace, SQL or path."""

    async def boom(*args: Any, **kwargs: Any) -> None:
        raise ValueError("SELECT secret FROM /var/lib/breakouts.db")

    monkeypatch.setattr("breakouts.meetings.listing.list_meetings", boom)
    r = await client.get("/v1/meetings", headers=auth(token))
    body = assert_webex_error(r, 500)
    for leak in ("SELECT", "/var/lib", "ValueError", "Traceback", ".py"):
        assert leak not in r.text
    assert "trackingId" in body


async def test_every_error_on_a_route_has_the_same_shape(
    client: httpx.AsyncClient, token: str
) -> None:
    """401, 403, 404 and 400 from meeting routes share the body and header contract."""
    m = await create_meeting(client, token, sendEmail=False)
    reader_like = "Bearer " + "x" * 40
    assert_webex_error(
        await client.get(f"/v1/meetings/{m['id']}", headers={"Authorization": reader_like}), 401
    )
    assert_webex_error(await client.get("/v1/meetings/" + "f" * 32, headers=auth(token)), 404)
    assert_webex_error(
        await client.get("/v1/meetings", params={"max": "-1"}, headers=auth(token)), 400
    )
