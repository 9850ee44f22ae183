"""Scheduled jobs, registered with the scheduler in :mod:`samhjelp.runtime`."""

from __future__ import annotations

from typing import Any

from matching.job import run_matching
from samhjelp.app import Services
from samhjelp.runtime import add_job


@add_job("match", lambda s: s.settings.match_interval_minutes)
async def match(services: Services) -> dict[str, Any]:
    report = await run_matching(services.sessionmaker, now=services.clock())
    return report.summary()
