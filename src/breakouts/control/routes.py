"""HTTP routes of the control plane (SPEC §10), under ``/_control``: not part of Webex.

Mounted only when a control token is configured (otherwise every path here is a 404, as if it
did not exist). Its own entrance, ``control``: the operator token (401 without it), one
transaction, JSON in and out, Webex error bodies (rendered by the outer middleware). Nothing
here goes through the API's unit of work: no rate limit, no faults, no journal.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from breakouts.auth import bearer_token
from breakouts.db import Tx
from breakouts.errors import PayloadTooLarge, Unauthorized
from breakouts.http import api_base, decode_json, json_response
from breakouts.orgs.repository import Org
from breakouts.routing import resource
from breakouts.state import app_state

from . import service
from .schemas import ClockMove, FaultSpec, OrgSpec, PersonSpec
from .service import Env

T = TypeVar("T")
MAX_CONTROL_BODY = 16 << 20  # a seed document with many meetings is still small


def check_operator(request: Request) -> None:
    """401 unless the bearer is the operator token (compared in constant time)."""
    expected = app_state(request).settings.control_token
    given = bearer_token(request.scope["state"]["authorization"])
    if not expected or not secrets.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("The control plane needs the operator token.", token_sent=True)


async def control(
    request: Request, op: Callable[[Tx, Env], Awaitable[T]], *, write: bool = True
) -> T:
    """Run ``op`` for the operator in one transaction; 401 for any other caller."""
    check_operator(request)
    state = app_state(request)
    env = Env(state.clock, state.site, api_base(request))
    async with state.db.transaction(write=write) as tx:
        return await op(tx, env)


async def _body(request: Request, typ: type[T]) -> T:
    """The operator's JSON body (read only once the token is checked), counted as it arrives."""
    check_operator(request)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_CONTROL_BODY:
            raise PayloadTooLarge()
        chunks.append(chunk)
    return decode_json(b"".join(chunks) or b"{}", typ)


async def _with_org(
    request: Request, work: Callable[[Tx, Env, Org], Awaitable[T]], *, write: bool = True
) -> T:
    api_id = request.path_params["orgId"]

    async def op(tx: Tx, env: Env) -> T:
        return await work(tx, env, await service.org_or_404(tx, api_id))

    return await control(request, op, write=write)


def _no_content() -> Response:
    return Response(status_code=204)


# --- orgs ----------------------------------------------------------------------------------------


async def create_org(request: Request) -> Response:
    spec = await _body(request, OrgSpec)
    return json_response(
        await control(request, lambda tx, env: service.create_org(tx, env, spec)), status=201
    )


async def list_orgs(request: Request) -> Response:
    items = await control(request, service.list_orgs, write=False)
    return json_response({"items": items})


async def delete_org(request: Request) -> Response:
    await _with_org(request, lambda tx, env, org: service.delete_org(tx, org))
    return _no_content()


async def reset(request: Request) -> Response:
    await control(request, service.reset)
    return _no_content()


async def add_person(request: Request) -> Response:
    spec = await _body(request, PersonSpec)
    person = await _with_org(request, lambda tx, env, org: service.add_person(tx, env, org, spec))
    return json_response(person, status=201)


# --- clock ---------------------------------------------------------------------------------------


async def get_clock(request: Request) -> Response:
    async def work(tx: Tx, env: Env, org: Org) -> dict[str, Any]:
        return service.clock_json(org, env)

    return json_response(await _with_org(request, work, write=False))


async def move_clock(request: Request) -> Response:
    move = await _body(request, ClockMove)
    return json_response(
        await _with_org(request, lambda tx, env, org: service.move_clock(tx, env, org, move))
    )


# --- meetings ------------------------------------------------------------------------------------


async def start_meeting(request: Request) -> Response:
    meeting_id = request.path_params["meetingId"]
    return json_response(
        await control(request, lambda tx, env: service.start_meeting(tx, env, meeting_id))
    )


# --- faults --------------------------------------------------------------------------------------


async def add_fault(request: Request) -> Response:
    spec = await _body(request, FaultSpec)
    fault = await _with_org(request, lambda tx, env, org: service.add_fault(tx, env, org, spec))
    return json_response(fault, status=201)


async def list_faults(request: Request) -> Response:
    items = await _with_org(request, lambda tx, env, org: service.list_faults(tx, org), write=False)
    return json_response({"items": items})


async def delete_fault(request: Request) -> Response:
    fault_id = request.path_params["faultId"]
    await _with_org(request, lambda tx, env, org: service.delete_fault(tx, org, fault_id))
    return _no_content()


async def clear_faults(request: Request) -> Response:
    await _with_org(request, lambda tx, env, org: service.clear_faults(tx, org))
    return _no_content()


# --- captured mail -------------------------------------------------------------------------------


async def list_mail(request: Request) -> Response:
    q = request.query_params

    async def work(tx: Tx, env: Env, org: Org) -> list[dict[str, Any]]:
        return await service.list_mail(
            tx,
            org,
            to=q.get("to"),
            meeting_id=q.get("meetingId"),
            event=q.get("event"),
            status=q.get("status"),
        )

    items = await _with_org(request, work)  # writes: queued events are fanned out first
    return json_response({"items": items})


async def get_mail(request: Request) -> Response:
    mail_id = request.path_params["mailId"]
    return json_response(
        await _with_org(
            request, lambda tx, env, org: service.get_mail(tx, org, mail_id), write=False
        )
    )


async def clear_mail(request: Request) -> Response:
    await _with_org(request, lambda tx, env, org: service.clear_mail(tx, org))
    return _no_content()


# --- journal -------------------------------------------------------------------------------------


async def list_requests(request: Request) -> Response:
    q = request.query_params
    operation, status = q.get("operationId"), q.get("status")
    items = await _with_org(
        request,
        lambda tx, env, org: service.list_journal(tx, org, operation, status),
        write=False,
    )
    return json_response({"items": items})


async def clear_requests(request: Request) -> Response:
    await _with_org(request, lambda tx, env, org: service.clear_journal(tx, org))
    return _no_content()


def routes() -> list[BaseRoute]:
    org = "/_control/orgs/{orgId}"
    return [
        resource("/_control/orgs", {"GET": list_orgs, "POST": create_org}),
        resource(org, {"DELETE": delete_org}),
        resource("/_control/reset", {"POST": reset}),
        resource(f"{org}/people", {"POST": add_person}),
        resource(f"{org}/clock", {"GET": get_clock, "POST": move_clock}),
        resource("/_control/meetings/{meetingId}/start", {"POST": start_meeting}),
        resource(f"{org}/faults", {"GET": list_faults, "POST": add_fault, "DELETE": clear_faults}),
        resource(f"{org}/faults/{{faultId}}", {"DELETE": delete_fault}),
        resource(f"{org}/mail", {"GET": list_mail, "DELETE": clear_mail}),
        resource(f"{org}/mail/{{mailId}}", {"GET": get_mail}),
        resource(f"{org}/requests", {"GET": list_requests, "DELETE": clear_requests}),
    ]
