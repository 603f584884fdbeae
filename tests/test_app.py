"""The application as Starlette builds it: middleware added the Starlette way runs everywhere."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.conftest import World, auth, create_meeting, sessions_path


class Stamp:
    """A user's middleware: adds a header to every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"x-stamp", b"1")]
            await send(message)

        await self.app(scope, receive, stamped)


async def test_added_middleware_runs_on_the_hot_path_routes_and_errors(
    app: Starlette, client: httpx.AsyncClient, world: World
) -> None:
    """add_middleware wraps the hot DELETE, ordinary routes, 404s and 401s alike."""
    app.add_middleware(Stamp)
    token = await world.person("host@example.com")
    meeting = await create_meeting(client, token, sendEmail=False)
    answers = [
        await client.delete(sessions_path(meeting["id"]), headers=auth(token)),
        await client.get(f"/v1/meetings/{meeting['id']}", headers=auth(token)),
        await client.get("/nowhere"),
        await client.get("/v1/meetings"),
    ]
    assert [r.status_code for r in answers] == [204, 200, 404, 401]
    assert all(r.headers["x-stamp"] == "1" and r.headers["TrackingID"] for r in answers)
