"""Apply the Alembic migrations to a DATABASE_URL."""

from __future__ import annotations

from alembic import command
from alembic.config import Config


def _sqlalchemy_url(database_url: str) -> str:
    if database_url.startswith("postgresql://"):
        return "postgresql+psycopg://" + database_url[len("postgresql://") :]
    return database_url


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", "breakouts:migrations")
    cfg.set_main_option("sqlalchemy.url", _sqlalchemy_url(database_url))
    return cfg


def upgrade(database_url: str) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    command.upgrade(alembic_config(database_url), "head")
