"""The demo site created on first start, so a newcomer's first curl works."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from breakouts.auth import Caller
from breakouts.clock import Clock
from breakouts.context import Ctx, Site
from breakouts.db import Database
from breakouts.meetings import service as meetings
from breakouts.meetings.schemas import CreateMeetingObject, Invitee
from breakouts.orgs.repository import DEFAULT_ORG, OrgState
from breakouts.people import repository as people_repo
from breakouts.people import service as people
from breakouts.plans.schemas import BreakoutSessionInput

HOST_EMAIL = "host@example.com"


@dataclass(frozen=True)
class Demo:
    host_email: str
    host_token: str
    admin_email: str
    admin_token: str
    meeting_id: str


async def create_demo(db: Database, clock: Clock, site: Site) -> Demo | None:
    """Create the demo people, tokens and a meeting with breakout sessions; None if not empty."""
    async with db.transaction() as tx:
        if await people_repo.count(tx) > 0:
            return None
        admin = await people.add_person(tx, clock, "admin@example.com", "Avery Admin", True)
        host = await people.add_person(tx, clock, HOST_EMAIL, "Harper Host", False)
        for email, name in (
            ("ana@example.com", "Ana"),
            ("ben@example.com", "Ben"),
            ("chloé@example.com", "Chloé"),
        ):
            await people.add_person(tx, clock, email, name, False)
        admin_token = await people.create_token(tx, clock, admin.email)
        host_token = await people.create_token(tx, clock, host.email)
        now = clock.now_s()
        start = now - now % 3600 + 24 * 3600  # tomorrow, on the hour
        body = CreateMeetingObject(
            title="Demo planning meeting",
            start=start_iso(start),
            end=start_iso(start + 3600),
            timezone="UTC",
            recurrence="FREQ=WEEKLY;COUNT=10",
            invitees=[
                Invitee("ana@example.com"),
                Invitee("ben@example.com"),
                Invitee("chloé@example.com"),
            ],
            enabled_breakout_sessions=True,
            breakout_sessions=[
                BreakoutSessionInput("Room A", ["ana@example.com", "chloé@example.com"]),
                BreakoutSessionInput("Room B", ["ben@example.com"]),
            ],
            send_email=False,
        )
        org = OrgState(DEFAULT_ORG, 0, 0, False)
        ctx = Ctx(tx, now, Caller(host, host, frozenset(people.USER_SCOPES), org), "demo", site)
        view = await meetings.create_meeting(ctx, body)
        return Demo(host.email, host_token, admin.email, admin_token, view.ref.raw)


async def demo_host(db: Database) -> str | None:
    """The demo host's email if the demo site exists (its host is in the default org), else None."""
    async with db.transaction(write=False) as tx:
        host = await people_repo.get_by_email(tx, DEFAULT_ORG, HOST_EMAIL)
    return None if host is None else host.email


def start_iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def describe(demo: Demo, base_url: str) -> str:
    return "\n".join(
        [
            "Demo site created (tokens are shown only now):",
            f"  host  {demo.host_email:<20} token {demo.host_token}",
            f"  admin {demo.admin_email:<20} token {demo.admin_token}",
            f"  sample meeting series {demo.meeting_id} (2 breakout sessions)",
            "Try it:",
            f'  curl -i -X DELETE -H "Authorization: Bearer {demo.host_token}" '
            f"{base_url}/v1/meetings/{demo.meeting_id}/breakoutSessions",
            f'  curl -s -H "Authorization: Bearer {demo.host_token}" '
            f"{base_url}/v1/meetings/{demo.meeting_id}",
        ]
    )


def describe_existing(host: str | None, token_command: str) -> str:
    """What a later start says about the demo site: how to get a token again (``token_command``
    prints a fresh one for the email that follows it)."""
    if host is None:
        return "\n".join(
            [
                "The database already has people; the demo site was not created.",
                "A new token for one of them:",
                f"  {token_command} EMAIL",
            ]
        )
    return "\n".join(
        [
            "The demo site exists (its tokens were shown when it was created).",
            "A fresh token for its host:",
            f"  {token_command} {host}",
        ]
    )
