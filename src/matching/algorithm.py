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

from collections.abc import Iterable
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


def form_groups(
    candidates: Iterable[Candidate],
    rules: RuleBook,
    *,
    now: datetime,
    facilitators: Iterable[Facilitator],
) -> Plan:
    """Propose groups for waiting people and explain why the others wait.

    Args:
        candidates: Everyone waiting (ids unique). Order does not matter.
        rules: Default rules and per-organisation overrides.
        now: The moment of the run; all waiting-time rules are measured from it.
        facilitators: Facilitators with their current free starts. Order does not matter.

    Returns:
        A plan whose groups satisfy every hard rule (see :func:`matching.check.violations`) and,
        for every unplaced person, a reason and the smallest change that would place them now.
    """
    ctx = Context(candidates, rules, facilitators, now)
    formed: list[Formed] = []
    for comp in components(ctx):
        formed.extend(solve_component(ctx, comp))
    placed = {m for f in formed for m in f.members}
    unplaced = [ci for ci in range(len(ctx.cands)) if ci not in placed]
    return Plan(
        groups=tuple(to_proposal(ctx, f) for f in formed),
        unplaced=tuple(sorted(diagnose(ctx, unplaced), key=lambda u: u.candidate)),
    )


def solve_component(ctx: Context, comp: list[int]) -> list[Formed]:
    """Groups for one component; consumes facilitator capacity in ``ctx``."""
    if len(comp) <= EXACT_MAX_CANDIDATES:
        return _best_of(ctx, comp, local=True, digital=True)
    out: list[Formed] = []
    by_org: dict[str, list[int]] = {}
    for ci in comp:
        by_org.setdefault(ctx.cands[ci].organisation, []).append(ci)
    for org in sorted(by_org):
        pool = by_org[org]
        if len(pool) <= EXACT_MAX_CANDIDATES:
            out.extend(_best_of(ctx, pool, local=True, digital=False))
        else:
            out.extend(greedy(ctx, pool, local=True, digital=False))
    placed = {m for f in out for m in f.members}
    rest = [ci for ci in comp if ci not in placed and ctx.cands[ci].digital_welcome]
    if len(rest) <= EXACT_MAX_CANDIDATES:
        out.extend(_best_of(ctx, rest, local=False, digital=True))
    else:
        out.extend(greedy(ctx, rest, local=False, digital=True))
    return out


def _best_of(ctx: Context, pool: list[int], *, local: bool, digital: bool) -> list[Formed]:
    """Exact and greedy on the same pool; keep the better plan (exact wins ties)."""
    if not pool:
        return []
    saved = list(ctx.left)
    heuristic = greedy(ctx, pool, local=local, digital=digital)
    ctx.left[:] = saved
    optimal = exact.solve(ctx, pool, local=local, digital=digital)
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
    """Independent sub-problems: same catchment, or linked through a shared digital bucket."""
    parent = list(range(len(ctx.cands)))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    # Coarse on purpose: linking every digital-welcoming person of a digital pool is O(n) and
    # never splits people who could share a group; finer splits would not change any result.
    first: dict[str, int] = {}
    for ci, c in enumerate(ctx.cands):
        union(first.setdefault(c.organisation, ci), ci)
        if c.digital_welcome:
            union(first.setdefault(ctx.dpool(ci), ci), ci)
    comps: dict[int, list[int]] = {}
    for ci in range(len(ctx.cands)):
        comps.setdefault(find(ci), []).append(ci)
    return [comps[k] for k in sorted(comps)]


def greedy(ctx: Context, pool: list[int], *, local: bool, digital: bool) -> list[Formed]:
    """Seed-and-grow: the longest-waiting unplaced person gets the best group around them.

    For the seed, every (local/digital, theme, language, slot) option is tried; the people who
    could join are collected longest-waiting first, the best age window is chosen, and the
    option with the largest group (up to the target), then the seed's preferred theme, local
    before digital, mixed gender and size nearest the target, wins.
    """
    buckets = ctx.buckets(pool, local=local, digital=digital)
    placed = bytearray(len(ctx.cands))
    start: dict[tuple[str, str | None, str, str], int] = {}
    out: list[Formed] = []
    for seed in pool:
        if placed[seed]:
            continue
        found = _best_group(ctx, seed, buckets, start, placed, local=local, digital=digital)
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
    buckets: dict[tuple[str, str | None, str, str], list[int]],
    start: dict[tuple[str, str | None, str, str], int],
    placed: bytearray,
    *,
    local: bool,
    digital: bool,
) -> Formed | None:
    c = ctx.cands[seed]
    best: Formed | None = None
    best_key: tuple[int, int, int, int, int] | None = None
    modes = ([False] if local else []) + ([True] if digital and c.digital_welcome else [])
    for is_digital in modes:
        r = ctx.own_rules[seed]
        pool = ctx.dpool(seed) if is_digital else c.organisation
        cap = r.max_size + 2
        for theme, pos in ctx.themes(seed, r):
            for lang in ctx.langs[seed]:
                if not is_digital and ctx.facilitator(False, [pool], theme, lang) is None:
                    continue
                for slot in ctx.slots[seed]:
                    key = (pool, theme, lang, slot)
                    bucket = buckets.get(key)
                    if bucket is None or len(bucket) < r.min_size:
                        continue
                    lists = _collect(ctx, seed, bucket, start, key, placed, r, theme, cap)
                    for others in lists:
                        chosen = best_window(ctx, seed, others, r.max_age_span)
                        size = _size(len(chosen) + 1, r.min_size, r.target_size, r.max_size)
                        if size == 0:
                            continue
                        members = [seed, *chosen[: size - 1]]
                        if size == r.min_size < r.target_size and not any(
                            ctx.old(m, r) for m in members
                        ):
                            continue
                        orgs = sorted({ctx.cands[m].organisation for m in members})
                        fac = ctx.facilitator(is_digital, orgs, theme, lang)
                        if fac is None:
                            continue
                        rank = (
                            min(size, r.target_size),
                            -pos,
                            0 if is_digital else 1,
                            int(_mixed(ctx, members)),
                            -abs(size - r.target_size),
                        )
                        if best_key is None or rank > best_key:
                            best_key = rank
                            opt = Option(is_digital, c.organisation, theme, lang, slot)
                            best = Formed(sorted(members), opt, fac)
                        if best_key[:3] == (r.target_size, 0, 1):
                            return best
    return best


def _collect(
    ctx: Context,
    seed: int,
    bucket: list[int],
    start: dict[tuple[str, str | None, str, str], int],
    key: tuple[str, str | None, str, str],
    placed: bytearray,
    r: Rules,
    theme: str | None,
    cap: int,
) -> list[list[int]]:
    """Unplaced people in ``bucket`` who could join the seed: a mixed list and a same-gender
    list, each longest-waiting first and at most ``cap`` long."""
    c = ctx.cands
    a = c[seed].age_band
    span = r.max_age_span
    g = c[seed].gender
    seed_single = ctx.single[seed]
    i = start.get(key, 0)
    while i < len(bucket) and placed[bucket[i]]:
        i += 1
    start[key] = i
    mixed: list[int] = []
    same: list[int] = []
    single = ctx.single
    for ci in bucket[i:]:
        if placed[ci] or ci == seed:
            continue
        other = c[ci]
        if abs(other.age_band - a) > span:
            continue
        if theme is None and ctx.own_rules[ci] is not r and not ctx.cross_ok(ci, r):
            continue
        if not seed_single and not single[ci] and len(mixed) < cap:
            mixed.append(ci)
        if g is not None and other.gender == g and len(same) < cap:
            same.append(ci)
        if len(mixed) >= cap and (g is None or len(same) >= cap):
            break
    if seed_single:
        return [same]
    if g is None or (len(same) <= len(mixed) and not any(single[s] for s in same)):
        return [mixed]
    return [mixed, same]


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
