"""Request parameters and bodies: parsing what a request says, and shaping JSON answers.

Everything here answers a bad parameter or body with a 400/413/415 that names the problem;
nothing here touches the database but ``json_body``'s token check (a body is read only for a
caller whose token is known good).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from breakouts.auth import bearer_token, check_token
from breakouts.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from breakouts.people.service import hash_token
from breakouts.state import app_state
from breakouts.text import pattern_rule, whole_number

T = TypeVar("T")
JSON_TYPE = "application/json;charset=UTF-8"
_REGEX_RE = re.compile(r"^Expected `str` matching regex '(.*)'(?= - at|$)")


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
    if declared is not None and (whole_number(declared) or 0) > limit:
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
