"""Every process agrees (issue #7): two servers and a `breakouts worker` on one database.

What the control plane sets on one server is obeyed by a request that starts afterwards on the
other, and by the separate mail worker: clock, API faults (a counted rule spent once across
both), SMTP faults, mail and the journal.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.backends import Backend
from tests.conftest import DAY, future_slot
from tests.control.conftest import OPERATOR
from tests.mail.conftest import Sink, free_port, sink
from tests.mail.test_processes import BIN, Proc, base_env, procs, serve, wait_until

pytestmark = pytest.mark.slow
__all__ = ["procs", "sink"]  # the fixtures, imported for these tests


def _op() -> dict[str, str]:
    return {"Authorization": f"Bearer {OPERATOR}"}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_control_changes_reach_the_other_server_and_the_worker(
    backend: Backend, tmp_path: Path, sink: Sink, procs: list[Proc]
) -> None:
    """Org, clock, counted fault, SMTP fault, mail and journal agree across three processes."""
    env = base_env(
        backend, sink, BREAKOUTS_CONTROL_TOKEN=OPERATOR, BREAKOUTS_MAIL_WORKER="false",
        BREAKOUTS_MAIL_POLL_S="0.05",
    )  # fmt: skip
    subprocess.run([str(BIN / "breakouts"), "migrate"], env=env, check=True, capture_output=True)
    port_a, port_b = free_port(), free_port()
    serve(procs, env, port_a, tmp_path / "a.log")
    serve(procs, env, port_b, tmp_path / "b.log")
    procs.append(Proc(["worker"], env, tmp_path / "worker.log"))
    a = httpx.Client(base_url=f"http://127.0.0.1:{port_a}", timeout=10)
    b = httpx.Client(base_url=f"http://127.0.0.1:{port_b}", timeout=10)

    # An org made on A is known to B at once.
    r = a.post("/_control/orgs", json={"name": "shared", "journal": True}, headers=_op())
    assert r.status_code == 201, r.text
    org: dict[str, Any] = r.json()
    host = next(p["token"] for p in org["people"] if p["email"] == "host@example.com")
    base = f"/_control/orgs/{org['id']}"
    assert b.get("/v1/people/me", headers=_auth(host)).json()["orgId"] == org["id"]

    # A counted fault set on A: spent by the first request on B, then gone on A too.
    r = a.post(
        f"{base}/faults",
        json={"operation": "listMeetings", "status": 503, "count": 1},
        headers=_op(),
    )
    assert r.status_code == 201
    assert b.get("/v1/meetings", headers=_auth(host)).status_code == 503
    assert a.get("/v1/meetings", headers=_auth(host)).status_code == 200
    assert b.get("/v1/meetings", headers=_auth(host)).status_code == 200

    # An SMTP fault set on B makes the separate worker's delivery fail with that code.
    assert (
        b.post(
            f"{base}/faults", json={"operation": "smtp", "status": 550}, headers=_op()
        ).status_code
        == 201
    )
    start, end = future_slot(_clock_now(a, base))
    body = {
        "title": "Cross",
        "start": start,
        "end": end,
        "invitees": [{"email": "ben@example.com"}],
    }
    r = a.post("/v1/meetings", json=body, headers=_auth(host))
    assert r.status_code == 200, r.text
    meeting_id = r.json()["id"]
    wait_until(
        lambda: _statuses(b, base) == ["dead", "dead"], 15, "the worker to obey the SMTP fault"
    )
    assert sink.received == []

    # Rules cleared on A: the next change's mail is delivered by the worker.
    assert a.delete(f"{base}/faults", headers=_op()).status_code == 204
    r = b.put(f"/v1/meetings/{meeting_id}/breakoutSessions",
              json={"items": [{"name": "R", "invitees": ["ben@example.com"]}]}, headers=_auth(host))  # fmt: skip
    assert r.status_code == 200, r.text
    wait_until(lambda: len(sink.received) == 2, 15, "the worker to deliver")
    assert sorted(_statuses(a, base)) == ["dead", "dead", "sent", "sent"]

    # The clock moved on B: A sees the meeting expired and refuses its DELETE.
    assert b.post(f"{base}/clock", json={"advance": 3 * DAY}, headers=_op()).status_code == 200
    assert a.get(f"/v1/meetings/{meeting_id}", headers=_auth(host)).json()["state"] == "expired"
    assert (
        a.delete(f"/v1/meetings/{meeting_id}/breakoutSessions", headers=_auth(host)).status_code
        == 409
    )

    # One journal, whichever server answered.
    entries = a.get(f"{base}/requests", headers=_op()).json()["items"]
    assert [(e["operationId"], e["status"]) for e in entries] == [
        ("getMyOwnDetails", 200), ("listMeetings", 503), ("listMeetings", 200),
        ("listMeetings", 200), ("createMeeting", 200), ("updateBreakoutSessions", 200),
        ("getMeetingById", 200), ("deleteBreakoutSessions", 409),
    ]  # fmt: skip
    a.close()
    b.close()


def _statuses(client: httpx.Client, base: str) -> list[str]:
    items = client.get(f"{base}/mail", headers=_op()).json()["items"]
    return sorted(m["status"] for m in items)


def _clock_now(client: httpx.Client, base: str) -> Any:
    """A stand-in Clock whose now is the org's (``future_slot`` reads ``now_s``)."""
    now = client.get(f"{base}/clock", headers=_op()).json()["now"]

    class OrgClock:
        def now_s(self) -> int:
            return int(time.mktime(time.strptime(now, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone)

    return OrgClock()
