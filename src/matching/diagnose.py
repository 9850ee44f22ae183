"""Why someone was not placed, and the smallest change in their own choices that would help.

Runs after all groups are formed, against the people still waiting and the facilitator capacity
still free, so the reason describes the situation the person is actually in. Counting is memoised
per (bucket, age band, gender wish): in a big city thousands of people share a few buckets, and
this keeps the diagnosis linear in practice.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from matching.context import SLOT_ORDER, Context
from matching.model import (
    ACROSS,
    ALL_SLOTS,
    Reason,
    ReasonKind,
    Rules,
    Suggestion,
    SuggestionKind,
    Unplaced,
)

# Closest to a group first.
_STATUS_RANK = {
    ReasonKind.NOT_THIS_RUN: 4,
    ReasonKind.NO_FACILITATOR: 3,
    ReasonKind.WAITING_FOR_FIFTH: 2,
    ReasonKind.TOO_FEW: 1,
}
_LANGUAGE_ORDER = {"no": 0, "en": 1}

#: People in the best window, anyone "old" there, and the one of them who has waited longest.
Count = tuple[int, bool, int]
_EMPTY: Count = (0, False, -1)
#: Buckets up to this size are counted directly from their members; bigger ones get a shared
#: per-age histogram (built once) and memoised answers per (age band, gender wish, rules).
_DIRECT_MAX = 24

#: (pool, theme, language) -> slot -> unplaced people in priority order.
Index = dict[tuple[str, str | None, str], defaultdict[str, list[int]]]


def diagnose(ctx: Context, unplaced: list[int]) -> list[Unplaced]:
    """Reason and suggestion for each unplaced candidate index."""
    if not unplaced:
        return []
    index = _index(ctx, unplaced)
    memo: dict[tuple[int, int, bool, str | None, int], Count] = {}
    hists: dict[int, Hist] = {}
    fac_memo: dict[tuple[bool, str, str | None, str], bool] = {}
    pool_langs: dict[str, set[str]] = {}
    for pool, _, lang in index:
        pool_langs.setdefault(pool, set()).add(lang)

    digital_anywhere: set[tuple[str, str]] = {
        (slug, lang)
        for (is_digital, _, slug, lang), ids in ctx.fac_index.items()
        if is_digital and any(ctx.left[i] > 0 for i in ids)
    }

    def has_fac(digital: bool, org: str, theme: str | None, lang: str) -> bool:
        k = (digital, org, theme, lang)
        if k not in fac_memo:
            if digital and org == "*":
                fac_memo[k] = (ACROSS if theme is None else theme, lang) in digital_anywhere
            else:
                fac_memo[k] = ctx.facilitator(digital, [org], theme, lang) is not None
        return fac_memo[k]

    def count(u: int, bucket: list[int], r: Rules) -> Count:
        if len(bucket) <= _DIRECT_MAX:
            return _count_direct(ctx, u, bucket, r)
        mk = (id(bucket), ctx.age[u], ctx.single[u], ctx.gender[u], id(r))
        found = memo.get(mk)
        if found is None:
            hist = hists.get(id(bucket))
            if hist is None:
                hist = hists[id(bucket)] = _histogram(ctx, bucket)
            found = memo[mk] = _count(ctx, u, hist, r)
        return found

    present: dict[int, list[tuple[str, list[int]]]] = {}
    out = []
    for u in unplaced:
        reason = _reason(ctx, u, index, count, has_fac)
        suggestion = None
        if reason.kind is not ReasonKind.NOT_THIS_RUN:
            suggestion = _suggest(ctx, u, count, has_fac, pool_langs, index, present)
        out.append(Unplaced(ctx.cands[u].id, reason, suggestion))
    return out


def _index(ctx: Context, members: list[int]) -> Index:
    """The buckets of :meth:`Context.buckets` (local and digital), nested by slot and built
    directly (no four-part keys)."""
    out: Index = {}
    for ci in sorted(members):
        c = ctx.cands[ci]
        pools = [c.organisation]
        if c.digital_welcome:
            pools.append(ctx.dpool(ci))
        themes: list[str | None] = list(c.themes)
        if ctx.cross_own[ci]:
            themes.append(None)
        slots = ctx.slots[ci]
        for theme in themes:
            for lang in ctx.langs[ci]:
                for pool in pools:
                    by_slot = out.get((pool, theme, lang))
                    if by_slot is None:
                        by_slot = out[(pool, theme, lang)] = defaultdict(list)
                    for slot in slots:
                        by_slot[slot].append(ci)
    return out


def _count_direct(ctx: Context, u: int, bucket: list[int], r: Rules) -> Count:
    """:func:`_count` straight from a small bucket's members (no histogram).

    Members are in priority order, so the first one of a window has waited longest.
    """
    age, single, gender = ctx.age, ctx.single, ctx.gender
    if len(bucket) == 1 and bucket[0] == u:  # most buckets of people left over: just u
        return (1, u < ctx.cutoffs(r)[0], u)
    a = age[u]
    span = r.max_age_span
    lo_a, hi_a = a - span, a + span
    best_n = 0
    best_first = 0
    g = gender[u]
    for cls in (0, 1):
        if cls == 0:
            if single[u]:
                continue
            near = [ci for ci in bucket if not single[ci] and lo_a <= age[ci] <= hi_a]
        else:
            if g is None:
                continue
            near = [ci for ci in bucket if gender[ci] == g and lo_a <= age[ci] <= hi_a]
        if not near:
            continue
        ages = [age[ci] for ci in near]
        lowest = min(min(ages), a)
        if max(max(ages), a) - lowest <= span:
            if len(near) > best_n:
                best_n, best_first = len(near), near[0]
            continue
        ordered = sorted(ages)
        for lo in sorted({x for x in ages if x <= a} | {a}):
            hi = lo + span
            n = bisect_right(ordered, hi) - bisect_left(ordered, lo)
            if n > best_n:
                best_n = n
                best_first = next(ci for ci, x in zip(near, ages, strict=True) if lo <= x <= hi)
    if best_n == 0:
        return _EMPTY
    return (best_n, best_first < ctx.cutoffs(r)[0], best_first)


#: Per gender class ("*" = no single-gender wish), per age band: (people, first in priority
#: order, i.e. the one who has waited longest).
Hist = dict[str | None, dict[int, tuple[int, int]]]


def _histogram(ctx: Context, bucket: list[int]) -> Hist:
    """Per gender class, per age band: (people, longest waiting). Class "*" = no single wish."""
    out: Hist = {}
    age, single, gender = ctx.age, ctx.single, ctx.gender
    for ci in bucket:  # priority order: the first one seen in a band has waited longest
        x = age[ci]
        for cls in (gender[ci], "*") if not single[ci] else (gender[ci],):
            ages = out.get(cls)
            if ages is None:
                ages = out[cls] = {}
            got = ages.get(x)
            ages[x] = (1, ci) if got is None else (got[0] + 1, got[1])
    return out


def _count(ctx: Context, u: int, hist: Hist, r: Rules) -> Count:
    """People in the bucket (u included if present) who fit one age window with u."""
    a = ctx.age[u]
    span = r.max_age_span
    classes: list[str | None] = []
    if not ctx.single[u]:
        classes.append("*")
    if ctx.gender[u] is not None:
        classes.append(ctx.gender[u])
    best_n = 0
    best_first = 0
    for cls in classes:
        ages = hist.get(cls)
        if not ages:
            continue
        near = [(x, k, w) for x, (k, w) in ages.items() if a - span <= x <= a + span]
        if not near:
            continue
        xs = [a] + [x for x, _, _ in near]
        # Usually everyone nearby fits one window; only otherwise try each window start.
        lowest = min(xs)
        starts = [lowest] if max(xs) - lowest <= span else sorted({x for x in xs if x <= a})
        for lo in starts:
            n, first = 0, -1
            for x, k, w in near:
                if lo <= x <= lo + span:
                    n += k
                    if first < 0 or w < first:
                        first = w
            if n > best_n:
                best_n, best_first = n, first
    if best_n == 0:
        return _EMPTY
    return (best_n, best_first < ctx.cutoffs(r)[0], best_first)


CountFn = Callable[[int, list[int], Rules], Count]
FacFn = Callable[[bool, str, str | None, str], bool]


def _modes(ctx: Context, u: int, digital_ok: bool) -> list[tuple[bool, str, str]]:
    """(digital, bucket pool, facilitator org) for the person's possible group kinds."""
    c = ctx.cands[u]
    out = [(False, c.organisation, c.organisation)]
    if digital_ok:
        dp = ctx.dpool(u)
        out.append((True, dp, "*" if dp == "digital:*" else c.organisation))
    return out


def _reason(ctx: Context, u: int, index: Index, count: CountFn, has_fac: FacFn) -> Reason:
    """The person's best option, "closest" to a group first (see ``_STATUS_RANK``).

    Every option gets an upper bound on its rank from its bucket size and facilitator alone;
    options are counted best bound first and the search stops once no bound can beat the best
    rank found. Ties go to the earliest option in (mode, theme, language, slot) order, exactly
    as a plain walk over all options would pick.
    """
    c = ctx.cands[u]
    r = ctx.own_rules[u]
    min_size, max_size = r.min_size, r.max_size
    opts: list[tuple[tuple[int, int, int, int], int, bool, str | None, bool, list[int] | None]] = []
    for digital, pool, forg in _modes(ctx, u, c.digital_welcome):
        where = 0 if digital else 1
        for theme, pos in ctx.themes(u, r):
            for lang in ctx.langs[u]:
                fac = has_fac(digital, forg, theme, lang)
                top = 4 if fac else 3
                by_slot = index.get((pool, theme, lang))
                for slot in ctx.slots[u]:
                    bucket = None if by_slot is None else by_slot.get(slot)
                    size = 0 if bucket is None else len(bucket)
                    # At most ``size`` people fit, and without a facilitator the option is at
                    # best NO_FACILITATOR, so its rank is at most this bound.
                    bound = (
                        top if size >= min_size else 1,
                        min(max(size - 1, 0), max_size),
                        -pos,
                        where,
                    )
                    opts.append((bound, -len(opts), digital, theme, fac, bucket))
    if not opts:
        return Reason(
            ReasonKind.NO_CHOICES,
            c.organisation,
            c.themes[0] if c.themes else None,
            0,
            r.min_size,
            c.cross_problem_welcome,
        )
    opts.sort(reverse=True)  # (bound, -position) is unique, so nothing else is compared
    best_key: tuple[tuple[int, int, int, int], int] | None = None
    best: tuple[ReasonKind, str | None, int, bool, int] = (ReasonKind.TOO_FEW, None, 0, False, 0)
    for bound, neg_at, digital, theme, fac, bucket in opts:
        if best_key is not None and (bound, neg_at) <= best_key:
            break
        n, old, first = _EMPTY if bucket is None else count(u, bucket, r)
        others = max(n - 1, 0)
        days_left = 0
        if others + 1 < min_size:
            kind = ReasonKind.TOO_FEW
        elif others + 1 == min_size < r.target_size and not old:
            kind = ReasonKind.WAITING_FOR_FIFTH
            wait_days = ctx.waited(first) / timedelta(days=1)
            days_left = max(1, math.ceil(r.min_size_after_days - wait_days))
        elif not fac:
            kind = ReasonKind.NO_FACILITATOR
        else:
            kind = ReasonKind.NOT_THIS_RUN
        key = ((_STATUS_RANK[kind], min(others, max_size), bound[2], bound[3]), neg_at)
        if best_key is None or key > best_key:
            best_key = key
            best = (kind, theme, others, digital, days_left)
    kind, theme, others, digital, days_left = best
    return Reason(
        kind, c.organisation, theme, others, min_size, c.cross_problem_welcome, digital, days_left
    )


def _suggest(
    ctx: Context,
    u: int,
    count: CountFn,
    has_fac: FacFn,
    pool_langs: dict[str, set[str]],
    index: Index,
    present: dict[int, list[tuple[str, list[int]]]],
) -> Suggestion | None:
    """The first change, smallest kind first, that would let a group form with u right now.

    ``present`` caches, per slot level of the index, its (slot, bucket) pairs in week order, so
    the search for an extra slot only visits slots where somebody waits.
    """
    c = ctx.cands[u]
    r = ctx.own_rules[u]
    old_u = ctx.old(u, r)
    own = c.slots

    def works(
        modes: list[tuple[bool, str, str]],
        themes: list[str | None],
        langs: list[str],
        slots: list[str] | None,
    ) -> str | None:
        """The first slot (week order) in which a group could form with u; None if none.
        ``slots=None`` means every known slot u has not chosen."""
        found: str | None = None
        for digital, pool, forg in modes:
            for theme in themes:
                for lang in langs:
                    if not has_fac(digital, forg, theme, lang):
                        continue
                    by_slot = index.get((pool, theme, lang))
                    if by_slot is None:
                        continue
                    if slots is None:
                        entries = present.get(id(by_slot))
                        if entries is None:
                            entries = present[id(by_slot)] = [
                                (s, by_slot[s]) for s in ALL_SLOTS if s in by_slot
                            ]
                    else:
                        entries = [(s, b) for s in slots if (b := by_slot.get(s)) is not None]
                    for slot, bucket in entries:
                        if found is not None and SLOT_ORDER[slot] >= SLOT_ORDER[found]:
                            break
                        if len(bucket) + 1 < r.min_size or (slots is None and slot in own):
                            continue
                        n, old, _ = count(u, bucket, r)
                        if n + 1 > r.min_size or (
                            n + 1 == r.min_size and (old or old_u or r.min_size == r.target_size)
                        ):
                            found = slot
        return found

    modes = _modes(ctx, u, c.digital_welcome)
    themes = [t for t, _ in ctx.themes(u, r)]
    own_slots = ctx.slots[u]
    slot = works(modes, themes, ctx.langs[u], None)
    if slot is not None:
        return Suggestion(SuggestionKind.ADD_SLOT, slot)
    if not c.digital_welcome:
        digital_only = [m for m in _modes(ctx, u, True) if m[0]]
        if works(digital_only, themes, ctx.langs[u], own_slots):
            return Suggestion(SuggestionKind.WELCOME_DIGITAL)
    spoken = set()
    for _, pool, _ in modes:
        spoken |= pool_langs.get(pool, set())
    for lang in sorted(spoken - c.languages, key=lambda x: (_LANGUAGE_ORDER.get(x, 9), x)):
        if works(modes, themes, [lang], own_slots):
            return Suggestion(SuggestionKind.ADD_LANGUAGE, lang)
    cross_now = u < ctx.cutoffs(r)[1]
    if not c.cross_problem_welcome and cross_now and works(modes, [None], ctx.langs[u], own_slots):
        return Suggestion(SuggestionKind.WELCOME_CROSS_PROBLEM)
    return None
