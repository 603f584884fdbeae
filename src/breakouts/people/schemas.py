"""The upstream person fields this service fills (People API, read-only), for /openapi.json."""

from __future__ import annotations

import msgspec


class PersonObject(msgspec.Struct, rename="camel"):
    id: str
    emails: list[str]
    display_name: str
    nick_name: str
    org_id: str
    type: str
    created: str


class PeopleList(msgspec.Struct):
    items: list[PersonObject]
