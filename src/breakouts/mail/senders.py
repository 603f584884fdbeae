"""Where rendered mail goes: an SMTP server (``SMTP_URL``) or, without one, the database itself.

A sender offers *lanes*: each lane is one SMTP connection, kept open across the messages of a
batch (and across batches while the queue stays busy), so a message costs one MAIL/RCPT/DATA
exchange instead of a whole session. The worker spreads a batch over the lanes.

Failures are sorted the way SMTP means them:

- a 5xx reply to MAIL, RCPT or DATA is about *this message*: permanent, the message is dead
  (except 530/534/535/538, authentication and encryption, which are about the session);
- a 4xx reply is about this message, now: try it again later;
- anything about the *connection* (refused, dropped, timed out, a refusal at greeting, EHLO,
  STARTTLS or AUTH) is temporary, whatever the code: a misconfigured or unreachable relay must
  not kill every queued message on the spot. The lane is then broken for the rest of the batch
  after one reconnect, so a dead server costs one timeout per batch, not one per message.

``SMTP_URL`` forms: ``smtp://[user:password@]host[:25]`` (STARTTLS when the server offers it),
``smtp+starttls://…[:587]`` (STARTTLS required), ``smtps://…[:465]`` (TLS from the first byte);
query options ``starttls=false`` and ``verify=false`` (self-signed certificates, tests).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from breakouts.mail.mime import envelope_address


class DeliveryError(Exception):
    """One message not delivered; ``permanent`` says whether trying again can help."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class Outgoing:
    message_id: str
    recipient: str
    raw: str

    @property
    def needs_smtputf8(self) -> bool:
        return not self.recipient.isascii() or not self.raw.isascii()


class Lane(Protocol):
    async def send(self, sender: str, message: Outgoing) -> None:
        """Deliver one message or raise ``DeliveryError``."""
        ...

    def new_batch(self) -> None:
        """Forget a broken connection: the next batch may find the server back."""
        ...

    async def close(self) -> None: ...


class Sender(Protocol):
    status: str  # what a delivered row becomes: "sent" or "captured"
    lanes: list[Lane]

    async def close(self) -> None: ...


# --- capture -------------------------------------------------------------------------------------


class CaptureLane:
    """Delivery is the worker storing the rendered message, which it does for every sender."""

    async def send(self, sender: str, message: Outgoing) -> None:
        return None

    def new_batch(self) -> None:
        return None

    async def close(self) -> None:
        return None


class CaptureSender:
    status = "captured"

    def __init__(self) -> None:
        self.lanes: list[Lane] = [CaptureLane()]

    async def close(self) -> None:
        return None


# --- SMTP ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmtpTarget:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool | None  # None: when offered
    validate_certs: bool

    @classmethod
    def parse(cls, url: str) -> SmtpTarget:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps", "smtp+starttls"):
            raise ValueError("SMTP_URL must start with smtp://, smtp+starttls:// or smtps://")
        if not parts.hostname:
            raise ValueError("SMTP_URL has no host")
        query = {k.lower(): v[-1].lower() for k, v in parse_qs(parts.query).items()}
        start_tls: bool | None = None
        if scheme == "smtp+starttls":
            start_tls = True
        elif scheme == "smtps" or query.get("starttls") in ("false", "0", "no"):
            start_tls = False
        default_port = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}[scheme]
        return cls(
            hostname=parts.hostname,
            port=parts.port or default_port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            use_tls=scheme == "smtps",
            start_tls=start_tls,
            validate_certs=query.get("verify") not in ("false", "0", "no"),
        )


_MESSAGE_REFUSALS = (
    aiosmtplib.SMTPSenderRefused,
    aiosmtplib.SMTPRecipientRefused,
    aiosmtplib.SMTPDataError,
)


# Refusals of the session, not the message, even when they come as a reply to MAIL FROM:
# authentication required (530, also "must issue STARTTLS first"), too weak (534), refused
# credentials (535), encryption required (538).
_SESSION_REFUSALS = frozenset({530, 534, 535, 538})


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}".strip()


def classify(exc: BaseException) -> tuple[DeliveryError, bool]:
    """(the failure, whether the connection is still usable) for an exception from ``sendmail``."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        first = exc.recipients[0]
        return DeliveryError(_reply(first), permanent=first.code >= 500), True
    if isinstance(exc, _MESSAGE_REFUSALS):
        if exc.code in _SESSION_REFUSALS:
            return DeliveryError(_reply(exc), permanent=False), False
        usable = exc.code != 421  # 421: the server is closing the connection
        return DeliveryError(_reply(exc), permanent=exc.code >= 500), usable
    if isinstance(exc, TimeoutError):
        return DeliveryError("SMTP server timed out", permanent=False), False
    if isinstance(exc, OSError):  # before ValueError: a certificate error is both
        return _connection_failed(exc), False
    if isinstance(exc, aiosmtplib.SMTPNotSupported | ValueError):
        return DeliveryError(f"cannot be sent: {exc}", permanent=True), True
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return DeliveryError(_reply(exc), permanent=False), False
    return _connection_failed(exc), False


_KNOWN = (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError)


def _describe(exc: BaseException) -> DeliveryError:
    """What went wrong, for any exception at all (an unforeseen one is a temporary failure)."""
    if isinstance(exc, _KNOWN):
        return classify(exc)[0]
    return DeliveryError(f"SMTP client error: {exc!r}", permanent=False)


def _connection_failed(exc: BaseException) -> DeliveryError:
    return DeliveryError(f"SMTP connection failed: {exc or type(exc).__name__}", permanent=False)


class SmtpLane:
    """One SMTP connection, opened on first use and reopened once after it fails."""

    def __init__(self, target: SmtpTarget, timeout_s: float) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self._smtp: aiosmtplib.SMTP | None = None
        self._broken: DeliveryError | None = None
        self._strikes = 0  # connection failures in a row

    def new_batch(self) -> None:
        self._broken, self._strikes = None, 0

    async def _connect(self) -> aiosmtplib.SMTP:
        t = self.target
        smtp = aiosmtplib.SMTP(
            hostname=t.hostname,
            port=t.port,
            username=t.username,
            password=t.password,
            use_tls=t.use_tls,
            start_tls=t.start_tls,
            validate_certs=t.validate_certs,
            timeout=self.timeout_s,
        )
        try:
            async with asyncio.timeout(self.timeout_s):
                await smtp.connect()
        except BaseException:
            smtp.close()
            raise
        return smtp

    async def send(self, sender: str, message: Outgoing) -> None:
        if self._broken is not None:
            raise self._broken
        try:
            if self._smtp is None or not self._smtp.is_connected:
                self._smtp = await self._connect()
        except Exception as exc:
            # Whatever went wrong while connecting is about the session: never permanent.
            self._broken = DeliveryError(_describe(exc).reason, permanent=False)
            raise self._broken from exc
        options = ["SMTPUTF8"] if message.needs_smtputf8 else []
        raw = message.raw.encode("utf-8")
        try:
            async with asyncio.timeout(self.timeout_s):
                await self._smtp.sendmail(
                    envelope_address(sender), [message.recipient], raw, mail_options=options
                )
        except Exception as exc:  # anything unforeseen is a failed try too, never a lost row
            error, usable = classify(exc) if isinstance(exc, _KNOWN) else (_describe(exc), False)
            if not usable:
                self._smtp.close()
                self._smtp = None
                self._strikes += 1
                if self._strikes >= 2:
                    self._broken = error
            raise error from exc
        self._strikes = 0

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is None or not smtp.is_connected:
            return
        try:
            async with asyncio.timeout(min(self.timeout_s, 5.0)):
                await smtp.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            smtp.close()


class SmtpSender:
    status = "sent"

    def __init__(self, target: SmtpTarget, *, connections: int, timeout_s: float) -> None:
        self.lanes: list[Lane] = [SmtpLane(target, timeout_s) for _ in range(max(1, connections))]

    async def close(self) -> None:
        await asyncio.gather(*(lane.close() for lane in self.lanes))


def make_sender(smtp_url: str | None, *, connections: int, timeout_s: float) -> Sender:
    """SMTP when a URL is configured, the database's mail catcher otherwise."""
    if not smtp_url:
        return CaptureSender()
    return SmtpSender(SmtpTarget.parse(smtp_url), connections=connections, timeout_s=timeout_s)
