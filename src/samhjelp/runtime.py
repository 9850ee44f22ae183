"""The scheduler (APScheduler 3.11), started and stopped with the app.

``create_app`` hands it the explicit job list (:func:`samhjelp.jobs.scheduled_jobs`); nothing
registers itself by being imported. Each job takes a PostgreSQL advisory lock (or claims rows
with ``SKIP LOCKED``) inside its own transaction, so any number of replicas may run the same
schedule and exactly one does each piece of work.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from samhjelp.jobs import Job

log = logging.getLogger("samhjelp.scheduler")


@dataclass
class Scheduler:
    """Runs ``jobs`` at their intervals between the app's start-up and shutdown."""

    jobs: Sequence[Job]
    _scheduler: AsyncIOScheduler | None = field(default=None, init=False)

    async def start(self) -> None:
        scheduler = AsyncIOScheduler(timezone="UTC")
        for job in self.jobs:
            scheduler.add_job(
                _logged(job),
                "interval",
                seconds=job.every.total_seconds(),
                id=job.id,
                max_instances=1,
                coalesce=True,
            )
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler started", extra={"jobs": [j.id for j in self.jobs]})

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None


def _logged(job: Job) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            result = await job.run()
            log.info("job done", extra={"job": job.id, "result": dict(result)})
        except Exception:
            log.exception("job failed", extra={"job": job.id})

    return run
