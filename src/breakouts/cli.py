"""The ``breakouts`` command: serve, migrate, people, tokens, meetings, demo."""

from __future__ import annotations

import asyncio
import gc
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer

from breakouts.clock import Clock
from breakouts.config import Settings
from breakouts.context import Site
from breakouts.db import Database, open_database
from breakouts.errors import ApiError
from breakouts.mail.cli import mail_app, worker

T = TypeVar("T")
app = typer.Typer(
    help="breakouts: the Webex Meetings API for meetings and breakout sessions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
people_app = typer.Typer(help="People of the site.", no_args_is_help=True)
tokens_app = typer.Typer(help="Bearer tokens.", no_args_is_help=True)
meetings_app = typer.Typer(
    help="Meeting events that have no media here (start, end).", no_args_is_help=True
)
app.add_typer(people_app, name="people")
app.add_typer(tokens_app, name="tokens")
app.add_typer(meetings_app, name="meetings")


def _run(work: Callable[[Database, Clock, Settings], Awaitable[T]]) -> T:
    """Open the database named by DATABASE_URL, run ``work``, report API errors plainly."""
    settings = Settings()

    async def main() -> T:
        db = open_database(settings.database_url)
        try:
            return await work(db, Clock(), settings)
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except ApiError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc


def _site(settings: Settings) -> Site:
    return Site(settings.site_url, settings.site_url)


_DURATION = re.compile(r"^(\d+)([smhdw]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> int:
    m = _DURATION.match(text.strip().lower())
    if m is None:
        raise typer.BadParameter("use a number with s, m, h, d or w, e.g. 90d")
    return int(m.group(1)) * _UNITS[m.group(2)]


@app.command()
def migrate() -> None:
    """Apply database migrations (idempotent)."""
    from breakouts.db.migrate import upgrade

    upgrade(Settings().database_url)
    typer.echo("database is up to date")


@app.command()
def demo(base_url: str = "http://127.0.0.1:8000") -> None:
    """Create the demo site if the database is empty, and print its tokens."""
    from breakouts.demo import create_demo, describe

    result = _run(lambda db, clock, s: create_demo(db, clock, _site(s)))
    if result is None:
        typer.echo("The database already has people; the demo site was not created.")
    else:
        typer.echo(describe(result, base_url))


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Migrate, create the demo site on first start, and serve the API."""
    import uvicorn

    from breakouts.app import create_app

    migrate()
    demo(base_url=f"http://{host}:{port}")
    app = create_app(Settings())
    # Everything alive now (imported modules, Alembic and SQLAlchemy from the migration, the
    # app) lives as long as the process: move it out of the collector's sight. Otherwise each
    # full collection walks it all, ~30 ms with the event loop stopped, which under load was
    # the whole p99 (bench/README.md).
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        lifespan="on",
    )


@people_app.command("add")
def people_add(
    email: str,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make the person a site admin.")] = False,
) -> None:
    """Add a person."""
    from breakouts.people import service

    async def work(db: Database, clock: Clock, _: Settings) -> str:
        async with db.transaction() as tx:
            person = await service.add_person(tx, clock, email, name, admin)
            return person.id

    person_id = _run(work)
    typer.echo(f"added {email} ({'admin' if admin else 'user'}) id {person_id}")


@tokens_app.command("create")
def tokens_create(
    email: str,
    scope: Annotated[list[str] | None, typer.Option(help="Scope; repeat for several.")] = None,
    expires_in: Annotated[str | None, typer.Option(help="Lifetime, e.g. 3600, 12h, 90d.")] = None,
) -> None:
    """Create a bearer token; it is printed once, alone on the last line."""
    from breakouts.people import service

    seconds = parse_duration(expires_in) if expires_in else None

    async def work(db: Database, clock: Clock, _: Settings) -> str:
        async with db.transaction() as tx:
            return await service.create_token(tx, clock, email, scope, seconds)

    token = _run(work)
    typer.echo(f"token for {email} (shown once):")
    typer.echo(token)


@meetings_app.command("start")
def meetings_start(meeting_id: str) -> None:
    """Start a scheduled meeting (a series: its next occurrence); prints the instance id."""
    from breakouts.meetings import service

    async def work(db: Database, clock: Clock, _: Settings) -> str:
        async with db.transaction() as tx:
            return (await service.start_meeting(tx, clock.now_s(), meeting_id)).id

    typer.echo(_run(work))


app.command()(worker)
app.add_typer(mail_app, name="mail")


def main() -> None:
    app()
