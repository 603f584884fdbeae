"""What a message looks like on the wire: headers, parts, encodings, and the words in them."""

from __future__ import annotations

import random
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breakouts.mail import mime
from breakouts.mail.render import render, when
from breakouts.mail.repository import Claimed
from breakouts.mail.senders import SmtpTarget
from breakouts.mail.worker import backoff_s, to_outgoing

START = 1796126400  # 2026-12-01T12:00:00Z, a Tuesday
FROM = "Webex Meetings <messenger@webex.com>"


def payload(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "meetingId": "870f51ff287b41be84648412901e0402",
        "title": "Weekly sync",
        "start": START,
        "end": START + 3600,
        "timezone": "Europe/Paris",
        "recurrence": None,
        "hostEmail": "host@example.com",
        "hostName": "Harper Host",
        "actorEmail": "host@example.com",
        "actorName": "Harper Host",
        "onBehalf": False,
        "siteUrl": "example.webex.com",
        "role": "host",
        "sessions": ["Room A", "Room B"],
    }
    base.update(extra)
    return base


def wire(event: str, p: dict[str, Any], to: str = "host@example.com") -> tuple[str, EmailMessage]:
    import json

    row = Claimed(1, "<e1.abc@example.webex.com>", event, to, json.dumps(p), 1, START - 86400)
    raw = to_outgoing(row, FROM).raw
    msg = message_from_string(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return raw, msg


def text_of(msg: EmailMessage, kind: str = "plain") -> str:
    part = msg.get_body((kind,))
    assert isinstance(part, EmailMessage)
    content: str = part.get_content()
    return content


def test_headers_come_from_the_row_and_the_configuration() -> None:
    """From is configured, Message-ID is the row's, Date is when the change happened, To is the recipient."""
    raw, msg = wire("breakouts.deleted", payload())
    assert msg["From"] == FROM
    assert msg["To"] == "Harper Host <host@example.com>"
    assert msg["Message-ID"] == "<e1.abc@example.webex.com>"
    assert msg["Date"].datetime.timestamp() == START - 86400
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Breakouts-Event"] == "breakouts.deleted"
    assert raw.isascii() and "\r\n" in raw and "\n" not in raw.replace("\r\n", "")


def test_body_is_plain_text_and_html_alternatives_in_utf8() -> None:
    """multipart/alternative with a text/plain and a text/html part, both UTF-8."""
    _, msg = wire("breakouts.deleted", payload())
    assert msg.get_content_type() == "multipart/alternative"
    kinds = [p.get_content_type() for p in msg.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in msg.iter_parts())
    assert "Room A" in text_of(msg, "html") and "<li>Room B</li>" in text_of(msg, "html")


def test_subject_and_body_name_the_title_and_the_time_in_the_meetings_timezone() -> None:
    """12:00 UTC in Paris in December is 13:00 CET, in the subject and the body."""
    _, msg = wire("breakouts.deleted", payload())
    assert msg["Subject"] == "Breakout sessions deleted: Weekly sync (Tue 1 Dec 2026 13:00 CET)"
    body = text_of(msg)
    assert "Tuesday, 1 December 2026, 13:00-14:00 CET (Europe/Paris)" in body
    assert "Room A" in body and "Room B" in body


def test_the_acting_admin_is_named_with_the_host_on_whose_behalf() -> None:
    """With hostEmail, the message says which admin acted and for whom."""
    p = payload(actorEmail="ada@example.com", actorName="Ada Admin", onBehalf=True)
    _, msg = wire("breakouts.deleted", p)
    assert (
        "Deleted by: Ada Admin <ada@example.com>, on behalf of Harper Host <host@example.com>"
        in text_of(msg)
    )


@pytest.mark.parametrize(
    ("event", "role", "subject"),
    [
        ("breakouts.deleted", "invitee", "Breakout session cancelled: Weekly sync"),
        ("breakouts.updated", "host", "Breakout sessions assigned: Weekly sync"),
        ("breakouts.updated", "invitee", "Your breakout session: Room B - Weekly sync"),
        ("meeting.created", "host", "Meeting scheduled: Weekly sync"),
        ("meeting.created", "invitee", "Invitation: Weekly sync"),
        ("meeting.updated", "invitee", "Meeting updated: Weekly sync"),
        ("meeting.cancelled", "invitee", "Meeting cancelled: Weekly sync"),
    ],
)
def test_each_event_says_what_changed(event: str, role: str, subject: str) -> None:
    """Every event and role has its own subject line; an invitee's names their session."""
    p = payload(role=role)
    if role == "invitee":
        del p["sessions"]
        p["session"] = "Room B"
    _, msg = wire(event, p, to="ben@example.com")
    assert msg["Subject"].startswith(subject)
    if event.startswith("breakouts") and role == "invitee":
        assert '"Room B"' in text_of(msg)


def test_utf8_names_survive_headers_and_bodies() -> None:
    """Non-ASCII titles, names and sessions come back intact after MIME encoding."""
    p = payload(title="Café ☕ planning", hostName="Zoë Ünal", sessions=["Salle Été"])
    raw, msg = wire("breakouts.deleted", p)
    assert raw.isascii()
    assert "Café ☕ planning" in msg["Subject"]
    assert msg["To"].addresses[0].display_name == "Zoë Ünal"
    assert "Salle Été" in text_of(msg) and "Zoë Ünal" in text_of(msg)
    assert "Salle Été" in text_of(msg, "html")


def test_non_ascii_address_is_written_as_utf8() -> None:
    """An internationalised address (RFC 6532) is kept as is; the sender then asks for SMTPUTF8."""
    p = payload(role="invitee", session="A")
    del p["sessions"]
    _, msg = wire("breakouts.updated", p, to="zoë@exämple.com")
    assert msg["To"].addresses[0].addr_spec == "zoë@exämple.com"


def test_long_subjects_are_folded_and_read_back_whole() -> None:
    """A 128-character title keeps header lines short and decodes to the same words."""
    title = "Quarterly planning " * 6 + "é" * 10
    raw, msg = wire("meeting.created", payload(title=title[:128]))
    head = raw.split("\r\n\r\n", 1)[0]
    assert max(len(line) for line in head.split("\r\n")) <= 78
    assert title[:128] in msg["Subject"]


def test_html_escapes_what_people_typed() -> None:
    """A title with markup is shown, never interpreted."""
    _, msg = wire("breakouts.deleted", payload(title="<script>x</script> & co"))
    html = text_of(msg, "html")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_recurring_series_shows_its_rule() -> None:
    """A series' message says it repeats."""
    _, msg = wire("meeting.created", payload(recurrence="FREQ=WEEKLY;BYDAY=TU"))
    assert "FREQ=WEEKLY;BYDAY=TU" in text_of(msg)


def test_meeting_across_midnight_shows_both_dates() -> None:
    """An end on another local day is written with its own date."""
    short, long = when(START + 10 * 3600, START + 12 * 3600, "Europe/Paris")
    assert (
        long
        == "Tuesday, 1 December 2026, 23:00 - Wednesday, 2 December 2026, 01:00 CET (Europe/Paris)"
    )
    assert short == "Tue 1 Dec 2026 23:00 CET"


def test_unknown_timezone_falls_back_to_utc() -> None:
    """A zone name the system does not know still renders, in UTC."""
    assert render("meeting.created", payload(timezone="Mars/Olympus")).subject.endswith(
        "12:00 UTC)"
    )


def test_envelope_sender_is_the_bare_address() -> None:
    """MAIL FROM carries only the address of the configured From."""
    assert mime.envelope_address(FROM) == "messenger@webex.com"


@given(
    attempts=st.integers(min_value=1, max_value=40),
    base=st.floats(min_value=0, max_value=100),
    cap=st.floats(min_value=0, max_value=10_000),
    seed=st.integers(),
)
def test_backoff_doubles_with_jitter_within_half_and_whole(
    attempts: int, base: float, cap: float, seed: int
) -> None:
    """Try n+1 waits between half and all of min(cap, base * 2**(n-1)), in whole seconds."""
    delay = min(cap, base * 2.0 ** (attempts - 1))
    wait = backoff_s(attempts, base, cap, random.Random(seed))
    assert int(delay / 2) <= wait <= int(delay) + 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:2525", ("127.0.0.1", 2525, None, None, False, None, True)),
        ("smtp://mail.example.com", ("mail.example.com", 25, None, None, False, None, True)),
        ("smtps://u:p@mail.example.com", ("mail.example.com", 465, "u", "p", True, False, True)),
        (
            "smtp+starttls://me%40x.com:s3cret%2Fpass@relay:2587?verify=false",
            ("relay", 2587, "me@x.com", "s3cret/pass", False, True, False),
        ),
        ("smtp://relay?starttls=false", ("relay", 25, None, None, False, False, True)),
    ],
)
def test_smtp_url_forms(url: str, expected: tuple[Any, ...]) -> None:
    """smtp://, smtps:// and smtp+starttls://, credentials percent-decoded, options in the query."""
    t = SmtpTarget.parse(url)
    got = (t.hostname, t.port, t.username, t.password, t.use_tls, t.start_tls, t.validate_certs)
    assert got == expected


@pytest.mark.parametrize("url", ["http://relay", "smtp://", "relay:25"])
def test_smtp_url_that_is_not_one_is_refused(url: str) -> None:
    """A URL without an SMTP scheme or a host is a configuration error, said at start-up."""
    with pytest.raises(ValueError, match="SMTP_URL"):
        SmtpTarget.parse(url)


@pytest.mark.parametrize(
    "title",
    ["Café", "x" * 128, "é" * 128, "日本語のミーティング" * 12, "a " * 64, "Plan 🎉 " * 16],
)
def test_every_header_line_stays_within_78_columns_and_decodes_back(title: str) -> None:
    """Subjects of any script and length fold to short lines and read back to the same text."""
    raw, msg = wire("breakouts.updated", payload(title=title, role="invitee", session="S"))
    head = raw.split("\r\n\r\n", 1)[0]
    # Only a single word longer than a line (128 x's) may overflow: there is nowhere to fold it.
    assert all(len(line) <= 78 or " " not in line.strip() for line in head.split("\r\n"))
    assert msg["Subject"].startswith(f"Your breakout session: S - {title} (")
