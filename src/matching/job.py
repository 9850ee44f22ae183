"""The matching job: one run at a time across all replicas, one transaction per run.

The shell (load the pool, store proposals) runs on the event loop inside one transaction that
holds the advisory lock; the CPU-bound core, :func:`form_groups`, runs in a worker process
(:class:`OffLoopPlanner`) so a country-wide run (seconds of pure Python) never stalls web
requests. A thread would not do: the core holds the GIL in long stretches.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import multiprocessing
import pickle
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from matching.algorithm import RunStats, form_groups
from matching.fill import Addition, after_run, fill_groups
from matching.model import Candidate, GroupProposal, Plan, Reason, Suggestion, Unplaced
from matching.open_joins import with_open_groups
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
    #: People who joined groups that had not met yet (``matching.fill``).
    joined: int = 0
    #: People left waiting; counted from the plan's ids, so no reason is worked out for it.
    waiting: int = 0
    #: Pools that got the greedy plan because the exact solver failed (each is logged).
    exact_fallbacks: int = 0
    plan: Plan | None = None
    inputs: Inputs | None = field(default=None, repr=False)
    #: Who joined (or, in a dry run, would join) which open group, longest-waiting first.
    additions: tuple[Addition, ...] = ()

    def summary(self) -> dict[str, Any]:
        return {
            "ran": self.ran,
            "candidates": self.candidates,
            "groups": self.groups,
            "placed": self.placed,
            "joined": self.joined,
            "waiting": self.waiting,
            "exact_fallbacks": self.exact_fallbacks,
        }


@dataclass(frozen=True)
class Computed:
    """What the core hands back to the shell (picklable: it crosses a process boundary)."""

    plan: Plan
    stats: RunStats
    #: People who join open groups; the plan's groups are formed from everyone else.
    additions: tuple[Addition, ...] = ()


def compute_plan(inputs: Inputs, now: datetime) -> Computed:
    """Run the pure core on loaded inputs; module-level so a worker process can import it.

    Open groups are filled first (longest-waiting first, :func:`matching.fill.fill_groups`);
    new groups are formed from the people left. The people still waiting are also offered
    the changes of choices that would let the next run's fill take them into a group open
    after this one (:func:`matching.open_joins.with_open_groups`).
    """
    stats = RunStats()
    filled = fill_groups(inputs.candidates, inputs.open_groups, inputs.rules, now=now)
    people = inputs.candidates if not filled.additions else list(filled.rest)
    result = form_groups(
        people, inputs.rules, now=now, facilitators=inputs.facilitators, stats=stats
    )
    if inputs.open_groups or result.groups:
        # The waiting are also told which change would let them join a group that is open
        # after this run (one open before it, or one proposed now); a re-check runs at once.
        after = after_run(
            inputs.open_groups, filled.additions, inputs.candidates, result.groups, now=now
        )
        result = with_open_groups(result, people, after, inputs.rules, now=now)
    return Computed(result, stats, filled.additions)


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


# --- The wire format between the server and the worker -------------------------------------
#
# Pickling the frozen dataclasses themselves is slow (their ``__getstate__`` is Python code
# that calls ``fields()`` for every object: ~3 s for 100,000 candidates) and it happens in the
# executor's background threads, where one big pickle holds the GIL for long stretches and so
# stalls the event loop anyway. So the rows travel as plain tuples, pickled in chunks; the
# server encodes and decodes one chunk at a time and yields to the loop in between.

#: People (or plan rows) per chunk: a few milliseconds of encoding or decoding each.
CHUNK = 1000


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic collector while a plan is encoded or decoded (under a second).

    Measured: tens of thousands of new objects trigger a full collection over the server's
    whole heap (the loaded pool included) in the middle of decoding, 300-550 ms of a stalled
    loop at 100,000 people. These rows make no cycles; reference counting still frees them.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_CANDIDATE = attrgetter(*(f.name for f in dataclasses.fields(Candidate)))
_GROUP = attrgetter(*(f.name for f in dataclasses.fields(GroupProposal)))
_REASON = attrgetter(*(f.name for f in dataclasses.fields(Reason)))
_SUGGESTION = attrgetter(*(f.name for f in dataclasses.fields(Suggestion)))


async def _encode_candidates(candidates: list[Candidate]) -> list[bytes]:
    out = []
    with _gc_paused():
        for i in range(0, len(candidates), CHUNK):
            rows = [_CANDIDATE(c) for c in candidates[i : i + CHUNK]]
            out.append(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))
            await asyncio.sleep(0)  # let requests in between chunks
    return out


def _chunks(rows: list[Any]) -> list[bytes]:
    return [
        pickle.dumps(rows[i : i + CHUNK], protocol=pickle.HIGHEST_PROTOCOL)
        for i in range(0, len(rows), CHUNK)
    ]


@dataclass(frozen=True)
class _Encoded:
    """A :class:`Computed` as chunks of plain rows (built in the worker)."""

    groups: list[bytes]
    unplaced: list[bytes]
    stats: RunStats
    additions: tuple[tuple[str, str], ...] = ()


def _run_in_worker(
    compute: ComputeFn, chunks: list[bytes], rest: Inputs, now: datetime
) -> _Encoded:
    """The worker process's side: rebuild the inputs, run the core, encode the result."""
    people = [Candidate(*row) for chunk in chunks for row in pickle.loads(chunk)]  # noqa: S301
    computed = compute(dataclasses.replace(rest, candidates=people), now)
    plan = computed.plan
    # Everyone's reason, here in the worker: the run stores a note per waiting person, and the
    # status pages that read those notes later cannot reach this process's lazy plan.
    unplaced = [
        (
            u.candidate,
            _REASON(u.reason),
            None if u.suggestion is None else _SUGGESTION(u.suggestion),
            tuple(_SUGGESTION(s) for s in u.suggestions),
        )
        for u in plan.unplaced
    ]
    return _Encoded(
        _chunks([_GROUP(g) for g in plan.groups]),
        _chunks(unplaced),
        computed.stats,
        tuple((a.group, a.candidate) for a in computed.additions),
    )


async def _decode(encoded: _Encoded) -> Computed:
    # Only our own worker's output is unpickled here, never data from outside the process.
    groups: list[GroupProposal] = []
    unplaced: list[Unplaced] = []
    with _gc_paused():
        for chunk in encoded.groups:
            groups.extend(GroupProposal(*row) for row in pickle.loads(chunk))  # noqa: S301
            await asyncio.sleep(0)
        for chunk in encoded.unplaced:
            unplaced.extend(
                Unplaced(
                    cid,
                    Reason(*reason),
                    None if sug is None else Suggestion(*sug),
                    tuple(Suggestion(*s) for s in ranked),
                )
                for cid, reason, sug, ranked in pickle.loads(chunk)  # noqa: S301
            )
            await asyncio.sleep(0)
    return Computed(
        Plan(groups=tuple(groups), unplaced=tuple(unplaced)),
        encoded.stats,
        tuple(Addition(g, c) for g, c in encoded.additions),
    )


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
        chunks = await _encode_candidates(inputs.candidates)
        rest = dataclasses.replace(inputs, candidates=[])
        try:
            encoded = await loop.run_in_executor(
                self._pool(), _run_in_worker, self._compute, chunks, rest, now
            )
        except BrokenProcessPool:
            # The worker died (killed, out of memory): start a fresh one next run.
            self.shutdown()
            raise
        return await _decode(encoded)

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
        inputs = await load_inputs(session, now=now, lock=not dry_run)
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
            joined=len(computed.additions),
            waiting=len(result.waiting),
            exact_fallbacks=len(computed.stats.exact_fallbacks),
            plan=result,
            inputs=inputs,
            additions=tuple(computed.additions),
        )
        if dry_run:
            await tx.rollback()
            return report
        await store_plan(
            session,
            result,
            now=now,
            candidates=len(inputs.candidates),
            additions=computed.additions,
        )
    log.info("matching done", extra=report.summary())
    return report
