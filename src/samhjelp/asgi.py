"""The ASGI application for a server process: ``samhjelp serve`` uses it directly, and each
worker of ``samhjelp serve --workers N`` imports it (``create_from_environment``, a factory)."""

from __future__ import annotations

from litestar import Litestar

from matching.job import OffLoopPlanner
from samhjelp import jobs  # noqa: F401  (registers the scheduled jobs)
from samhjelp.app import create_app
from samhjelp.bootstrap import build_services
from samhjelp.runtime import with_scheduler
from samhjelp.settings import Settings


def create_from_environment(url: str | None = None) -> Litestar:
    """The app with its scheduler, on ``url`` or the environment's ``DATABASE_URL`` (already
    migrated and seeded by ``samhjelp serve``)."""
    from groups.pages import ROUTES

    settings = Settings()
    database = url or settings.database_url
    if database is None:
        raise RuntimeError("DATABASE_URL is not set for this worker")
    services = build_services(settings, database)
    # The matching core runs in one worker process, started on first use, so a run never
    # stalls requests on this event loop; it stops with the app.
    planner = OffLoopPlanner()
    services.extra["matching_planner"] = planner
    app = with_scheduler(create_app(services, route_handlers=list(ROUTES)), services)
    app.on_shutdown.append(planner.shutdown)
    return app
