"""One route per path, dispatching on the method.

Starlette answers 405 for a path with several single-method routes using only the first
route's methods in ``Allow``; grouping the handlers of a path keeps ``Allow`` complete.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Endpoint = Callable[[Request], Awaitable[Response]]


def resource(path: str, handlers: dict[str, Endpoint]) -> Route:
    if "GET" in handlers:
        handlers = {**handlers, "HEAD": handlers["GET"]}

    async def dispatch(request: Request) -> Response:
        handler = handlers[request.method]
        request.scope["endpoint"] = handler  # metrics and logs name the operation
        return await handler(request)

    route = Route(path, dispatch, methods=sorted(handlers))
    route.methods = set(handlers)
    return route
