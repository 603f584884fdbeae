"""Who may use the control plane (SPEC §10): the operator token only; off, it does not exist."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import assert_error, auth
from tests.control.conftest import Org, op

PATHS = [
    ("GET", "/_control/orgs"),
    ("POST", "/_control/orgs"),
    ("POST", "/_control/reset"),
    ("GET", "/_control/orgs/{org}/clock"),
    ("POST", "/_control/orgs/{org}/faults"),
    ("GET", "/_control/orgs/{org}/mail"),
    ("GET", "/_control/orgs/{org}/requests"),
    ("DELETE", "/_control/orgs/{org}"),
    ("POST", "/_control/meetings/" + "0" * 32 + "/start"),
]


@pytest.mark.parametrize("settings_overrides", [{}], indirect=True)
@pytest.mark.parametrize(("method", "path"), PATHS)
async def test_without_a_control_token_every_control_path_is_404(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    """Off by default: as if it did not exist, even with a token."""
    r = await client.request(method, path.replace("{org}", "x"), headers=op())
    assert_error(r, 404)


@pytest.mark.parametrize(("method", "path"), PATHS)
@pytest.mark.parametrize("who", ["nobody", "wrong", "api-host"])
async def test_only_the_operator_token_is_let_in(
    client: httpx.AsyncClient, org_a: Org, method: str, path: str, who: str
) -> None:
    """No token, a wrong one, or an API token: 401 with the Bearer challenge; nothing happens."""
    headers = {
        "nobody": {},
        "wrong": {"Authorization": "Bearer " + "x" * 40},
        "api-host": auth(org_a.host),
    }[who]
    r = await client.request(method, path.replace("{org}", org_a.id), headers=headers, json={})
    assert_error(r, 401)
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    orgs = (await client.get("/_control/orgs", headers=op())).json()["items"]
    assert org_a.id in {o["id"] for o in orgs}


async def test_the_operator_token_is_not_an_api_token(client: httpx.AsyncClient) -> None:
    """The operator cannot call the Webex API with its token: 401 there."""
    assert_error(await client.get("/v1/meetings", headers=op()), 401)


async def test_an_unknown_org_is_404(client: httpx.AsyncClient) -> None:
    """A malformed or unknown org id in a control path is a 404 naming it."""
    for org in ("not-an-org", "Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi8xMjM"):
        assert_error(await client.get(f"/_control/orgs/{org}/clock", headers=op()), 404, org)


async def test_the_control_plane_is_documented_under_its_own_tag(client: httpx.AsyncClient) -> None:
    """/openapi.json lists every /_control path under one tag that says it is not Webex."""
    doc = (await client.get("/openapi.json")).json()
    control = {p: ops for p, ops in doc["paths"].items() if p.startswith("/_control")}
    assert set(control) == {
        "/_control/orgs", "/_control/orgs/{orgId}", "/_control/reset",
        "/_control/orgs/{orgId}/people", "/_control/orgs/{orgId}/clock",
        "/_control/meetings/{meetingId}/start", "/_control/orgs/{orgId}/faults",
        "/_control/orgs/{orgId}/faults/{faultId}", "/_control/orgs/{orgId}/mail",
        "/_control/orgs/{orgId}/mail/{mailId}", "/_control/orgs/{orgId}/requests",
    }  # fmt: skip
    tags = {t for ops in control.values() for op in ops.values() for t in op["tags"]}
    assert tags == {"Control plane (not part of Webex)"}
    [tag] = [t for t in doc["tags"] if t["name"] in tags]
    assert "not part of the Webex API" in tag["description"]
    assert all(
        op["security"] == [{"operator": []}] for ops in control.values() for op in ops.values()
    )
    for ops in control.values():
        for operation in ops.values():
            for resp in operation["responses"].values():
                for media in resp.get("content", {}).values():
                    ref = media["schema"].get("$ref", "")
                    assert ref.rsplit("/", 1)[-1] in doc["components"]["schemas"], ref
    r = await client.get("/docs")
    assert r.status_code == 200 and "/openapi.json" in r.text
