"""Links in a meeting object (#9 item 8): every href is absolute and answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import World, auth, create_meeting, start_meeting


def _hrefs(node: Any) -> list[str]:
    """Every ``href`` anywhere in a JSON value."""
    if isinstance(node, dict):
        found = [node["href"]] if isinstance(node.get("href"), str) else []
        return found + [h for value in node.values() for h in _hrefs(value)]
    if isinstance(node, list):
        return [h for value in node for h in _hrefs(value)]
    return []


async def _every_kind(client: httpx.AsyncClient, world: World, token: str) -> list[dict[str, Any]]:
    """A series, one of its scheduled meetings and a started instance, as getMeetingById shows them."""
    m = await create_meeting(client, token, recurrence="FREQ=DAILY;COUNT=3", sendEmail=False)
    occurrence = f"{m['id']}_{m['start'].replace('-', '').replace(':', '')}"
    instance = await start_meeting(world, m["id"])
    out = []
    for meeting_id in (m["id"], occurrence, instance):
        r = await client.get(f"/v1/meetings/{meeting_id}", headers=auth(token))
        assert r.status_code == 200, r.text
        out.append(r.json())
    return out


async def test_every_link_is_absolute_and_answers(client: httpx.AsyncClient, world: World) -> None:
    """Series, scheduled meeting, instance: each href is an absolute URL under /v1 that answers 200."""
    token = await world.person("host@example.com")
    for meeting in await _every_kind(client, world, token):
        hrefs = _hrefs(meeting)
        assert hrefs, meeting
        for href in hrefs:
            assert href.startswith("http://testserver/v1/meetings/"), href
            r = await client.get(href, headers=auth(token))
            assert r.status_code == 200, (href, r.text)


async def test_telephony_has_no_link_to_an_operation_that_does_not_exist(
    client: httpx.AsyncClient, world: World
) -> None:
    """globalCallinNumbers is no public operation upstream: telephony carries no links."""
    token = await world.person("host@example.com")
    m = await create_meeting(client, token)
    assert set(m["telephony"]) == {"accessCode", "callInNumbers"}
    r = await client.get(f"/v1/meetings/{m['id']}/globalCallinNumbers", headers=auth(token))
    assert r.status_code == 404


@pytest.mark.parametrize(
    "settings_overrides", [{"public_url": "https://meet.example.org/"}], indirect=True
)
async def test_links_follow_the_configured_public_url(
    client: httpx.AsyncClient, world: World
) -> None:
    """Behind a proxy every href starts with the configured public URL, none with the request's."""
    token = await world.person("host@example.com")
    m = await create_meeting(client, token)
    assert _hrefs(m) == [f"https://meet.example.org/v1/meetings/{m['id']}/breakoutSessions"]
