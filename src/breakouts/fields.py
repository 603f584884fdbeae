"""Request field types shared by every domain's schemas: an email address, ``hostEmail``."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, UnsetType

from breakouts.text import EMAIL_PATTERN

Email = Annotated[
    str,
    Meta(
        max_length=320,
        pattern=EMAIL_PATTERN,
        extra_json_schema={"format": "email"},
        description="An email address `local@domain`, at most 320 characters: an unquoted "
        "local part (dot-separated atoms, RFC 5322) and a domain of two or more dot-separated "
        "labels. Internationalized addresses (RFC 6531, e.g. `chloé@example.com`) are accepted "
        "too; whitespace, control characters, quoted local parts and address literals are not "
        "(400). Compared case-insensitively.",
        examples=["brenda.song@example.com"],
    ),
]


class HostEmail:
    """``hostEmail`` in a body: absent, or an email (never null).

    Each request struct declares the field as ``host_email_value`` (JSON ``hostEmail``), so that
    ``host_email`` can answer ``str | None``, what ``run(host_email=...)`` takes.
    """

    __slots__ = ()
    host_email_value: str | UnsetType

    @property
    def host_email(self) -> str | None:
        return self.host_email_value or None


HOST_EMAIL_FIELD = "hostEmail"
