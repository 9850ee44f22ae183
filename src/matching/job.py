"""The matching job: one run at a time across all replicas, one transaction per run.

The shell (load the pool, store proposals) runs on the event loop inside one transaction that
holds the advisory lock; the CPU-bound core, :func:`form_groups`, runs in a worker process
(:class:`OffLoopPlanner`) so a country-wide run (seconds of pure Python) never stalls web
requests. A thread would not do: the core holds the GIL in long stretches.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from matching.algorithm import RunStats, form_groups
from matching.model import Plan
from matching.service import Inputs, load_inputs, store_plan

log = logging.getLogger("samhjelp.matching")

#: Advisory lock key of the matching run ("samhjelp" → a fixed 63-bit number).
MATCH_LOCK = 0x5A4D_6865_6C70_0001


@dataclass
class MatchReport:
    ran: bool
    candidates: int = 0
    groups: int = 0
    placed: int = 0
    #: Pools that got the greedy plan because the exact solver failed (each is logged).
    exact_fallbacks: int = 0
    plan: Plan | None = None
    inputs: Inputs | None = field(default=None, repr=False)

    def summary(self) -> dict[str, Any]:
        return {
            "ran": self.ran,
            "candidates": self.candidates,
            "groups": self.groups,
            "placed": self.placed,
            "exact_fallbacks": self.exact_fallbacks,
        }


@dataclass(frozen=True)
class Computed:
    """What the core hands back to the shell (picklable: it crosses a process boundary)."""

    plan: Plan
    stats: RunStats


def compute_plan(inputs: Inputs, now: datetime) -> Computed:
    """Run the pure core on loaded inputs; module-level so a worker process can import it."""
    stats = RunStats()
    result = form_groups(
        inputs.candidates, inputs.rules, now=now, facilitators=inputs.facilitators, stats=stats
    )
    return Computed(result, stats)


#: What runs the core: :func:`compute_plan`, or a stand-in with its signature in tests.
ComputeFn = Callable[[Inputs, datetime], Computed]


class Planner(Protocol):
    async def compute(self, inputs: Inputs, now: datetime) -> Computed: ...


class InlinePlanner:
    """Runs the core on the calling thread: for the command line, which serves no requests.

    In a server this blocks the event loop for the whole run (seconds at 100,000 people).
    """

    def __init__(self, compute: ComputeFn = compute_plan) -> None:
        self._compute = compute

    async def compute(self, inputs: Inputs, now: datetime) -> Computed:
        return self._compute(inputs, now)


class OffLoopPlanner:
    """Runs :func:`compute_plan` in one worker process, started on first use and kept.

    Build one in the composition root and call :meth:`shutdown` when the app stops. ``spawn``,
    not ``fork``: the server process has threads (asyncpg, the scheduler, HiGHS) that a fork
    would copy in an undefined state. One worker: runs never overlap (advisory lock), and a
    second process would only hold memory. The worker starts lazily, so a replica that never
    wins the lock never starts one.
    """

    def __init__(self, compute: ComputeFn = compute_plan, *, start_method: str = "spawn") -> None:
        # ``compute`` must be importable by name in the worker (a module-level function).
        self._compute = compute
        self._start_method = start_method
        self._executor: ProcessPoolExecutor | None = None

    def _pool(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=1, mp_context=multiprocessing.get_context(self._start_method)
            )
        return self._executor

    async def compute(self, inputs: Inputs, now: datetime) -> Computed:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool(), self._compute, inputs, now)
        except BrokenProcessPool:
            # The worker died (killed, out of memory): start a fresh one next run.
            self.shutdown()
            raise

    @property
    def started(self) -> bool:
        return self._executor is not None

    def shutdown(self) -> None:
        """Stop the worker; waits for a run in progress (the job awaiting it is cancelled)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


async def run_matching(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    dry_run: bool = False,
    planner: Planner | None = None,
) -> MatchReport:
    """Form groups from everyone waiting and store the proposals, all in one transaction.

    ``pg_try_advisory_xact_lock`` makes a concurrent run (another replica, or the command
    line) return at once with ``ran=False`` instead of forming a second set of proposals.
    The lock and the row locks are held across the whole run, the off-loop part included.
    A dry run computes and returns the plan and rolls everything back.

    The server passes its :class:`OffLoopPlanner`, so the core runs in a worker process; the
    default, :class:`InlinePlanner`, runs it on this thread (the command line).
    """
    async with sessionmaker() as session, session.begin() as tx:
        if not await session.scalar(select(func.pg_try_advisory_xact_lock(MATCH_LOCK))):
            log.info("matching skipped: another run holds the lock")
            return MatchReport(ran=False)
        inputs = await load_inputs(session, lock=not dry_run)
        computed = await (planner or InlinePlanner()).compute(inputs, now)
        result = computed.plan
        for fallback in computed.stats.exact_fallbacks:
            # Counts and solver statuses only: no ids, no personal data.
            log.warning(
                "exact solver failed (%s) on a pool of %d; using the greedy plan there",
                fallback.reason,
                fallback.pool_size,
                extra={"reason": fallback.reason, "pool_size": fallback.pool_size},
            )
        report = MatchReport(
            ran=True,
            candidates=len(inputs.candidates),
            groups=len(result.groups),
            placed=sum(len(g.members) for g in result.groups),
            exact_fallbacks=len(computed.stats.exact_fallbacks),
            plan=result,
            inputs=inputs,
        )
        if dry_run:
            await tx.rollback()
            return report
        await store_plan(session, result, now=now, candidates=len(inputs.candidates))
    log.info("matching done", extra=report.summary())
    return report
