"""Orgs (SPEC §9): every person, meeting, email and audit record belongs to one; faults, journal.

Every existing row lands in the default org. Emails become unique within an org instead of
across the database. An org carries what the control plane sets (SPEC §10) so that every
process reads it with the token lookup it already makes: its clock offset, whether it keeps a
request journal, and ``version``, bumped whenever its fault rules change, which processes
cache their copy of the rules against.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

T = sa.Text
I = sa.BigInteger  # noqa: E741 - reads as a column type, like T
# Row ids that grow forever: BIGINT (BIGSERIAL) on PostgreSQL; on SQLite the INTEGER PRIMARY KEY
# that is the rowid (64-bit already; "BIGINT PRIMARY KEY" would not be).
SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The default org's uuid: fixed, so its API id is the same on every installation.
DEFAULT_ORG = "00000000-0000-4000-8000-000000000000"
_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    op.create_table(
        "orgs",
        sa.Column("id", T, primary_key=True),  # uuid; the API id is base64 of it
        sa.Column("name", T, nullable=False),
        sa.Column("journal", sa.Integer, nullable=False, server_default="0"),
        sa.Column("clock_offset", I, nullable=False, server_default="0"),  # seconds ahead
        sa.Column("version", I, nullable=False, server_default="0"),  # bumped on fault changes
        sa.Column("created_at", I, nullable=False),
    )
    op.execute(
        "INSERT INTO orgs (id, name, journal, clock_offset, version, created_at)"
        f" VALUES ('{DEFAULT_ORG}', 'Default', 0, 0, 0, 0)"
    )
    default = sa.text(f"'{DEFAULT_ORG}'")
    # 0001 left the unique constraint unnamed: SQLite's batch copy names it by this convention,
    # PostgreSQL named it itself.
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("people", naming_convention=_CONVENTION) as batch:
        batch.add_column(sa.Column("org_id", T, nullable=False, server_default=default))
        batch.drop_constraint(
            "uq_people_email_lower" if sqlite else "people_email_lower_key", type_="unique"
        )
        batch.create_unique_constraint("uq_people_org_email", ["org_id", "email_lower"])
    for table in ("meeting_series", "outbox", "audit_log"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("org_id", T, nullable=False, server_default=default))
    # Scoping every reachable query to the caller's org, and finding what an org owns.
    op.create_index("meeting_series_org", "meeting_series", ["org_id", "start_at"])
    op.create_index("outbox_org", "outbox", ["org_id", "id"])
    op.create_index("audit_log_org", "audit_log", ["org_id", "id"])
    op.create_table(
        "faults",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("org_id", T, sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("operation", T, nullable=False),  # upstream operationId, "*" or "smtp"
        sa.Column("status", sa.Integer, nullable=True),  # None: latency only
        sa.Column("retry_after", sa.Integer, nullable=True),
        sa.Column("message", T, nullable=True),
        sa.Column("probability", sa.Float, nullable=False, server_default="1"),
        sa.Column("remaining", I, nullable=True),  # None: unlimited
        sa.Column("latency_ms", sa.Integer, nullable=True),
        sa.Column("created_at", I, nullable=False),
    )
    op.create_index("faults_org", "faults", ["org_id"])
    op.create_table(
        "journal",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("org_id", T, sa.ForeignKey("orgs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("entry", T, nullable=False),  # JSON: the §10 journal item
        sa.Column("operation", T, nullable=False),
        sa.Column("status", sa.Integer, nullable=False),
    )
    op.create_index("journal_org", "journal", ["org_id", "id"])


def downgrade() -> None:
    op.drop_table("journal")
    op.drop_table("faults")
    op.drop_index("audit_log_org", "audit_log")
    op.drop_index("outbox_org", "outbox")
    op.drop_index("meeting_series_org", "meeting_series")
    for table in ("meeting_series", "outbox", "audit_log"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("org_id")
    with op.batch_alter_table("people", naming_convention=_CONVENTION) as batch:
        batch.drop_constraint("uq_people_org_email", type_="unique")
        batch.create_unique_constraint("uq_people_email_lower", ["email_lower"])
        batch.drop_column("org_id")
    op.drop_table("orgs")
