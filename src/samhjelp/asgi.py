"""The ASGI application for a server process: ``samhjelp serve`` uses it directly, and each
worker of ``samhjelp serve --workers N`` imports it (``create_from_environment``, a factory)."""

from __future__ import annotations

from litestar import Litestar

from matching.job import OffLoopPlanner
from samhjelp.app import create_app
from samhjelp.bootstrap import build_services
from samhjelp.settings import Settings


def create_from_environment(url: str | None = None) -> Litestar:
    """The app with its scheduler, on ``url`` or the environment's ``DATABASE_URL`` (already
    migrated and seeded by ``samhjelp serve``)."""
    settings = Settings()
    database = url or settings.database_url
    if database is None:
        raise RuntimeError("DATABASE_URL is not set for this worker")
    # The matching core runs in one worker process, started on first use, so a run never
    # stalls requests on this event loop; it stops with the app.
    planner = OffLoopPlanner()
    app = create_app(build_services(settings, database, planner=planner))
    app.on_shutdown.append(planner.shutdown)
    return app
