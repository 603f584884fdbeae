"""create_app(settings): routes, middleware and the lifespan that owns the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from breakouts import logs
from breakouts.breakouts.routes import routes as breakout_routes
from breakouts.clock import Clock
from breakouts.config import Settings
from breakouts.context import Site
from breakouts.control.routes import routes as control_routes
from breakouts.db import open_database
from breakouts.docs import docs_routes
from breakouts.http import json_response
from breakouts.mail.stats import MailMetrics, read_counts
from breakouts.mail.worker import MailWorker
from breakouts.meetings.routes import routes as meeting_routes
from breakouts.metrics import DatabaseMetrics, Metrics
from breakouts.middleware import ApiMiddleware
from breakouts.orgs.faults import FaultBook
from breakouts.people.routes import routes as people_routes
from breakouts.ratelimit import RateLimits
from breakouts.routing import HotPaths, ResourceRoute
from breakouts.state import AppState, app_state


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def readyz(request: Request) -> Response:
    state = app_state(request)
    # Reading the mail counts is the database check: it fails (503) if the database does.
    mail: dict[str, Any] = dict((await read_counts(state.db)).as_dict())
    mail["worker"] = "in-process" if "mail_worker" in state.extra else "external"
    redis = await state.limits.readiness()  # "degraded" is still ready: limits per process
    return json_response({"status": "ready", "database": "ok", "redis": redis, "mail": mail})


async def metrics(request: Request) -> Response:
    state = app_state(request)
    await state.extra["mail_metrics"].refresh(state.db)
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)


class App(Starlette):
    """Starlette whose middleware (added the Starlette way, ``add_middleware``) wraps the router
    and the hot paths directly.

    ``ApiMiddleware`` (added first, so innermost of them) renders every error (ours,
    Starlette's 404/405, unexpected ones), so Starlette's own ServerErrorMiddleware and
    ExceptionMiddleware would only add two layers to every request; they are left out.
    Middleware added later runs outside it, as Starlette orders them.
    """

    hot_routes: list[ResourceRoute]

    def build_middleware_stack(self) -> ASGIApp:
        app: ASGIApp = HotPaths(self.router, self.hot_routes)
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return app


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Starlette:
    settings = settings or Settings()
    logger = logs.make_logger(settings.log_level, settings.log_json)
    clock = clock or Clock()
    app_metrics = Metrics()
    mail_metrics = MailMetrics(app_metrics.registry)
    db_metrics = DatabaseMetrics(app_metrics.registry)
    access_log = logs.AccessLog(settings.log_level, settings.log_json, logger)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = open_database(
            settings.database_url,
            lock_wait_ms=settings.lock_wait_ms,
            max_db_waiters=settings.max_db_waiters,
            statement_timeout_ms=settings.statement_timeout_ms,
            retry_after_s=settings.retry_after_s,
            group_commit=settings.sqlite_group_commit,
            wal_limit_bytes=settings.sqlite_wal_limit_mb << 20,
            pool_size=settings.pg_pool_size,
            pool_timeout_ms=settings.pg_pool_timeout_ms,
        )
        db_metrics.db = db
        limits = RateLimits.from_settings(settings, app_metrics.rate_limit_fallbacks, logger)
        site = Site(settings.site_url, settings.site_url)
        extra: dict[str, Any] = {"mail_metrics": mail_metrics}
        app.state.breakouts = AppState(
            settings, db, clock, site, limits, app_metrics, FaultBook(), extra
        )
        if settings.mail_worker:
            extra["mail_worker"] = MailWorker(db, clock, settings, logger)
            extra["mail_worker"].start()
        try:
            yield
        finally:
            if "mail_worker" in extra:
                await extra["mail_worker"].stop()
            await db.close()
            await limits.close()
            access_log.flush()

    routes = [
        *breakout_routes,  # first: the hot DELETE is matched before the meeting routes are tried
        *meeting_routes,
        *people_routes,
        *(control_routes() if settings.control_token else []),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        *docs_routes(control=bool(settings.control_token)),
    ]
    app = App(routes=routes, lifespan=lifespan)
    app.hot_routes = breakout_routes
    app.add_middleware(ApiMiddleware, metrics=app_metrics, logger=logger, access_log=access_log)
    return app
