"""The app factory: wires intake, matching, groups and notify into one Litestar application.

Everything the app serves is listed here: the API controllers, the participant pages, the
facilitator link pages (``/s/…``) and the scheduled jobs. Nothing registers itself by being
imported, so reading this file tells what runs.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from datetime import datetime
from typing import Any

from litestar import Litestar, MediaType, Request, Response, get
from litestar.config.app import AppConfig
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.types import Message, Scope
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from figures.api import StatisticsController
from figures.metrics import refresh_gauges
from figures.pages import ROUTES as STATISTICS_ROUTES
from groups import Lifecycle
from groups.answers import ROUTES as ANSWER_ROUTES
from groups.api import StaffGroupsController
from groups.pages import ROUTES as LINK_ROUTES
from intake.api import API_CONTROLLERS
from intake.crypto import ContactCipher
from intake.progress import Progress
from intake.recovery import Recovery
from intake.tables import interest
from samhjelp.apidocs import docs_router, openapi_config
from samhjelp.console_figures import console_figures_router
from samhjelp.database import current_revisions, head_revisions
from samhjelp.jobs import deliver, scheduled_jobs
from samhjelp.problems import EXCEPTION_HANDLERS, problem
from samhjelp.ratelimit import WriteRateLimit
from samhjelp.runtime import Scheduler
from samhjelp.services import Services, lifecycle_config, utc_now
from samhjelp.strict import StrictRequests
from staff.api_session import SessionPrincipals
from staff.routes import console_router

__all__ = ["Services", "create_app", "lifecycle_config", "utc_now"]

_SESSION_KEY = "samhjelp.db_session"
#: Readiness answers within this, database or not (probes commonly time out at 2-5 s).
READY_TIMEOUT_SECONDS = 1.5


_INTERESTS = Gauge(
    "samhjelp_interests", "Interests by status (refreshed at each scrape)", ["status"]
)


def create_app(services: Services) -> Litestar:
    """Build the application on ``services``; with ``settings.scheduler_enabled`` it also runs
    the scheduled jobs (:func:`samhjelp.jobs.scheduled_jobs`) while it is up."""

    async def provide_db(request: Request[Any, Any, Any]) -> AsyncSession:
        # One transaction per request, opened on first use and ended in ``end_transaction``
        # when the response starts: commit on 2xx/3xx, roll back otherwise. (A generator
        # dependency is not closed when a *dependency* raises, so it cannot own this.)
        scope_state = request.scope.setdefault("state", {})
        session: AsyncSession | None = scope_state.get(_SESSION_KEY)
        if session is None:
            session = services.sessionmaker()
            scope_state[_SESSION_KEY] = session
        return session

    async def end_transaction(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        session: AsyncSession | None = scope.get("state", {}).pop(_SESSION_KEY, None)
        if session is None:
            return
        try:
            if 200 <= message["status"] < 400:
                await session.commit()
            else:
                await session.rollback()
        finally:
            await session.close()

    def provide_cipher(state: State) -> ContactCipher:
        return state.services.cipher  # type: ignore[no-any-return]

    def provide_now(state: State) -> datetime:
        return state.services.clock()  # type: ignore[no-any-return]

    def provide_base_url(state: State) -> str:
        return state.services.settings.public_base_url  # type: ignore[no-any-return]

    def provide_lifecycle() -> Lifecycle:
        return services.lifecycle

    def provide_progress() -> Progress:
        return services.progress

    def provide_recovery() -> Recovery:
        return services.recovery

    # /api/v1/staff/* takes a console session as well as an API key (intake.api.ConsoleSessions).
    console_sessions = SessionPrincipals(services.staff)

    def provide_console_sessions() -> SessionPrincipals:
        return console_sessions

    @get("/health/live", tags=["health"], include_in_schema=True)
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @get("/health/ready", tags=["health"])
    async def ready(state: State) -> Response[dict[str, Any]]:
        try:
            # A load balancer gives up on a slow probe anyway: answer "not ready" in time
            # instead of hanging for as long as the database does.
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                async with state.services.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
                    current = await conn.run_sync(current_revisions)
        except Exception as exc:  # any failure to reach the database means not ready
            return problem(503, "Database unreachable", type(exc).__name__)
        heads = head_revisions()
        if current != heads:
            return problem(
                503, "Migrations not at head", f"at {sorted(current)}, head {sorted(heads)}"
            )
        return Response({"status": "ready", "migrations": sorted(current)})

    @get("/metrics", media_type=MediaType.TEXT, include_in_schema=False)
    async def metrics(state: State, request: Request[Any, Any, Any]) -> Response[Any]:
        token = state.services.settings.metrics_token
        if token is not None:
            given = request.headers.get("authorization", "")
            expected = "Bearer " + token.get_secret_value()
            # Constant-time compare: the token must not leak one byte at a time.
            if not hmac.compare_digest(given.encode(), expected.encode()):
                return problem(
                    401,
                    "Unauthorized",
                    "metrics need Authorization: Bearer <SAMHJELP_METRICS_TOKEN>",
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
        async with state.services.sessionmaker() as session:
            counts = dict(
                (
                    await session.execute(
                        select(interest.c.status, func.count()).group_by(interest.c.status)
                    )
                ).all()
            )
        for status in ("waiting", "proposed", "invited", "placed", "withdrawn"):
            _INTERESTS.labels(status).set(counts.get(status, 0))
        await refresh_gauges(state.services.sessionmaker, now=state.services.clock())
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    from samhjelp.web import metrics_config, web_layer

    settings = services.settings
    prometheus = metrics_config()
    # Only writes are limited: reading one's status should never be refused.
    rate_limit = DefineMiddleware(WriteRateLimit, per_minute=settings.post_rate_per_minute)

    web = web_layer(services)

    async def deliver_soon() -> None:
        # The staff sign-in page runs one delivery pass right after its commit, so a sign-in
        # link arrives in seconds rather than at the next scheduled run (staff.signin). A
        # failure here is the scheduled job's to retry, never the page's.
        try:
            await deliver(services)
        except Exception:
            logging.getLogger("samhjelp.deliver_soon").exception("delivery pass failed")

    def on_app_init(config: AppConfig) -> AppConfig:
        config.state = State({"services": services, "deliver_soon": deliver_soon})
        return config

    async def dispose() -> None:
        await services.engine.dispose()

    on_startup: list[Any] = []
    on_shutdown: list[Any] = [dispose]
    if settings.scheduler_enabled:
        scheduler = Scheduler(scheduled_jobs(services))
        on_startup.append(scheduler.start)
        on_shutdown.insert(0, scheduler.stop)

    return Litestar(
        route_handlers=[
            *API_CONTROLLERS,
            StaffGroupsController,
            live,
            ready,
            metrics,
            *web.route_handlers,
            docs_router(),
            *LINK_ROUTES,
            *ANSWER_ROUTES,
            StatisticsController,
            *STATISTICS_ROUTES,
            console_router(services.staff),
            console_figures_router(services.staff),
        ],
        dependencies={
            "db": Provide(provide_db),
            "cipher": Provide(provide_cipher, sync_to_thread=False),
            "now": Provide(provide_now, sync_to_thread=False),
            "base_url": Provide(provide_base_url, sync_to_thread=False),
            "lifecycle": Provide(provide_lifecycle, sync_to_thread=False),
            "progress": Provide(provide_progress, sync_to_thread=False),
            "recovery": Provide(provide_recovery, sync_to_thread=False),
            "console_sessions": Provide(provide_console_sessions, sync_to_thread=False),
        },
        middleware=[
            prometheus.middleware,
            rate_limit,
            DefineMiddleware(StrictRequests),  # NUL, content type, JSON depth (issue 8)
            *web.middleware,
        ],
        template_config=web.template_config,
        csrf_config=web.csrf_config,
        after_request=web.after_request,
        exception_handlers={**EXCEPTION_HANDLERS, **web.exception_handlers},
        openapi_config=openapi_config(),
        request_max_body_size=64 * 1024,
        # Pages carry the municipality list so they work without JavaScript; gzip keeps them light.
        compression_config=CompressionConfig(
            backend="gzip",
            minimum_size=2048,
            # static: gzipped already; the registration's answer is a few hundred bytes, never
            # compressed, and its route is the hot path (issue 12: middleware per route)
            exclude=["^/static/", "^/api/v1/interests$"],
        ),
        on_app_init=[on_app_init],
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        before_send=[end_transaction, *web.before_send],
        logging_config=None,
        debug=False,
    )
