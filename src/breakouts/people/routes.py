"""HTTP routes for the upstream People API, read-only (SPEC §3): me, list by email, get by id.

Any valid token may read the people of its own org (our tokens carry meeting scopes only);
another org's person is a 404, like an unknown one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from breakouts.context import Ctx
from breakouts.errors import BadRequest, NotFound
from breakouts.http import json_response
from breakouts.ids import org_api_id, parse_person_api_id, person_api_id
from breakouts.people import repository as people
from breakouts.people.repository import Person
from breakouts.routing import resource
from breakouts.text import whole_number
from breakouts.unit import run

MAX_PEOPLE = 1000


def person_json(person: Person) -> dict[str, Any]:
    """The upstream person fields that apply here."""
    return {
        "id": person_api_id(person.id),
        "emails": [person.email],
        "displayName": person.display_name,
        "nickName": person.display_name.split(" ")[0],
        "orgId": org_api_id(person.org_id),
        "type": "person",
        "created": datetime.fromtimestamp(person.created_at, UTC).strftime(
            "%Y-%m-%dT%H:%M:%S.000Z"
        ),
    }


async def get_my_own_details(request: Request) -> Response:
    async def op(ctx: Ctx) -> dict[str, Any]:
        return person_json(ctx.caller.actor)

    return json_response(await run(request, op, operation="getMyOwnDetails", write=False))


async def list_people(request: Request) -> Response:
    query = request.query_params

    async def op(ctx: Ctx) -> list[dict[str, Any]]:
        limit = whole_number(query.get("max", "100"))
        if limit is None or not 1 <= limit <= MAX_PEOPLE:
            raise BadRequest(f"'max' must be a whole number from 1 to {MAX_PEOPLE}.")
        org_id = ctx.caller.actor.org_id
        email, ids = query.get("email"), query.get("id")
        if email is not None:
            found = await people.get_by_email(ctx.tx, org_id, email)
            matches = [found] if found is not None else []
        elif ids is not None:
            matches = []
            for api_id in ids.split(","):
                uuid = parse_person_api_id(api_id.strip())
                person = None if uuid is None else await people.get_by_id(ctx.tx, org_id, uuid)
                if person is not None:
                    matches.append(person)
        else:
            matches = await people.list_in_org(ctx.tx, org_id)
        return [person_json(p) for p in matches[:limit]]

    items = await run(request, op, operation="listPeople", write=False)
    return json_response({"items": items})


async def get_person_details(request: Request) -> Response:
    api_id = request.path_params["personId"]

    async def op(ctx: Ctx) -> dict[str, Any]:
        uuid = parse_person_api_id(api_id)
        person = (
            None if uuid is None else await people.get_by_id(ctx.tx, ctx.caller.actor.org_id, uuid)
        )
        if person is None:
            raise NotFound("Person not found.")
        return person_json(person)

    return json_response(await run(request, op, operation="getPersonDetails", write=False))


routes = [
    resource("/v1/people/me", {"GET": get_my_own_details}),
    resource("/v1/people", {"GET": list_people}),
    resource("/v1/people/{personId}", {"GET": get_person_details}),
]
