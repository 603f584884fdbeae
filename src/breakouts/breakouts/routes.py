"""HTTP routes for /v1/meetings/{meetingId}/breakoutSessions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from breakouts.breakouts import service
from breakouts.breakouts.schemas import UpdateMeetingBreakoutSessionsObject
from breakouts.context import Ctx
from breakouts.http import (
    host_email_of,
    json_body,
    json_response,
    parse_bool,
    query_param,
)
from breakouts.ids import parse_meeting_id
from breakouts.meetings.repository import SeriesLookup
from breakouts.meetings.view import format_time
from breakouts.plans.repository import Session, sessions_json
from breakouts.routing import resource
from breakouts.unit import run


async def list_breakout_sessions(request: Request) -> Response:
    meeting_id = request.path_params["meetingId"]

    found = _lookup(meeting_id)

    async def op(ctx: Ctx) -> list[dict[str, object]]:
        sessions = await service.list_breakout_sessions(ctx, meeting_id, found)
        return _items(sessions, "_I_" in meeting_id)

    items = await run(
        request,
        op,
        operation="listBreakoutSessions",
        write=False,
        host_email=host_email_of(request),
        lookup=None if found is None else found.lookup,
    )
    return json_response({"items": items})


async def update_breakout_sessions(request: Request) -> Response:
    meeting_id = request.path_params["meetingId"]
    body = await json_body(request, UpdateMeetingBreakoutSessionsObject)
    header_host = host_email_of(request)
    found = _lookup(meeting_id)

    async def op(ctx: Ctx) -> list[Session]:
        return await service.update_breakout_sessions(ctx, meeting_id, body.value, found)

    plan = await run(
        request,
        op,
        operation="updateBreakoutSessions",
        write=True,
        host_email=lambda: body.value.host_email or header_host(),
        lookup=None if found is None else found.lookup,
    )
    return json_response({"items": _items(plan, False)})


async def delete_breakout_sessions(request: Request) -> Response:
    meeting_id = request.path_params["meetingId"]
    found = _lookup(meeting_id)

    async def op(ctx: Ctx) -> int:
        send_email = parse_bool(query_param(request, "sendEmail"), "sendEmail", True)
        return await service.delete_breakout_sessions(ctx, meeting_id, send_email, found)

    await run(
        request,
        op,
        operation="deleteBreakoutSessions",
        write=True,
        host_email=host_email_of(request),
        lookup=None if found is None else found.lookup,
    )
    return Response(status_code=204)


def _lookup(meeting_id: str) -> SeriesLookup | None:
    """The token lookup that also brings the series the path names (None: not a meeting id)."""
    ref = parse_meeting_id(meeting_id)
    return None if ref is None else SeriesLookup(ref.series_id)


def _items(sessions: list[Session], with_times: bool) -> list[dict[str, object]]:
    return sessions_json(sessions, with_times=with_times, fmt=lambda t: format_time(t, "UTC"))


routes = [
    resource(
        "/v1/meetings/{meetingId}/breakoutSessions",
        {
            "GET": list_breakout_sessions,
            "PUT": update_breakout_sessions,
            "DELETE": delete_breakout_sessions,
        },
    ),
]
