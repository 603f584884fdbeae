"""Alembic environment: the URL comes from the Config the CLI builds (never from alembic.ini)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

url = context.config.get_main_option("sqlalchemy.url")
assert url is not None
connectable = create_engine(url, poolclass=pool.NullPool)
with connectable.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=None,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Processes starting together (`breakouts serve` migrates first) migrate one at a
            # time: the lock is held to this transaction's end (PostgreSQL's DDL is
            # transactional), and the next one then finds the schema at head. SQLite needs
            # nothing: its writers take turns anyway.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7406031915)")
        context.run_migrations()
