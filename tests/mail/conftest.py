"""A real SMTP server for the mail tests: aiosmtpd on 127.0.0.1, told per message what to answer.

``sink.on_data``/``sink.on_rcpt`` queue answers for the next transactions ("421 …", "550 …",
``DROP`` to cut the connection, ``STALL`` to hang until released); with nothing queued it
accepts. Everything accepted is parsed and kept in ``sink.received``.
"""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from starlette.applications import Starlette

from breakouts.config import Settings
from breakouts.logs import make_logger
from breakouts.mail.worker import MailWorker

DROP = "DROP"
STALL = "STALL"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    started: float
    ended: float

    @property
    def message(self) -> EmailMessage:
        msg = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class Sink:
    """The handler aiosmtpd calls; its lists are shared with the test thread (the GIL suffices)."""

    received: list[Received] = field(default_factory=list)
    data_answers: deque[str] = field(default_factory=deque)
    rcpt_answers: deque[str] = field(default_factory=deque)
    delay_s: float = 0.0
    stall_all: bool = False
    stall_after: int | None = None  # accept this many, then stall every DATA
    stalled: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    logins: list[tuple[str, str]] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def on_data(self, *answers: str) -> None:
        self.data_answers.extend(answers)

    def on_rcpt(self, *answers: str) -> None:
        self.rcpt_answers.extend(answers)

    def to(self, email: str) -> list[Received]:
        return [r for r in self.received if email.lower() in (t.lower() for t in r.rcpt_tos)]

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.rcpt_answers:
            return self.rcpt_answers.popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        started = time.monotonic()
        answer = self.data_answers.popleft() if self.data_answers else ""
        overdue = self.stall_after is not None and len(self.received) >= self.stall_after
        if answer == STALL or (not answer and (self.stall_all or overdue)):
            self.stalled += 1
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
            return "451 4.3.0 stalled"  # the client gave up long ago: not a delivery
        if answer == DROP:
            server.transport.close()
            return "421 4.4.2 dropped"
        if answer:
            return answer
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        content = envelope.original_content or envelope.content
        self.received.append(
            Received(
                envelope.mail_from, list(envelope.rcpt_tos), content, started, time.monotonic()
            )
        )
        return "250 2.0.0 OK"


def authenticator(sink: Sink) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            sink.logins.append((user, password))
            ok = (user, password) == ("mailer", "s3cret/pass")
            return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535
        return AuthResult(success=False, handled=False)

    return check


@pytest.fixture
def sink() -> Iterator[Sink]:
    handler = Sink(port=free_port())
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=handler.port,
        authenticator=authenticator(handler),
        auth_require_tls=False,
        decode_data=False,
    )
    controller.start()
    try:
        yield handler
    finally:
        handler.release.set()
        controller.stop()


async def eventually(predicate: Callable[[], bool], within: float = 5.0) -> None:
    """Wait (on the test's event loop) until ``predicate()`` holds; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def make_worker(app: Starlette, **overrides: Any) -> MailWorker:
    """A worker on the app's database and clock, settings overridden, jitter seeded."""
    state = app.state.breakouts
    settings: Settings = state.settings.model_copy(update=overrides)
    return MailWorker(state.db, state.clock, settings, make_logger("error"), rng=random.Random(7))
