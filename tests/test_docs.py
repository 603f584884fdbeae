"""/docs, /openapi.json, health and metrics (SPEC §10)."""

from __future__ import annotations

import httpx

from tests.conftest import World, auth


async def test_openapi_describes_the_seed_operation(client: httpx.AsyncClient) -> None:
    """The DELETE is documented with its real parameters and every error it can give."""
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"] == "3.0.3"
    op = doc["paths"]["/v1/meetings/{meetingId}/breakoutSessions"]["delete"]
    assert op["operationId"] == "deleteBreakoutSessions"
    params = {(p["name"], p["in"]) for p in op["parameters"]}
    assert {("meetingId", "path"), ("sendEmail", "query"), ("hostEmail", "header")} <= params
    assert {"204", "400", "401", "403", "404", "409", "423", "429", "500", "503", "504"} <= set(
        op["responses"]
    )
    assert "Retry-After" in op["responses"]["429"]["headers"]
    err = op["responses"]["404"]["content"]["application/json"]["schema"]["$ref"]
    assert err == "#/components/schemas/ErrorObject"
    bearer = doc["components"]["securitySchemes"]["bearer"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    assert "428" in doc["info"]["description"] and "502" in doc["info"]["description"]


async def test_openapi_lists_every_implemented_operation(client: httpx.AsyncClient) -> None:
    """Operation ids are the upstream ones."""
    doc = (await client.get("/openapi.json")).json()
    ids = {op["operationId"] for ops in doc["paths"].values() for op in ops.values()}
    assert ids == {
        "listMeetings",
        "createMeeting",
        "getMeetingById",
        "updateMeeting",
        "patchMeeting",
        "deleteMeeting",
        "endMeeting",
        "listBreakoutSessions",
        "updateBreakoutSessions",
        "deleteBreakoutSessions",
        "getMyOwnDetails",
        "listPeople",
        "getPersonDetails",
    }
    assert not any(path.startswith("/_control") for path in doc["paths"])  # off by default


async def test_docs_page_is_served_offline_with_authorize(client: httpx.AsyncClient) -> None:
    """/docs is Swagger UI from local assets, pointed at /openapi.json."""
    page = await client.get("/docs")
    assert page.status_code == 200 and "/openapi.json" in page.text
    assert "/docs/static/swagger-ui-bundle.js" in page.text and "https://" not in page.text
    js = await client.get("/docs/static/swagger-ui-bundle.js")
    assert js.status_code == 200 and len(js.content) > 100_000
    css = await client.get("/docs/static/swagger-ui.css")
    assert css.status_code == 200


async def test_authorize_dialog_says_where_to_get_a_token(client: httpx.AsyncClient) -> None:
    """The bearer scheme (shown in the Authorize dialog) names the demo tokens, the CLI and the control plane."""
    doc = (await client.get("/openapi.json")).json()
    text = doc["components"]["securitySchemes"]["bearer"]["description"]
    assert "first start" in text and "host@example.com" in text
    assert "breakouts tokens create EMAIL" in text and "POST /_control/orgs" in text
    assert "without `Bearer `" in text


async def test_operations_open_read_only(client: httpx.AsyncClient) -> None:
    """Swagger UI starts with operations closed to editing: "Try it out" is the reader's choice."""
    page = (await client.get("/docs")).text
    assert "tryItOutEnabled" not in page and "persistAuthorization: true" in page


async def test_query_booleans_are_documented_as_booleans(client: httpx.AsyncClient) -> None:
    """sendEmail and current have the upstream type, boolean; the any-case spelling is described."""
    doc = (await client.get("/openapi.json")).json()
    found = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                if p["name"] in ("sendEmail", "current"):
                    found.append((method, path, p["name"]))
                    assert p["schema"]["type"] == "boolean", (method, path, p)
                    assert "enum" not in p["schema"]
                    assert "any letter case" in p["description"]
    assert len(found) == 3, found  # deleteMeeting, deleteBreakoutSessions, getMeetingById


async def test_health_ready_and_metrics(client: httpx.AsyncClient, world: World) -> None:
    """Liveness, readiness (database reachable) and Prometheus metrics with request counts."""
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["database"] == "ok"
    token = await world.person("h@example.com")
    await client.get("/v1/meetings", headers=auth(token))
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert (
        'breakouts_http_requests_total{endpoint="list_meetings",method="GET",status="200"} 1.0'
        in metrics.text
    )
    db = world.app.state.breakouts.db
    assert f"breakouts_db_write_transactions_total {float(db.committed_writes)}" in metrics.text
    assert f"breakouts_db_commits_total {float(db.commits)}" in metrics.text
    assert db.committed_writes >= 1  # the token was created through the database
