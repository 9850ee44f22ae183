"""Forming groups: a fast greedy heuristic for the country, exact optimisation in small pools.

The entry point is :func:`form_groups`. It is pure: no clock, no randomness, no I/O. Candidates
are processed in priority order (longest-waiting first, then id), so shuffling the input changes
nothing.

Shape of a run:

1. Split everyone into *components*: people who could never share a group or a facilitator
   (different catchments, no digital pool in common) are solved independently.
2. A component small enough for :mod:`matching.exact` is solved as a whole, local and digital
   groups together, and the exact plan is compared with the greedy one (the better one wins, by
   the lexicographic objective in :func:`score`).
3. A large component is solved in two phases: local (in-person) groups per catchment, each
   catchment exact if small and greedy otherwise; then digital groups from the people left.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from matching import exact
from matching.context import Context, Formed
from matching.diagnose import Diagnosis
from matching.greedy import greedy
from matching.model import Candidate, Facilitator, GroupProposal, Plan, RuleBook

#: Largest pool handed to the exact solver. Chosen so that every such pool finishes well inside
#: the node limit on this machine (see docs/matching.md); it is a size rule, not a time limit,
#: so results never depend on machine speed.
EXACT_MAX_CANDIDATES = 30

Score = tuple[int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class ExactFallback:
    """One pool that got the greedy plan because the exact solver failed (no personal data)."""

    reason: str
    pool_size: int


@dataclass(slots=True)
class RunStats:
    """What a run noticed beyond its plan; the core cannot log, so the shell reports these."""

    exact_fallbacks: list[ExactFallback] = field(default_factory=list)


def form_groups(
    candidates: Iterable[Candidate],
    rules: RuleBook,
    *,
    now: datetime,
    facilitators: Iterable[Facilitator],
    stats: RunStats | None = None,
) -> Plan:
    """Propose groups for waiting people and explain why the others wait.

    Args:
        candidates: Everyone waiting (ids unique). Order does not matter.
        rules: Default rules and per-organisation overrides.
        now: The moment of the run; all waiting-time rules are measured from it.
        facilitators: Facilitators with their current free starts. Order does not matter.
        stats: Filled with what the caller should report, e.g. pools where the exact solver
            failed and the greedy plan was used instead.

    Returns:
        A plan whose groups satisfy every hard rule (see :func:`matching.check.violations`) and,
        for every unplaced person, a reason and the smallest change that would place them now.
        The reasons are worked out lazily, when first asked for (:meth:`Plan.why` for one
        person, :attr:`Plan.unplaced` for everyone); :attr:`Plan.waiting` never needs them.
    """
    with _gc_paused():
        ctx = Context(candidates, rules, facilitators, now)
        formed: list[Formed] = []
        for comp in components(ctx):
            formed.extend(solve_component(ctx, comp, stats))
        formed = held_back(ctx, formed, now)
        placed = np.zeros(len(ctx.cands), dtype=bool)
        placed[[m for f in formed for m in f.members]] = True
        unplaced: list[int] = np.flatnonzero(~placed).tolist()
        return Plan(
            tuple(to_proposal(ctx, f) for f in formed),
            explainer=Diagnosis(ctx, unplaced),
        )


def held_back(ctx: Context, formed: list[Formed], now: datetime) -> list[Formed]:
    """Drop groups below target whose organisation waits longer for more members.

    ``Rules.below_target_after_days``: a group smaller than ``target_size`` is proposed only
    once one of its members has waited that long; until then its people stay waiting, and the
    next run may form a bigger group (or, once proposed, the group fills until it meets). With
    the default 0 nothing is dropped and the plan is the one formed. The dropped group's
    facilitator start stays unused in this run.
    """
    kept: list[Formed] = []
    for f in formed:
        r = ctx.book.for_org(f.option.organisation)
        days = r.below_target_after_days
        if (
            days
            and len(f.members) < r.target_size
            and not any(ctx.cands[m].waited(now) >= timedelta(days=days) for m in f.members)
        ):
            ctx.left[f.facilitator] += 1
            continue
        kept.append(f)
    return kept


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for one run.

    A country-wide run allocates millions of small lists and tuples, and the collector would
    walk all live objects again and again (about 13 % of a 100,000-person run). The core makes
    no reference cycles worth collecting, so nothing is lost; reference counting still frees
    memory at once, and the collector resumes afterwards (if it was on).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def solve_component(ctx: Context, comp: list[int], stats: RunStats | None = None) -> list[Formed]:
    """Groups for one component; consumes facilitator capacity in ``ctx``."""
    if len(comp) <= EXACT_MAX_CANDIDATES:
        return _best_of(ctx, comp, stats, local=True, digital=True)
    out: list[Formed] = []
    codes = ctx.codes
    people = np.array(comp, dtype=np.int64)
    # The component's people per organisation, in organisation order (codes are numbered in
    # sorted order), each in the component's order.
    for pool in _split(people, codes.org[people]):
        if len(pool) <= EXACT_MAX_CANDIDATES:
            out.extend(_best_of(ctx, pool, stats, local=True, digital=False))
        else:
            out.extend(greedy(ctx, pool, local=True, digital=False))
    placed = np.zeros(len(ctx.cands), dtype=bool)
    placed[[m for f in out for m in f.members]] = True
    rest: list[int] = people[~placed[people] & (codes.dpool[people] >= 0)].tolist()
    if len(rest) <= EXACT_MAX_CANDIDATES:
        out.extend(_best_of(ctx, rest, stats, local=False, digital=True))
    else:
        out.extend(greedy(ctx, rest, local=False, digital=True))
    return out


def _best_of(
    ctx: Context, pool: list[int], stats: RunStats | None, *, local: bool, digital: bool
) -> list[Formed]:
    """Exact and greedy on the same pool; keep the better plan (exact wins ties).

    A solver failure falls back to the greedy plan but is recorded in ``stats``: a silently
    worse plan is how "5 placed in a fresh process, 4 after" went unnoticed.
    """
    if not pool:
        return []
    saved = list(ctx.left)
    heuristic = greedy(ctx, pool, local=local, digital=digital)
    ctx.left[:] = saved
    try:
        optimal = exact.solve(ctx, pool, local=local, digital=digital)
    except exact.ExactSolverError as exc:
        optimal = None
        if stats is not None:
            stats.exact_fallbacks.append(ExactFallback(exc.reason, len(pool)))
    if optimal is not None and score(ctx, optimal) >= score(ctx, heuristic):
        chosen = optimal
    else:
        chosen = heuristic
    for f in chosen:
        ctx.left[f.facilitator] -= 1
    return chosen


def score(ctx: Context, formed: list[Formed]) -> Score:
    """Lexicographic objective: placed, then longest-waiting, preferred theme, mixed, size."""
    n = len(ctx.cands)
    placed = sum(len(f.members) for f in formed)
    wait = sum(n - ci for f in formed for ci in f.members)
    theme = -sum(ctx.theme_pos(ci, f.option.theme) for f in formed for ci in f.members)
    mixed = sum(1 for f in formed if _mixed(ctx, f.members))
    near = -sum(
        abs(len(f.members) - ctx.book.for_org(f.option.organisation).target_size) for f in formed
    )
    return (placed, wait, theme, mixed, near)


def _mixed(ctx: Context, members: list[int]) -> bool:
    genders = {ctx.cands[m].gender for m in members}
    return "female" in genders and "male" in genders


def components(ctx: Context) -> list[list[int]]:
    """Independent sub-problems: same catchment, or linked through a shared digital bucket.

    Coarse on purpose: everyone of a catchment, and every digital-welcoming person of a digital
    pool, is linked, which never splits people who could share a group; finer splits would not
    change any result. The linking is done on the few hundred catchment and pool labels, not on
    people. Components come in the order of their longest-waiting member.
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while x != root:
            parent[x], x = root, parent[x]
        return root

    codes = ctx.codes
    # A person's digital pool depends only on their organisation's rules (see Context.dpool).
    digital_orgs = {codes.orgs[o] for o in np.unique(codes.org[codes.dpool >= 0]).tolist()}
    links = set()
    for org in digital_orgs:
        pooled = ctx.book.for_org(org).pool_digital_across_catchments
        links.add((org, "digital:*" if pooled else "digital:" + org))
    for org, dp in sorted(links):
        ra, rb = find("org:" + org), find(dp)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    # Organisations in order of their longest-waiting member, so components come in that order.
    _, first = np.unique(codes.org, return_index=True)
    number: dict[str, int] = {}
    comp_of = np.zeros(len(codes.orgs), dtype=np.int64)
    for o in np.argsort(first, kind="stable").tolist():
        comp_of[o] = number.setdefault(find("org:" + codes.orgs[o]), len(number))
    return _split(np.arange(len(ctx.cands), dtype=np.int64), comp_of[codes.org])


def _split(people: npt.NDArray[np.int64], key: npt.NDArray[np.int64]) -> list[list[int]]:
    """``people`` grouped by ``key`` (ascending key, each group in the order given)."""
    if not len(people):
        return []
    order = np.argsort(key, kind="stable")
    cuts = np.flatnonzero(np.diff(key[order])) + 1
    return [part.tolist() for part in np.split(people[order], cuts)]


def to_proposal(ctx: Context, f: Formed) -> GroupProposal:
    """Turn an index-based group into the public proposal."""
    return GroupProposal(
        members=tuple(ctx.cands[m].id for m in sorted(f.members)),
        organisation=f.option.organisation,
        theme=f.option.theme,
        language=f.option.language,
        slot=f.option.slot,
        digital=f.option.digital,
        facilitator=ctx.facs[f.facilitator].id,
        rules=ctx.book.for_org(f.option.organisation),
    )
