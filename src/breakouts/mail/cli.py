"""``breakouts worker`` and ``breakouts mail list|show|retry|clear``: delivery and its inspection.

The commands open the database named by ``DATABASE_URL`` themselves, so they work beside a
running server (SQLite in WAL mode lets them read while it writes).
"""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Annotated, Any, TypeVar

import typer

from breakouts.clock import Clock, monotonic
from breakouts.config import Settings
from breakouts.db import Database, Tx
from breakouts.errors import ServiceUnavailable

T = TypeVar("T")
STATUSES = ("pending", "sending", "sent", "captured", "dead")
MAX_ROWS = 1_000_000
MAX_ID = 2**63 - 1  # SQLite's largest integer

mail_app = typer.Typer(help="The mail outbox: list, show, retry, clear.", no_args_is_help=True)


def _with_db(work: Callable[[Database, Settings], Awaitable[T]]) -> T:
    """``breakouts.cli.run``: no database created by mistake, failures in one line."""
    from breakouts.cli import run  # imported here: breakouts.cli imports this module

    return run(lambda db, _clock, settings: work(db, settings))


async def _org_id(tx: Tx, ref: str | None) -> str | None:
    """The id of the org ``ref`` names (API id, uuid or unique name; unknown: an error)."""
    from breakouts.cli import resolve_org

    return None if ref is None else (await resolve_org(tx, ref)).id


def worker(
    drain: Annotated[
        bool, typer.Option("--drain", help="Deliver what is due now, then exit.")
    ] = False,
) -> None:
    """Deliver queued mail (SMTP_URL, or capture without it) until SIGTERM or Ctrl-C."""
    from breakouts.logs import make_logger
    from breakouts.mail.stats import read_counts
    from breakouts.mail.worker import MailWorker

    async def work(db: Database, settings: Settings) -> int:
        # A database that is not ready fails here, said in one line; one that cannot be reached
        # yet (PostgreSQL starting) is waited for, as `serve` does, unless draining.
        give_up = monotonic() + (0 if drain else settings.database_startup_wait_s)
        said = False
        while True:
            try:
                await read_counts(db)
                break
            except ServiceUnavailable as exc:
                if monotonic() >= give_up:
                    raise
                if not said:
                    typer.echo(f"waiting for the database: {exc.message}", err=True)
                    said = True
                await asyncio.sleep(1.0)
        logger = make_logger(settings.log_level, settings.log_json)
        mail_worker = MailWorker(db, Clock(), settings, logger)
        if drain:
            return await mail_worker.drain()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, mail_worker.request_stop)
        await mail_worker.run()
        return 0

    claimed = _with_db(work)
    if drain:
        typer.echo(f"worked {claimed} message(s)")


def _when(epoch: int | None) -> str:
    return "" if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


@mail_app.command("list")
def list_mail(
    status: Annotated[str | None, typer.Option(help=f"One of {', '.join(STATUSES)}.")] = None,
    to: Annotated[str | None, typer.Option(help="Recipient email (any letter case).")] = None,
    limit: Annotated[
        int, typer.Option(help="At most this many, newest first.", min=1, max=MAX_ROWS)
    ] = 50,
    org: Annotated[
        str | None, typer.Option(help="Only this org's (its API id, uuid or unique name).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array.")] = False,
) -> None:
    """Messages in the outbox, newest first."""
    from breakouts.mail import outbox
    from breakouts.mail import repository as repo

    if status is not None and status not in STATUSES:
        raise typer.BadParameter(f"use one of {', '.join(STATUSES)}", param_hint="--status")

    async def work(db: Database, _: Settings) -> list[dict[str, Any]]:
        async with db.transaction() as tx:  # writes: queued events are fanned out first
            org_id = await _org_id(tx, org)
            await outbox.expand(tx, org_id=org_id, limit=1_000_000)
            return await repo.list_messages(
                tx, status=status, recipient=to, org_id=org_id, limit=limit
            )

    rows = _with_db(work)
    if as_json:
        for r in rows:
            r["payload"] = json.loads(r["payload"])
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo("no messages")
        return
    typer.echo(f"{'ID':>6}  {'STATUS':<8} {'TRIES':>5}  {'CREATED (UTC)':<19}  {'EVENT':<17} TO")
    for r in rows:
        line = (
            f"{r['id']:>6}  {r['status']:<8} {r['attempts']:>5}  {_when(r['created_at']):<19}"
            f"  {r['event']:<17} {r['recipient']}"
        )
        if r["last_error"] and r["status"] not in ("sent", "captured"):
            line += f"  [{r['last_error']}]"
        typer.echo(line)


def _readable(raw: str) -> str:
    """Headers decoded (RFC 2047) and the text part decoded: what a mail client would show."""
    msg = message_from_string(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    lines = [f"{name}: {value}" for name, value in msg.items()]
    body = msg.get_body(("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    return "\n".join(lines) + "\n\n" + text


@mail_app.command("show")
def show_mail(
    message: Annotated[str, typer.Argument(help="Outbox id, or Message-ID.")],
    raw: Annotated[
        bool, typer.Option("--raw", help="The exact bytes, MIME encoding and all.")
    ] = False,
) -> None:
    """One message: its delivery record, then its headers and body as sent or captured."""
    from breakouts.mail import repository as repo
    from breakouts.mail.repository import Claimed
    from breakouts.mail.worker import to_outgoing

    async def work(db: Database, _: Settings) -> dict[str, Any] | None:
        async with db.transaction(write=False) as tx:
            row = await repo.get_message(tx, message)
            return None if row is None else dict(row)

    row = _with_db(work)
    if row is None:
        typer.echo(f"error: no message {message}", err=True)
        raise typer.Exit(1)
    text = row["raw"]
    note = ""
    if text is None:  # not sent yet: show it as it will go out
        claimed = Claimed(row["id"], row["message_id"], row["event"], row["recipient"],
                          row["payload"], row["attempts"], row["created_at"])  # fmt: skip
        text = to_outgoing(claimed, Settings().mail_from).raw
        note = " (not sent yet: shown as it will be sent)"
    if raw:
        typer.echo(text.replace("\r\n", "\n"), nl=False)
        return
    typer.echo(f"# {row['id']} {row['status']}{note}, tries {row['attempts']}")
    if row["sent_at"]:
        typer.echo(f"# delivered {_when(row['sent_at'])} UTC")
    if row["last_error"]:
        typer.echo(f"# last error: {row['last_error']}")
    typer.echo(_readable(text), nl=False)


@mail_app.command("retry")
def retry_mail(
    message: Annotated[int, typer.Argument(help="Outbox id.", min=1, max=MAX_ID)],
) -> None:
    """Send a dead (or waiting) message again now, with a fresh set of tries."""
    from breakouts.mail import repository as repo

    async def work(db: Database, _: Settings) -> bool:
        async with db.transaction() as tx:
            return await repo.retry_now(tx, message, Clock().now_s())

    if not _with_db(work):
        typer.echo(f"error: message {message} is not dead or waiting (or does not exist)", err=True)
        raise typer.Exit(1)
    typer.echo(f"message {message} is queued again")


@mail_app.command("clear")
def clear_mail(
    org: Annotated[
        str | None,
        typer.Option(help="Instead: forget every message of this org, whatever its status."),
    ] = None,
) -> None:
    """Empty the mail catcher: delete captured messages (never queued or sent ones)."""
    from breakouts.mail import repository as repo

    async def work(db: Database, _: Settings) -> int:
        async with db.transaction() as tx:
            org_id = await _org_id(tx, org)
            if org_id is not None:
                return await repo.delete_org_messages(tx, org_id)
            return await repo.delete_captured(tx)

    deleted = _with_db(work)
    what = "captured message(s)" if org is None else "message(s) of the org"
    typer.echo(f"deleted {deleted} {what}")
