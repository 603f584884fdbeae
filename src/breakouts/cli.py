"""The ``breakouts`` command: serve, migrate, demo, people, tokens, meetings, and the control
plane's actions: orgs, reset, clock, faults, journal (mail: ``breakouts.mail.cli``).

Every command opens the database named by ``DATABASE_URL`` itself, so it works from any
directory and beside a running server. A database that does not exist, is not migrated or is
locked is said so in one line that names it and says how to point at another, and nothing is
created (only ``migrate`` and ``serve`` create one). Expected failures (bad arguments, an unknown
org or meeting, a refusal of the service) are one line on stderr and a non-zero exit code (2:
usage, 1: the rest), never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import json
import math
import os
import re
import secrets
import shlex
import shutil
import socket
import sqlite3
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from breakouts.clock import Clock, monotonic
from breakouts.config import Settings
from breakouts.context import Site
from breakouts.db import Database, Tx, open_database
from breakouts.errors import ApiError, BadRequest, GatewayTimeout, Locked, NotFound
from breakouts.mail.cli import mail_app, worker

if TYPE_CHECKING:
    from breakouts.control.service import Env
    from breakouts.orgs.repository import Org

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
orgs_app = typer.Typer(help="Orgs, each a world apart: create, list, delete.", no_args_is_help=True)
clock_app = typer.Typer(help="An org's clock: show it, move it forward.", no_args_is_help=True)
faults_app = typer.Typer(help="An org's injected faults: add, list, delete.", no_args_is_help=True)
journal_app = typer.Typer(help="An org's request journal (opt-in).", no_args_is_help=True)
app.add_typer(people_app, name="people")
app.add_typer(tokens_app, name="tokens")
app.add_typer(meetings_app, name="meetings")
app.add_typer(orgs_app, name="orgs")
app.add_typer(clock_app, name="clock")
app.add_typer(faults_app, name="faults")
app.add_typer(journal_app, name="journal")

OrgOption = Annotated[
    str | None,
    typer.Option("--org", help="Org id (API id or uuid) or unique name; default: the default org."),
]
OrgArgument = Annotated[str, typer.Argument(help="Org id (API id or uuid) or unique name.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def fail(message: str) -> NoReturn:
    """An expected failure: one line on stderr, exit code 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def settings() -> Settings:
    """The settings from the environment; an invalid one is an error of one line."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        fail(f"invalid setting ({problems})")


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite ``DATABASE_URL`` (None for other databases and ``:memory:``)."""
    if not url.startswith("sqlite:"):
        return None
    from breakouts.db.sqlite import sqlite_path

    try:
        path = sqlite_path(url)
    except ValueError as exc:
        fail(str(exc))
    return None if path == ":memory:" else Path(path)


def _not_migrated(exc: BaseException) -> bool:
    text = str(exc).lower()
    if getattr(exc, "sqlstate", None) in ("42P01", "42703"):  # undefined table, column
        return True
    return isinstance(exc, sqlite3.OperationalError) and (
        "no such table" in text or "no such column" in text
    )


def _busy(exc: BaseException | None) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _url_from_environment() -> bool:
    return any(name in os.environ for name in ("DATABASE_URL", "BREAKOUTS_DATABASE_URL"))


def _database(url: str) -> str:
    """The database ``url`` names, for messages: its file (absolute), else the URL itself."""
    path = _sqlite_file(url)
    if path is not None:
        return str(path.resolve())
    return url.split("@")[-1] if "://" in url else url  # never a password


def _no_database(path: Path, url: str) -> str:
    """A database file that is not there: which one was looked for, how to name the right one."""
    if _url_from_environment():
        return (
            f"there is no database at {path.resolve()} (DATABASE_URL={url}):"
            " set DATABASE_URL to the server's database, e.g. sqlite:////path/to/breakouts.db,"
            " or run `breakouts migrate` to create a new one there"
        )
    return (
        f"there is no database at {path.resolve()} (DATABASE_URL is not set: ./breakouts.db of"
        " this directory): run this in the directory where the server runs, or set"
        " DATABASE_URL=sqlite:////path/to/breakouts.db; `breakouts migrate` creates a new one"
    )


def _locked(where: str, config: Settings) -> str:
    return (
        f"the database at {where} is locked by another process (waited"
        f" {config.lock_wait_ms / 1000:g} s); try again once it is free"
        " (BREAKOUTS_LOCK_WAIT_MS waits longer)"
    )


def _check_file(path: Path) -> None:
    """Fail in one line if ``path`` is not a migrated breakouts database (a directory, an empty
    file, another program's database, not SQLite), before anything opens it for writing: such
    a file is left exactly as it was."""
    where = str(path.resolve())
    point = "point DATABASE_URL at the server's database"
    advice = f"{point}, or run `breakouts migrate`"
    if path.is_dir():
        fail(f"{where} is a directory, not a database: {point}")
    wal = path.with_name(path.name + "-wal")
    if path.stat().st_size == 0 and not (wal.exists() and wal.stat().st_size > 0):
        fail(f"the database at {where} is empty (no breakouts tables): {advice}")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=0)
        try:
            migrated = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if _busy(exc):
            return  # opened for real, it waits for the lock like every writer, then says so
        if "not a database" in str(exc):
            fail(f"{where} is not a SQLite database: {point}")
        return  # anything else is found, and said, when it is opened for real
    if migrated is None:
        fail(f"the database at {where} has no breakouts tables: {advice}")


def run(work: Callable[[Database, Clock, Settings], Awaitable[T]]) -> T:
    """Open the database named by DATABASE_URL, run ``work``, report expected failures plainly.

    A SQLite file that does not exist is not created; a database without the schema, locked or
    unreadable is named, in one line, with what to do.
    """
    config = settings()
    path = _sqlite_file(config.database_url)
    if path is not None:
        if not path.exists():
            fail(_no_database(path, config.database_url))
        _check_file(path)
    where = _database(config.database_url)

    async def main() -> T:
        try:
            db = open_database(
                config.database_url,
                lock_wait_ms=config.lock_wait_ms,
                statement_timeout_ms=config.statement_timeout_ms,
            )
        except ValueError as exc:
            fail(str(exc))
        except ApiError as exc:  # the file could not be opened: say why
            cause = exc.__cause__
            if _busy(cause):
                fail(_locked(where, config))
            fail(f"cannot open the database at {where}: {cause or exc.message}")
        try:
            return await work(db, Clock(), config)
        finally:
            await db.close()

    try:
        return asyncio.run(main())
    except Locked:
        fail(_locked(where, config))
    except GatewayTimeout:
        fail(
            f"a statement on the database at {where} ran past BREAKOUTS_STATEMENT_TIMEOUT_MS"
            f" ({config.statement_timeout_ms} ms); try again once it is less busy"
        )
    except ApiError as exc:
        if exc.status >= 500:  # the database's, not the service's refusal
            cause = exc.__cause__
            fail(f"the database at {where} failed: {cause or exc.message}")
        fail(exc.message)
    except Exception as exc:
        # The database's own errors: SQLite's, and a server's (they carry a SQLSTATE).
        if not isinstance(exc, sqlite3.Error) and getattr(exc, "sqlstate", None) is None:
            raise
        if _not_migrated(exc):
            fail(
                f"the database at {where} has no breakouts tables or not all of them ({exc}):"
                " point DATABASE_URL at the server's database, or run `breakouts migrate`"
            )
        if _busy(exc):
            fail(_locked(where, config))
        fail(f"the database at {where} failed: {exc}")
    except OverflowError as exc:  # a number SQLite cannot hold
        fail(f"a number given is too large ({exc})")


def _site(settings: Settings) -> Site:
    return Site(settings.site_url, settings.site_url)


def _env(clock: Clock, config: Settings) -> Env:
    from breakouts.control.service import Env

    base = config.public_url.rstrip("/") or "http://127.0.0.1:8000"
    return Env(clock, _site(config), base + "/v1")


def control(op: Callable[[Tx, Env], Awaitable[T]], *, write: bool = True) -> T:
    """Run a control action (``breakouts.control.service``) in one transaction."""

    async def work(db: Database, clock: Clock, config: Settings) -> T:
        async with db.transaction(write=write) as tx:
            return await op(tx, _env(clock, config))

    return run(work)


async def resolve_org(tx: Tx, ref: str | None) -> Org:
    """The org named by its API id, its uuid or its name (if unique); None: the default org."""
    from breakouts.control.service import org_or_404
    from breakouts.orgs import repository as orgs
    from breakouts.orgs.repository import DEFAULT_ORG

    if ref is None:
        org = await orgs.get(tx, DEFAULT_ORG)
        if org is None:
            raise NotFound("The default org was not found; run `breakouts reset`.")
        return org
    try:
        return await org_or_404(tx, ref)
    except NotFound:
        named = [o for o in await orgs.list_all(tx) if o.name == ref]
        if len(named) == 1:
            return named[0]
        if named:
            raise BadRequest(
                f"{len(named)} orgs are named '{ref}'; give its id (see `breakouts orgs list`)."
            ) from None
        raise


def with_org(
    ref: str | None, op: Callable[[Tx, Env, Org], Awaitable[T]], *, write: bool = True
) -> T:
    """Run a control action on the org ``ref`` names (see ``resolve_org``)."""

    async def work(tx: Tx, env: Env) -> T:
        return await op(tx, env, await resolve_org(tx, ref))

    return control(work, write=write)


_REGEX = re.compile(r"^Expected `str` matching regex '(.*)'$")


def invalid(exc: Exception, options: dict[str, str]) -> str:
    """msgspec's complaint about a value, named by its option (``options``: JSON field → option)."""
    from breakouts.text import pattern_rule

    what, _, where = str(exc).rpartition(" - at `$")
    if not what:
        what, where = str(exc), ""
    where = where.rstrip("`").removeprefix(".")
    match = _REGEX.match(what)
    if match and (rule := pattern_rule(match.group(1).replace("\\\\", "\\"))):
        what = rule
    return f"{options.get(where, where)}: {what}"


def echo_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


def table(header: list[str], rows: list[list[Any]]) -> None:
    """Left-aligned columns as wide as their widest cell; the last one is not padded."""
    cells = [header, *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        padded = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=False)]
        typer.echo("  ".join([*padded, row[-1]]).rstrip())


_DURATION = re.compile(r"^([0-9]{1,12})([smhdw]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_CENTURY = 36525 * 86400


def parse_duration(text: str, option: str | None = None) -> int:
    m = _DURATION.match(text.strip().lower())
    if m is None:
        raise typer.BadParameter("use a number with s, m, h, d or w, e.g. 90d", param_hint=option)
    seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if seconds > _CENTURY:
        raise typer.BadParameter("at most a century (36525d)", param_hint=option)
    return seconds


@app.command()
def migrate() -> None:
    """Create the database, or bring it up to date (idempotent)."""
    typer.echo(f"the database at {_migrate()} is up to date")


# A database server that answers but refuses: waiting will not help.
_REFUSALS = ("does not exist", "authentication", "pg_hba", "permission denied")


def _migrate(wait_s: float = 0.0) -> str:
    """Create or upgrade the database of DATABASE_URL (failures in one line); which one it is.

    ``wait_s``: a database server that cannot be reached (PostgreSQL down, restarting, not up
    yet) is tried again every second for this long, with one line saying so, before failing.
    """
    from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

    from breakouts.db.migrate import upgrade

    config = settings()
    where = _database(config.database_url)
    path = _sqlite_file(config.database_url)
    if path is not None and not path.parent.is_dir():
        fail(f"cannot create the database at {where}: there is no directory {path.parent}")
    give_up = monotonic() + wait_s
    said = False
    while True:
        try:
            upgrade(config.database_url)
            return where
        except (SQLAlchemyError, sqlite3.Error, ImportError) as exc:
            cause = exc.orig if isinstance(exc, DBAPIError) else exc
            first_line = str(cause).splitlines()[0] if str(cause) else repr(cause)
            unreachable = path is None and isinstance(exc, OperationalError) and (
                "connect" in first_line or "starting up" in first_line
            ) and not any(refusal in first_line for refusal in _REFUSALS)  # fmt: skip
            if unreachable and monotonic() < give_up:
                if not said:
                    typer.echo(f"waiting for the database at {where}: {first_line}", err=True)
                    said = True
                time.sleep(1.0)
                continue
            if _busy(cause):
                fail(f"the database at {where} is locked by another process; try again once it is free")
            fail(f"cannot migrate the database at {where}: {first_line}")


def command_line(*args: str) -> str:
    """A shell line that runs ``breakouts ARGS`` on this database from any directory.

    ``breakouts`` bare if that is the one on the PATH, else this one by its path (``make run``
    does not put the venv's ``bin/`` on the PATH); the database by ``DATABASE_URL`` if it was
    set, else by going to this directory, where ``./breakouts.db`` is.
    """
    exe = Path(sys.executable).parent / "breakouts"
    on_path = shutil.which("breakouts")
    cwd = Path.cwd()
    if on_path is not None and Path(on_path).resolve() == exe.resolve():
        program = "breakouts"
    elif exe.is_relative_to(cwd) and not _url_from_environment():
        program = str(exe.relative_to(cwd))
    else:
        program = str(exe)
    line = shlex.join([program, *args])
    if _url_from_environment():
        url = settings().database_url
        path = _sqlite_file(url)
        if path is not None:
            url = f"sqlite:///{path.resolve()}"
        return f"DATABASE_URL={shlex.quote(url)} {line}"
    return f"cd {shlex.quote(str(cwd))} && {line}"


def _demo_site() -> Callable[[str], str]:
    """Create the demo site if the database is empty. Returns what to say about it, given the
    server's URL: its tokens and curl lines, or (it was there) how to get a fresh token."""
    from breakouts.demo import Demo, create_demo, demo_host, describe, describe_existing

    async def work(db: Database, clock: Clock, config: Settings) -> tuple[Demo | None, str | None]:
        created = await create_demo(db, clock, _site(config))
        return created, None if created is not None else await demo_host(db)

    created, host = run(work)
    if created is not None:
        return lambda base_url: describe(created, base_url)
    again = describe_existing(host, command_line("tokens", "create"))
    return lambda base_url: again


@app.command()
def demo(base_url: str = "http://127.0.0.1:8000") -> None:
    """Create the demo site if the database is empty and print its tokens; else how to get one."""
    typer.echo(_demo_site()(base_url))


def _local_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches a server listening on ``host``."""
    with contextlib.suppress(ValueError):  # a name, not an address: as it is
        if not host or ipaddress.ip_address(host).is_unspecified:  # every interface
            host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port to listen on (0: any free one).", min=0, max=65535)
    ] = 8000,
    control_plane: Annotated[
        bool,
        typer.Option(
            "--control",
            help="Turn on the control plane (/_control) with a new operator token, printed at"
            " start-up (or the one in BREAKOUTS_CONTROL_TOKEN).",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Server processes sharing the port, each with its own database connection"
            " (README: Running at scale). On SQLite one process is fastest.",
        ),
    ] = 1,
) -> None:
    """Migrate, create the demo site on first start, and serve the API.

    Once it listens it prints where (the API, /docs), and the demo site's tokens on the first
    start or how to get a fresh token on later ones.
    """
    import uvicorn

    from breakouts.app import create_app

    config = settings()
    database = _migrate(wait_s=config.database_startup_wait_s)
    demo_text = _demo_site()
    control_line = None
    if config.control_token:
        control_line = "operator token from BREAKOUTS_CONTROL_TOKEN"
    elif control_plane:
        token = secrets.token_urlsafe(32)
        config = Settings(control_token=token)
        control_line = f"operator token: {token}"

    def banner(bound_port: int) -> str:
        local = _local_url(host, bound_port)
        root = config.public_url.rstrip("/") or local
        lines = [demo_text(root)]
        if control_line is not None:
            lines.append(f"control plane: {root}/_control, {control_line}")
        lines.append(f"Database: {database} (up to date)")
        lines.append(
            f"Listening on {local}: the API at {local}/v1, interactive docs at {local}/docs"
            " (Ctrl-C stops it)"
        )
        return "\n".join(lines)

    uvicorn_options: dict[str, Any] = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": "httptools",
        "access_log": False,
        "log_level": "warning",
        "lifespan": "on",
    }
    if workers > 1:
        _serve_processes(workers, config, uvicorn_options, banner)
        return

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:  # listening: now every line printed works
                typer.echo(banner(self.servers[0].sockets[0].getsockname()[1]))

    app = create_app(config)
    _freeze_heap()
    server = Server(uvicorn.Config(app, **uvicorn_options))
    with contextlib.suppress(KeyboardInterrupt):
        server.run()
    if not server.started:  # uvicorn said why (the port is taken, …)
        raise typer.Exit(3)


def _freeze_heap() -> None:
    """Move everything alive now out of the collector's sight.

    Imported modules, Alembic and SQLAlchemy from the migration and the app live as long as the
    process. Otherwise each full collection walks them all, ~30 ms with the event loop stopped,
    which under load was the whole p99 (bench/README.md).
    """
    gc.collect()
    gc.freeze()


def _serve_processes(
    workers: int, config: Settings, options: dict[str, Any], banner: Callable[[int], str]
) -> None:
    """``--workers N``: uvicorn's supervisor runs N server processes on one listening socket.

    Each process builds its own app from the environment (``breakouts.serving.app_from_env``), so
    what this process settled (a generated operator token) travels in the environment; the
    supervisor restarts a process that dies and stops them all on SIGTERM or Ctrl-C.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    if config.control_token:
        os.environ["BREAKOUTS_CONTROL_TOKEN"] = config.control_token
    uv_config = uvicorn.Config(
        "breakouts.serving:app_from_env", factory=True, workers=workers, **options
    )
    try:
        sock = uv_config.bind_socket()
    except SystemExit as exc:  # uvicorn said why (the port is taken, …)
        raise typer.Exit(3) from exc
    sock.listen(uv_config.backlog)  # connections wait in the backlog until a process serves
    typer.echo(banner(sock.getsockname()[1]))
    typer.echo(f"{workers} server processes (pid {os.getpid()} supervises them)")
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(uv_config, sockets=[sock]).run()


# --- people, tokens, meetings --------------------------------------------------------------------


@people_app.command("add")
def people_add(
    email: str,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Make the person a site admin.")] = False,
    org: OrgOption = None,
) -> None:
    """Add a person (to the default org, or to --org)."""
    from breakouts.people import service

    async def work(tx: Tx, env: Env, found: Org) -> str:
        person = await service.add_person(tx, env.clock, email, name, admin, org_id=found.id)
        return person.id

    person_id = with_org(org, work)
    where = "" if org is None else f" to org {org}"
    typer.echo(f"added {email} ({'admin' if admin else 'user'}){where} id {person_id}")


@tokens_app.command("create")
def tokens_create(
    email: str,
    scope: Annotated[list[str] | None, typer.Option(help="Scope; repeat for several.")] = None,
    expires_in: Annotated[str | None, typer.Option(help="Lifetime, e.g. 3600, 12h, 90d.")] = None,
    org: OrgOption = None,
) -> None:
    """Create a bearer token; it is printed once, alone on the last line."""
    from breakouts.people import service

    seconds = parse_duration(expires_in, "--expires-in") if expires_in else None

    async def work(tx: Tx, env: Env, found: Org) -> str:
        return await service.create_token(tx, env.clock, email, scope, seconds, org_id=found.id)

    token = with_org(org, work)
    typer.echo(f"token for {email} (shown once):")
    typer.echo(token)


@meetings_app.command("start")
def meetings_start(meeting_id: str, as_json: JsonFlag = False) -> None:
    """Start a scheduled meeting (a series: its next occurrence) on its org's clock.

    Prints the instance id (--json: the instance's meeting object).
    """
    from breakouts.control import service

    async def start(tx: Tx, env: Env) -> dict[str, Any]:
        try:
            return await service.start_meeting(tx, env, meeting_id)
        except NotFound:
            where = _database(settings().database_url)
            raise NotFound(
                f"Meeting '{meeting_id}' was not found in the database at {where}."
            ) from None

    meeting = control(start)
    if as_json:
        echo_json(meeting)
    else:
        typer.echo(meeting["id"])


# --- orgs ----------------------------------------------------------------------------------------


def _read_seed(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        fail(f"cannot read {source}: {exc.strerror or exc}")


@orgs_app.command("create")
def orgs_create(
    seed: Annotated[
        str | None,
        typer.Argument(
            metavar="[FILE]",
            help="A seed document (JSON, the body of POST /_control/orgs); - reads stdin.",
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="The org's name.")] = None,
    journal: Annotated[
        bool, typer.Option("--journal", help="Keep a journal of the org's requests.")
    ] = False,
) -> None:
    """Create an org (without FILE: a host and an admin); prints it as JSON, tokens included."""
    import msgspec

    from breakouts.control import service
    from breakouts.control.schemas import Name, OrgSpec
    from breakouts.http import decode_json

    try:
        spec = decode_json(_read_seed(seed), OrgSpec) if seed is not None else OrgSpec()
    except ApiError as exc:
        fail(f"{'stdin' if seed == '-' else seed}: {exc.message}")
    if name is not None:
        try:
            spec = msgspec.structs.replace(spec, name=msgspec.convert(name, Name))
        except msgspec.ValidationError as exc:
            fail(invalid(exc, {"": "--name"}))
    if journal:
        spec = msgspec.structs.replace(spec, journal=True)
    echo_json(control(lambda tx, env: service.create_org(tx, env, spec)))


@orgs_app.command("list")
def orgs_list(as_json: JsonFlag = False) -> None:
    """Every org, oldest first, with its clock."""
    from breakouts.control import service

    items = control(service.list_orgs, write=False)
    if as_json:
        echo_json(items)
        return
    table(
        ["NAME", "JOURNAL", "NOW (ORG CLOCK)", "OFFSET", "ID"],
        [
            [o["name"], "on" if o["journal"] else "off", o["now"], o["offsetSeconds"], o["id"]]
            for o in items
        ],
    )


@orgs_app.command("delete")
def orgs_delete(org: OrgArgument) -> None:
    """Delete an org and everything it owns (people, tokens, meetings, mail, faults, journal)."""
    from breakouts.control import service
    from breakouts.ids import org_api_id

    async def work(tx: Tx, env: Env, found: Org) -> Org:
        await service.delete_org(tx, found)
        return found

    gone = with_org(org, work)
    typer.echo(f"deleted org {gone.name} ({org_api_id(gone.id)})")


@app.command()
def reset(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete every org and everything in them; the default org is back, empty."""
    from breakouts.control import service

    if not yes:
        typer.confirm(
            "Delete every org, person, token, meeting, message, fault and journal entry?",
            abort=True,
        )
    control(service.reset)
    typer.echo("reset: only the default org is left, empty")


# --- clock ---------------------------------------------------------------------------------------

# An org's clock stays before this: past the year 9999 no date of the API can be written.
LATEST = int(datetime(9000, 1, 1, tzinfo=UTC).timestamp())


def _echo_clock(clock: dict[str, Any], as_json: bool) -> None:
    if as_json:
        echo_json(clock)
    else:
        typer.echo(f"{clock['now']} (offset {clock['offsetSeconds']} s)")


@clock_app.command("show")
def clock_show(org: OrgArgument, as_json: JsonFlag = False) -> None:
    """The org's time now, and how far ahead of real time it is."""
    from breakouts.control import service

    async def work(tx: Tx, env: Env, found: Org) -> dict[str, Any]:
        return service.clock_json(found, env)

    _echo_clock(with_org(org, work, write=False), as_json)


@clock_app.command("advance")
def clock_advance(
    org: OrgArgument,
    duration: Annotated[
        str, typer.Argument(help="Seconds, 2h / 90m / 1d, or ISO 8601 such as PT2H.")
    ],
    as_json: JsonFlag = False,
) -> None:
    """Move the org's clock forward by DURATION."""
    from breakouts.control import service
    from breakouts.control.schemas import ClockMove

    try:
        seconds = service.parse_duration(duration)
    except ApiError as exc:
        fail(exc.message)
    if not math.isfinite(seconds):
        fail(f"'{duration}' is not a duration.")
    move = ClockMove(advance=seconds)

    async def work(tx: Tx, env: Env, found: Org) -> dict[str, Any]:
        if env.clock.now_s() + found.clock_offset + seconds >= LATEST:
            raise BadRequest(f"The org's clock cannot go past {service.iso(LATEST)}.")
        return await service.move_clock(tx, env, found, move)

    _echo_clock(with_org(org, work), as_json)


@clock_app.command("set")
def clock_set(
    org: OrgArgument,
    instant: Annotated[str, typer.Argument(help="RFC 3339, e.g. 2027-01-04T09:00:00Z.")],
    as_json: JsonFlag = False,
) -> None:
    """Move the org's clock forward to INSTANT (never backwards)."""
    from breakouts.control import service
    from breakouts.control.schemas import ClockMove

    with contextlib.suppress(ValueError):  # not an instant: the service says so
        moment = datetime.fromisoformat(instant.replace("Z", "+00:00"))
        if moment.tzinfo is not None and moment.timestamp() >= LATEST:
            fail(f"The org's clock cannot go past {service.iso(LATEST)}.")
    move = ClockMove(to=instant)
    _echo_clock(with_org(org, lambda tx, env, o: service.move_clock(tx, env, o, move)), as_json)


# --- faults --------------------------------------------------------------------------------------

MAX_COUNT = 1_000_000_000

_FAULT_OPTIONS = {
    "status": "--status",
    "retryAfter": "--retry-after",
    "message": "--message",
    "probability": "--probability",
    "count": "--count",
    "latencyMs": "--latency-ms",
    "operation": "OPERATION",
}


def _fault_line(f: dict[str, Any]) -> list[Any]:
    return [
        f["id"],
        f["operation"],
        f.get("status", ""),
        f.get("retryAfter", ""),
        f.get("latencyMs", ""),
        f["probability"],
        "unlimited" if f["remaining"] is None else f["remaining"],
        f.get("message", ""),
    ]


_FAULT_HEADER = [
    "ID", "OPERATION", "STATUS", "RETRY-AFTER", "LATENCY-MS", "PROBABILITY", "REMAINING", "MESSAGE"
]  # fmt: skip


@faults_app.command("add")
def faults_add(
    org: OrgArgument,
    operation: Annotated[
        str, typer.Argument(help="An upstream operationId (createMeeting, …), * or smtp.")
    ],
    status: Annotated[
        int | None, typer.Option(help="Answer this HTTP status (smtp: this SMTP code).")
    ] = None,
    retry_after: Annotated[int | None, typer.Option(help="Retry-After seconds.")] = None,
    message: Annotated[str | None, typer.Option(help="The error body's message.")] = None,
    probability: Annotated[float, typer.Option(help="Chance of each request, (0, 1].")] = 1.0,
    count: Annotated[
        int | None, typer.Option(help="Expire after this many hits.", max=MAX_COUNT)
    ] = None,
    latency_ms: Annotated[int | None, typer.Option(help="Delay the request this long.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Make the org's requests of OPERATION fail (--status) or slow (--latency-ms)."""
    import msgspec

    from breakouts.control import service
    from breakouts.control.schemas import FaultSpec

    fields = {
        "operation": operation,
        "status": status,
        "retryAfter": retry_after,
        "message": message,
        "probability": probability,
        "count": count,
        "latencyMs": latency_ms,
    }
    try:
        spec = msgspec.convert(fields, FaultSpec)
    except msgspec.ValidationError as exc:
        fail(invalid(exc, _FAULT_OPTIONS))
    fault = with_org(org, lambda tx, env, o: service.add_fault(tx, env, o, spec))
    if as_json:
        echo_json(fault)
    else:
        table(_FAULT_HEADER, [_fault_line(fault)])


@faults_app.command("list")
def faults_list(org: OrgArgument, as_json: JsonFlag = False) -> None:
    """The org's faults, oldest first."""
    from breakouts.control import service

    items = with_org(org, lambda tx, env, o: service.list_faults(tx, o), write=False)
    if as_json:
        echo_json(items)
    elif not items:
        typer.echo("no faults")
    else:
        table(_FAULT_HEADER, [_fault_line(f) for f in items])


@faults_app.command("delete")
def faults_delete(org: OrgArgument, fault_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Delete one fault of the org."""
    from breakouts.control import service

    if not (fault_id.isascii() and fault_id.isdigit() and len(fault_id) <= 18):
        fail(f"Fault '{fault_id}' was not found.")
    with_org(org, lambda tx, env, o: service.delete_fault(tx, o, fault_id))
    typer.echo(f"deleted fault {fault_id}")


@faults_app.command("clear")
def faults_clear(org: OrgArgument) -> None:
    """Delete every fault of the org."""
    from breakouts.control import service

    with_org(org, lambda tx, env, o: service.clear_faults(tx, o))
    typer.echo("deleted every fault of the org")


# --- journal -------------------------------------------------------------------------------------


@journal_app.command("list")
def journal_list(
    org: OrgArgument,
    operation_id: Annotated[str | None, typer.Option(help="Only this operationId.")] = None,
    status: Annotated[int | None, typer.Option(help="Only answers with this status.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The org's journal of requests, oldest first (orgs created with --journal)."""
    from breakouts.control import service

    async def work(tx: Tx, env: Env, found: Org) -> tuple[Org, list[dict[str, Any]]]:
        code = None if status is None else str(status)
        return found, await service.list_journal(tx, found, operation_id, code)

    found, items = with_org(org, work, write=False)
    if as_json:
        echo_json(items)
    elif not items:
        off = "" if found.journal else " (the org keeps no journal: create it with --journal)"
        typer.echo(f"no requests{off}")
    else:
        table(
            ["TIME", "STATUS", "OPERATION", "CALLER", "MS", "REQUEST"],
            [
                [
                    e["time"],
                    e["status"],
                    e["operationId"],
                    e["caller"],
                    e["durationMs"],
                    f"{e['method']} {e['path']}{'?' + e['query'] if e['query'] else ''}"
                    + (f"  [fault: {e['fault']}]" if e.get("fault") else ""),
                ]
                for e in items
            ],
        )


@journal_app.command("clear")
def journal_clear(org: OrgArgument) -> None:
    """Empty the org's journal."""
    from breakouts.control import service

    with_org(org, lambda tx, env, o: service.clear_journal(tx, o))
    typer.echo("cleared the org's journal")


app.command()(worker)
app.add_typer(mail_app, name="mail")


def main() -> None:
    """The ``breakouts`` command. A usage error is one line too (Typer's own report is a box of
    several lines): the message and where to find the command's help; exit code 2."""
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:  # click's ClickException, UsageError, BadParameter, …
        if type(exc).__name__ == "NoArgsIsHelpError":  # the help has been printed
            sys.exit(exc.exit_code)
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        typer.echo(f"error: {' '.join(exc.format_message().split())}{hint}", err=True)
        sys.exit(exc.exit_code)
    except typer.Abort:  # a question answered no, or stdin closed
        typer.echo("aborted: nothing was changed", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
