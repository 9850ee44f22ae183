"""Why someone was not placed, and the smallest change in their own choices that would help.

Runs after all groups are formed, against the people still waiting and the facilitator capacity
still free, so the reason describes the situation the person is actually in. Counting is memoised
per (bucket, age band, gender wish): in a big city thousands of people share a few buckets, and
this keeps the diagnosis linear in practice.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import timedelta

from matching.context import BucketKey, Context
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


def diagnose(ctx: Context, unplaced: list[int]) -> list[Unplaced]:
    """Reason and suggestion for each unplaced candidate index."""
    if not unplaced:
        return []
    buckets = ctx.buckets(unplaced, local=True, digital=True)
    memo: dict[tuple[BucketKey, int, bool, str | None, str], Count] = {}
    fac_memo: dict[tuple[bool, str, str | None, str], bool] = {}
    pool_langs: dict[str, set[str]] = {}
    for key in buckets:
        pool_langs.setdefault(key[0], set()).add(key[2])

    def has_fac(digital: bool, org: str, theme: str | None, lang: str) -> bool:
        k = (digital, org, theme, lang)
        if k not in fac_memo:
            if digital:
                slug = ACROSS if theme is None else theme
                fac_memo[k] = (
                    any(
                        ctx.left[i] > 0
                        for (d, _, t, lg), ids in ctx.fac_index.items()
                        if d and t == slug and lg == lang
                        for i in ids
                    )
                    if org == "*"
                    else ctx.facilitator(True, [org], theme, lang) is not None
                )
            else:
                fac_memo[k] = ctx.facilitator(False, [org], theme, lang) is not None
        return fac_memo[k]

    def count(u: int, key: BucketKey, r: Rules) -> Count:
        c = ctx.cands[u]
        mk = (key, c.age_band, ctx.single[u], c.gender, c.organisation)
        if mk not in memo:
            memo[mk] = _count(ctx, u, buckets.get(key, []), r)
        return memo[mk]

    out = []
    for u in unplaced:
        reason = _reason(ctx, u, count, has_fac)
        suggestion = None
        if reason.kind is not ReasonKind.NOT_THIS_RUN:
            suggestion = _suggest(ctx, u, count, has_fac, pool_langs)
        out.append(Unplaced(ctx.cands[u].id, reason, suggestion))
    return out


def _count(ctx: Context, u: int, bucket: list[int], r: Rules) -> Count:
    """People in ``bucket`` (u included if present) who fit one age window with u."""
    c = ctx.cands
    a = c[u].age_band
    span = r.max_age_span
    g = c[u].gender
    single_u = ctx.single[u]
    cap = 3 * r.max_size
    hist_mixed: dict[int, list[int]] = {}
    hist_same: dict[int, list[int]] = {}
    n = 0
    for ci in bucket:
        x = c[ci].age_band
        if abs(x - a) > span:
            continue
        fits_mixed = not single_u and not ctx.single[ci]
        fits_same = g is not None and c[ci].gender == g
        if fits_mixed:
            hist_mixed.setdefault(x, []).append(ci)
        if fits_same:
            hist_same.setdefault(x, []).append(ci)
        n += fits_mixed or fits_same
        if n >= cap:
            break
    best: Count = (0, False, timedelta(0))
    for hist in (hist_mixed, hist_same):
        for lo in sorted({x for x in hist if x <= a} | {a - span, a}):
            if lo < a - span:
                continue
            inside = [ci for x, cis in hist.items() if lo <= x <= lo + span for ci in cis]
            if len(inside) > best[0]:
                waits = [ctx.waited[ci] for ci in inside]
                best = (len(inside), any(ctx.old(ci, r) for ci in inside), max(waits))
    return best


CountFn = Callable[[int, BucketKey, Rules], Count]
FacFn = Callable[[bool, str, str | None, str], bool]


def _modes(ctx: Context, u: int, digital_ok: bool) -> list[tuple[bool, str, str]]:
    """(digital, bucket pool, facilitator org) for the person's possible group kinds."""
    c = ctx.cands[u]
    out = [(False, c.organisation, c.organisation)]
    if digital_ok:
        dp = ctx.dpool(u)
        out.append((True, dp, "*" if dp == "digital:*" else c.organisation))
    return out


def _reason(ctx: Context, u: int, count: CountFn, has_fac: FacFn) -> Reason:
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
    ctx: Context, u: int, count: CountFn, has_fac: FacFn, pool_langs: dict[str, set[str]]
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
    ) -> bool:
        for digital, pool, forg in modes:
            for theme in themes:
                for lang in langs:
                    if not has_fac(digital, forg, theme, lang):
                        continue
                    for slot in slots:
                        n, old, _ = count(u, (pool, theme, lang, slot), r)
                        if n + 1 > r.min_size or (
                            n + 1 == r.min_size and (old or old_u or r.min_size == r.target_size)
                        ):
                            return True
        return False

    modes = _modes(ctx, u, c.digital_welcome)
    themes = [t for t, _ in ctx.themes(u, r)]
    own_slots = ctx.slots[u]
    for slot in ALL_SLOTS:
        if slot not in c.slots and works(modes, themes, ctx.langs[u], [slot]):
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
