"""The straightforward diagnosis (as it was before the fast one), kept as a test oracle.

``matching.diagnose`` counts small buckets directly, prunes options that cannot beat the best
reason so far and shares histograms of big buckets; ``test_matching_diagnose.py`` checks that it
still returns exactly what this plain version returns. Only ``waited`` is adapted (the context
no longer keeps a list of timedeltas).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from matching.context import SLOT_ORDER, BucketKey, Context
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

Count = tuple[int, bool, timedelta]  # people in best window, anyone "old" there, longest wait
_EMPTY: Count = (0, False, timedelta(0))


def diagnose(ctx: Any, unplaced: list[int]) -> list[Unplaced]:
    """Reason and suggestion for each unplaced candidate index."""
    if not unplaced:
        return []
    ctx = _WithWaited(ctx)
    buckets = ctx.buckets(unplaced, local=True, digital=True)
    memo: dict[tuple[BucketKey, int, bool, str | None, str], Count] = {}
    hists: dict[BucketKey, Hist] = {}
    fac_memo: dict[tuple[bool, str, str | None, str], bool] = {}
    pool_langs: dict[str, set[str]] = {}
    for key in buckets:
        pool_langs.setdefault(key[0], set()).add(key[2])

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

    def count(u: int, key: BucketKey, r: Rules) -> Count:
        bucket = buckets.get(key)
        if bucket is None:
            return _EMPTY
        c = ctx.cands[u]
        mk = (key, c.age_band, ctx.single[u], c.gender, c.organisation)
        if mk not in memo:
            if key not in hists:
                hists[key] = _histogram(ctx, bucket)
            memo[mk] = _count(ctx, u, hists[key], r)
        return memo[mk]

    out = []
    for u in unplaced:
        reason = _reason(ctx, u, count, has_fac)
        suggestion = None
        if reason.kind is not ReasonKind.NOT_THIS_RUN:
            suggestion = _suggest(ctx, u, count, has_fac, pool_langs, buckets)
        out.append(Unplaced(ctx.cands[u].id, reason, suggestion))
    return out


Hist = dict[str | None, dict[int, tuple[int, timedelta]]]


class _WithWaited:
    """The context, plus ``waited`` as a list like the old context had."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.waited = [c.waited(ctx.now) for c in ctx.cands]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


def _histogram(ctx: Any, bucket: list[int]) -> Hist:
    """Per gender class, per age band: (people, longest wait). Class "*" = no single wish."""
    out: Hist = {}
    for ci in bucket:
        c = ctx.cands[ci]
        classes: list[str | None] = [c.gender]
        if not ctx.single[ci]:
            classes.append("*")
        for cls in classes:
            ages = out.setdefault(cls, {})
            n, w = ages.get(c.age_band, (0, timedelta(0)))
            ages[c.age_band] = (n + 1, max(w, ctx.waited[ci]))
    return out


def _count(ctx: Any, u: int, hist: Hist, r: Rules) -> Count:
    """People in the bucket (u included if present) who fit one age window with u."""
    a = ctx.cands[u].age_band
    span = r.max_age_span
    classes: list[str | None] = []
    if not ctx.single[u]:
        classes.append("*")
    if ctx.cands[u].gender is not None:
        classes.append(ctx.cands[u].gender)
    old_after = timedelta(days=r.min_size_after_days)
    best: Count = _EMPTY
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
            n, longest = 0, timedelta(0)
            for x, k, w in near:
                if lo <= x <= lo + span:
                    n += k
                    if w > longest:
                        longest = w
            if n > best[0]:
                best = (n, longest >= old_after, longest)
    return best


CountFn = Callable[[int, BucketKey, Rules], Count]
FacFn = Callable[[bool, str, str | None, str], bool]


def _modes(ctx: Any, u: int, digital_ok: bool) -> list[tuple[bool, str, str]]:
    """(digital, bucket pool, facilitator org) for the person's possible group kinds."""
    c = ctx.cands[u]
    out = [(False, c.organisation, c.organisation)]
    if digital_ok:
        dp = ctx.dpool(u)
        out.append((True, dp, "*" if dp == "digital:*" else c.organisation))
    return out


def _reason(ctx: Any, u: int, count: CountFn, has_fac: FacFn) -> Reason:
    c = ctx.cands[u]
    r = ctx.own_rules[u]
    best: tuple[tuple[int, int, int, int], Reason] | None = None
    for digital, pool, forg in _modes(ctx, u, c.digital_welcome):
        for theme, pos in ctx.themes(u, r):
            for lang in ctx.langs[u]:
                fac = has_fac(digital, forg, theme, lang)
                for slot in ctx.slots[u]:
                    n, old, longest = count(u, (pool, theme, lang, slot), r)
                    others = max(n - 1, 0)
                    days_left = 0
                    if others + 1 < r.min_size:
                        kind = ReasonKind.TOO_FEW
                    elif others + 1 == r.min_size < r.target_size and not old:
                        kind = ReasonKind.WAITING_FOR_FIFTH
                        wait_days = longest / timedelta(days=1)
                        days_left = max(1, math.ceil(r.min_size_after_days - wait_days))
                    elif not fac:
                        kind = ReasonKind.NO_FACILITATOR
                    else:
                        kind = ReasonKind.NOT_THIS_RUN
                    rank = (_STATUS_RANK[kind], min(others, r.max_size), -pos, 0 if digital else 1)
                    if best is None or rank > best[0]:
                        why = Reason(
                            kind,
                            c.organisation,
                            theme,
                            others,
                            r.min_size,
                            c.cross_problem_welcome,
                            digital,
                            days_left,
                        )
                        best = (rank, why)
    if best is None:
        return Reason(
            ReasonKind.NO_CHOICES,
            c.organisation,
            c.themes[0] if c.themes else None,
            0,
            r.min_size,
            c.cross_problem_welcome,
        )
    return best[1]


def _suggest(
    ctx: Any,
    u: int,
    count: CountFn,
    has_fac: FacFn,
    pool_langs: dict[str, set[str]],
    buckets: dict[BucketKey, list[int]],
) -> Suggestion | None:
    """The first change, smallest kind first, that would let a group form with u right now."""
    c = ctx.cands[u]
    r = ctx.own_rules[u]
    old_u = ctx.old(u, r)

    def works(
        modes: list[tuple[bool, str, str]],
        themes: list[str | None],
        langs: list[str],
        slots: list[str],
    ) -> str | None:
        """The first slot (week order) in which a group could form with u; None if none."""
        found: str | None = None
        for digital, pool, forg in modes:
            for theme in themes:
                for lang in langs:
                    if not has_fac(digital, forg, theme, lang):
                        continue
                    for slot in slots:
                        if found is not None and SLOT_ORDER[slot] >= SLOT_ORDER[found]:
                            break
                        key = (pool, theme, lang, slot)
                        if len(buckets.get(key, ())) + 1 < r.min_size:
                            continue
                        n, old, _ = count(u, key, r)
                        if n + 1 > r.min_size or (
                            n + 1 == r.min_size and (old or old_u or r.min_size == r.target_size)
                        ):
                            found = slot
        return found

    modes = _modes(ctx, u, c.digital_welcome)
    themes = [t for t, _ in ctx.themes(u, r)]
    own_slots = ctx.slots[u]
    missing = [s for s in ALL_SLOTS if s not in c.slots]
    slot = works(modes, themes, ctx.langs[u], missing)
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
    cross_now = ctx.waited[u] >= timedelta(days=r.cross_problem_after_days)
    if not c.cross_problem_welcome and cross_now and works(modes, [None], ctx.langs[u], own_slots):
        return Suggestion(SuggestionKind.WELCOME_CROSS_PROBLEM)
    return None
