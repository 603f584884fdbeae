"""The outermost layer: TrackingID in and out, Webex error bodies, the journal, one log line."""

from __future__ import annotations

import re

import msgspec
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from breakouts.auth import SEVERAL_AUTHORIZATIONS
from breakouts.clock import monotonic
from breakouts.errors import ApiError, InternalError, MethodNotAllowed, NotFound
from breakouts.http import JSON_TYPE
from breakouts.ids import new_tracking_id
from breakouts.logs import AccessLog, Logger
from breakouts.metrics import Metrics
from breakouts.orgs import journal

_TRACKING_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")


def render_error(exc: ApiError, tid: str) -> Response:
    body = {
        "message": exc.message,
        "errors": [{"description": d} for d in exc.descriptions],
        "trackingId": tid,
    }
    return Response(msgspec.json.encode(body), exc.status, exc.headers, media_type=JSON_TYPE)


def _starlette_error(exc: HTTPException) -> ApiError:
    """The router's own answers (no such path: 404; wrong method: 405 with Allow) as ApiErrors."""
    if exc.status_code == 405:
        return MethodNotAllowed(headers=dict(exc.headers or {}))
    if exc.status_code == 404:
        return NotFound()
    error = ApiError(str(exc.detail), headers=dict(exc.headers or {}))
    error.status = exc.status_code
    return error


class ApiMiddleware:
    """Outermost layer: TrackingID in and out, Webex error bodies, journal, log line, metrics.

    Any exception that reaches it becomes a Webex-shaped error; an unexpected one is logged
    with its traceback under the TrackingID and answered 500 with nothing of its insides.
    """

    def __init__(
        self, app: ASGIApp, metrics: Metrics, logger: Logger, access_log: AccessLog
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.log = logger
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = monotonic()
        tid = authorization = host_email = None
        # One pass over the headers for the three every API request reads (Starlette's
        # ``Headers`` would scan and decode the list again for each).
        for name, value in scope["headers"]:
            if name == b"authorization":
                # More than one: refused (401) rather than letting the first one win.
                authorization = (
                    value.decode("latin-1") if authorization is None else SEVERAL_AUTHORIZATIONS
                )
            elif name == b"trackingid":
                if tid is None:
                    candidate = value.decode("latin-1")
                    tid = candidate if _TRACKING_RE.match(candidate) else ""
            elif name == b"hostemail" and host_email is None:
                host_email = value.decode("latin-1")
        if not tid:
            tid = new_tracking_id()
        state = scope.setdefault("state", {})
        state["tracking_id"] = tid
        state["authorization"] = authorization
        state["host_email"] = host_email
        tid_header = (b"trackingid", tid.encode("latin-1"))
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), tid_header]
                note = state.get("journal")
                if note is not None:
                    await self._journal(scope, note, status, tid, started)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if isinstance(exc, HTTPException):
                exc = _starlette_error(exc)
            elif not isinstance(exc, ApiError):
                self.log.error("unhandled_error", tracking_id=tid, exc_info=exc)
                exc = InternalError()
            if status == 0:
                await render_error(exc, tid)(scope, receive, send_with_id)
        endpoint = scope.get("endpoint")
        name = getattr(endpoint, "__name__", "unmatched")
        elapsed = monotonic() - started
        self.metrics.observe(scope["method"], name, status, elapsed)
        self.access_log(
            tracking_id=tid,
            method=scope["method"],
            path=scope["path"],
            status=status,
            ms=round(elapsed * 1000, 2),
        )

    async def _journal(
        self, scope: Scope, note: journal.Note, status: int, tid: str, started: float
    ) -> None:
        """Write the request's journal entry before its answer leaves (orgs with a journal)."""
        try:
            await journal.write(
                scope["app"].state.breakouts.db,
                note,
                method=scope["method"],
                path=scope["path"],
                query=scope["query_string"].decode("latin-1"),
                status=status,
                tracking_id=tid,
                duration_ms=(monotonic() - started) * 1000,
            )
        except Exception as exc:  # the journal is a test aid: losing an entry fails no request
            self.log.error("journal_write_failed", tracking_id=tid, exc_info=exc)
