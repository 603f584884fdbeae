"""Initial schema: people, tokens, meetings, plans, instances, breakout sessions, outbox, audit.

Times are INTEGER epoch seconds (UTC) and booleans INTEGER 0/1, so the same SQL runs on SQLite
and PostgreSQL.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

T = sa.Text
I = sa.BigInteger  # noqa: E741 - reads as a column type, like T
# Row ids that grow forever: BIGINT (BIGSERIAL) on PostgreSQL; on SQLite the INTEGER PRIMARY KEY
# that is the rowid (64-bit already; "BIGINT PRIMARY KEY" would not be).
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", T, primary_key=True),  # uuid; the API id is base64 of it
        sa.Column("email", T, nullable=False),
        sa.Column("email_lower", T, nullable=False, unique=True),
        sa.Column("display_name", T, nullable=False),
        sa.Column("is_admin", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", I, nullable=False),
    )
    op.create_table(
        "tokens",
        sa.Column(
            "token_hash", T, primary_key=True
        ),  # sha256 hex; the token itself is never stored
        sa.Column("person_id", T, sa.ForeignKey("people.id", ondelete="CASCADE"), nullable=False),
        sa.Column("scopes", T, nullable=False),  # space-separated
        sa.Column("expires_at", I, nullable=True),
        sa.Column("created_at", I, nullable=False),
    )
    op.create_index("tokens_person", "tokens", ["person_id"])
    op.create_table(
        "meeting_series",
        sa.Column("id", T, primary_key=True),
        sa.Column("host_id", T, sa.ForeignKey("people.id"), nullable=False),
        sa.Column("title", T, nullable=False),
        sa.Column("agenda", T, nullable=True),
        sa.Column("password", T, nullable=False),
        sa.Column("meeting_number", T, nullable=False),
        sa.Column("host_key", T, nullable=False),
        sa.Column("timezone", T, nullable=False),
        sa.Column("start_at", I, nullable=False),  # first occurrence
        sa.Column("end_at", I, nullable=False),
        sa.Column("recurrence", T, nullable=True),
        sa.Column("last_end_at", I, nullable=True),  # end of the last occurrence; NULL: endless
        sa.Column("breakouts_enabled", sa.Integer, nullable=False, server_default="0"),
        sa.Column("options", T, nullable=False, server_default="{}"),  # JSON: other upstream fields
        sa.Column("created_at", I, nullable=False),
        sa.Column("updated_at", I, nullable=False),
    )
    op.create_index("meeting_series_host", "meeting_series", ["host_id", "start_at"])
    op.create_table(
        "meeting_invitees",
        sa.Column(
            "series_id", T, sa.ForeignKey("meeting_series.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("email_lower", T, nullable=False),
        sa.Column("email", T, nullable=False),
        sa.Column("display_name", T, nullable=True),
        sa.Column("co_host", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("series_id", "email_lower"),
    )
    op.create_index("meeting_invitees_email", "meeting_invitees", ["email_lower"])
    # A scheduled meeting's own state: its breakout plan flag, its cancellation, its overrides.
    op.create_table(
        "occurrences",
        sa.Column(
            "series_id", T, sa.ForeignKey("meeting_series.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("start_at", I, nullable=False),  # original start: the id never changes
        sa.Column("has_plan", sa.Integer, nullable=False, server_default="0"),
        sa.Column("breakouts_enabled", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cancelled", sa.Integer, nullable=False, server_default="0"),
        sa.Column(
            "overrides", T, nullable=False, server_default="{}"
        ),  # JSON: title, agenda, password
        sa.PrimaryKeyConstraint("series_id", "start_at"),
    )
    op.create_table(
        "instances",
        sa.Column("id", T, primary_key=True),
        sa.Column(
            "series_id", T, sa.ForeignKey("meeting_series.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("occurrence_start", I, nullable=False),
        sa.Column("started_at", I, nullable=False),
        sa.Column("ended_at", I, nullable=True),
    )
    op.create_index("instances_series", "instances", ["series_id", "occurrence_start"])
    op.create_table(
        "breakout_sessions",
        # Nothing looks a session up by its random id: a rowid key keeps each DELETE from
        # touching a random page of an id index (SQLite commits cost ~6 µs per page written).
        sa.Column("pk", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("id", T, nullable=False),
        sa.Column(
            "series_id", T, sa.ForeignKey("meeting_series.id", ondelete="CASCADE"), nullable=False
        ),
        # "" for the series plan, the occurrence key for a scheduled meeting, "I_…" for an instance
        sa.Column("scope", T, nullable=False),
        sa.Column("occurrence_start", I, nullable=True),  # set for scheduled-meeting plans
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", T, nullable=False),
        sa.Column("invitees", T, nullable=False),  # JSON array of emails
        sa.Column("start_time", I, nullable=True),
        sa.Column("end_time", I, nullable=True),
    )
    op.create_index(
        "breakout_sessions_scope", "breakout_sessions", ["series_id", "scope", "position"]
    )
    op.create_table(
        "outbox",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        # Not indexed, for the same reason: a random key would cost a random page per message.
        sa.Column("message_id", T, nullable=False),
        sa.Column("event", T, nullable=False),
        sa.Column("meeting_id", T, nullable=False),
        sa.Column("recipient", T, nullable=False),
        sa.Column(
            "payload", T, nullable=False
        ),  # JSON: what the message says, rendered by the worker
        sa.Column("status", T, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", I, nullable=False),
        sa.Column("lease_until", I, nullable=True),
        sa.Column("last_error", T, nullable=True),
        sa.Column("created_at", I, nullable=False),
        sa.Column("sent_at", I, nullable=True),
        sa.Column("raw", T, nullable=True),  # the message as sent or captured
    )
    op.create_index("outbox_due", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "audit_log",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("at", I, nullable=False),
        sa.Column("action", T, nullable=False),
        sa.Column("actor_id", T, nullable=False),
        sa.Column("on_behalf_of_id", T, nullable=True),
        sa.Column("meeting_id", T, nullable=False),
        sa.Column("sessions_count", sa.Integer, nullable=False),
        sa.Column("tracking_id", T, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "audit_log",
        "outbox",
        "breakout_sessions",
        "instances",
        "occurrences",
        "meeting_invitees",
        "meeting_series",
        "tokens",
        "people",
    ):
        op.drop_table(table)
