"""B, the HTTP stack limit: an ASGI app with no framework that answers every request 204.

Served by the same uvicorn (uvloop, httptools, 1 worker) as the real server; the bench drives it
with the same wrk script and requests as the real DELETE.
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
