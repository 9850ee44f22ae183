"""The scheduler (APScheduler 3.11), started and stopped with the app.

Each job takes a PostgreSQL advisory lock inside its own transaction, so any number of replicas
may run the same schedule and exactly one does the work at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from litestar import Litestar

from samhjelp.app import Services

log = logging.getLogger("samhjelp.scheduler")

#: (job id, seconds between runs, coroutine function taking Services). ``samhjelp.jobs`` adds.
JOBS: list[tuple[str, Callable[[Services], float], Callable[[Services], Awaitable[Any]]]] = []


def add_job(
    job_id: str,
    interval: Callable[[Services], float],
) -> Callable[[Callable[[Services], Awaitable[Any]]], Callable[[Services], Awaitable[Any]]]:
    def register(fn: Callable[[Services], Awaitable[Any]]) -> Callable[[Services], Awaitable[Any]]:
        JOBS.append((job_id, interval, fn))
        return fn

    return register


def with_scheduler(app: Litestar, services: Services) -> Litestar:
    if not services.settings.scheduler_enabled:
        return app
    scheduler = AsyncIOScheduler(timezone="UTC")

    async def start() -> None:
        for job_id, seconds, fn in JOBS:
            scheduler.add_job(
                _logged(job_id, fn),
                "interval",
                seconds=seconds(services),
                args=[services],
                id=job_id,
                max_instances=1,
                coalesce=True,
            )
        scheduler.start()
        log.info("scheduler started", extra={"jobs": [j[0] for j in JOBS]})

    async def stop() -> None:
        scheduler.shutdown(wait=False)

    app.on_startup.append(start)
    app.on_shutdown.insert(0, stop)
    return app


def _logged(
    job_id: str, fn: Callable[[Services], Awaitable[Any]]
) -> Callable[[Services], Awaitable[None]]:
    async def run(services: Services) -> None:
        try:
            result = await fn(services)
            log.info("job done", extra={"job": job_id, "result": result})
        except Exception:
            log.exception("job failed", extra={"job": job_id})

    return run
