"""Moved occurrences: the new times of a scheduled meeting moved by PUT/PATCH (issue #9, item 9).

A moved occurrence keeps its id (``start_at``, the start its rule gives it); its new times are
in ``overrides`` (``start``, ``end``, with the title, agenda and password it may override) and
in these two columns, which mirror them so that the listing can find it by its new time in
plain SQL (no JSON functions: the SQL runs on SQLite and PostgreSQL alike). Both NULL: the
occurrence is where its rule puts it. The primary key (``series_id``, ``start_at``) serves the
lookups, which are always for one series.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("occurrences", sa.Column("moved_start", sa.BigInteger, nullable=True))
    op.add_column("occurrences", sa.Column("moved_end", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("occurrences") as batch:
        batch.drop_column("moved_end")
        batch.drop_column("moved_start")
