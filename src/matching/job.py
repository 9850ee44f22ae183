"""The matching job: one run at a time across all replicas, one transaction per run."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from matching.model import Plan
from matching.service import Inputs, load_inputs, plan, store_plan

log = logging.getLogger("samhjelp.matching")

#: Advisory lock key of the matching run ("samhjelp" → a fixed 63-bit number).
MATCH_LOCK = 0x5A4D_6865_6C70_0001


@dataclass
class MatchReport:
    ran: bool
    candidates: int = 0
    groups: int = 0
    placed: int = 0
    plan: Plan | None = None
    inputs: Inputs | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        return {
            "ran": self.ran,
            "candidates": self.candidates,
            "groups": self.groups,
            "placed": self.placed,
        }


async def run_matching(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime, dry_run: bool = False
) -> MatchReport:
    """Form groups from everyone waiting and store the proposals, all in one transaction.

    ``pg_try_advisory_xact_lock`` makes a concurrent run (another replica, or the command
    line) return at once with ``ran=False`` instead of forming a second set of proposals.
    A dry run computes and returns the plan and rolls everything back.
    """
    async with sessionmaker() as session, session.begin() as tx:
        if not await session.scalar(select(func.pg_try_advisory_xact_lock(MATCH_LOCK))):
            log.info("matching skipped: another run holds the lock")
            return MatchReport(ran=False)
        inputs = await load_inputs(session, lock=not dry_run)
        result = plan(inputs, now=now)
        report = MatchReport(
            ran=True,
            candidates=len(inputs.candidates),
            groups=len(result.groups),
            placed=sum(len(g.members) for g in result.groups),
            plan=result,
            inputs=inputs,
        )
        if dry_run:
            await tx.rollback()
            return report
        await store_plan(session, result, now=now, candidates=len(inputs.candidates))
    log.info("matching done", extra=report.summary())
    return report
