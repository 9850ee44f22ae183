"""The greedy before the bitsets (lanes as lists, walked person by person), kept as the oracle
for test_scale_greedy.py. A frozen copy of src/matching/greedy.py as of 2f63191; do not speed it up.

The original module docstring: the greedy seed-and-grow heuristic: the longest-waiting unplaced
person gets the best group.

Its own module because it is the hot path of a country-wide run (the bucket index and the lane
scans are tuned for speed) and is read and benchmarked on its own; :mod:`matching.algorithm`
decides where it is used and compares it with the exact solver. Pure like the rest of the core.
"""

from __future__ import annotations

from collections import defaultdict

from matching.context import Context, Formed, Option, best_window
from matching.model import ACROSS, Rules

#: (pool, theme, language) -> slot -> lane. A lane holds everyone who could meet in that
#: (pool, theme, language, slot), in priority order; each person is stored once per bucket
#: (building the index is the largest single cost of a country-wide run). One lane for all
#: genders: a seed reads one list per option, and the gender tests are cheaper than merging
#: per-gender lanes.
#: A lane is rebuilt without its placed people once the scans have stepped over placed people
#: a 1/_COMPACT share of its length times (see :func:`_scan`); speed only, never the result.
_COMPACT = 4

_Index = dict[tuple[str, str | None, str], defaultdict[str, list[int]]]


def _index(ctx: Context, pool: list[int], *, local: bool, digital: bool) -> _Index:
    """Every person of ``pool`` in every bucket they could meet in (the membership of
    :meth:`Context.buckets`), nested by slot."""
    out: _Index = {}
    startable: dict[tuple[str, str | None, str], bool] = {}
    cands, langs_of, cross_own = ctx.cands, ctx.langs, ctx.cross_own
    for ci in sorted(pool):
        c = cands[ci]
        org = c.organisation
        pools: tuple[str, ...]
        if digital and c.digital_welcome:
            pools = (org, ctx.dpool(ci)) if local else (ctx.dpool(ci),)
        else:
            pools = (org,) if local else ()
        themes: tuple[str | None, ...] = (*c.themes, None) if cross_own[ci] else c.themes
        slots = c.slots  # any order: each slot has its own lane
        for theme in themes:
            for lang in langs_of[ci]:
                for p in pools:
                    k = (p, theme, lang)
                    by_slot = out.get(k)
                    if by_slot is None:
                        usable = startable.get(k)
                        if usable is None:
                            usable = startable[k] = _startable(ctx, p, org, k)
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
    starters = _Starters(ctx)
    out: list[Formed] = []
    for seed in pool:
        if placed[seed]:
            continue
        # Marked as placed while its options are scanned, so the scans skip the seed with the
        # test they make anyway (it is never one of the "others"); unmarked if it stays alone.
        placed[seed] = 1
        found = _best_group(ctx, seed, index, placed, waste, starters, local=local, digital=digital)
        if found is None:
            placed[seed] = 0
            continue
        for m in found.members:
            placed[m] = 1
        ctx.left[found.facilitator] -= 1
        out.append(found)
    return out


class _Starters:
    """Facilitator look-ups of one greedy pass, remembered between seeds.

    Capacity only shrinks during a pass, so the first facilitator (in preference order) with
    capacity stays the first until its capacity runs out, and "nobody" stays nobody. A
    remembered answer is re-checked against ``ctx.left`` and looked up again only then. One
    object per pass: :func:`matching.algorithm._best_of` restores capacity between passes.
    """

    __slots__ = ("_ctx", "_digital", "_local")

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._local: dict[tuple[str, str | None, str], int | None] = {}
        self._digital: dict[tuple[str | None, str, str | None], int | None] = {}

    def local(self, org: str, theme: str | None, lang: str) -> int | None:
        """:meth:`Context.facilitator` for a local group of ``org``."""
        k = (org, theme, lang)
        i = self._local.get(k, -1)
        if i is not None and (i < 0 or self._ctx.left[i] <= 0):
            i = self._local[k] = self._ctx.facilitator(False, [org], theme, lang)
        return i

    def digital(self, theme: str | None, lang: str, org: str | None) -> bool:
        """:meth:`Context.digital_capacity`."""
        k = (theme, lang, org)
        i = self._digital.get(k, -1)
        if i is not None and (i < 0 or self._ctx.left[i] <= 0):
            i = self._digital[k] = self._first_digital(theme, lang, org)
        return i is not None

    def _first_digital(self, theme: str | None, lang: str, org: str | None) -> int | None:
        ctx = self._ctx
        slug = ACROSS if theme is None else theme
        if org is not None:
            facs = ctx.fac_index.get((True, org, slug, lang), ())
        else:
            facs = ctx.digital_facs.get((slug, lang), ())
        return next((i for i in facs if ctx.left[i] > 0), None)


def _best_group(
    ctx: Context,
    seed: int,
    index: _Index,
    placed: bytearray,
    waste: dict[int, int],
    starters: _Starters,
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
    single = ctx.single
    org_of = ctx.org
    g = gender[seed]
    seed_single = single[seed]
    target = r.target_size
    min_size, max_size, span = r.min_size, r.max_size, r.max_age_span
    cap = max_size + 2
    theme_options = ctx.themes(seed, r)
    langs = ctx.langs[seed]
    for is_digital in modes:
        pool = ctx.dpool(seed) if is_digital else c.organisation
        fac_org = None if pool == "digital:*" else c.organisation
        where = 0 if is_digital else 1
        for theme, pos in theme_options:
            # No option of this theme can rank above (target, -pos, where, mixed, on target).
            if best_key is not None and (target, -pos, where, 1, 0) <= best_key:
                continue
            for lang in langs:
                local_fac: int | None = None
                if not is_digital:
                    # A local group's facilitator depends only on (theme, language) here.
                    local_fac = starters.local(pool, theme, lang)
                    if local_fac is None:
                        continue
                elif not starters.digital(theme, lang, fac_org):
                    continue
                by_slot = index.get((pool, theme, lang))
                if by_slot is None:
                    continue
                for slot in ctx.slots[seed]:
                    lane = by_slot.get(slot)
                    if lane is None:
                        continue
                    total = len(lane)
                    if total < min_size:
                        continue
                    # At most ``total`` people (the seed included) are in the bucket.
                    if best_key is not None and (min(total, target), -pos, where, 1, 0) <= best_key:
                        continue
                    mixed, same, m_lo, m_hi, s_lo, s_hi, same_single = _scan(
                        ctx,
                        lane,
                        seed,
                        placed,
                        waste,
                        span,
                        r if theme is None else None,
                        cap,
                        g,
                        seed_single,
                    )
                    # Which lists to try: a single-gender wish, or no gender, leaves one; the
                    # same-gender list only adds something with a single wish in it or more
                    # people than the mixed list.
                    lists: tuple[tuple[list[int], int, int], ...]
                    if seed_single:
                        lists = ((same, s_lo, s_hi),)
                    elif g is None or (len(same) <= len(mixed) and not same_single):
                        lists = ((mixed, m_lo, m_hi),)
                    else:
                        lists = ((mixed, m_lo, m_hi), (same, s_lo, s_hi))
                    for others, ages_lo, ages_hi in lists:
                        # Everyone within one span (the usual case): the window is everyone.
                        if ages_hi - ages_lo <= span:
                            chosen = others
                        else:
                            chosen = best_window(ctx, seed, others, span)
                        n = len(chosen) + 1
                        if n < min_size:
                            continue
                        size = n if n <= max_size else _size(n, min_size, target, max_size)
                        members = [seed, *chosen[: size - 1]]
                        if size == min_size < target and min(members) >= old_cut:
                            continue
                        if is_digital:
                            orgs = sorted({org_of[m] for m in members})
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
) -> tuple[list[int], list[int], int, int, int, int, bool]:
    """Unplaced people of ``lane`` (the seed is marked placed, so left out) within ``span``
    years of the seed's age, longest-waiting first: the first ``cap`` without a single-gender
    wish (unless the seed has one) and the first ``cap`` of gender ``g`` (if ``g`` is given);
    with the lowest and highest age band of each list, the seed's included (so the caller can
    see at once whether one age window holds everyone).

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
    m_lo = m_hi = s_lo = s_hi = a
    want_mixed = not seed_single
    want_same = g is not None
    mixed: list[int] = []
    same: list[int] = []
    same_single = False  # someone in ``same`` has a single-gender wish
    skipped = 0
    if cross is not None and not ctx.uniform_rules:
        # Cross-problem group while organisations have different rules: someone eligible under
        # their own rules may not have waited long enough under the group's.
        own_rules = ctx.own_rules
        ok = ctx.cross_ok
        for ci in lane:
            if placed[ci]:
                skipped += 1
                continue
            x = age[ci]
            if lo <= x <= hi and (own_rules[ci] is cross or ok(ci, cross)):
                if want_same and len(same) < cap and gender[ci] == g:
                    same.append(ci)
                    s_lo, s_hi = min(s_lo, x), max(s_hi, x)
                if want_mixed and len(mixed) < cap and not single[ci]:
                    mixed.append(ci)
                    m_lo, m_hi = min(m_lo, x), max(m_hi, x)
                if len(mixed) >= (cap if want_mixed else 0) and len(same) >= (
                    cap if want_same else 0
                ):
                    break
        same_single = any(single[ci] for ci in same)
    # Three more copies of the loop so that the common cases test as little as possible.
    elif not want_same:
        for ci in lane:
            if placed[ci]:
                skipped += 1
                continue
            x = age[ci]
            if lo <= x <= hi and not single[ci]:
                mixed.append(ci)
                if x < m_lo:
                    m_lo = x
                elif x > m_hi:
                    m_hi = x
                if len(mixed) >= cap:
                    break
    elif not want_mixed:
        for ci in lane:
            if placed[ci]:
                skipped += 1
                continue
            x = age[ci]
            if gender[ci] == g and lo <= x <= hi:
                same.append(ci)
                if x < s_lo:
                    s_lo = x
                elif x > s_hi:
                    s_hi = x
                if len(same) >= cap:
                    break
    else:
        n_mixed = n_same = 0
        for ci in lane:
            if placed[ci]:
                skipped += 1
                continue
            x = age[ci]
            if lo <= x <= hi:
                if n_mixed < cap and not single[ci]:
                    mixed.append(ci)
                    n_mixed += 1
                    if x < m_lo:
                        m_lo = x
                    elif x > m_hi:
                        m_hi = x
                if n_same < cap and gender[ci] == g:
                    same.append(ci)
                    n_same += 1
                    if single[ci]:
                        same_single = True
                    if x < s_lo:
                        s_lo = x
                    elif x > s_hi:
                        s_hi = x
                    if n_same >= cap and n_mixed >= cap:
                        break
                elif n_mixed >= cap and n_same >= cap:
                    break
    if skipped:
        key = id(lane)
        total = waste.get(key, 0) + skipped
        if total * _COMPACT >= len(lane):
            placed[seed] = 0  # only marked (see :func:`greedy`): it stays in the lane
            lane[:] = [ci for ci in lane if not placed[ci]]
            placed[seed] = 1
            total = 0
        waste[key] = total
    return mixed, same, m_lo, m_hi, s_lo, s_hi, same_single


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
