"""The app factory: wires intake, matching and notify into one Litestar application."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar import Litestar, MediaType, Request, Response, get
from litestar.config.app import AppConfig
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.plugins.prometheus import PrometheusConfig
from litestar.types import Message, Scope
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Gauge, generate_latest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from groups import Lifecycle, LifecycleConfig
from groups.api import StaffGroupsController
from intake.api import API_CONTROLLERS
from intake.crypto import ContactCipher
from intake.tables import interest
from samhjelp.apidocs import docs_router, openapi_config
from samhjelp.database import current_revisions, head_revisions
from samhjelp.problems import EXCEPTION_HANDLERS, problem
from samhjelp.ratelimit import WriteRateLimit
from samhjelp.settings import Settings
from samhjelp.strict import StrictRequests

_SESSION_KEY = "samhjelp.db_session"
#: Readiness answers within this, database or not (probes commonly time out at 2-5 s).
READY_TIMEOUT_SECONDS = 1.5


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    """Everything a request or job needs, built once at start-up (tests build their own)."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    cipher: ContactCipher
    clock: Callable[[], datetime] = utc_now
    extra: dict[str, Any] = field(default_factory=dict)


_INTERESTS = Gauge(
    "samhjelp_interests", "Interests by status (refreshed at each scrape)", ["status"]
)


def lifecycle_config(settings: Settings) -> LifecycleConfig:
    """The life cycle's windows from settings (the rest keep their defaults)."""
    return LifecycleConfig(
        facilitator_window=timedelta(days=settings.facilitator_window_days),
        # The reminder goes out two thirds into the window (2 of the default 3 days).
        facilitator_reminder_after=timedelta(days=settings.facilitator_window_days) * 2 / 3,
        reply_window=timedelta(hours=settings.reply_window_hours),
        facilitated_meetings=settings.facilitated_meetings,
        erase_after=timedelta(days=settings.erase_contacts_after_days),
    )


def lifecycle_of(services: Services) -> Lifecycle:
    """The life cycle's runtime needs, from the composition root's services."""
    return Lifecycle(
        cipher=services.cipher,
        link_secret=str(services.extra.get("link_secret") or services.settings.link_secret),
        base_url=services.settings.public_base_url,
        config=services.extra.get("lifecycle_config") or lifecycle_config(services.settings),
    )


def create_app(services: Services, *, route_handlers: Sequence[Any] = ()) -> Litestar:
    """Build the application; ``route_handlers`` lets later slices add pages and links."""

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
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    settings = services.settings
    prometheus = PrometheusConfig(app_name="samhjelp", group_path=True, exclude=["/metrics"])
    # Only writes are limited: reading one's status should never be refused.
    rate_limit = DefineMiddleware(WriteRateLimit, per_minute=settings.post_rate_per_minute)

    from samhjelp.web import web_layer

    web = web_layer(services)

    def on_app_init(config: AppConfig) -> AppConfig:
        config.state = State({"services": services})
        return config

    async def dispose() -> None:
        await services.engine.dispose()

    return Litestar(
        route_handlers=[
            *API_CONTROLLERS,
            StaffGroupsController,
            live,
            ready,
            metrics,
            *web.route_handlers,
            docs_router(),
            *route_handlers,
        ],
        dependencies={
            "db": Provide(provide_db),
            "cipher": Provide(provide_cipher, sync_to_thread=False),
            "now": Provide(provide_now, sync_to_thread=False),
            "base_url": Provide(provide_base_url, sync_to_thread=False),
            "lifecycle": Provide(lambda: lifecycle_of(services), sync_to_thread=False),
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
            exclude=["^/static/"],  # static: gzipped already
        ),
        on_app_init=[on_app_init],
        on_shutdown=[dispose],
        before_send=[end_transaction, *web.before_send],
        logging_config=None,
        debug=False,
    )
