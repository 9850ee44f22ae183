"""The scheduled jobs, listed explicitly by :func:`scheduled_jobs` for ``create_app``.

Every job runs in its own transaction(s) and is safe to run in any number of replicas: matching,
the life-cycle tick, the suggestion messages and the lapse job take advisory locks, delivery
claims rows with ``FOR UPDATE SKIP LOCKED``. Each job closes over the one
:class:`~samhjelp.services.Services`, so it uses the same life cycle (and windows) as the pages
and the command line.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from figures.refresh import run_refresh
from groups import tick
from groups.lapse import run_lapse
from intake.idempotency import purge
from intake.lapse import LapsePolicy
from matching.job import run_matching
from notify import deliver_due, scrub_delivered
from samhjelp.nudges import run_nudges
from samhjelp.services import Services
from staff.audit_trail import run_retention

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class Job:
    """One scheduled job: its id, how often it runs and what it does."""

    id: str
    every: timedelta
    run: Callable[[], Awaitable[Mapping[str, Any]]]


async def match(services: Services) -> dict[str, Any]:
    """Form groups; the core runs in the composition root's worker process (off the loop)."""
    report = await run_matching(
        services.sessionmaker, now=services.clock(), planner=services.planner
    )
    return report.summary()


async def lifecycle(services: Services) -> dict[str, Any]:
    """Advance groups by the clock: timeouts, reminders, check-ins, erasure."""
    report = await tick(services.sessionmaker, services.lifecycle, now=services.clock())
    return {"ran": report.ran, **{k: v for k, v in report.counts.items() if v}}


async def deliver(services: Services) -> dict[str, int]:
    """Drain the outbox: keep claiming batches while there is work due."""
    total = {"sent": 0, "retrying": 0, "failed": 0}
    while True:
        report = await deliver_due(
            services.sessionmaker,
            services.notifiers.__getitem__,
            services.cipher,
            now=services.clock(),
            batch_size=100,
            worker_id=WORKER_ID,
            policy=services.notify.delivery_policy(),
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


async def housekeeping(services: Services) -> dict[str, int]:
    """Forget what is no longer needed: delivered messages' addresses, idempotent answers."""
    now = services.clock()
    async with services.sessionmaker.begin() as session:
        scrubbed = await scrub_delivered(
            session, now=now, retention=timedelta(days=services.notify.retention_days)
        )
        purged = await purge(session, now=now)
    return {"scrubbed_messages": scrubbed, "purged_idempotency_keys": purged}


async def nudges(services: Services) -> dict[str, Any]:
    """At most monthly, tell people who opted in that a small change would place them now."""
    report = await run_nudges(services.sessionmaker, services.lifecycle, now=services.clock())
    return report.summary()


async def lapse(services: Services) -> dict[str, Any]:
    """Ask waiting people once whether they still want a group, and erase registrations past
    their keep-until date (outcome 'lapsed'); advisory-locked, safe in every replica."""
    report = await run_lapse(
        services.sessionmaker,
        services.lifecycle,
        LapsePolicy.of(services.settings),
        now=services.clock(),
    )
    return report.summary()


async def statistics(services: Services) -> dict[str, Any]:
    """Recompute the published figures: a new release, protected as a whole (figures)."""
    report = await run_refresh(services.sessionmaker, now=services.clock())
    return report.summary()


def scheduled_jobs(services: Services) -> list[Job]:
    """Every scheduled job of the service, bound to ``services``."""

    def bound(fn: Callable[[Services], Awaitable[Mapping[str, Any]]]) -> Callable[[], Any]:
        async def run() -> Mapping[str, Any]:
            return await fn(services)

        return run

    return [
        Job("match", timedelta(minutes=services.settings.match_interval_minutes), bound(match)),
        Job("lifecycle", timedelta(minutes=1), bound(lifecycle)),
        Job("deliver", timedelta(seconds=20), bound(deliver)),
        Job("housekeeping", timedelta(hours=1), bound(housekeeping)),
        Job("statistics", timedelta(hours=1), bound(statistics)),
        Job(
            "audit_retention",
            timedelta(hours=6),
            lambda: run_retention(services.sessionmaker, now=services.clock()),
        ),
        Job("nudges", timedelta(hours=1), bound(nudges)),
        Job("lapse", timedelta(hours=1), bound(lapse)),
    ]
