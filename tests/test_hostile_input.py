"""Hostile input (issue #10): each is a clear 4xx with the Webex error body and changes nothing.

One test per reported defect, then a table of malformed bodies, ids, headers and query strings.
No case may reach the unexpected-error handler (no ``unhandled_error`` line in the log).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from email import message_from_string, policy
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from breakouts.mail import mime
from tests.conftest import World, assert_error, auth, create_meeting, sessions_path
from tests.mail.test_render import payload, wire

INJECTED_TITLE = "Sync\r\nReply-To: attacker@evil.example\r\n\r\nlog in at http://evil.example"
LINE_BREAKERS = ["\r\n", "\n", "\r", "\x00", "\x0b", "\x1b", "\x7f", "\x85", "\u2028", "\u2029"]


@pytest.fixture
async def token(world: World) -> str:
    return await world.person("host@example.com")


@pytest.fixture
async def meeting_id(client: httpx.AsyncClient, token: str) -> str:
    meeting = await create_meeting(
        client, token, invitees=[{"email": "ben@example.com"}], sendEmail=False
    )
    meeting_id: str = meeting["id"]
    return meeting_id


@pytest.fixture(autouse=True)
def no_unhandled_errors(capfd: pytest.CaptureFixture[str]) -> Any:
    """Every test here ends without an unexpected error in the server's log."""
    yield
    out, err = capfd.readouterr()
    assert "unhandled_error" not in out + err
    assert "Traceback" not in out + err


# --- 1. mail header injection ------------------------------------------------------------------


async def test_title_with_line_breaks_is_refused_naming_the_field(
    client: httpx.AsyncClient, token: str, world: World
) -> None:
    """The reported injection (CR/LF in a title, with an invitee) is a 400 naming 'title'."""
    before = world.snapshot()
    body = {
        "title": INJECTED_TITLE,
        "start": "2030-01-01T10:00:00Z",
        "end": "2030-01-01T11:00:00Z",
        "invitees": [{"email": "victim@example.com"}],
    }
    r = await client.post("/v1/meetings", json=body, headers=auth(token))
    assert_error(r, 400, "'title'")
    assert world.snapshot() == before


@pytest.mark.parametrize("breaker", LINE_BREAKERS, ids=repr)
async def test_session_name_with_a_control_character_is_refused(
    client: httpx.AsyncClient, token: str, world: World, meeting_id: str, breaker: str
) -> None:
    """A breakout-session name with any control character or line separator is a 400 naming it."""
    before = world.snapshot()
    items = [{"name": "Room A"}, {"name": f"Room{breaker}Bcc: x@evil.example"}]
    r = await client.put(sessions_path(meeting_id), json={"items": items}, headers=auth(token))
    assert_error(r, 400, "'items[1].name'")
    assert world.snapshot() == before


async def test_title_update_and_invitee_name_with_line_breaks_are_refused(
    client: httpx.AsyncClient, token: str, world: World, meeting_id: str
) -> None:
    """PUT/PATCH titles and invitee display names follow the same one-line rule."""
    before = world.snapshot()
    r = await client.patch(
        f"/v1/meetings/{meeting_id}", json={"title": "a\nb"}, headers=auth(token)
    )
    assert_error(r, 400, "'title'")
    start, end = "2030-01-01T10:00:00Z", "2030-01-01T11:00:00Z"
    body = {"title": "t", "start": start, "end": end,
            "invitees": [{"email": "v@example.com", "displayName": "V\r\nBcc: x@evil.example"}]}  # fmt: skip
    r = await client.post("/v1/meetings", json=body, headers=auth(token))
    assert_error(r, 400, "'invitees[0].displayName'")
    assert world.snapshot() == before


async def test_ordinary_unicode_titles_and_names_are_still_accepted(
    client: httpx.AsyncClient, token: str, meeting_id: str
) -> None:
    """Accents, CJK, emoji and tabs-free punctuation pass the one-line rule."""
    r = await client.put(
        sessions_path(meeting_id),
        json={"items": [{"name": 'Salle Été — 会議室 ☕ (2/3): "A" <b>'}]},
        headers=auth(token),
    )
    assert r.status_code == 200, r.text


_EXPECTED_HEADERS = {
    "from", "to", "subject", "date", "message-id", "mime-version", "auto-submitted",
    "x-breakouts-event", "content-type",
}  # fmt: skip
_hostile_text = st.lists(
    st.sampled_from([*LINE_BREAKERS, "a", " ", ":", "é", "Reply-To: x@y.z", "=?", "\t", "x" * 80]),
    min_size=1,
    max_size=20,
).map("".join)


@settings(max_examples=150, deadline=None)
@given(title=_hostile_text, name=_hostile_text, session=_hostile_text)
def test_every_header_is_safe_whatever_the_stored_text(title: str, name: str, session: str) -> None:
    """Even text that bypassed the API (old rows) cannot add a header or move the Message-ID."""
    p = payload(title=title, hostName=name, actorName=name, sessions=[session])
    raw, msg = wire("breakouts.deleted", p)
    head = raw.split("\r\n\r\n", 1)[0]
    names = {line.split(":", 1)[0].lower() for line in head.split("\r\n") if line[:1] not in " \t"}
    assert names == _EXPECTED_HEADERS
    assert msg["Message-ID"] == "<e1.abc@example.webex.com>"
    assert not msg.defects
    assert "\n" not in str(msg["Subject"]) and "\r" not in str(msg["Subject"])


@pytest.mark.parametrize(
    "addr",
    ["a@b.example\r\nBcc: x@evil.example", "a@b.example\n", "a b@c.example", "<a@b.example>",
     "a@b.example, c@d.example", "a@b\x00.example", "no-at-sign"],
)  # fmt: skip
def test_an_address_that_could_split_a_header_is_never_written(addr: str) -> None:
    """The mail writer refuses such a recipient (its message goes dead) instead of writing it."""
    with pytest.raises(mime.UnsafeHeader):
        wire("breakouts.deleted", payload(), to=addr)


def test_reported_injection_reaches_no_header_through_the_writer() -> None:
    """The exact reported title, rendered anyway, stays inside one Subject line."""
    raw, _ = wire("breakouts.deleted", payload(title=INJECTED_TITLE))
    parsed = message_from_string(raw, policy=policy.default)
    assert parsed["Reply-To"] is None
    assert "Reply-To: attacker@evil.example" in str(parsed["Subject"])
    assert parsed.get_content_type() == "multipart/alternative"


# --- 2. bodies: authenticate first, count bytes as they arrive ---------------------------------


class Body:
    """A request body that counts how many chunks the server pulled from it."""

    def __init__(self, chunk: bytes, chunks: int, head: bytes = b'{"items": [') -> None:
        self.chunk, self.chunks, self.head, self.pulled = chunk, chunks, head, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.pulled += 1
        yield self.head
        for _ in range(self.chunks):
            self.pulled += 1
            yield self.chunk


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-known-token", "Basic abc"])
async def test_unauthenticated_body_is_refused_before_it_is_read(
    client: httpx.AsyncClient, meeting_id: str, world: World, authorization: str | None
) -> None:
    """No token, an unknown one or another scheme: 401 without reading one chunk of the body."""
    before = world.snapshot()
    body = Body(b" " * 65536, 4096)
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    for method, path in [("PUT", sessions_path(meeting_id)), ("POST", "/v1/meetings"),
                         ("PATCH", f"/v1/meetings/{meeting_id}"), ("POST", f"/v1/meetings/{meeting_id}/end")]:  # fmt: skip
        r = await client.request(method, path, content=body, headers=headers)
        assert_error(r, 401)
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert body.pulled == 0
    assert world.snapshot() == before


async def test_chunked_body_past_the_limit_is_413_as_soon_as_it_passes(
    client: httpx.AsyncClient, token: str, meeting_id: str, world: World
) -> None:
    """A body without Content-Length is counted while it arrives: 413 after ~1 MB, not 256 MB."""
    before = world.snapshot()
    body = Body(b" " * 65536, 4096)  # 256 MB if it were all read
    headers = auth(token, **{"Content-Type": "application/json"})
    r = await client.put(sessions_path(meeting_id), content=body, headers=headers)
    assert_error(r, 413)
    limit_chunks = 1048576 // 65536
    assert body.pulled <= limit_chunks + 2
    assert world.snapshot() == before


async def test_body_just_under_the_limit_is_still_read_whole(
    client: httpx.AsyncClient, token: str, meeting_id: str
) -> None:
    """Counting bytes does not refuse a chunked body that stays within the limit."""
    body = Body(b" " * 65536, 8, head=b'{"items": [{"name": "A"}]')
    r = await client.put(
        sessions_path(meeting_id),
        content=_Tail(body, b"}"),
        headers=auth(token, **{"Content-Type": "application/json"}),
    )
    assert r.status_code == 200, r.text
    assert [i["name"] for i in r.json()["items"]] == ["A"]


class _Tail:
    def __init__(self, body: Body, tail: bytes) -> None:
        self.body, self.tail = body, tail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.body:
            yield chunk
        yield self.tail


# --- 4, 5. bodies that cannot be decoded -------------------------------------------------------


def _nested(depth: int) -> bytes:
    return b'{"items": [], "x": ' + b"[" * depth + b"]" * depth + b"}"


# Not JSON at all: a 400 from every endpoint that takes a JSON body.
UNDECODABLE_BODIES = {
    "invalid UTF-8 in a string": b'{"items":[{"name":"\xff"}]}',
    "invalid UTF-8 in an unknown field": b'{"items":[], "x": "\xc3\x28"}',
    "invalid UTF-8 outside strings": b'{"items":[]\xff}',
    "lone surrogate escape": b'{"items":[{"name":"\\ud800"}]}',
    "1000 levels of nesting": _nested(1000),
    "100000 levels of nesting": _nested(100000),
    "nested objects": b'{"items": [], "x": ' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}",
    "truncated": b'{"items": [{"name": "A"',
    "NaN": b'{"items": [], "x": NaN}',
    "byte order mark": b'\xef\xbb\xbf{"items": []}',
    "trailing garbage": b'{"items": []} {"items": []}',
    "NUL byte": b'{"items": []}\x00',
}
JSON_ENDPOINTS = [
    ("PUT", "/v1/meetings/{m}/breakoutSessions"), ("POST", "/v1/meetings"),
    ("PUT", "/v1/meetings/{m}"), ("PATCH", "/v1/meetings/{m}"), ("POST", "/v1/meetings/{m}/end"),
]  # fmt: skip


@pytest.mark.parametrize("case", UNDECODABLE_BODIES)
async def test_undecodable_body_is_400_on_every_json_endpoint(
    client: httpx.AsyncClient, token: str, meeting_id: str, world: World, case: str
) -> None:
    """Invalid UTF-8, deep nesting or any other decode failure is a 400 naming it, never a 500."""
    before = world.snapshot()
    headers = auth(token, **{"Content-Type": "application/json"})
    for method, path in JSON_ENDPOINTS:
        r = await client.request(
            method,
            path.replace("{m}", meeting_id),
            content=UNDECODABLE_BODIES[case],
            headers=headers,
        )
        body = assert_error(r, 400)
        assert "request body" in body["message"], body["message"]
    assert world.snapshot() == before


# Valid JSON of the wrong shape for PUT breakoutSessions: a 400 naming the field.
WRONG_SHAPES = {
    "empty": (b"", "not valid JSON"),
    "not an object": (b"[1, 2]", "Expected `object`"),
    "huge number for a boolean": (b'{"items": [], "sendEmail": 1e999999}', "'sendEmail'"),
    "wrong type deep inside": (b'{"items": [{"name": "A", "invitees": [1]}]}', "'items[0].invitees[0]'"),
    "null items": (b'{"items": null}', "'items'"),
    "101 items": (json.dumps({"items": [{"name": str(i)} for i in range(101)]}).encode(), "100"),
    "name of 256 characters": (json.dumps({"items": [{"name": "n" * 256}]}).encode(), "'items[0].name'"),
}  # fmt: skip


@pytest.mark.parametrize("case", WRONG_SHAPES)
async def test_wrong_shape_is_400_naming_the_field(
    client: httpx.AsyncClient, token: str, meeting_id: str, world: World, case: str
) -> None:
    """A body of the wrong shape says what is wrong and where, and changes nothing."""
    raw, text = WRONG_SHAPES[case]
    before = world.snapshot()
    headers = auth(token, **{"Content-Type": "application/json"})
    r = await client.put(sessions_path(meeting_id), content=raw, headers=headers)
    assert_error(r, 400, text)
    assert world.snapshot() == before


# --- 6. one Authorization header ---------------------------------------------------------------


async def test_two_authorization_headers_are_refused_whatever_their_order(
    client: httpx.AsyncClient, token: str, meeting_id: str, world: World
) -> None:
    """Good then bad, bad then good, or the same token twice: 401, nothing read or changed."""
    before = world.snapshot()
    for pair in [(token, "bad"), ("bad", token), (token, token)]:
        headers = [("Authorization", f"Bearer {pair[0]}"), ("Authorization", f"Bearer {pair[1]}")]
        for method in ("GET", "DELETE"):
            r = await client.request(method, sessions_path(meeting_id), headers=headers)
            body = assert_error(r, 401, "one Authorization header")
            assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
            assert body["trackingId"]
    assert world.snapshot() == before


# --- 8. WWW-Authenticate -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [
        (None, 'Bearer realm="breakouts"'),
        ("Basic dXNlcjpwYXNz", 'Bearer realm="breakouts"'),
        ("Bearer", 'Bearer realm="breakouts"'),
        ("Bearer unknown-token-0123456789", 'Bearer realm="breakouts", error="invalid_token"'),
    ],
)
async def test_every_401_carries_a_bearer_challenge(
    client: httpx.AsyncClient, meeting_id: str, authorization: str | None, challenge: str
) -> None:
    """RFC 6750: a 401 says which scheme to use, and ``invalid_token`` once one was refused."""
    headers = {"Authorization": authorization} if authorization else {}
    for method, path in [("GET", "/v1/meetings"), ("DELETE", sessions_path(meeting_id))]:
        r = await client.request(method, path, headers=headers)
        assert_error(r, 401)
        assert r.headers["WWW-Authenticate"] == challenge


# --- a table of malformed ids, headers and query strings ---------------------------------------

MALFORMED_REQUESTS: dict[str, tuple[str, str, dict[str, str], int]] = {
    # name: (method, path (with {m} for the meeting id), extra headers, expected status)
    "id of 10k characters": ("GET", "/v1/meetings/" + "a" * 10000, {}, 404),
    "id with NUL": ("GET", "/v1/meetings/%00", {}, 404),
    "id with invalid UTF-8": ("DELETE", "/v1/meetings/%ff%fe/breakoutSessions", {}, 404),
    "id with dots": ("GET", "/v1/meetings/..%2F..%2Fetc", {}, 404),
    "occurrence id of year 9999": ("GET", "/v1/meetings/{m}_99991231T235959Z", {}, 404),
    "occurrence id of year 0000": ("DELETE", "/v1/meetings/{m}_00000101T000000Z/breakoutSessions", {}, 404),
    "occurrence id of month 13": ("GET", "/v1/meetings/{m}_20301301T100000Z", {}, 404),
    "instance id with 30 digits": ("GET", "/v1/meetings/{m}_I_" + "9" * 30, {}, 404),
    "sendEmail not a boolean": ("DELETE", "/v1/meetings/{m}/breakoutSessions?sendEmail=%ff", {}, 400),
    "sendEmail twice, one bad": ("DELETE", "/v1/meetings/{m}/breakoutSessions?sendEmail=true&sendEmail=yes", {}, 400),
    "max huge": ("GET", "/v1/meetings?max=99999999999999999999999", {}, 400),
    "max negative": ("GET", "/v1/meetings?max=-1", {}, 400),
    "max a superscript digit": ("GET", "/v1/meetings?max=%C2%B2", {}, 400),
    "offset a superscript digit": ("GET", "/v1/meetings?offset=%C2%B9", {}, 400),
    "people max a superscript digit": ("GET", "/v1/people?max=%C2%B2", {}, 400),
    "offset huge": ("GET", "/v1/meetings?offset=1" + "0" * 40, {}, 400),
    "from not a time": ("GET", "/v1/meetings?from=yesterday", {}, 400),
    "to with NUL": ("GET", "/v1/meetings?to=%00", {}, 400),
    "meetingType invalid UTF-8": ("GET", "/v1/meetings?meetingType=%ff", {}, 400),
    "state empty": ("GET", "/v1/meetings?state=", {}, 400),
    "hostEmail unknown, latin-1 bytes": ("DELETE", "/v1/meetings/{m}/breakoutSessions", {"hostEmail": "h\xe9@example.com"}, 204),
    "hostEmail query with CRLF": ("GET", "/v1/meetings/{m}/breakoutSessions?hostEmail=a%0D%0Ab@example.com", {}, 200),
    "current not a boolean": ("GET", "/v1/meetings/{m}?current=maybe", {}, 400),
    "TrackingID of 10k characters": ("GET", "/v1/meetings/{m}", {"TrackingID": "x" * 10000}, 200),
    "Content-Type garbage": ("DELETE", "/v1/meetings/{m}/breakoutSessions", {"Content-Type": "\x01;;=="}, 204),
}  # fmt: skip


@pytest.mark.parametrize("case", MALFORMED_REQUESTS)
async def test_malformed_ids_headers_and_queries_get_a_clear_answer(
    client: httpx.AsyncClient, token: str, meeting_id: str, world: World, case: str
) -> None:
    """Each malformed id, header or query string is answered as the table says, never a 500."""
    method, path, extra, status = MALFORMED_REQUESTS[case]
    before = world.snapshot()
    headers: list[tuple[str, str | bytes]] = [("Authorization", f"Bearer {token}")]
    headers += [(k, v.encode("latin-1")) for k, v in extra.items()]
    r = await client.request(method, path.replace("{m}", meeting_id), headers=headers)
    if status >= 400:
        assert_error(r, status)
        assert world.snapshot() == before
    else:
        assert r.status_code == status, r.text
        assert len(r.headers["TrackingID"]) <= 128


@pytest.mark.parametrize(
    "rule",
    ["FREQ=DAILY;INTERVAL=\u00b2", "FREQ=DAILY;COUNT=\u00b9\u00b2", "FREQ=MONTHLY;BYDAY=\u00b2MO",
     "FREQ=DAILY;COUNT=" + "9" * 40, "FREQ=MONTHLY;BYMONTHDAY=\u00b2"],
)  # fmt: skip
async def test_recurrence_numbers_that_are_not_plain_digits_are_400(
    client: httpx.AsyncClient, token: str, world: World, rule: str
) -> None:
    """Superscript digits and huge numbers in an RRULE are a 400 naming 'recurrence', not a 500."""
    before = world.snapshot()
    body = {"title": "t", "start": "2030-01-01T10:00:00Z", "end": "2030-01-01T11:00:00Z",
            "recurrence": rule}  # fmt: skip
    assert_error(
        await client.post("/v1/meetings", json=body, headers=auth(token)), 400, "recurrence"
    )
    assert world.snapshot() == before


async def test_a_refused_request_never_echoes_input_into_headers(
    client: httpx.AsyncClient, token: str, meeting_id: str
) -> None:
    """A client TrackingID that is not a plain token is replaced, not copied into the answer."""
    r = await client.get(f"/v1/meetings/{meeting_id}", headers=auth(token, TrackingID="a\tb;c=d,e"))
    assert r.status_code == 200
    assert r.headers["TrackingID"] != "a\tb;c=d,e"
    assert json.dumps(dict(r.headers)).isascii()
