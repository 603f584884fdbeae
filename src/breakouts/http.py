"""HTTP plumbing shared by every route: the request's unit of work, parameters, bodies, errors.

Routes stay thin: they parse what the request says, call ``run`` with a service function, and
shape the answer. ``run`` owns the request's one transaction: it authenticates, applies the
rate limit, opens the transaction, builds the ``Ctx`` and commits (or rolls back on any error).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import FixedWindowRateLimiter
from prometheus_client import CollectorRegistry, Counter, Histogram, Metric
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from breakouts.auth import SEVERAL_AUTHORIZATIONS, authenticate, bearer_token, check_token
from breakouts.clock import Clock, monotonic
from breakouts.config import Settings
from breakouts.context import Ctx, Site
from breakouts.db import Database
from breakouts.errors import (
    ApiError,
    BadRequest,
    InternalError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    TooManyRequests,
    UnsupportedMediaType,
)
from breakouts.ids import new_tracking_id
from breakouts.logs import AccessLog, Logger
from breakouts.people.service import hash_token
from breakouts.text import pattern_rule

T = TypeVar("T")
JSON_TYPE = "application/json;charset=UTF-8"
_TRACKING_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
_REGEX_RE = re.compile(r"^Expected `str` matching regex '(.*)'(?= - at|$)")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "breakouts_http_requests",
            "HTTP requests answered",
            ["method", "endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "breakouts_http_request_seconds",
            "Time to answer a request",
            ["endpoint"],
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0),
        )
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        """Count one answered request (label children cached: ``labels()`` is slow per call)."""
        key = (method, endpoint, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, endpoint, str(status)),
                self.latency.labels(endpoint),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


class DatabaseMetrics(Collector):
    """Write transactions and the COMMITs that carried them (their ratio: the group size).

    Read from the backend's counters at scrape time; a backend without them reports nothing.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.db: Database | None = None
        registry.register(self)

    def collect(self) -> Iterator[Metric]:
        writes = getattr(self.db, "committed_writes", None)
        commits = getattr(self.db, "commits", None)
        if writes is None or commits is None:
            return
        yield CounterMetricFamily(
            "breakouts_db_write_transactions", "Write transactions committed", writes
        )
        yield CounterMetricFamily(
            "breakouts_db_commits", "Database COMMITs (several transactions share one)", commits
        )


@dataclass
class AppState:
    """Everything the routes share, built once in ``create_app``."""

    settings: Settings
    db: Database
    clock: Clock
    site: Site
    limiter: FixedWindowRateLimiter
    limit: RateLimitItem
    metrics: Metrics
    extra: dict[str, Any]


def make_limiter(settings: Settings) -> tuple[FixedWindowRateLimiter, RateLimitItem]:
    """Per-token fixed windows in memory (Redis storage when REDIS_URL comes next).

    The asyncio flavour of ``limits``: its synchronous MemoryStorage starts a timer thread
    every 10 ms under load, and waiting for those starts cost ~600 µs a request (bench/).
    """
    return FixedWindowRateLimiter(MemoryStorage()), parse(settings.rate_limit)


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.breakouts
    return state


def tracking_id(request: Request) -> str:
    tid: str = request.scope["state"]["tracking_id"]
    return tid


async def run(
    request: Request,
    op: Callable[[Ctx], Awaitable[T]],
    *,
    write: bool,
    host_email: Callable[[], str | None] = lambda: None,
) -> T:
    """Run ``op`` as the authenticated caller in one transaction.

    The token is checked first: parameters and bodies are parsed inside ``op`` (and
    ``host_email``), so a missing or bad token is 401 whatever else the request says.
    """
    state = app_state(request)
    token = bearer_token(request.scope["state"]["authorization"])
    key = hash_token(token)
    if not await state.limiter.hit(state.limit, key):
        reset = (await state.limiter.get_window_stats(state.limit, key)).reset_time
        raise TooManyRequests(retry_after=int(reset - state.clock.now()) + 1)
    async with state.db.transaction(write=write) as tx:
        now = state.clock.now_s()
        caller = await authenticate(tx, key, now, write=write, host_email=host_email)
        return await op(Ctx(tx, now, caller, tracking_id(request), state.site))


# --- parameters and bodies --------------------------------------------------------------------


def parse_bool(value: str | None, name: str, default: bool) -> bool:
    """``true``/``false`` in any letter case (wxc-sdk sends ``False``); anything else is 400."""
    if value is None:
        return default
    lowered = value.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise BadRequest(f"'{name}' must be true or false, not '{value}'.")


def query_param(request: Request, name: str) -> str | None:
    """A query parameter; an empty query string (the usual DELETE) is not parsed at all."""
    if not request.scope["query_string"]:
        return None
    return request.query_params.get(name)


def host_email_of(request: Request) -> Callable[[], str | None]:
    """``hostEmail`` from the header (upstream, breakout sessions) or the query string."""
    return lambda: request.scope["state"]["host_email"] or query_param(request, "hostEmail") or None


class JsonBody(Generic[T]):
    """A request body, read before the transaction (I/O) and decoded on first use (after auth).

    Reading happens up front because nothing may await real I/O while the SQLite transaction
    holds the connection; decoding waits so a bad token is 401 before a bad body is 400/415.
    """

    def __init__(self, raw: bytes, ctype: str, typ: type[T], media: tuple[str, ...]) -> None:
        self._raw, self._ctype, self._typ, self._media = raw, ctype, typ, media
        self._value: T | None = None

    @property
    def raw(self) -> bytes:
        return self._raw

    @property
    def value(self) -> T:
        if self._value is None:
            ctype, media = self._ctype, self._media
            if ctype != "application/json" and ctype not in media and not ctype.endswith("+json"):
                raise UnsupportedMediaType()
            self._value = decode_json(self._raw, self._typ)
        return self._value


def decode_json(raw: bytes, typ: type[T]) -> T:
    """``raw`` as ``typ``; every way it can fail is a 400 that names the problem, never a 500.

    JSON text is UTF-8 (RFC 8259 §8.1): invalid bytes are refused even inside a field we would
    ignore, which msgspec skips without looking.
    """
    try:
        if not raw.isascii():
            raw.decode("utf-8")
        return msgspec.json.decode(raw, type=typ)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"Invalid request body: {_field_message(str(exc))}") from exc
    except msgspec.DecodeError as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"The request body is not valid UTF-8 (byte {exc.start}): JSON text must be UTF-8."
        ) from exc
    except RecursionError as exc:
        raise BadRequest("The request body is nested too deeply to be read.") from exc


async def json_body(request: Request, typ: type[T], media: tuple[str, ...] = ()) -> JsonBody[T]:
    """Read the body of an authenticated caller; decode it later through ``.value``.

    The token is checked before a byte of the body is read (a stranger cannot make us hold
    anything), and bytes are counted as they arrive: past the configured size the request is
    answered 413 at once, whatever ``Content-Length`` said or whether it was sent in chunks.
    The unit of work checks the token again in its own transaction (it may expire in between).
    """
    state = app_state(request)
    key = hash_token(bearer_token(request.scope["state"]["authorization"]))
    async with state.db.transaction(write=False) as tx:
        await check_token(tx, key, state.clock.now_s())
    limit = state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge()
        chunks.append(chunk)
    raw = b"".join(chunks)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return JsonBody(raw, ctype, typ, media)


def _field_message(text: str) -> str:
    # msgspec says "Expected `str`, got `int` - at `$.items[0].name`": name the field plainly.
    match = _REGEX_RE.match(text)
    if match and (rule := pattern_rule(match.group(1).replace("\\\\", "\\"))):
        text = rule + text[match.end() :]
    if " - at `$." in text:
        what, _, where = text.rpartition(" - at `$.")
        return f"'{where.rstrip('`')}': {what}"
    return text


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(msgspec.json.encode(data), status, headers, media_type=JSON_TYPE)


def api_base(request: Request) -> str:
    configured = app_state(request).settings.public_url
    if configured:
        return configured.rstrip("/") + "/v1"
    return f"{request.url.scheme}://{request.url.netloc}/v1"


# --- errors, tracking ids, access log ----------------------------------------------------------


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
    """Outermost layer: TrackingID in and out, Webex error bodies, one log line, metrics.

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
