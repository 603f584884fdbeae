"""HTTP routes for /v1/meetings: parse the request, call the service, shape the answer."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from breakouts.context import Ctx
from breakouts.errors import BadRequest
from breakouts.http import (
    api_base,
    host_email_of,
    json_body,
    json_response,
    parse_bool,
)
from breakouts.meetings import listing, service
from breakouts.meetings.schemas import (
    CreateMeetingObject,
    EndMeetingRequestObject,
    UpdateMeetingObject,
)
from breakouts.meetings.view import render
from breakouts.routing import resource
from breakouts.state import app_state
from breakouts.text import whole_number
from breakouts.unit import run

MEETING_TYPES = ("meetingSeries", "scheduledMeeting", "meeting")
STATES = ("active", "scheduled", "ready", "lobby", "inProgress", "ended", "missed", "expired")


async def create_meeting(request: Request) -> Response:
    body = await json_body(request, CreateMeetingObject)
    site, base = app_state(request).site, api_base(request)

    async def op(ctx: Ctx) -> dict[str, object]:
        return render(await service.create_meeting(ctx, body.value), site, base)

    return json_response(
        await run(
            request,
            op,
            operation="createMeeting",
            write=True,
            host_email=lambda: body.value.host_email,
        )
    )


async def get_meeting(request: Request) -> Response:
    meeting_id = request.path_params["meetingId"]
    site, base = app_state(request).site, api_base(request)

    async def op(ctx: Ctx) -> dict[str, object]:
        current = parse_bool(request.query_params.get("current"), "current", False)
        return render(await service.get_meeting(ctx, meeting_id, current), site, base)

    return json_response(
        await run(
            request, op, operation="getMeetingById", write=False, host_email=host_email_of(request)
        )
    )


def _list_query(request: Request) -> listing.ListQuery:
    q = request.query_params
    meeting_type = q.get("meetingType")
    if meeting_type is not None and meeting_type not in MEETING_TYPES:
        raise BadRequest(f"'meetingType' must be one of {', '.join(MEETING_TYPES)}.")
    state = q.get("state")
    if state is not None and state not in STATES:
        raise BadRequest(f"'state' must be one of {', '.join(STATES)}.")
    page = whole_number(q.get("max", str(listing.DEFAULT_PAGE)))
    if page is None or not 1 <= page <= listing.MAX_PAGE:
        raise BadRequest(f"'max' must be a whole number from 1 to {listing.MAX_PAGE}.")
    offset = whole_number(q.get("offset", "0"))
    if offset is None or offset > 100_000:
        raise BadRequest("'offset' must be a whole number from 0 to 100000.")
    return listing.ListQuery(
        meeting_type,
        state,
        q.get("meetingSeriesId"),
        q.get("from"),
        q.get("to"),
        page,
        offset,
    )


async def list_meetings(request: Request) -> Response:
    site, base = app_state(request).site, api_base(request)
    Page = tuple[list[dict[str, object]], bool, listing.ListQuery]

    async def op(ctx: Ctx) -> Page:
        query = _list_query(request)
        views, more = await listing.list_meetings(ctx, query)
        return [render(v, site, base) for v in views], more, query

    items, more, query = await run(
        request, op, operation="listMeetings", write=False, host_email=host_email_of(request)
    )
    headers = {}
    if more:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "offset"]
        params.append(("offset", str(query.offset + query.max)))
        headers["Link"] = f'<{base}/meetings?{urlencode(params)}>; rel="next"'
    return json_response({"items": items}, headers=headers)


def _update_operation(request: Request) -> str:
    return "patchMeeting" if request.method == "PATCH" else "updateMeeting"


async def update_meeting(request: Request) -> Response:
    """PUT and PATCH: fields present replace the stored ones (PATCH may say application/json-patch+json)."""
    meeting_id = request.path_params["meetingId"]
    body = await json_body(request, UpdateMeetingObject, media=("application/json-patch+json",))
    site, base = app_state(request).site, api_base(request)

    async def op(ctx: Ctx) -> dict[str, object]:
        return render(await service.update_meeting(ctx, meeting_id, body.value), site, base)

    return json_response(
        await run(
            request,
            op,
            operation=_update_operation(request),
            write=True,
            host_email=lambda: body.value.host_email,
        )
    )


async def delete_meeting(request: Request) -> Response:
    meeting_id = request.path_params["meetingId"]

    async def op(ctx: Ctx) -> None:
        send_email = parse_bool(request.query_params.get("sendEmail"), "sendEmail", True)
        await service.delete_meeting(ctx, meeting_id, send_email)

    await run(request, op, operation="deleteMeeting", write=True, host_email=host_email_of(request))
    return Response(status_code=204)


async def end_meeting(request: Request) -> Response:
    meeting_id = request.path_params["meetingId"]
    body = await json_body(request, EndMeetingRequestObject)

    async def op(ctx: Ctx) -> None:
        if body.raw:
            body.value  # noqa: B018 - validates the optional body (reason)
        await service.end_meeting(ctx, meeting_id)

    await run(request, op, operation="endMeeting", write=True, host_email=host_email_of(request))
    return Response(status_code=204)


routes = [
    resource("/v1/meetings", {"GET": list_meetings, "POST": create_meeting}),
    resource(
        "/v1/meetings/{meetingId}",
        {
            "GET": get_meeting,
            "PUT": update_meeting,
            "PATCH": update_meeting,
            "DELETE": delete_meeting,
        },
    ),
    resource("/v1/meetings/{meetingId}/end", {"POST": end_meeting}),
]
