"""The pytest plugin of breakouts (SPEC §11): a real server for the test run, a fresh org per test.

Installing breakouts registers it (entry point ``pytest11``), so a project's tests just ask for
the fixtures:

- ``breakouts_server`` (session): a real ``breakouts serve`` on a free 127.0.0.1 port with a
  temporary SQLite database and a generated control token; or, with ``BREAKOUTS_URL`` and
  ``BREAKOUTS_CONTROL_TOKEN`` set, that existing server. ``url``, ``control_token``.
- ``webex_org`` (function): a fresh org (``POST /_control/orgs``), deleted after the test.
  ``@pytest.mark.breakouts_org(journal=True, people=[...])`` chooses how it is created.

Under pytest-xdist every worker of a run uses ONE server. The run's key is xdist's
``testrunuid`` (the controller fixes it before the workers start, and each worker finds it in
``config.workerinput``, the value of ``PYTEST_XDIST_TESTRUNUID``). A JSON file named after the
key, in a private directory under the system temp dir, is read and written only under an
``fcntl`` lock on it: the first worker that needs a server starts it (in a new session, so it
outlives that worker) and writes its url, token and pid there; the others read them. The
controller, which outlives every worker, stops it by its pid at the end of the run. (Stopping on
a reference count in the workers instead would let a worker that finishes early stop the server
before a slower worker first asks for it, which would then start a second one.)

Only the standard library and pytest: the control plane is plain JSON over HTTP.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

try:  # POSIX only; without it (Windows) each xdist worker starts a server of its own
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

ENV_URL = "BREAKOUTS_URL"
ENV_TOKEN = "BREAKOUTS_CONTROL_TOKEN"  # noqa: S105 - the name of a variable
START_TIMEOUT_S = 60.0  # a cold, loaded CI machine; ~1.5 s is usual (README)
STOP_TIMEOUT_S = 10.0
HTTP_TIMEOUT_S = 30.0
MARKER = "breakouts_org"
# Never handed to the server we start: they would point it at the user's own database,
# Redis, SMTP server or public URL. (Everything else in the environment is passed on.)
_SCRUBBED = ("DATABASE_URL", "REDIS_URL", "SMTP_URL")

Items = list[dict[str, Any]]
_summary_key = pytest.StashKey[list[str]]()
_run_key = pytest.StashKey[str]()


class BreakoutsServerError(RuntimeError):
    """The server could not be started or reached (its output is in the message)."""


class ControlError(RuntimeError):
    """The control plane answered an error: ``status`` and the Webex error ``body``."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        message = body.get("message") if isinstance(body, dict) else None
        super().__init__(f"{method} {path}: {status} {message or body!r}")
        self.status = status
        self.body = body


# --- HTTP ------------------------------------------------------------------------------------


class _Control:
    """The control plane's client: one keep-alive connection, used by one thread at a time."""

    def __init__(self, url: str, token: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BreakoutsServerError(f"{ENV_URL} must be an http(s) URL, not {url!r}.")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._auth = f"Bearer {token}"
        self._lock = threading.Lock()
        self._conn: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=HTTP_TIMEOUT_S)
        return http.client.HTTPConnection(self._host, self._port, timeout=HTTP_TIMEOUT_S)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        query: dict[str, Any] | None = None,
    ) -> Any:
        """JSON in, JSON out (``None`` for 204); ``ControlError`` for any error status."""
        target = self._prefix + path
        params = {k: v for k, v in (query or {}).items() if v is not None}
        if params:
            target += "?" + urllib.parse.urlencode(params)
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Authorization": self._auth, "Accept": "application/json"}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        with self._lock:
            status, data = self._send(method, target, payload, headers)
        parsed: Any = json.loads(data) if data else None
        if status >= 400:
            raise ControlError(method, path, status, parsed or data.decode(errors="replace"))
        return parsed

    def _send(
        self, method: str, target: str, payload: bytes | None, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._connect()
            try:
                self._conn.request(method, target, payload, headers)
                response = self._conn.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A kept-alive connection the server had closed: the request never ran.
                self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
                continue
            if response.will_close:
                self._conn.close()
                self._conn = None
            return response.status, data
        raise AssertionError("unreachable")  # pragma: no cover


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _camel_keys(values: dict[str, Any]) -> dict[str, Any]:
    return {_camel(k): v for k, v in values.items()}


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _filters(allowed: tuple[str, ...], given: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise TypeError(f"unknown filter(s) {', '.join(unknown)}; use {', '.join(allowed)}")
    return {_camel(k): v for k, v in given.items() if v is not None}


# --- what a test sees -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A person of an org, with a bearer token that has the full user scopes."""

    id: str
    email: str
    token: str
    display_name: str | None = None
    admin: bool = False

    @classmethod
    def of(cls, item: dict[str, Any]) -> Person:
        return cls(item["id"], item["email"], item["token"], item.get("displayName"), item["admin"])


@dataclass(frozen=True)
class OrgClock:
    """The org's own clock: real time plus an offset that only ever moves forward."""

    _control: _Control
    _path: str

    def now(self) -> datetime:
        """The org's current time (aware, UTC)."""
        return _instant(self._control.call("GET", self._path)["now"])

    def advance(self, by: float | timedelta | str) -> datetime:
        """Move forward by seconds, a ``timedelta`` or an ISO 8601 duration (``"PT2H"``)."""
        amount = by.total_seconds() if isinstance(by, timedelta) else by
        return _instant(self._control.call("POST", self._path, {"advance": amount})["now"])

    def to(self, when: datetime) -> datetime:
        """Move forward to an aware instant (never backwards: the control plane answers 400)."""
        return _instant(self._control.call("POST", self._path, {"to": when.isoformat()})["now"])


@dataclass(frozen=True)
class OrgFaults:
    """Fault rules for the org's API requests (or its mail delivery, ``operation="smtp"``)."""

    _control: _Control
    _path: str

    def add(
        self,
        operation: str,
        *,
        status: int | None = None,
        retry_after: int | None = None,
        message: str | None = None,
        probability: float | None = None,
        count: int | None = None,
        latency_ms: int | None = None,
    ) -> dict[str, Any]:
        """A rule for an upstream operationId (``"*"`` for all); the rule as stored."""
        spec = {
            "operation": operation,
            "status": status,
            "retry_after": retry_after,
            "message": message,
            "probability": probability,
            "count": count,
            "latency_ms": latency_ms,
        }
        body = _camel_keys({k: v for k, v in spec.items() if v is not None})
        rule: dict[str, Any] = self._control.call("POST", self._path, body)
        return rule

    def list(self) -> Items:
        items: Items = self._control.call("GET", self._path)["items"]
        return items

    def remove(self, fault_id: str) -> None:
        self._control.call("DELETE", f"{self._path}/{fault_id}")

    def clear(self) -> None:
        self._control.call("DELETE", self._path)


@dataclass(frozen=True)
class OrgMail:
    """Mail the org's changes caused, as captured by the server (no SMTP server configured)."""

    _control: _Control
    _path: str
    FILTERS = ("to", "meeting_id", "event", "status")

    def list(self, **filters: str | None) -> Items:
        """Oldest first; filters ``to``, ``meeting_id``, ``event``, ``status``."""
        query = _filters(self.FILTERS, filters)
        items: Items = self._control.call("GET", self._path, query=query)["items"]
        return items

    def wait(self, count: int = 1, *, timeout: float = 5.0, **filters: str | None) -> Items:
        """``list(**filters)`` once it has at least ``count`` messages (AssertionError after
        ``timeout`` s). Messages are listed as soon as they are queued (``status`` pending);
        ``status="captured"`` waits for the server's mail worker to have delivered them."""
        deadline = time.monotonic() + timeout
        while True:
            items = self.list(**filters)
            if len(items) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if len(items) < count:
            raise AssertionError(
                f"{len(items)} message(s) matching {filters} after {timeout} s, not {count}"
            )
        return items

    def clear(self) -> None:
        self._control.call("DELETE", self._path)


@dataclass(frozen=True)
class OrgJournal:
    """The org's request journal (only for an org created with ``journal=True``)."""

    _control: _Control
    _path: str
    FILTERS = ("operation_id", "status")

    def list(self, **filters: str | int | None) -> Items:
        """Oldest first; filters ``operation_id``, ``status``."""
        query = _filters(self.FILTERS, filters)
        items: Items = self._control.call("GET", self._path, query=query)["items"]
        return items

    def clear(self) -> None:
        self._control.call("DELETE", self._path)


@dataclass
class WebexOrg:
    """One org of the server: its people, clock, faults, captured mail and request journal."""

    id: str
    name: str
    base_url: str
    people: list[Person]
    meetings: list[dict[str, Any]]
    journal_enabled: bool
    _control: _Control = field(repr=False)

    def __post_init__(self) -> None:
        org = f"/_control/orgs/{self.id}"
        self._path = org
        self.clock = OrgClock(self._control, f"{org}/clock")
        self.faults = OrgFaults(self._control, f"{org}/faults")
        self.mail = OrgMail(self._control, f"{org}/mail")
        self.journal = OrgJournal(self._control, f"{org}/requests")

    @property
    def host(self) -> Person:
        """The first person who is not an admin (``host@example.com`` by default)."""
        return next((p for p in self.people if not p.admin), self.people[0])

    @property
    def admin(self) -> Person:
        """The first admin (``admin@example.com`` by default)."""
        for person in self.people:
            if person.admin:
                return person
        raise AttributeError(f"org {self.name!r} was created without an admin")

    def add_person(
        self,
        email: str,
        admin: bool = False,
        *,
        display_name: str | None = None,
        token: str | None = None,
    ) -> Person:
        """A new person of this org, with a token (``token``: a fixed one, ≥ 32 characters)."""
        body = _camel_keys(
            {"email": email, "admin": admin, "display_name": display_name, "token": token}
        )
        person = Person.of(
            self._control.call(
                "POST", f"{self._path}/people", {k: v for k, v in body.items() if v is not None}
            )
        )
        self.people.append(person)
        return person

    def start_meeting(self, meeting_id: str) -> dict[str, Any]:
        """Start a scheduled meeting (a series: its next occurrence); the instance's meeting object."""
        meeting: dict[str, Any] = self._control.call(
            "POST", f"/_control/meetings/{meeting_id}/start"
        )
        return meeting

    def delete(self) -> None:
        """Delete the org and everything it owns (the fixture does this after the test)."""
        try:
            self._control.call("DELETE", self._path)
        except ControlError as exc:
            if exc.status != 404:  # 404: already deleted
                raise

    def __enter__(self) -> WebexOrg:
        return self

    def __exit__(self, *exc: object) -> None:
        self.delete()


@dataclass
class BreakoutsServer:
    """A running breakouts server with its control plane on."""

    url: str
    control_token: str
    pid: int | None = None  # None: an existing server (BREAKOUTS_URL), not ours to stop
    _control: _Control = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")
        self._control = _Control(self.url, self.control_token)

    def new_org(
        self,
        *,
        name: str | None = None,
        journal: bool = False,
        people: list[dict[str, Any]] | None = None,
        meetings: list[dict[str, Any]] | None = None,
    ) -> WebexOrg:
        """A fresh org (``with server.new_org() as org:`` deletes it at the end).

        ``people``: ``[{"email", "display_name"?, "admin"?, "token"?}]``; without it, a host
        ``host@example.com`` and an admin ``admin@example.com``. ``meetings``: createMeeting
        bodies (the API's JSON) with ``hostEmail``.
        """
        body: dict[str, Any] = {"journal": journal}
        if name is not None:
            body["name"] = name
        if people is not None:
            body["people"] = [_camel_keys(p) for p in people]
        if meetings is not None:
            body["meetings"] = meetings
        created = self._control.call("POST", "/_control/orgs", body)
        return WebexOrg(
            id=created["id"],
            name=created["name"],
            base_url=f"{self.url}/v1",
            people=[Person.of(p) for p in created["people"]],
            meetings=created["meetings"],
            journal_enabled=created["journal"],
            _control=self._control,
        )


# --- starting and stopping a server ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _command() -> list[str]:
    script = Path(sys.executable).with_name("breakouts")
    if script.exists():
        return [str(script)]
    return [
        sys.executable,
        "-c",
        "import sys; from breakouts.cli import main; sys.argv[0] = 'breakouts'; main()",
    ]


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _output(log: Path, limit: int = 6000) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "(no output)"
    return text[-limit:] if text else "(no output)"


@dataclass(frozen=True)
class _Started:
    url: str
    token: str
    pid: int
    directory: str
    proc: subprocess.Popen[bytes]


def _start(*, detach: bool) -> _Started:
    """``breakouts serve`` with a temporary database, ready (``/healthz`` 200) when this returns."""
    directory = tempfile.mkdtemp(prefix="breakouts-server-")
    token = secrets.token_urlsafe(32)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("BREAKOUTS_") and k not in _SCRUBBED
    }
    env.update(
        DATABASE_URL=f"sqlite:///{directory}/breakouts.db",
        BREAKOUTS_CONTROL_TOKEN=token,
        BREAKOUTS_LOG_LEVEL="warning",
    )
    log = Path(directory) / "server.log"
    for attempt in (1, 2):  # a second port if another process took the first one meanwhile
        port = _free_port()
        with log.open("wb") as out:
            proc = subprocess.Popen(  # noqa: S603 - our own CLI, no shell
                [*_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                cwd=directory,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=detach,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while proc.poll() is None and time.monotonic() < deadline:
            if _healthy(port):
                return _Started(f"http://127.0.0.1:{port}", token, proc.pid, directory, proc)
            time.sleep(0.01)
        if proc.poll() is None:
            _stop_pid(proc.pid, proc)
            message = f"did not answer /healthz within {START_TIMEOUT_S:.0f} s"
        else:
            message = f"exited with status {proc.returncode}"
        output = _output(log)
        if attempt == 1 and "address already in use" in output.lower():
            continue
        shutil.rmtree(directory, ignore_errors=True)
        raise BreakoutsServerError(
            f"breakouts serve (port {port}) {message}. Its output:\n{output}"
        )
    raise AssertionError("unreachable")  # pragma: no cover


def _start_time(pid: int) -> str | None:
    """The process's start time (``/proc``): with the pid, it names one process for good."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        state = None
    if state == "Z":  # exited; its parent has not reaped it yet
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _stop_pid(pid: int, proc: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM (uvicorn shuts down gracefully), SIGKILL after ``STOP_TIMEOUT_S``."""
    for sig, wait in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=wait)
                return
        else:
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if _gone(pid):
                    return
                time.sleep(0.02)


# --- one server per xdist run ---------------------------------------------------------------------


def _state_dir() -> Path:
    """Private to this user: the state files hold the control token."""
    path = Path(tempfile.gettempdir()) / f"breakouts-pytest-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    info = path.lstat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077 or path.is_symlink():
        raise BreakoutsServerError(f"{path} is not a private directory of this user.")
    return path


@contextlib.contextmanager
def _locked_state(run: str) -> Iterator[dict[str, Any]]:
    """The run's shared state, read and written back under an exclusive ``fcntl`` lock."""
    path = _state_dir() / f"{run}.json"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(os.dup(fd), "r+") as f:
            text = f.read()
            state: dict[str, Any] = json.loads(text) if text else {}
            try:
                yield state
            finally:  # also when starting failed: the error is shared, not retried by each
                f.seek(0)
                f.truncate()
                if state:
                    json.dump(state, f)
                else:
                    path.unlink(missing_ok=True)  # nothing left to share: the run is over
    finally:
        os.close(fd)  # releases the lock


# The servers this process started for the whole run: kept referenced, so that no Popen of a
# server that is still running is collected (which would be a ResourceWarning in the test).
_detached: list[subprocess.Popen[bytes]] = []


def _shared_server(run: str, worker: str) -> BreakoutsServer:
    with _locked_state(run) as state:
        if "error" in state:
            raise BreakoutsServerError(state["error"])
        if "url" not in state:
            try:
                started = _start(detach=True)
            except BreakoutsServerError as exc:
                state["error"] = str(exc)
                raise
            _detached.append(started.proc)
            state.update(
                url=started.url,
                control_token=started.token,
                pid=started.pid,
                pid_start=_start_time(started.pid),
                directory=started.directory,
                started_by=worker,
                starts=int(state.get("starts", 0)) + 1,
            )
        state.setdefault("workers", []).append(worker)
        return BreakoutsServer(state["url"], state["control_token"], state["pid"])


def _stop_shared(run: str) -> str | None:
    """The controller, once every worker is done: stop the run's server; a summary line."""
    path = _state_dir() / f"{run}.json"
    if not path.exists():
        return None
    with _locked_state(run) as state:
        if "pid" not in state:
            state.clear()
            return None
        pid, url = int(state["pid"]), state["url"]
        if _start_time(pid) == state.get("pid_start"):  # still our process, not a reused pid
            _stop_pid(pid)
        shutil.rmtree(state["directory"], ignore_errors=True)
        workers = sorted(state.get("workers", []))
        starts = int(state.get("starts", 0))
        state.clear()
    return (
        f"breakouts: {starts} server started ({url}, pid {pid}), shared by "
        f"{len(workers)} worker(s): {', '.join(workers)}; stopped"
    )


# --- pytest hooks and fixtures --------------------------------------------------------------------


def _distributing(config: pytest.Config) -> bool:
    """True in an xdist controller that hands tests to workers."""
    return getattr(config.option, "dist", "no") != "no" and not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(journal=False, people=None, name=None, meetings=None): how the webex_org "
        "fixture creates the test's org (breakouts)",
    )
    config.stash[_summary_key] = []
    if fcntl is None:
        return
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        config.stash[_run_key] = str(workerinput["testrunuid"])
    elif _distributing(config) and hasattr(config.option, "testrunuid"):
        # Fix the run's id here, before xdist starts its workers with it, so that this
        # controller knows which server to stop.
        if config.option.testrunuid is None:
            config.option.testrunuid = uuid.uuid4().hex
        config.stash[_run_key] = str(config.option.testrunuid)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    run = config.stash.get(_run_key, None)
    if run is not None and not hasattr(config, "workerinput"):
        line = _stop_shared(run)
        if line:
            config.stash[_summary_key].append(line)


def pytest_unconfigure(config: pytest.Config) -> None:
    # The server outlives this worker, and that is meant: let go of its Popen quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        _detached.clear()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    for line in config.stash.get(_summary_key, []):
        terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def breakouts_server(request: pytest.FixtureRequest) -> Iterator[BreakoutsServer]:
    """A running breakouts server with its control plane: ``url``, ``control_token``."""
    url, token = os.environ.get(ENV_URL), os.environ.get(ENV_TOKEN)
    if url:
        if not token:
            raise BreakoutsServerError(f"{ENV_URL} is set but {ENV_TOKEN} is not.")
        server = BreakoutsServer(url, token)
        if not _reachable(server.url):
            raise BreakoutsServerError(f"{ENV_URL}={url}: /healthz does not answer 200.")
        yield server
        server._control.close()
        return
    config = request.config
    run = config.stash.get(_run_key, None)
    if run is not None:  # an xdist worker: the controller stops the shared server
        worker = str(getattr(config, "workerinput", {}).get("workerid", "controller"))
        server = _shared_server(run, worker)
        yield server
        server._control.close()
        return
    started = _start(detach=False)
    server = BreakoutsServer(started.url, started.token, started.pid)
    try:
        yield server
    finally:
        server._control.close()
        _stop_pid(started.pid, started.proc)
        shutil.rmtree(started.directory, ignore_errors=True)
        config.stash[_summary_key].append(
            f"breakouts: 1 server started ({started.url}, pid {started.pid}); stopped"
        )


def _reachable(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    conn_type = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    conn = conn_type(parts.hostname or "", parts.port, timeout=5)
    try:
        conn.request("GET", parts.path.rstrip("/") + "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


_ORG_OPTIONS = frozenset({"journal", "people", "name", "meetings"})


@pytest.fixture
def webex_org(
    request: pytest.FixtureRequest, breakouts_server: BreakoutsServer
) -> Iterator[WebexOrg]:
    """A fresh org for this test (deleted after it): ``id``, ``base_url``, ``host``, ``admin``,
    ``add_person``, ``clock``, ``faults``, ``mail``, ``journal``, ``start_meeting``."""
    marker = request.node.get_closest_marker(MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    unknown = sorted(set(options) - _ORG_OPTIONS)
    if unknown or (marker and marker.args):
        raise TypeError(f"@pytest.mark.{MARKER} takes journal=, people=, name=, meetings= only")
    org = breakouts_server.new_org(**options)
    yield org
    org.delete()
