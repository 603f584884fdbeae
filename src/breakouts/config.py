"""Settings, read from the environment (``BREAKOUTS_*``, ``DATABASE_URL``, ``REDIS_URL``, ``SMTP_URL``).

Built once in ``create_app()`` or by the CLI, never at import time.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///breakouts.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BREAKOUTS_", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("DATABASE_URL", "BREAKOUTS_DATABASE_URL"),
    )
    redis_url: str | None = Field(
        None, validation_alias=AliasChoices("REDIS_URL", "BREAKOUTS_REDIS_URL")
    )
    smtp_url: str | None = Field(
        None, validation_alias=AliasChoices("SMTP_URL", "BREAKOUTS_SMTP_URL")
    )
    site_url: str = "example.webex.com"
    # Public base of this server, used in `Link` headers and `links[].href`.
    public_url: str = ""
    mail_from: str = "Webex Meetings <messenger@webex.com>"

    # Per-token rate limit, in the notation of the `limits` library ("600/minute").
    rate_limit: str = "6000/minute"
    # With REDIS_URL: every key the limits write starts with this (deployments can share a Redis),
    # and a Redis that has not answered within this long counts as down (ratelimit.py).
    redis_key_prefix: str = "breakouts:"
    redis_timeout_ms: int = Field(250, ge=1)
    # How long a write waits for a lock held by another transaction before answering 423.
    lock_wait_ms: int = 2000
    # Requests allowed to wait for the database at once before answering 503.
    max_db_waiters: int = 256
    # A statement running longer than this is interrupted and answered 504.
    statement_timeout_ms: int = 5000
    # Largest request body accepted (bytes); larger is 413.
    max_body_bytes: int = 1_048_576
    # Seconds suggested in `Retry-After` on 423/503/504.
    retry_after_s: int = 1
    # SQLite: write transactions of one event-loop turn share one COMMIT, each in a savepoint
    # of its own (db/sqlite.py). Off: one SQLite transaction per request.
    sqlite_group_commit: bool = True
    # SQLite: past this much live WAL, the WAL is reset between two transactions (a pause of
    # ~15 ms for writes). Under sustained writes the WAL file is kept at 1.25x this size.
    # Smaller: less disk, more frequent pauses.
    sqlite_wal_limit_mb: int = Field(256, ge=1)
    # PostgreSQL: connections each server process may hold, and how long a request waits for
    # one (or for connecting) before answering 503.
    # `breakouts serve` waits this long for a database server it cannot reach yet (PostgreSQL
    # starting or restarting), trying every second, before it gives up.
    database_startup_wait_s: float = Field(30.0, ge=0)
    pg_pool_size: int = Field(10, ge=1)
    pg_pool_timeout_ms: int = Field(2000, ge=1)

    # Run the mail worker inside the server process.
    mail_worker: bool = True
    mail_max_attempts: int = 8
    # A claimed message belongs to its worker this long; a crashed worker's are taken up after.
    mail_lease_s: int = 60
    # Messages claimed per batch, and SMTP connections a batch is spread over.
    mail_batch_size: int = 50
    mail_smtp_connections: int = 2
    # Longest one SMTP transaction (connect, or MAIL..DATA) may take before it counts as failed.
    mail_smtp_timeout_s: float = 20.0
    # Idle workers look for due mail this often (the in-process worker is also woken on enqueue).
    mail_poll_s: float = 0.25
    # Retry n waits about base * 2**(n-1) seconds (jittered), never more than max.
    mail_backoff_base_s: float = 10.0
    mail_backoff_max_s: float = 3600.0

    # Control plane (/_control, SPEC §10): on only when an operator token is set (`breakouts
    # serve --control` generates one); off, its paths are 404 as if they did not exist.
    control_token: str | None = Field(None, min_length=32)

    log_level: str = "info"
    log_json: bool = True
