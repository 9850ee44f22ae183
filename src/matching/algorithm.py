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
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from matching import exact
from matching.context import Context, Formed, Option, best_window
from matching.diagnose import diagnose
from matching.model import Candidate, Facilitator, GroupProposal, Plan, RuleBook, Rules

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
    """
    with _gc_paused():
        ctx = Context(candidates, rules, facilitators, now)
        formed: list[Formed] = []
        for comp in components(ctx):
            formed.extend(solve_component(ctx, comp, stats))
        placed = {m for f in formed for m in f.members}
        unplaced = [ci for ci in range(len(ctx.cands)) if ci not in placed]
        return Plan(
            groups=tuple(to_proposal(ctx, f) for f in formed),
            unplaced=tuple(sorted(diagnose(ctx, unplaced), key=lambda u: u.candidate)),
        )


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
    by_org: dict[str, list[int]] = {}
    for ci in comp:
        by_org.setdefault(ctx.cands[ci].organisation, []).append(ci)
    for org in sorted(by_org):
        pool = by_org[org]
        if len(pool) <= EXACT_MAX_CANDIDATES:
            out.extend(_best_of(ctx, pool, stats, local=True, digital=False))
        else:
            out.extend(greedy(ctx, pool, local=True, digital=False))
    placed = {m for f in out for m in f.members}
    rest = [ci for ci in comp if ci not in placed and ctx.cands[ci].digital_welcome]
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

    cands = ctx.cands
    links = {(c.organisation, ctx.dpool(ci)) for ci, c in enumerate(cands) if c.digital_welcome}
    for org, dp in sorted(links):
        ra, rb = find("org:" + org), find(dp)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots: dict[str, str] = {}
    comps: dict[str, list[int]] = {}
    for ci, c in enumerate(cands):
        org = c.organisation
        root = roots.get(org)
        if root is None:
            root = roots[org] = find("org:" + org)
        comp = comps.get(root)
        if comp is None:
            comp = comps[root] = []
        comp.append(ci)
    return list(comps.values())


#: (pool, theme, language) -> slot -> lane. A lane holds everyone who could meet in that
#: (pool, theme, language, slot), in priority order; each person is stored once per bucket
#: (building the index is the largest single cost of a country-wide run). One lane for all
#: genders: a seed reads one list per option, and the gender tests are cheaper than merging
#: per-gender lanes.
_Index = dict[tuple[str, str | None, str], defaultdict[str, list[int]]]


def _index(ctx: Context, pool: list[int], *, local: bool, digital: bool) -> _Index:
    """Every person of ``pool`` in every bucket they could meet in (the membership of
    :meth:`Context.buckets`), nested by slot."""
    out: _Index = {}
    startable: dict[tuple[str, str | None, str], bool] = {}
    cands, slots_of, langs_of = ctx.cands, ctx.slots, ctx.langs
    for ci in sorted(pool):
        c = cands[ci]
        pools: list[str] = []
        if local:
            pools.append(c.organisation)
        if digital and c.digital_welcome:
            pools.append(ctx.dpool(ci))
        themes: list[str | None] = list(c.themes)
        if ctx.cross_own[ci]:
            themes.append(None)
        slots = slots_of[ci]
        for theme in themes:
            for lang in langs_of[ci]:
                for p in pools:
                    k = (p, theme, lang)
                    by_slot = out.get(k)
                    if by_slot is None:
                        usable = startable.get(k)
                        if usable is None:
                            usable = startable[k] = _startable(ctx, p, c.organisation, k)
                        if not usable:
                            continue
                        by_slot = out[k] = defaultdict(list)
                    for slot in slots:
                        by_slot[slot].append(ci)
    return out


def _startable(ctx: Context, pool: str, org: str, k3: tuple[str, str | None, str]) -> bool:
    """Whether a facilitator could start a group of this (pool, theme, language) now.

    Capacity only shrinks while the greedy runs, and a seed skips such an option without looking
    at its bucket (see :func:`_best_group`), so an index without these buckets gives the same
    groups. ``org`` is the organisation of the person whose bucket this is: for a local pool
    and for a catchment's own digital pool, the organisation of every member.
    """
    _, theme, lang = k3
    if pool.startswith("digital:"):
        return ctx.digital_capacity(theme, lang, None if pool == "digital:*" else org)
    return ctx.facilitator(False, [pool], theme, lang) is not None


def greedy(ctx: Context, pool: list[int], *, local: bool, digital: bool) -> list[Formed]:
    """Seed-and-grow: the longest-waiting unplaced person gets the best group around them.

    For the seed, every (local/digital, theme, language, slot) option is tried; the people who
    could join are collected longest-waiting first, the best age window is chosen, and the
    option with the largest group (up to the target), then the seed's preferred theme, local
    before digital, mixed gender and size nearest the target, wins.
    """
    index = _index(ctx, pool, local=local, digital=digital)
    placed = bytearray(len(ctx.cands))
    waste: dict[int, int] = {}
    out: list[Formed] = []
    for seed in pool:
        if placed[seed]:
            continue
        found = _best_group(ctx, seed, index, placed, waste, local=local, digital=digital)
        if found is None:
            continue
        for m in found.members:
            placed[m] = 1
        ctx.left[found.facilitator] -= 1
        out.append(found)
    return out


def _best_group(
    ctx: Context,
    seed: int,
    index: _Index,
    placed: bytearray,
    waste: dict[int, int],
    *,
    local: bool,
    digital: bool,
) -> Formed | None:
    c = ctx.cands[seed]
    best: Formed | None = None
    best_key: tuple[int, int, int, int, int] | None = None
    modes = ([False] if local else []) + ([True] if digital and c.digital_welcome else [])
    r = ctx.own_rules[seed]
    old_cut = ctx.cutoffs(r)[0]
    gender = ctx.gender
    target = r.target_size
    for is_digital in modes:
        pool = ctx.dpool(seed) if is_digital else c.organisation
        fac_org = None if pool == "digital:*" else c.organisation
        where = 0 if is_digital else 1
        cap = r.max_size + 2
        for theme, pos in ctx.themes(seed, r):
            # No option of this theme can rank above (target, -pos, where, mixed, on target).
            if best_key is not None and (target, -pos, where, 1, 0) <= best_key:
                continue
            for lang in ctx.langs[seed]:
                local_fac: int | None = None
                if not is_digital:
                    # A local group's facilitator depends only on (theme, language) here.
                    local_fac = ctx.facilitator(False, [pool], theme, lang)
                    if local_fac is None:
                        continue
                elif not ctx.digital_capacity(theme, lang, fac_org):
                    continue
                by_slot = index.get((pool, theme, lang))
                if by_slot is None:
                    continue
                for slot in ctx.slots[seed]:
                    lane = by_slot.get(slot)
                    if lane is None:
                        continue
                    total = len(lane)
                    if total < r.min_size:
                        continue
                    # At most ``total`` people (the seed included) are in the bucket.
                    if best_key is not None and (min(total, target), -pos, where, 1, 0) <= best_key:
                        continue
                    lists = _collect(ctx, seed, lane, placed, waste, r, theme, cap)
                    for others in lists:
                        chosen = best_window(ctx, seed, others, r.max_age_span)
                        size = _size(len(chosen) + 1, r.min_size, r.target_size, r.max_size)
                        if size == 0:
                            continue
                        members = [seed, *chosen[: size - 1]]
                        if size == r.min_size < r.target_size and min(members) >= old_cut:
                            continue
                        if is_digital:
                            orgs = sorted({ctx.cands[m].organisation for m in members})
                            fac = ctx.facilitator(True, orgs, theme, lang)
                            if fac is None:
                                continue
                        else:
                            fac = local_fac
                        genders = {gender[m] for m in members}
                        rank = (
                            min(size, target),
                            -pos,
                            where,
                            int("female" in genders and "male" in genders),
                            -abs(size - target),
                        )
                        if best_key is None or rank > best_key:
                            best_key = rank
                            opt = Option(is_digital, c.organisation, theme, lang, slot)
                            assert fac is not None
                            best = Formed(sorted(members), opt, fac)
                        if best_key[:3] == (target, 0, 1):
                            return best
    return best


def _collect(
    ctx: Context,
    seed: int,
    lane: list[int],
    placed: bytearray,
    waste: dict[int, int],
    r: Rules,
    theme: str | None,
    cap: int,
) -> list[list[int]]:
    """Unplaced people in ``lane`` who could join the seed: a mixed list (nobody with a
    single-gender wish) and a same-gender list, each longest-waiting first and at most ``cap``
    long."""
    g = ctx.gender[seed]
    seed_single = ctx.single[seed]
    cross = r if theme is None else None
    mixed, same = _scan(ctx, lane, seed, placed, waste, r.max_age_span, cross, cap, g, seed_single)
    if seed_single:
        return [same]
    if g is None:
        return [mixed]
    if len(same) <= len(mixed) and not any(ctx.single[s] for s in same):
        return [mixed]
    return [mixed, same]


def _scan(
    ctx: Context,
    lane: list[int],
    seed: int,
    placed: bytearray,
    waste: dict[int, int],
    span: int,
    cross: Rules | None,
    cap: int,
    g: str | None,
    seed_single: bool,
) -> tuple[list[int], list[int]]:
    """Unplaced people of ``lane`` (not the seed) within ``span`` years of the seed's age,
    longest-waiting first: the first ``cap`` without a single-gender wish (unless the seed has
    one) and the first ``cap`` of gender ``g`` (if ``g`` is given).

    For a cross-problem group (``cross`` = the group's rules) only those who may already join
    one under those rules count. Placed people are dropped lazily: once the placed people
    stepped over since the lane's last compaction reach a quarter of it, it is rebuilt without
    them, so a busy city lane is not re-walked over and over.
    """
    age = ctx.age
    single = ctx.single
    gender = ctx.gender
    a = age[seed]
    lo, hi = a - span, a + span
    own_rules = ctx.own_rules
    ok = ctx.cross_ok
    want_mixed = not seed_single
    want_same = g is not None
    mixed: list[int] = []
    same: list[int] = []
    skipped = 0
    if cross is not None and not ctx.uniform_rules:
        # Cross-problem group while organisations have different rules: someone eligible under
        # their own rules may not have waited long enough under the group's.
        for ci in lane:
            if placed[ci]:
                skipped += 1
            elif lo <= age[ci] <= hi and ci != seed and (own_rules[ci] is cross or ok(ci, cross)):
                if want_same and len(same) < cap and gender[ci] == g:
                    same.append(ci)
                if want_mixed and len(mixed) < cap and not single[ci]:
                    mixed.append(ci)
                if len(mixed) >= (cap if want_mixed else 0) and len(same) >= (
                    cap if want_same else 0
                ):
                    break
    # Three more copies of the loop so that the common cases test as little as possible.
    elif not want_same:
        for ci in lane:
            if placed[ci]:
                skipped += 1
            elif lo <= age[ci] <= hi and not single[ci] and ci != seed:
                mixed.append(ci)
                if len(mixed) >= cap:
                    break
    elif not want_mixed:
        for ci in lane:
            if placed[ci]:
                skipped += 1
            elif gender[ci] == g and lo <= age[ci] <= hi and ci != seed:
                same.append(ci)
                if len(same) >= cap:
                    break
    else:
        n_mixed = n_same = 0
        for ci in lane:
            if placed[ci]:
                skipped += 1
            elif lo <= age[ci] <= hi and ci != seed:
                if n_mixed < cap and not single[ci]:
                    mixed.append(ci)
                    n_mixed += 1
                if n_same < cap and gender[ci] == g:
                    same.append(ci)
                    n_same += 1
                    if n_same >= cap and n_mixed >= cap:
                        break
                elif n_mixed >= cap and n_same >= cap:
                    break
    if skipped:
        key = id(lane)
        total = waste.get(key, 0) + skipped
        if total * 4 >= len(lane):
            lane[:] = [ci for ci in lane if not placed[ci]]
            total = 0
        waste[key] = total
    return mixed, same


def _size(n: int, lo: int, target: int, hi: int) -> int:
    """Size of the seed's group when ``n`` people fit: split big sets into groups near target."""
    if n < lo:
        return 0
    if n <= hi:
        return n
    groups = max(-(-n // hi), round(n / target))
    while groups > 1 and n // groups < lo:
        groups -= 1
    return min(hi, -(-n // groups))


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
