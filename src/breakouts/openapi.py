"""The OpenAPI 3.0.3 document served at /openapi.json, built from the msgspec schemas.

Operation ids and parameters are the upstream ones (the official Webex OpenAPI, CC BY 4.0; a
trimmed copy is test data in tests/data). 3.0.3 rather than 3.1 because the offline Swagger UI
we ship (4.15) renders 3.0 only; msgspec's ``anyOf [X, null]`` becomes ``nullable``.
"""

from __future__ import annotations

from typing import Any

import msgspec

from breakouts import __version__
from breakouts.breakouts.schemas import BreakoutSessionsObject, UpdateMeetingBreakoutSessionsObject
from breakouts.meetings.schemas import (
    DATE_TIME_TEXT,
    CreateMeetingObject,
    EndMeetingRequestObject,
    ErrorObject,
    MeetingObject,
    MeetingsList,
    UpdateMeetingObject,
)
from breakouts.people.schemas import PeopleList, PersonObject

REF = "#/components/schemas/{name}"

ERROR_TEXT = {
    "400": "Bad Request: invalid parameter or body; the message names the field.",
    "401": "Unauthorized: missing, unknown or expired bearer token.",
    "403": "Forbidden: the token lacks the scope, or the caller is not the meeting host.",
    "404": "Not Found: unknown, malformed, deleted or invisible meeting, or unknown host.",
    "405": "Method Not Allowed (see the Allow header).",
    "409": "Conflict: the meeting is in progress, ended, missed or expired.",
    "413": "Payload Too Large: the request body exceeds the configured limit.",
    "415": "Unsupported Media Type: the body is not JSON.",
    "423": "Locked: a concurrent change holds the meeting; retry after Retry-After seconds.",
    "429": "Too Many Requests: per-token rate limit; retry after Retry-After seconds.",
    "500": "Internal Server Error: nothing was changed; quote the trackingId.",
    "503": "Service Unavailable: the database is unreachable or overloaded; see Retry-After.",
    "504": "Gateway Timeout: a database statement ran past its time limit; see Retry-After.",
}
_RETRY = {"423", "429", "503", "504"}

NOT_PRODUCED = (
    "Of the upstream's generic status list, 428 (files that must be force-downloaded) does not "
    "apply because this service serves no files, and 502 is a proxy's answer, so neither is "
    "produced here. Every error body is `{message, errors[{description}], trackingId}` and every "
    "response carries a `TrackingID` header (yours echoed, or a new one)."
)


def to_30(node: Any) -> Any:
    """JSON Schema 2020-12 (msgspec) -> OpenAPI 3.0 schema objects."""
    if isinstance(node, list):
        return [to_30(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue  # msgspec's annotation (the struct's name), not a field called "title"
        if key == "properties":
            out[key] = {name: to_30(schema) for name, schema in value.items()}
        else:
            out[key] = to_30(value)
    examples = out.pop("examples", None)
    if isinstance(examples, list) and examples:
        out["example"] = examples[0]  # 3.0 has one `example` where 2020-12 has `examples`
    enum = out.get("enum")
    if isinstance(enum, list) and "type" not in out and all(isinstance(v, str) for v in enum):
        out["type"] = "string"  # msgspec leaves a Literal's type implicit
    options = out.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        del out["anyOf"]
        if len(rest) == 1 and "$ref" not in rest[0]:
            out.update(rest[0])
        else:
            out["anyOf" if len(rest) > 1 else "allOf"] = rest
        out["nullable"] = True
    return out


def errors(codes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for code in codes:
        resp: dict[str, Any] = {
            "description": ERROR_TEXT[code],
            "content": {"application/json": {"schema": {"$ref": REF.format(name="ErrorObject")}}},
            "headers": {"TrackingID": {"schema": {"type": "string"}}},
        }
        if code in _RETRY:
            resp["headers"]["Retry-After"] = {
                "schema": {"type": "integer"},
                "description": "Seconds to wait before retrying.",
            }
        out[code] = resp
    return out


def ok(
    code: str, description: str, schema: str | None, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    resp: dict[str, Any] = {
        "description": description,
        "headers": {"TrackingID": {"schema": {"type": "string"}}, **(headers or {})},
    }
    if schema:
        resp["content"] = {"application/json": {"schema": {"$ref": REF.format(name=schema)}}}
    return {code: resp}


def param(
    name: str, where: str, description: str, schema: dict[str, Any], required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": required,
        "description": description,
        "schema": schema,
    }


MEETING_ID = param(
    "meetingId",
    "path",
    "Meeting series, scheduled meeting (`{series}_{YYYYMMDDTHHMMSSZ}`) or "
    "instance (`{series}_I_{18 digits}`) id.",
    {"type": "string"},
    required=True,
)
# Not `format: email` (unlike `hostEmail` in a body): the value is only looked up, with an admin
# scope (an unknown or malformed address is then 404), and ignored otherwise.
HOST_EMAIL_Q = param(
    "hostEmail",
    "query",
    "With an admin scope: act on behalf of this host (an email; unknown: 404). Ignored otherwise.",
    {"type": "string", "example": "john.andersen@example.com"},
)
HOST_EMAIL_H = param(
    "hostEmail",
    "header",
    "With an admin scope: act on behalf of this host (an email; unknown: 404; upstream sends "
    "it as a header here, the query parameter is accepted too). Ignored otherwise.",
    {"type": "string", "example": "john.andersen@example.com"},
)
RANGE_TIME = DATE_TIME_TEXT.format(local="UTC")
# Booleans in the query string are `true`/`false` as upstream documents them; any letter case is
# accepted too (`True`, `FALSE`: wxc-sdk sends Python's spelling), anything else is 400.
ANY_CASE = "`true` or `false`, in any letter case (`True` too)"
SEND_EMAIL = param(
    "sendEmail",
    "query",
    f"Whether to email the host and invitees: {ANY_CASE}. Default true.",
    {"type": "boolean", "default": True},
)
CURRENT = param(
    "current",
    "query",
    "With `true`, a meeting series answers its current scheduled meeting instead: the one in "
    "progress, else the next one neither cancelled, started nor over (none left: 404). Other "
    f"ids answer themselves. Written {ANY_CASE}; default false.",
    {"type": "boolean", "default": False},
)
BEARER_TEXT = (
    "A bearer token of this server; paste it alone, without `Bearer `. Where to get one:\n\n"
    "- the first start of the server (empty database) prints the demo site's tokens, for "
    "`host@example.com` and the admin `admin@example.com`;\n"
    "- `breakouts tokens create EMAIL` prints a new token for a person (run it where the "
    "server's database is, e.g. `.venv/bin/breakouts tokens create host@example.com` in the "
    "checkout);\n"
    "- with the control plane on, `POST /_control/orgs` answers with the new people's tokens."
)

_COMMON = ["400", "401", "403", "404", "423", "429", "500", "503", "504"]
_BODY = ["413", "415"]


def body(name: str, media: tuple[str, ...] = ("application/json",)) -> dict[str, Any]:
    schema = {"$ref": REF.format(name=name)}
    return {"required": True, "content": {m: {"schema": schema} for m in media}}


def _people_paths() -> dict[str, Any]:
    """The upstream People API operations served here (read-only, the caller's org)."""
    person = ok("200", "The person.", "PersonObject")
    codes = errors(["400", "401", "403", "404", "429", "500", "503", "504"])
    return {
        "/v1/people/me": {
            "get": {
                "operationId": "getMyOwnDetails",
                "summary": "Get My Own Details",
                "description": "The token's owner: the first call most clients make.",
                "tags": ["People"],
                "responses": {**person, **codes},
            }
        },
        "/v1/people": {
            "get": {
                "operationId": "listPeople",
                "summary": "List People",
                "description": "People of the caller's org, by email or by ids (all without).",
                "tags": ["People"],
                "parameters": [
                    param("email", "query", "An email address.", {"type": "string"}),
                    param("id", "query", "Person ids, comma-separated.", {"type": "string"}),
                    param(
                        "max",
                        "query",
                        "At most this many (1-1000, default 100).",
                        {"type": "integer", "minimum": 1, "maximum": 1000},
                    ),
                ],
                "responses": {**ok("200", "The people found.", "PeopleList"), **codes},
            }
        },
        "/v1/people/{personId}": {
            "get": {
                "operationId": "getPersonDetails",
                "summary": "Get Person Details",
                "tags": ["People"],
                "parameters": [param("personId", "path", "A person id.", {"type": "string"}, True)],
                "responses": {**person, **codes},
            }
        },
    }


def build_openapi() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(
        [
            MeetingObject,
            MeetingsList,
            CreateMeetingObject,
            UpdateMeetingObject,
            UpdateMeetingBreakoutSessionsObject,
            BreakoutSessionsObject,
            EndMeetingRequestObject,
            ErrorObject,
            PersonObject,
            PeopleList,
        ],
        ref_template=REF,
    )
    link = {
        "Link": {
            "schema": {"type": "string"},
            "description": 'RFC 5988 paging: `<absolute URL>; rel="next"`.',
        }
    }
    paths: dict[str, Any] = {
        "/v1/meetings": {
            "get": {
                "operationId": "listMeetings",
                "summary": "List Meetings",
                "tags": ["Meetings"],
                "parameters": [
                    param(
                        "meetingType",
                        "query",
                        "meetingSeries (default), scheduledMeeting or meeting.",
                        {
                            "type": "string",
                            "enum": ["meetingSeries", "scheduledMeeting", "meeting"],
                        },
                    ),
                    param(
                        "state",
                        "query",
                        "Only meetings in this state.",
                        {
                            "type": "string",
                            "enum": [
                                "active",
                                "scheduled",
                                "ready",
                                "lobby",
                                "inProgress",
                                "ended",
                                "missed",
                                "expired",
                            ],
                        },
                    ),
                    param(
                        "meetingSeriesId",
                        "query",
                        "Occurrences and instances of this series.",
                        {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                    ),
                    param(
                        "from",
                        "query",
                        "Start of the range (inclusive). " + RANGE_TIME,
                        {
                            "type": "string",
                            "format": "date-time",
                            "example": "2019-03-18T09:30:00Z",
                        },
                    ),
                    param(
                        "to",
                        "query",
                        "End of the range (exclusive); not before `from`. " + RANGE_TIME,
                        {
                            "type": "string",
                            "format": "date-time",
                            "example": "2019-03-25T09:30:00Z",
                        },
                    ),
                    param(
                        "max",
                        "query",
                        "Page size, 1 to 100 (default 10).",
                        {"type": "integer", "minimum": 1, "maximum": 100},
                    ),
                    param(
                        "offset",
                        "query",
                        "Paging position (follow the `Link` header instead).",
                        {"type": "integer", "minimum": 0, "maximum": 100000},
                    ),
                    HOST_EMAIL_Q,
                ],
                "responses": {**ok("200", "Meetings.", "MeetingsList", link), **errors(_COMMON)},
            },
            "post": {
                "operationId": "createMeeting",
                "summary": "Create a Meeting",
                "tags": ["Meetings"],
                "requestBody": body("CreateMeetingObject"),
                "responses": {
                    **ok("200", "The new meeting series.", "MeetingObject"),
                    **errors(_COMMON + _BODY),
                },
            },
        },
        "/v1/meetings/{meetingId}": {
            "get": {
                "operationId": "getMeetingById",
                "summary": "Get a Meeting",
                "tags": ["Meetings"],
                "parameters": [
                    MEETING_ID,
                    CURRENT,
                    HOST_EMAIL_Q,
                ],
                "responses": {**ok("200", "The meeting.", "MeetingObject"), **errors(_COMMON)},
            },
            "put": {
                "operationId": "updateMeeting",
                "summary": "Update a Meeting",
                "tags": ["Meetings"],
                "parameters": [MEETING_ID],
                "requestBody": body("UpdateMeetingObject"),
                "responses": {
                    **ok("200", "The updated meeting.", "MeetingObject"),
                    **errors([*_COMMON, "409", *_BODY]),
                },
            },
            "patch": {
                "operationId": "patchMeeting",
                "summary": "Patch a Meeting",
                "tags": ["Meetings"],
                "parameters": [MEETING_ID],
                "requestBody": body(
                    "UpdateMeetingObject", ("application/json", "application/json-patch+json")
                ),
                "responses": {
                    **ok("200", "The updated meeting.", "MeetingObject"),
                    **errors([*_COMMON, "409", *_BODY]),
                },
            },
            "delete": {
                "operationId": "deleteMeeting",
                "summary": "Delete a Meeting",
                "tags": ["Meetings"],
                "parameters": [MEETING_ID, HOST_EMAIL_Q, SEND_EMAIL],
                "responses": {**ok("204", "Deleted.", None), **errors([*_COMMON, "409"])},
            },
        },
        "/v1/meetings/{meetingId}/end": {
            "post": {
                "operationId": "endMeeting",
                "summary": "End a Meeting",
                "tags": ["Meetings"],
                "parameters": [MEETING_ID, HOST_EMAIL_Q],
                "requestBody": {**body("EndMeetingRequestObject"), "required": False},
                "responses": {**ok("204", "Ended.", None), **errors([*_COMMON, "409", *_BODY])},
            },
        },
        "/v1/meetings/{meetingId}/breakoutSessions": {
            "get": {
                "operationId": "listBreakoutSessions",
                "summary": "List Meeting Breakout Sessions",
                "tags": ["Breakout Sessions"],
                "parameters": [MEETING_ID, HOST_EMAIL_H],
                "responses": {
                    **ok("200", "The breakout sessions.", "BreakoutSessionsObject"),
                    **errors(_COMMON),
                },
            },
            "put": {
                "operationId": "updateBreakoutSessions",
                "summary": "Update Meeting Breakout Sessions",
                "tags": ["Breakout Sessions"],
                "parameters": [MEETING_ID, HOST_EMAIL_H],
                "requestBody": body("UpdateMeetingBreakoutSessionsObject"),
                "responses": {
                    **ok(
                        "200", "The new breakout sessions, with new ids.", "BreakoutSessionsObject"
                    ),
                    **errors([*_COMMON, "409", *_BODY]),
                },
            },
            "delete": {
                "operationId": "deleteBreakoutSessions",
                "summary": "Delete Meeting Breakout Sessions",
                "description": "Deletes the breakout sessions of a meeting series or scheduled meeting "
                "for good and sets `enabledBreakoutSessions` to false. Instance ids are refused (400); "
                "a meeting in progress, ended, missed or expired is 409. Idempotent: 204 again when "
                "there is nothing left to delete (and no email).",
                "tags": ["Breakout Sessions"],
                "parameters": [MEETING_ID, SEND_EMAIL, HOST_EMAIL_H],
                "responses": {
                    **ok("204", "Deleted (empty body).", None),
                    **errors([*_COMMON, "409"]),
                },
            },
        },
    }
    paths.update(_people_paths())
    for ops in paths.values():
        for op in ops.values():
            op["responses"].update(errors(["405"]))
            op["security"] = [{"bearer": []}]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "breakouts — Webex Meetings API (meetings and breakout sessions)",
            "version": __version__,
            "description": "A self-hosted server speaking the Webex Meetings REST API. Click "
            "**Authorize** and paste a bearer token (`breakouts tokens create EMAIL`) to try the "
            "API. Operation ids follow the official Webex OpenAPI (CC BY 4.0).\n\n" + NOT_PRODUCED,
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": "Meetings"},
            {"name": "Breakout Sessions"},
            {"name": "People", "description": "Read-only: the caller's org's people."},
        ],
        "paths": paths,
        "components": {
            "schemas": to_30(components),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": BEARER_TEXT}
            },
        },
    }
