"""Mail events: a change writes one row for all its recipients; the worker fans it out.

A DELETE that mails the host and six invitees used to write seven outbox rows (each with its
payload and two index entries) inside the request. It now writes one ``mail_events`` row (what
happened, to whom, by whom); a mail worker turns it into one outbox row per recipient, with the
same stable Message-ID, in one transaction that also deletes the event, so the fan-out happens
exactly once whatever crashes (issue #11). No secondary index: the table is a queue that the
fan-out empties, read in primary-key order.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

T = sa.Text
I = sa.BigInteger  # noqa: E741 - reads as a column type, like T
# Row ids that grow forever: BIGINT (BIGSERIAL) on PostgreSQL; on SQLite the INTEGER PRIMARY KEY
# that is the rowid (64-bit already; "BIGINT PRIMARY KEY" would not be).
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "mail_events",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("org_id", T, nullable=False),
        sa.Column("event", T, nullable=False),
        sa.Column("meeting_id", T, nullable=False),
        sa.Column("event_key", T, nullable=False),  # Message-IDs are <event_key.position@domain>
        sa.Column("domain", T, nullable=False),
        sa.Column("common", T, nullable=False),  # JSON: what every message of the event says
        sa.Column("recipients", T, nullable=False),  # JSON: [[email, {their own keys}], ...]
        sa.Column("recipient_count", sa.Integer, nullable=False),
        sa.Column("created_at", I, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("mail_events")
