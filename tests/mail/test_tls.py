"""SMTP over TLS: STARTTLS (required or when offered) and implicit TLS (smtps://), with a login.

The certificate is self-signed, made by the openssl command for each test session, so these
URLs say ``verify=false``; a verifying client refusing it is tested too.
"""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from starlette.applications import Starlette

from tests.conftest import World
from tests.mail.conftest import Sink, authenticator, free_port, make_worker
from tests.mail.test_delivery import queue


@pytest.fixture(scope="session")
def server_tls(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def _start(handler: Sink, **kwargs: Any) -> Controller:
    controller = Controller(
        handler, hostname="127.0.0.1", port=handler.port, decode_data=False,
        authenticator=authenticator(handler), **kwargs,
    )  # fmt: skip
    controller.start()
    return controller


@pytest.fixture
def starttls_sink(server_tls: ssl.SSLContext) -> Iterator[Sink]:
    """A server that refuses anything before STARTTLS, and AUTH until then too."""
    handler = Sink(port=free_port())
    controller = _start(handler, tls_context=server_tls, require_starttls=True)
    yield handler
    controller.stop()


@pytest.fixture
def smtps_sink(server_tls: ssl.SSLContext) -> Iterator[Sink]:
    """A server speaking TLS from the first byte (port 465 style)."""
    handler = Sink(port=free_port())
    controller = _start(handler, ssl_context=server_tls, auth_require_tls=False)
    yield handler
    controller.stop()


def _creds(sink: Sink) -> str:
    return f"mailer:s3cret%2Fpass@127.0.0.1:{sink.port}"


@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtp"])
async def test_starttls_with_login(
    app: Starlette, world: World, starttls_sink: Sink, scheme: str
) -> None:
    """smtp+starttls:// (required) and smtp:// (when offered) both upgrade, log in, deliver."""
    await queue(app, "ana@example.com")
    await make_worker(app, smtp_url=f"{scheme}://{_creds(starttls_sink)}?verify=false").drain()
    assert [r["status"] for r in world.outbox()] == ["sent"]
    assert starttls_sink.logins == [("mailer", "s3cret/pass")]
    assert len(starttls_sink.received) == 1


async def test_implicit_tls_with_login(app: Starlette, world: World, smtps_sink: Sink) -> None:
    """smtps:// speaks TLS from the start, logs in and delivers."""
    await queue(app, "ana@example.com")
    await make_worker(app, smtp_url=f"smtps://{_creds(smtps_sink)}?verify=false").drain()
    assert [r["status"] for r in world.outbox()] == ["sent"]
    assert len(smtps_sink.received) == 1


async def test_an_untrusted_certificate_is_refused_and_retried(
    app: Starlette, world: World, starttls_sink: Sink
) -> None:
    """Certificates are verified unless the URL says otherwise; a refusal is retried, not dead."""
    await queue(app, "ana@example.com")
    await make_worker(app, smtp_url=f"smtp+starttls://127.0.0.1:{starttls_sink.port}").drain()
    [row] = world.outbox()
    assert row["status"] == "pending" and "certificate" in row["last_error"].lower()
    assert starttls_sink.received == []


async def test_starttls_off_against_a_server_that_requires_it_is_retried(
    app: Starlette, world: World, starttls_sink: Sink
) -> None:
    """starttls=false to a server that insists: its 530 is about the connection, so retried."""
    await queue(app, "ana@example.com")
    await make_worker(app, smtp_url=f"smtp://127.0.0.1:{starttls_sink.port}?starttls=false").drain()
    [row] = world.outbox()
    assert row["status"] == "pending" and row["last_error"].startswith("530")


async def test_starttls_required_but_not_offered_is_retried(
    app: Starlette, world: World, sink: Sink
) -> None:
    """smtp+starttls:// to a server without STARTTLS fails the session: retried, never dead."""
    await queue(app, "ana@example.com")
    await make_worker(app, smtp_url=f"smtp+starttls://127.0.0.1:{sink.port}").drain()
    [row] = world.outbox()
    assert row["status"] == "pending" and "STARTTLS" in row["last_error"]
