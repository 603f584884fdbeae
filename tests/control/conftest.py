"""The control plane on: an operator token in the settings, and helpers that speak §10."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

OPERATOR = "operator-token-for-the-tests-0123456789"


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The control plane on; a test may parametrize other settings (indirect) instead."""
    overrides: dict[str, Any] = getattr(request, "param", {"control_token": OPERATOR})
    return overrides


def op(**extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {OPERATOR}", **extra}


@dataclass
class Org:
    """An org made through POST /_control/orgs, with its host's and admin's tokens."""

    client: httpx.AsyncClient
    body: dict[str, Any]

    @property
    def id(self) -> str:
        org_id: str = self.body["id"]
        return org_id

    def token(self, email: str) -> str:
        token: str = next(p["token"] for p in self.body["people"] if p["email"] == email)
        return token

    @property
    def host(self) -> str:
        return self.token("host@example.com")

    @property
    def admin(self) -> str:
        return self.token("admin@example.com")

    async def get(self, what: str, **params: str) -> Any:
        r = await self.client.get(f"/_control/orgs/{self.id}/{what}", params=params, headers=op())
        assert r.status_code == 200, r.text
        return r.json()

    async def post(self, what: str, body: dict[str, Any], status: int = 200) -> Any:
        r = await self.client.post(f"/_control/orgs/{self.id}/{what}", json=body, headers=op())
        assert r.status_code == status, r.text
        return r.json()


async def make_org(client: httpx.AsyncClient, **body: Any) -> Org:
    r = await client.post("/_control/orgs", json=body, headers=op())
    assert r.status_code == 201, r.text
    return Org(client, r.json())


@pytest.fixture
async def org_a(client: httpx.AsyncClient) -> Org:
    return await make_org(client, name="A", journal=True)


@pytest.fixture
async def org_b(client: httpx.AsyncClient) -> Org:
    return await make_org(client, name="B", journal=True)
