"""Apply the Alembic migrations to a DATABASE_URL."""

from __future__ import annotations

from alembic import command
from alembic.config import Config


def _sqlalchemy_url(database_url: str) -> str:
    """SQLAlchemy's name for the URL: PostgreSQL through psycopg 3 (Alembic is synchronous;
    the server itself uses asyncpg)."""
    for scheme in ("postgresql://", "postgres://"):
        if database_url.startswith(scheme):
            return "postgresql+psycopg://" + database_url[len(scheme) :]
    return database_url


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "breakouts:migrations")
    cfg.set_main_option("sqlalchemy.url", _sqlalchemy_url(database_url))
    return cfg


def upgrade(database_url: str) -> None:
    """Bring the schema to the newest revision (idempotent).

    A SQLite file is left in WAL mode (persistent in the file), so the processes that open it
    next never have to switch it, which needs an exclusive lock, at the same moment.
    """
    command.upgrade(alembic_config(database_url), "head")
    if database_url.startswith("sqlite:"):
        import sqlite3

        from breakouts.db.sqlite import set_wal_mode, sqlite_path

        path = sqlite_path(database_url)
        if path != ":memory:":
            conn = sqlite3.connect(path, isolation_level=None)
            try:
                set_wal_mode(conn)
            finally:
                conn.close()
