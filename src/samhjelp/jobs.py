"""Scheduled jobs, registered with the scheduler in :mod:`samhjelp.runtime`.

Every job runs in its own transaction(s) and is safe to run in any number of replicas: matching
takes an advisory lock, delivery claims rows with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from typing import Any

from groups import tick
from intake.idempotency import purge
from matching.job import run_matching
from notify import deliver_due, scrub_delivered
from notify.settings import NotifySettings
from samhjelp.app import Services, lifecycle_of
from samhjelp.runtime import add_job

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


@add_job("match", lambda s: s.settings.match_interval_minutes * 60)
async def match(services: Services) -> dict[str, Any]:
    """Form groups; the core runs in the composition root's worker process (off the loop)."""
    report = await run_matching(
        services.sessionmaker,
        now=services.clock(),
        planner=services.extra.get("matching_planner"),
    )
    return report.summary()


@add_job("lifecycle", lambda s: 60)
async def lifecycle(services: Services) -> dict[str, Any]:
    """Advance groups by the clock: timeouts, reminders, check-ins, erasure."""
    report = await tick(services.sessionmaker, lifecycle_of(services), now=services.clock())
    return {"ran": report.ran, **{k: v for k, v in report.counts.items() if v}}


@add_job("deliver", lambda s: 20)
async def deliver(services: Services) -> dict[str, int]:
    """Drain the outbox: keep claiming batches while there is work due."""
    settings: NotifySettings = services.extra["notify_settings"]
    notifiers = services.extra["notifiers"]
    total = {"sent": 0, "retrying": 0, "failed": 0}
    while True:
        report = await deliver_due(
            services.sessionmaker,
            notifiers.__getitem__,
            services.cipher,
            now=services.clock(),
            batch_size=100,
            worker_id=WORKER_ID,
            policy=settings.delivery_policy(),
        )
        for key in total:
            total[key] += getattr(report, key)
        # An interrupted batch means the database stopped answering: leave the rest to the
        # next run instead of claiming more work whose outcomes could not be stored either.
        if (
            report.claimed == 0
            or report.interrupted
            or report.sent + report.failed + report.retrying == 0
        ):
            return total


@add_job("housekeeping", lambda s: 3600)
async def housekeeping(services: Services) -> dict[str, int]:
    """Forget what is no longer needed: delivered messages' addresses, idempotent answers."""
    settings: NotifySettings = services.extra["notify_settings"]
    now = services.clock()
    async with services.sessionmaker.begin() as session:
        scrubbed = await scrub_delivered(
            session, now=now, retention=timedelta(days=settings.retention_days)
        )
        purged = await purge(session, now=now)
    return {"scrubbed_messages": scrubbed, "purged_idempotency_keys": purged}
