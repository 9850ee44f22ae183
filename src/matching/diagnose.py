"""Why someone was not placed, and every single change in their own choices that would help.

Works against the people still waiting and the facilitator capacity still free after all groups
are formed, so the reason describes the situation the person is actually in. Lazy: a reason is
worked out when somebody asks for it (:class:`Diagnosis`, behind :attr:`Plan.unplaced` and
:meth:`Plan.why`), not for everyone in every run. Counting is memoised
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
    """Reason and suggestions for each unplaced candidate index, all at once."""
    d = Diagnosis(ctx, unplaced)
    return [d.explain(u) for u in unplaced]


class Diagnosis:
    """Reasons for the people of one run left waiting, each worked out when first asked for.

    Implements :class:`matching.model.Explainer`. Built at the end of :func:`form_groups` from
    the run's context, so it sees the people still waiting and the facilitator capacity still
    free; nothing changes either afterwards. The shared index of the unplaced is built on the
    first question; every cache below is keyed by what the answer depends on, so a reason
    never depends on who was asked about first (the plan's fingerprints check this).
    """

    def __init__(self, ctx: Context, unplaced: list[int]) -> None:
        self._ctx = ctx
        self._unplaced = unplaced
        self._ids: tuple[str, ...] | None = None
        self._at: dict[str, int] | None = None
        self._ready = False
        self._answers: dict[int, Unplaced] = {}

    @property
    def waiting(self) -> tuple[str, ...]:
        """Ids of everyone left waiting, sorted."""
        if self._ids is None:
            cands = self._ctx.cands
            self._ids = tuple(sorted(cands[u].id for u in self._unplaced))
        return self._ids

    def why(self, candidate: str) -> Unplaced:
        """Reason and suggestion for one waiting person (``KeyError`` for anyone else)."""
        if self._at is None:
            cands = self._ctx.cands
            self._at = {cands[u].id: u for u in self._unplaced}
        return self.explain(self._at[candidate])

    def explain(self, u: int) -> Unplaced:
        """Reason and suggestion for the unplaced candidate index ``u``."""
        found = self._answers.get(u)
        if found is None:
            if not self._ready:
                self._prepare()
            found = self._answers[u] = self._work_out(u)
        return found

    def _prepare(self) -> None:
        ctx = self._ctx
        self._index = _index(ctx, self._unplaced)
        self._memo: dict[tuple[int, int, bool, str | None, int], Count] = {}
        self._hists: dict[int, Hist] = {}
        self._fac_memo: dict[tuple[bool, str, str | None, str], bool] = {}
        self._pool_langs: dict[str, set[str]] = {}
        for pool, _, lang in self._index:
            self._pool_langs.setdefault(pool, set()).add(lang)
        self._digital_anywhere: set[tuple[str, str]] = {
            (slug, lang)
            for (is_digital, _, slug, lang), ids in ctx.fac_index.items()
            if is_digital and any(ctx.left[i] > 0 for i in ids)
        }
        self._present: dict[int, list[tuple[str, list[int]]]] = {}
        self._ready = True

    def _has_fac(self, digital: bool, org: str, theme: str | None, lang: str) -> bool:
        k = (digital, org, theme, lang)
        got = self._fac_memo.get(k)
        if got is None:
            if digital and org == "*":
                got = (ACROSS if theme is None else theme, lang) in self._digital_anywhere
            else:
                got = self._ctx.facilitator(digital, [org], theme, lang) is not None
            self._fac_memo[k] = got
        return got

    def _count(self, u: int, bucket: list[int], r: Rules) -> Count:
        ctx = self._ctx
        if len(bucket) <= _DIRECT_MAX:
            return _count_direct(ctx, u, bucket, r)
        mk = (id(bucket), ctx.age[u], ctx.single[u], ctx.gender[u], id(r))
        found = self._memo.get(mk)
        if found is None:
            hist = self._hists.get(id(bucket))
            if hist is None:
                hist = self._hists[id(bucket)] = _histogram(ctx, bucket)
            found = self._memo[mk] = _count(ctx, u, hist, r)
        return found

    def _work_out(self, u: int) -> Unplaced:
        ctx = self._ctx
        reason = _reason(ctx, u, self._index, self._count, self._has_fac)
        ranked: tuple[Suggestion, ...] = ()
        if reason.kind is not ReasonKind.NOT_THIS_RUN:
            ranked = _suggest(
                ctx, u, self._count, self._has_fac, self._pool_langs, self._index, self._present
            )
        first = ranked[0] if ranked and not ranked[0].soon else None
        return Unplaced(ctx.cands[u].id, reason, first, ranked)


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


#: Grades of a change: places the person at the next run, or within days.
_NOW, _SOON = 2, 1
_KIND_RANK = {k: i for i, k in enumerate(SuggestionKind)}


def rank_key(s: Suggestion) -> tuple[bool, int, int, str]:
    """Best first: a change that places now before one that places soon (more likely to
    work), then the smallest change (kind order, slots in week order, Norwegian and English
    before other languages)."""
    v = s.value or ""
    within = SLOT_ORDER.get(v, 99) if s.kind is SuggestionKind.ADD_SLOT else 0
    if s.kind is SuggestionKind.ADD_LANGUAGE:
        within = _LANGUAGE_ORDER.get(v, 9)
    return (s.soon, _KIND_RANK[s.kind], within, v)


def _suggest(
    ctx: Context,
    u: int,
    count: CountFn,
    has_fac: FacFn,
    pool_langs: dict[str, set[str]],
    index: Index,
    present: dict[int, list[tuple[str, list[int]]]],
) -> tuple[Suggestion, ...]:
    """Every single change in u's own choices that would let a group form with u, ranked.

    A change counts when, with the people still waiting and a facilitator with capacity left,
    a group could form with u *now* (as :func:`matching.algorithm.form_groups` would propose
    it) or *soon* (exactly the minimum size and nobody there has waited long enough yet, or u
    has not waited long enough for a cross-problem group). ``present`` caches, per slot level
    of the index, its (slot, bucket) pairs in week order, so the search for extra slots only
    visits slots where somebody waits.
    """
    c = ctx.cands[u]
    r = ctx.own_rules[u]
    min_size = r.min_size
    quick = ctx.old(u, r) or min_size == r.target_size
    own = c.slots

    def grade(bucket: list[int]) -> int:
        if len(bucket) + 1 < min_size:
            return 0
        n, old, _ = count(u, bucket, r)
        if n + 1 > min_size or (n + 1 == min_size and (old or quick)):
            return _NOW
        return _SOON if n + 1 == min_size else 0

    def entries(
        by_slot: defaultdict[str, list[int]], slots: list[str] | None
    ) -> list[tuple[str, list[int]]]:
        if slots is not None:
            return [(s, b) for s in slots if (b := by_slot.get(s)) is not None]
        got = present.get(id(by_slot))
        if got is None:
            got = present[id(by_slot)] = [(s, by_slot[s]) for s in ALL_SLOTS if s in by_slot]
        return got

    def graded(
        modes: list[tuple[bool, str, str]],
        themes: list[str | None],
        langs: list[str],
        slots: list[str] | None,
        *,
        first_now: bool,
    ) -> dict[str, int]:
        """Slot -> best grade of a group with u there. ``slots=None``: every known slot u
        has not chosen. ``first_now``: stop at the first slot that places now (only the best
        grade over all slots is wanted)."""
        out: dict[str, int] = {}
        for digital, pool, forg in modes:
            for theme in themes:
                for lang in langs:
                    if not has_fac(digital, forg, theme, lang):
                        continue
                    by_slot = index.get((pool, theme, lang))
                    if by_slot is None:
                        continue
                    for slot, bucket in entries(by_slot, slots):
                        if slots is None and slot in own:
                            continue
                        have = out.get(slot, 0)
                        if have == _NOW:
                            continue
                        g = grade(bucket)
                        if g > have:
                            out[slot] = g
                            if g == _NOW and first_now:
                                return out
        return out

    def best(modes: list[tuple[bool, str, str]], themes: list[str | None], langs: list[str]) -> int:
        return max(graded(modes, themes, langs, own_slots, first_now=True).values(), default=0)

    modes = _modes(ctx, u, c.digital_welcome)
    themes = [t for t, _ in ctx.themes(u, r)]
    own_slots = ctx.slots[u]
    langs = ctx.langs[u]
    ranked: list[Suggestion] = [
        Suggestion(SuggestionKind.ADD_SLOT, slot, g == _SOON)
        for slot, g in graded(modes, themes, langs, None, first_now=False).items()
    ]
    if not c.digital_welcome:
        digital_only = [m for m in _modes(ctx, u, True) if m[0]]
        g = best(digital_only, themes, langs)
        if g:
            ranked.append(Suggestion(SuggestionKind.WELCOME_DIGITAL, None, g == _SOON))
    spoken = set()
    for _, pool, _ in modes:
        spoken |= pool_langs.get(pool, set())
    for lang in spoken - c.languages:
        g = best(modes, themes, [lang])
        if g:
            ranked.append(Suggestion(SuggestionKind.ADD_LANGUAGE, lang, g == _SOON))
    if not c.cross_problem_welcome:
        g = best(modes, [None], langs)
        if g:
            # Not waited long enough for a cross-problem group yet: it would place them soon.
            soon = g == _SOON or u >= ctx.cutoffs(r)[1]
            ranked.append(Suggestion(SuggestionKind.WELCOME_CROSS_PROBLEM, None, soon))
    ranked.sort(key=rank_key)
    return tuple(ranked)
