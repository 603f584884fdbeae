"""The control plane in /openapi.json: its own tag, marked as not part of Webex (SPEC §10).

Added to the document only when the control plane is on (``docs.docs_routes``), like its paths.
"""

from __future__ import annotations

from typing import Any

import msgspec

from breakouts.openapi import REF, body, errors, ok, param, to_30

from .schemas import (
    ClockMove,
    ClockObject,
    FaultObject,
    FaultsList,
    FaultSpec,
    JournalList,
    MailList,
    MailObject,
    OrgCreated,
    OrgsList,
    OrgSpec,
    PersonCreated,
    PersonSpec,
)

TAG = "Control plane (not part of Webex)"
TAG_TEXT = (
    "For tests and operators, not part of the Webex API: orgs (each a world apart), their "
    "clocks, fault rules, captured mail and request journals. On only when the server has an "
    "operator token (`BREAKOUTS_CONTROL_TOKEN`, or `breakouts serve --control`); only that token "
    "is accepted here (401 otherwise). Everything set here is stored, so every server process "
    "and mail worker obeys it for every request that starts after the call answered."
)
_ORG_ID = param(
    "orgId", "path", "An org's id (as `POST /_control/orgs` answered it).", {"type": "string"}, True
)
_CODES = ["400", "401", "404"]


def _op(
    op_id: str,
    summary: str,
    responses: dict[str, Any],
    *,
    params: list[dict[str, Any]] | None = None,
    request: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "operationId": op_id,
        "summary": summary,
        "tags": [TAG],
        "parameters": params or [],
        "responses": {**responses, **errors(_CODES)},
        "security": [{"operator": []}],
    }
    if request:
        out["requestBody"] = body(request)
    if description:
        out["description"] = description
    return out


def _q(name: str, text: str) -> dict[str, Any]:
    return param(name, "query", text, {"type": "string"})


def control_document() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(paths, component schemas, security scheme) of the control plane."""
    _, components = msgspec.json.schema_components(
        [OrgSpec, OrgCreated, OrgsList, PersonSpec, PersonCreated, ClockMove, ClockObject,
         FaultSpec, FaultObject, FaultsList, MailObject, MailList, JournalList],
        ref_template=REF,
    )  # fmt: skip
    none = ok("204", "Done (empty body).", None)
    org = "/_control/orgs/{orgId}"
    paths: dict[str, Any] = {
        "/_control/orgs": {
            "get": _op("controlListOrgs", "List orgs", ok("200", "The orgs.", "OrgsList")),
            "post": _op(
                "controlCreateOrg", "Create an org", ok("201", "The org, its people's tokens and meetings.", "OrgCreated"),
                request="OrgSpec",
                description="A seed document: `people` (default: host@example.com and the admin "
                "admin@example.com) with optional fixed tokens, and `meetings` (createMeeting "
                "bodies, with `hostEmail` naming one of the people). `journal: true` keeps a "
                "request journal. All or nothing.",
            ),
        },
        org: {"delete": _op("controlDeleteOrg", "Delete an org and everything it owns", none, params=[_ORG_ID])},
        "/_control/reset": {
            "post": _op("controlReset", "Reset: every org gone, the default org back, empty", none)
        },
        f"{org}/people": {
            "post": _op("controlAddPerson", "Add a person to an org", ok("201", "The person and their token.", "PersonCreated"),
                        params=[_ORG_ID], request="PersonSpec")
        },
        f"{org}/clock": {
            "get": _op("controlGetClock", "The org's clock", ok("200", "Its now and offset.", "ClockObject"), params=[_ORG_ID]),
            "post": _op("controlMoveClock", "Move the org's clock forward", ok("200", "Its new now and offset.", "ClockObject"),
                        params=[_ORG_ID], request="ClockMove",
                        description="`advance`: seconds or an ISO 8601 duration (`PT2H`, `P1DT30M`); or `to`: an "
                        "RFC 3339 instant. Never backwards (400). Occurrences pass into ended/missed, series "
                        "expire, and mail dates and journal times follow."),
        },
        "/_control/meetings/{meetingId}/start": {
            "post": _op("controlStartMeeting", "Start a meeting", ok("200", "The instance (meetingType `meeting`, state `inProgress`).", "MeetingObject"),
                        params=[param("meetingId", "path", "A scheduled meeting, or a series (its next occurrence).", {"type": "string"}, True)])
        },
        f"{org}/faults": {
            "get": _op("controlListFaults", "The org's fault rules", ok("200", "The rules, in order.", "FaultsList"), params=[_ORG_ID]),
            "post": _op("controlAddFault", "Add a fault rule", ok("201", "The rule, with `remaining` hits (null: unlimited).", "FaultObject"),
                        params=[_ORG_ID], request="FaultSpec",
                        description="`operation`: an upstream operationId (e.g. `deleteBreakoutSessions`), `*` "
                        "for every API operation, or `smtp` for the org's mail delivery (4xx: retried, 5xx: "
                        "dead). A faulted request answers `status` with the Webex error body (and "
                        "`Retry-After`) and changes nothing; `latencyMs` alone delays and proceeds; `count` "
                        "hits, on whichever process; `probability` per request."),
            "delete": _op("controlClearFaults", "Delete every fault rule of the org", none, params=[_ORG_ID]),
        },
        f"{org}/faults/{{faultId}}": {
            "delete": _op("controlDeleteFault", "Delete one fault rule", none,
                          params=[_ORG_ID, param("faultId", "path", "The rule's id.", {"type": "string"}, True)])
        },
        f"{org}/mail": {
            "get": _op("controlListMail", "The org's mail (captured, or its delivery record)", ok("200", "Oldest first.", "MailList"),
                       params=[_ORG_ID, _q("to", "Recipient (any letter case)."), _q("meetingId", "Meeting id."),
                               _q("event", "e.g. breakouts.deleted."), _q("status", "pending, sending, sent, captured or dead.")]),
            "delete": _op("controlClearMail", "Forget the org's mail", none, params=[_ORG_ID]),
        },
        f"{org}/mail/{{mailId}}": {
            "get": _op("controlGetMail", "One message", ok("200", "The message.", "MailObject"),
                       params=[_ORG_ID, param("mailId", "path", "The message's id.", {"type": "string"}, True)])
        },
        f"{org}/requests": {
            "get": _op("controlListRequests", "The org's request journal", ok("200", "Oldest first; the newest 1 000 are kept.", "JournalList"),
                       params=[_ORG_ID, _q("operationId", "e.g. deleteBreakoutSessions."), _q("status", "An HTTP status.")]),
            "delete": _op("controlClearRequests", "Empty the org's journal", none, params=[_ORG_ID]),
        },
    }  # fmt: skip
    scheme = {
        "type": "http",
        "scheme": "bearer",
        "description": "The operator token (BREAKOUTS_CONTROL_TOKEN), not a Webex token.",
    }
    return paths, to_30(components), scheme
