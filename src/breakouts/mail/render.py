"""What each email says: subject, a headline, the facts, the sessions, as text and as HTML.

The worker renders from the payload queued with the change (``outbox.enqueue``), so a message
says what was true when the change committed, however late it goes out. Times are shown in the
meeting's own timezone, in English names that do not depend on the process locale.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from breakouts.db import from_json

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Content:
    """One message's words, before any encoding."""

    subject: str
    headline: str
    facts: list[tuple[str, str]]
    list_title: str | None
    items: list[str]
    to_name: str | None

    def text(self) -> str:
        lines = [self.headline, ""]
        width = max(len(label) for label, _ in self.facts)
        lines += [f"{label + ':':<{width + 1}} {value}" for label, value in self.facts]
        if self.list_title:
            lines += ["", f"{self.list_title}:"]
            lines += [f"  - {item}" for item in self.items] or ["  (none)"]
        lines += [
            "",
            "-- ",
            "Webex Meetings (breakouts emulator). This message was sent automatically.",
        ]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        e = html.escape
        rows = "".join(
            f'<tr><th align="left" style="padding-right:1em">{e(k)}</th><td>{e(v)}</td></tr>'
            for k, v in self.facts
        )
        parts = [
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8">',
            f"<title>{e(self.subject)}</title></head><body>",
            f"<p>{e(self.headline)}</p>",
            f"<table>{rows}</table>",
        ]
        if self.list_title:
            items = "".join(f"<li>{e(i)}</li>" for i in self.items) or "<li>(none)</li>"
            parts.append(f"<p>{e(self.list_title)}:</p><ul>{items}</ul>")
        parts.append(
            '<p style="color:#666">Webex Meetings (breakouts emulator).'
            " This message was sent automatically.</p></body></html>"
        )
        return "\n".join(parts) + "\n"


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _date(d: datetime, short: bool) -> str:
    if short:
        return f"{_DAYS[d.weekday()][:3]} {d.day} {_MONTHS[d.month - 1][:3]} {d.year}"
    return f"{_DAYS[d.weekday()]}, {d.day} {_MONTHS[d.month - 1]} {d.year}"


def when(start: int, end: int, timezone: str) -> tuple[str, str]:
    """(short, long) forms of a meeting's time in its own timezone."""
    zone = _zone(timezone)
    s = datetime.fromtimestamp(start, zone)
    f = datetime.fromtimestamp(end, zone)
    abbrev = s.tzname() or timezone
    label = abbrev if abbrev == timezone else f"{abbrev} ({timezone})"
    short = f"{_date(s, True)} {s:%H:%M} {abbrev}"
    if s.date() == f.date():
        long = f"{_date(s, False)}, {s:%H:%M}-{f:%H:%M} {label}"
    else:
        long = f"{_date(s, False)}, {s:%H:%M} - {_date(f, False)}, {f:%H:%M} {label}"
    return short, long


def _person(name: str | None, email: str) -> str:
    return f"{name} <{email}>" if name and name != email else email


def _actor(p: dict[str, Any]) -> str:
    who = _person(p.get("actorName"), p["actorEmail"])
    if p.get("onBehalf"):
        who += f", on behalf of {_person(p.get('hostName'), p['hostEmail'])}"
    return who


# (subject prefix, headline, label of the "who did it" fact), per event and role.
_WORDS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("breakouts.deleted", "host"): (
        "Breakout sessions deleted",
        'The breakout sessions of your meeting "{title}" were deleted.',
        "Deleted by",
    ),
    ("breakouts.deleted", "invitee"): (
        "Breakout session cancelled",
        'The breakout sessions of "{title}" were deleted: you are no longer assigned to'
        ' "{session}". You will stay in the main meeting.',
        "Deleted by",
    ),
    ("breakouts.updated", "host"): (
        "Breakout sessions assigned",
        'The breakout sessions of your meeting "{title}" were set.',
        "Assigned by",
    ),
    ("breakouts.updated", "invitee"): (
        "Your breakout session",
        'You are assigned to the breakout session "{session}" of the meeting "{title}".',
        "Assigned by",
    ),
    ("meeting.created", "host"): (
        "Meeting scheduled",
        'Your meeting "{title}" is scheduled.',
        "Scheduled by",
    ),
    ("meeting.created", "invitee"): (
        "Invitation",
        '{host} invites you to the Webex meeting "{title}".',
        "Scheduled by",
    ),
    ("meeting.updated", "host"): (
        "Meeting updated",
        'Your meeting "{title}" was changed.',
        "Changed by",
    ),
    ("meeting.updated", "invitee"): (
        "Meeting updated",
        'The meeting "{title}" you are invited to was changed.',
        "Changed by",
    ),
    ("meeting.cancelled", "host"): (
        "Meeting cancelled",
        'Your meeting "{title}" was cancelled.',
        "Cancelled by",
    ),
    ("meeting.cancelled", "invitee"): (
        "Meeting cancelled",
        '{host} cancelled the meeting "{title}".',
        "Cancelled by",
    ),
}


def render(event: str, payload: str | dict[str, Any]) -> Content:
    """The words of one message, from the event and the payload queued with it."""
    p: dict[str, Any] = from_json(payload) if isinstance(payload, str) else payload
    role = "host" if p.get("role") == "host" else "invitee"
    prefix, headline, by_label = _WORDS.get(
        (event, role), ("Meeting notice", 'The meeting "{title}" has news for you.', "By")
    )
    title = p.get("title") or "(untitled)"
    host = _person(p.get("hostName"), p["hostEmail"])
    short, long = when(int(p["start"]), int(p["end"]), p.get("timezone") or "UTC")
    session = p.get("session") or ""
    subject = f"{prefix}: {title} ({short})"
    if event == "breakouts.updated" and role == "invitee":
        subject = f"{prefix}: {session} - {title} ({short})"
    facts = [("Meeting", title), ("When", long)]
    if p.get("recurrence"):
        facts.append(("Repeats", f"RRULE {p['recurrence']} (times above: first occurrence)"))
    facts += [("Host", host), (by_label, _actor(p))]
    if session:
        facts.append(("Breakout session", session))
    facts += [
        ("Meeting ID", str(p.get("meetingId", ""))),
        ("Site", f"https://{p.get('siteUrl', '')}"),
    ]
    list_title, items = None, []
    if role == "host" and "sessions" in p:
        items = [str(s) for s in p["sessions"]]
        list_title = (
            "Deleted breakout sessions" if event == "breakouts.deleted" else "Breakout sessions"
        )
    return Content(
        subject=subject,
        headline=headline.format(title=title, session=session, host=host),
        facts=facts,
        list_title=list_title,
        items=items,
        to_name=p.get("hostName") if role == "host" else None,
    )
