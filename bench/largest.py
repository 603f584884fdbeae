"""The largest plan the rules allow, deleted: 100 sessions of 10 invitees (1 001 recipients).

In process, on a fresh migrated SQLite file (or PostgreSQL database) with the server's settings: each round creates a
meeting, PUTs the largest plan (sendEmail false), then times the DELETE (sendEmail true) as the
server runs it, from the ASGI call to its answer, and then the worker's fan-out of its one mail
event into 1 001 outbox rows. Medians of the rounds.

    .venv/bin/python -m bench.largest [--rounds 15] [--postgres-url postgresql://…/test]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from breakouts.app import create_app
from breakouts.clock import Clock
from breakouts.config import Settings
from breakouts.db.migrate import upgrade
from breakouts.mail import outbox
from breakouts.people import service as people

SESSIONS, INVITEES = 100, 10  # the rules' limits: 100 sessions, 1 000 invitees in all


def _iso(epoch: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


async def _delete(app: Any, meeting_id: str, token: str) -> float:
    """One DELETE through the ASGI app, as uvicorn would call it; seconds until the answer."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "DELETE",
        "scheme": "http", "path": f"/v1/meetings/{meeting_id}/breakoutSessions", "raw_path": b"",
        "query_string": b"", "root_path": "", "client": ("127.0.0.1", 1), "server": ("t", 80),
        "headers": [(b"host", b"t"), (b"authorization", f"Bearer {token}".encode())],
    }  # fmt: skip
    answers: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        answers.append(message)

    started = time.perf_counter()
    await app(scope, receive, send)
    elapsed = time.perf_counter() - started
    if answers[0]["status"] != 204:
        raise RuntimeError(f"DELETE answered {answers[0]['status']}")
    return elapsed


async def measure(rounds: int, url: str | None = None) -> dict[str, float]:
    """On a fresh migrated database: ``url`` (PostgreSQL, made and dropped by ``main``) or a
    new SQLite file."""
    if url is None:
        work = Path(tempfile.mkdtemp(prefix="bench-largest-"))
        url = f"sqlite:///{work / 'largest.db'}"
    upgrade(url)
    settings = Settings(database_url=url, mail_worker=False, log_level="warning",
                        rate_limit="1000000000/minute")  # fmt: skip
    app = create_app(settings)
    deletes, fan_outs = [], []
    async with app.router.lifespan_context(app):
        db = app.state.breakouts.db
        async with db.transaction() as tx:
            await people.add_person(tx, Clock(), "host@example.com", "Host", False)
            token = await people.create_token(tx, Clock(), "host@example.com")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            headers = {"Authorization": f"Bearer {token}"}
            now = int(time.time())
            start = now - now % 3600 + 2 * 86400
            plan = [
                {
                    "name": f"Room {i}",
                    "invitees": [f"p{i}-{j}@example.com" for j in range(INVITEES)],
                }
                for i in range(SESSIONS)
            ]
            for _ in range(rounds):
                r = await client.post("/v1/meetings", headers=headers, json={
                    "title": "Largest", "start": _iso(start), "end": _iso(start + 3600),
                    "sendEmail": False})  # fmt: skip
                meeting_id = r.json()["id"]
                r = await client.put(f"/v1/meetings/{meeting_id}/breakoutSessions",
                                     headers=headers, json={"items": plan, "sendEmail": False})  # fmt: skip
                assert r.status_code == 200, r.text
                deletes.append(await _delete(app, meeting_id, token))
                started = time.perf_counter()
                async with db.transaction() as tx:
                    fanned = await outbox.expand(tx, limit=10)
                fan_outs.append(time.perf_counter() - started)
                assert fanned == SESSIONS * INVITEES + 1, fanned
    return {
        "rounds": rounds,
        "delete_ms_median": statistics.median(deletes) * 1000,
        "delete_ms_max": max(deletes) * 1000,
        "fan_out_ms_median": statistics.median(fan_outs) * 1000,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument(
        "--postgres-url",
        help="measure on PostgreSQL: a database is made beside this one and dropped after",
    )
    args = parser.parse_args(argv)
    if args.postgres_url:
        from bench.pg import scratch_database

        with scratch_database(args.postgres_url, "largest") as url:
            figures = asyncio.run(measure(args.rounds, url))
    else:
        figures = asyncio.run(measure(args.rounds))
    backend = "PostgreSQL" if args.postgres_url else "SQLite"
    print(
        f"{backend}: largest plan ({SESSIONS} sessions x {INVITEES} invitees, 1 001 recipients), "
        f"{figures['rounds']} rounds: DELETE server time median {figures['delete_ms_median']:.1f} ms "
        f"(max {figures['delete_ms_max']:.1f} ms); the worker's fan-out of its event into 1 001 "
        f"messages median {figures['fan_out_ms_median']:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
