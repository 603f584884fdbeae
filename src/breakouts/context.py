"""What a service call needs besides its arguments: the open transaction, the time, the caller."""

from __future__ import annotations

from dataclasses import dataclass

from breakouts.auth import Caller
from breakouts.db import Tx


@dataclass(frozen=True, slots=True)
class Site:
    site_url: str  # e.g. example.webex.com
    mail_domain: str

    @property
    def web_base(self) -> str:
        return f"https://{self.site_url}"


@dataclass(frozen=True, slots=True)
class Ctx:
    tx: Tx
    now: int
    caller: Caller
    tracking_id: str
    site: Site
