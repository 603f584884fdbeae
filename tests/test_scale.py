"""Beyond one machine (issue #8): three servers and two mail workers on one PostgreSQL and one Redis.

Real `breakouts serve` and `breakouts worker` processes on 127.0.0.1, an SMTP sink, several orgs
made through the control plane, then mixed DELETE/PUT/GET load spread over the three servers.
What must hold across processes:

- the per-token rate limit is one limit (Redis), whichever server answers: within 5 %;
- every committed email arrives (the workers are woken by ``NOTIFY`` from any process; their
  poll interval is set far longer than the test waits), a duplicate carries the same Message-ID;
- no invariant breaks: at most 100 sessions, an invitee in at most one session of a meeting,
  and after a DELETE the list is empty and the flag false, read from every server;
- a control-plane change made on one server is obeyed by the others at once.

Bounded: ~400 requests and a few waits of at most 20 s; every process is stopped by PID.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import secrets
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from breakouts.clock import Clock
from tests.backends import Backend
from tests.conftest import future_slot
from tests.control.conftest import OPERATOR
from tests.mail.conftest import Sink, free_port, sink
from tests.mail.test_processes import BIN, Proc, base_env, procs, serve, wait_until
from tests.services import service_url

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]
__all__ = ["procs", "sink"]  # the fixtures, imported for these tests

SERVERS = 3
WORKERS = 2
ORGS = 4
MEETINGS_PER_ORG = 5
INVITEES = 8
RATE_LIMIT = 200  # per token per minute, shared by every process through Redis
OPS_PER_MEETING = 12


def _op() -> dict[str, str]:
    return {"Authorization": f"Bearer {OPERATOR}"}


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _start(tmp_path: Path, sink: Sink, procs: list[Proc], backend: Backend) -> list[str]:
    redis_url = service_url("BREAKOUTS_TEST_REDIS_URL", "Redis")
    env = base_env(
        backend,
        sink,
        REDIS_URL=redis_url,
        BREAKOUTS_REDIS_KEY_PREFIX=f"bk-scale-{secrets.token_hex(4)}:",
        BREAKOUTS_CONTROL_TOKEN=OPERATOR,
        BREAKOUTS_RATE_LIMIT=f"{RATE_LIMIT}/minute",
        BREAKOUTS_MAIL_WORKER="false",
        # Far longer than any wait below: mail arrives in time only if a commit wakes a worker.
        BREAKOUTS_MAIL_POLL_S="60",
    )
    subprocess.run([str(BIN / "breakouts"), "migrate"], env=env, check=True, capture_output=True)
    ports = [free_port() for _ in range(SERVERS)]
    for i, port in enumerate(ports):
        serve(procs, env, port, tmp_path / f"serve{i}.log")
    workers = [Proc(["worker"], env, tmp_path / f"worker{i}.log") for i in range(WORKERS)]
    procs.extend(workers)

    def listening() -> bool:
        return all(any(x["event"] == "mail_worker_started" for x in w.lines()) for w in workers)

    wait_until(listening, 30, "the workers to start")
    return [f"http://127.0.0.1:{p}" for p in ports]


def test_three_servers_two_workers_one_postgres_one_redis(
    tmp_path: Path, sink: Sink, procs: list[Proc], backend: Backend
) -> None:
    bases = _start(tmp_path, sink, procs, backend)
    with contextlib.ExitStack() as stack:
        clients = [stack.enter_context(httpx.Client(base_url=b, timeout=20)) for b in bases]
        _scenario(bases, clients, sink, procs)
    # Stopped gracefully: workers exit 0; uvicorn re-raises the SIGTERM it handled once shut down.
    for proc in procs:
        proc.stop(signal.SIGTERM)
        assert proc.popen.returncode in (0, -signal.SIGTERM), proc.log.read_text()[-2000:]


def _scenario(bases: list[str], clients: list[httpx.Client], sink: Sink, procs: list[Proc]) -> None:
    rng = random.Random(8)

    # --- orgs, made on different servers ------------------------------------------------------
    start, end = future_slot(Clock())
    orgs: list[dict[str, Any]] = []
    for n in range(ORGS):
        meetings = [
            {
                "title": f"Org {n} meeting {m}",
                "start": start,
                "end": end,
                "invitees": [{"email": f"o{n}m{m}i{i}@example.com"} for i in range(INVITEES)],
            }
            for m in range(MEETINGS_PER_ORG)
        ]
        r = clients[n % SERVERS].post(
            "/_control/orgs", json={"name": f"org {n}", "meetings": meetings}, headers=_op()
        )
        assert r.status_code == 201, r.text
        org = r.json()
        assert len(org["meetings"]) == MEETINGS_PER_ORG
        for meeting, sent in zip(org["meetings"], meetings, strict=True):
            assert meeting["title"] == sent["title"]
            meeting["emails"] = [i["email"] for i in sent["invitees"]]
        orgs.append(org)
    for org in orgs:
        org["token"] = next(p["token"] for p in org["people"] if p["email"] == "host@example.com")

    # --- a commit on one server wakes a worker in another process -----------------------------
    # (The seeded meetings' invitations first: every one delivered.)
    wait_until(lambda: _all_sent(clients[0], orgs, sink), 20, "the invitations to be delivered")
    before = len(sink.received)
    first = orgs[0]["meetings"][0]
    r = clients[1].put(
        f"/v1/meetings/{first['id']}/breakoutSessions",
        json={"items": [{"name": "Wake", "invitees": [first["emails"][0]]}]},
        headers=_auth(orgs[0]["token"]),
    )
    assert r.status_code == 200, r.text
    wait_until(lambda: len(sink.received) == before + 2, 10, "a worker to be woken by it")

    # --- mixed load over the three servers -----------------------------------------------------
    results = asyncio.run(_load(bases, orgs, rng))
    counts = Counter(status for _, _, status in results)
    assert set(counts) <= {200, 204}, counts
    assert counts[204] > 0 and counts[200] > 0

    # --- invariants, read from every server ----------------------------------------------------
    for org in orgs:
        for meeting in org["meetings"]:
            for client in clients:
                r = client.get(
                    f"/v1/meetings/{meeting['id']}/breakoutSessions",
                    headers=_auth(org["token"]),
                )
                assert r.status_code == 200, r.text
                items = r.json()["items"]
                assert len(items) <= 100
                everyone = [e.lower() for s in items for e in s.get("invitees", [])]
                assert len(everyone) == len(set(everyone)), items

    # A DELETE on one server: every server then reads an empty list and the flag false.
    for k, org in enumerate(orgs):
        for m, meeting in enumerate(org["meetings"]):
            path = f"/v1/meetings/{meeting['id']}"
            r = clients[(k + m) % SERVERS].delete(
                f"{path}/breakoutSessions", headers=_auth(org["token"])
            )
            assert r.status_code == 204, r.text
            for client in clients:
                listed = client.get(f"{path}/breakoutSessions", headers=_auth(org["token"]))
                assert listed.status_code == 200 and listed.json()["items"] == []
                got = client.get(path, headers=_auth(org["token"]))
                assert got.status_code == 200
                assert got.json()["enabledBreakoutSessions"] is False

    # --- every committed email arrives, once per Message-ID ------------------------------------
    wait_until(lambda: _all_sent(clients[0], orgs, sink), 20, "every committed email to arrive")
    mail = _queued(clients[0], orgs)
    committed = {m["messageId"]: m["to"] for m in mail}
    assert len(committed) == len(mail)
    delivered = Counter(x.message_id for x in sink.received)
    assert set(delivered) == set(committed)
    # Redelivery is allowed (at least once), but only as the same message to the same person.
    for x in sink.received:
        assert x.rcpt_tos == [committed[x.message_id]]
    assert max(delivered.values()) <= 2
    # Both workers took part.
    batches = [
        sum(e.get("delivered", 0) for e in w.lines() if e["event"] == "mail_batch")
        for w in procs[SERVERS:]
    ]
    assert sum(batches) >= len(committed) and all(b > 0 for b in batches), batches

    # --- control-plane changes reach every process ---------------------------------------------
    org = orgs[1]
    base = f"/_control/orgs/{org['id']}"
    rule = {"operation": "listMeetings", "status": 503, "retryAfter": 7}
    assert clients[0].post(f"{base}/faults", json=rule, headers=_op()).status_code == 201
    for client in clients:
        r = client.get("/v1/meetings", headers=_auth(org["token"]))
        assert r.status_code == 503 and r.headers["Retry-After"] == "7"
    assert clients[2].delete(f"{base}/faults", headers=_op()).status_code == 204
    for client in clients:
        assert client.get("/v1/meetings", headers=_auth(org["token"])).status_code == 200
    assert (
        clients[1].post(f"{base}/clock", json={"advance": 7200}, headers=_op()).status_code == 200
    )
    offsets = {c.get(f"{base}/clock", headers=_op()).json()["offsetSeconds"] for c in clients}
    assert offsets == {7200}

    # --- one rate limit, shared by the three servers --------------------------------------------
    limited = orgs[2]["people"][1]["token"]  # the org's admin: no request of it so far
    answers = asyncio.run(_burst(bases, limited, 2 * RATE_LIMIT))
    ok = sum(1 for status, _ in answers if status == 200)
    assert abs(ok - RATE_LIMIT) <= RATE_LIMIT * 0.05, Counter(s for s, _ in answers)
    for status, retry_after in answers:
        if status == 429:
            assert retry_after is not None and retry_after.isdigit() and int(retry_after) >= 1
    assert {status for status, _ in answers} == {200, 429}


def _queued(client: httpx.Client, orgs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every org's committed mail, as the control plane lists it."""
    items: list[dict[str, Any]] = []
    for org in orgs:
        r = client.get(f"/_control/orgs/{org['id']}/mail", headers=_op())
        assert r.status_code == 200
        items += r.json()["items"]
    return items


def _all_sent(client: httpx.Client, orgs: list[dict[str, Any]], sink: Sink) -> bool:
    mail = _queued(client, orgs)
    arrived = {x.message_id for x in sink.received}
    return all(m["status"] == "sent" and m["messageId"] in arrived for m in mail)


async def _load(
    bases: list[str], orgs: list[dict[str, Any]], rng: random.Random
) -> list[tuple[str, str, int]]:
    """PUT, DELETE and GET on every meeting, each to a random server, 12 at a time."""
    jobs: list[tuple[str, str, str, dict[str, Any] | None, str]] = []
    for org in orgs:
        for meeting in org["meetings"]:
            emails = list(meeting["emails"])
            for _ in range(OPS_PER_MEETING):
                kind = rng.choice(("PUT", "PUT", "DELETE", "GET"))
                body = None
                if kind == "PUT":
                    rng.shuffle(emails)
                    k = rng.randint(1, 4)
                    body = {
                        "items": [{"name": f"Room {j}", "invitees": emails[j::k]} for j in range(k)]
                    }
                base = rng.choice(bases)
                jobs.append((kind, f"{base}/v1/meetings/{meeting['id']}/breakoutSessions",
                             org["token"], body, meeting["id"]))  # fmt: skip
    rng.shuffle(jobs)
    gate = asyncio.Semaphore(12)
    async with httpx.AsyncClient(timeout=20) as client:

        async def one(
            job: tuple[str, str, str, dict[str, Any] | None, str],
        ) -> tuple[str, str, int]:
            kind, url, token, body, meeting_id = job
            async with gate:
                r = await client.request(kind, url, json=body, headers=_auth(token))
            return kind, meeting_id, r.status_code

        return await asyncio.gather(*(one(j) for j in jobs))


async def _burst(bases: list[str], token: str, n: int) -> list[tuple[int, str | None]]:
    """``n`` requests of one token, round-robin over the servers, 8 at a time."""
    gate = asyncio.Semaphore(8)
    async with httpx.AsyncClient(timeout=20) as client:

        async def one(i: int) -> tuple[int, str | None]:
            async with gate:
                r = await client.get(f"{bases[i % len(bases)]}/v1/people/me", headers=_auth(token))
            return r.status_code, r.headers.get("Retry-After")

        return await asyncio.gather(*(one(i) for i in range(n)))
