"""The compiled greedy forms exactly the groups of the list-based Python one.

``greedy_reference.py`` is the greedy before the bitsets (lanes as lists, walked person by
person; the bitset greedy that followed formed the same groups), kept as the oracle. Both run
on the same pools with the same facilitator capacity and must return the same groups (members,
option, facilitator) in the same order.
"""

from __future__ import annotations

import random
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from matching import greedy as fast
from matching.algorithm import components
from matching.context import Context, Formed
from matching.model import ACROSS, Candidate, Facilitator, RuleBook, Rules
from unit.matching import greedy_reference as plain
from unit.matching.matching_strategies import NOW, instances

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
import matching_scale as scale

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _groups(formed: list[Formed]) -> list[tuple[list[int], object, int]]:
    return [(f.members, f.option, f.facilitator) for f in formed]


def _both(
    cands: list[Candidate],
    book: RuleBook,
    facs: list[Facilitator],
    pool_of: str,
    *,
    local: bool,
    digital: bool,
    now: datetime = NOW,
) -> None:
    """Run both greedies on every pool of a fresh context each; assert the same groups."""
    runs = []
    for impl in (plain.greedy, fast.greedy):
        ctx = Context(cands, book, facs, now)
        out = []
        for comp in components(ctx):
            pools = [comp]
            if pool_of == "org":
                by_org: dict[str, list[int]] = {}
                for ci in comp:
                    by_org.setdefault(ctx.org[ci], []).append(ci)
                pools = [by_org[o] for o in sorted(by_org)]
            for pool in pools:
                out.append(_groups(impl(ctx, pool, local=local, digital=digital)))
        runs.append((out, list(ctx.left)))
    assert runs[1] == runs[0]


@pytest.mark.parametrize(
    ("pool_of", "local", "digital"),
    [("component", True, True), ("component", False, True), ("org", True, False)],
)
@FAST
@given(instances(max_n=80))
def test_compiled_greedy_equals_the_list_greedy(
    pool_of: str,
    local: bool,
    digital: bool,
    inst: tuple[list[Candidate], RuleBook, list[Facilitator]],
) -> None:
    cands, book, facs = inst
    _both(cands, book, facs, pool_of, local=local, digital=digital)


@pytest.mark.parametrize("overrides", [False, True])
def test_compiled_greedy_equals_the_list_greedy_country_wide(overrides: bool) -> None:
    """3,000 generated people, one pool per catchment and one country-wide pool: long lanes,
    several organisations and digital pools in one pass, and (with overrides) cross-problem
    groups under another organisation's rules."""
    people, facs = scale.population(3_000, 5)
    facs = [replace(f, free_starts=3) for f in facs]
    book = RuleBook()
    if overrides:
        orgs = sorted({p.organisation for p in people})
        small = Rules(
            min_size=3,
            target_size=5,
            max_size=6,
            max_age_span=10,
            cross_problem_after_days=14,
            min_size_after_days=14,
            pool_digital_across_catchments=False,
        )
        book = RuleBook(overrides={o: small for o in orgs[::2]})
    random.Random(5).shuffle(people)
    _both(people, book, facs, "org", local=True, digital=False, now=scale.NOW)
    _both(people, book, facs, "component", local=True, digital=True, now=scale.NOW)
    _both(people, book, facs, "component", local=False, digital=True, now=scale.NOW)


@FAST
@given(instances(max_n=40))
def test_codes_hold_every_choice(inst: tuple[list[Candidate], RuleBook, list[Facilitator]]) -> None:
    """The NumPy codes the compiled greedy works on say the same as the candidates."""
    cands, book, facs = inst
    ctx = Context(cands, book, facs, NOW)
    codes = ctx.codes

    def row(ptr: np.ndarray, val: np.ndarray, ci: int) -> list[int]:
        return [int(v) for v in val[ptr[ci] : ptr[ci + 1]]]

    for ci, c in enumerate(ctx.cands):
        assert [codes.themes[j] for j in row(codes.theme_ptr, codes.theme_val, ci)] == list(
            c.themes
        )
        assert [codes.langs[j] for j in row(codes.lang_ptr, codes.lang_val, ci)] == ctx.langs[ci]
        assert [codes.slots[j] for j in row(codes.slot_ptr, codes.slot_val, ci)] == ctx.slots[ci]
        assert codes.age[ci] == c.age_band
        g = codes.gender[ci]
        assert (codes.genders[g] if g >= 0 else None) == c.gender
        assert codes.orgs[codes.org[ci]] == c.organisation
        assert bool(codes.single[ci]) == (c.same_gender and c.gender is not None)
        assert bool(codes.welcome[ci]) == c.cross_problem_welcome
        assert bool(codes.cross_own[ci]) == ctx.cross_own[ci]
        assert codes.rules_of[codes.rules[ci]] is ctx.own_rules[ci]
        if c.digital_welcome:
            assert codes.dpools[codes.dpool[ci]] == ctx.dpool(ci)
        else:
            assert codes.dpool[ci] == -1
    themes, langs, orgs = len(codes.themes), max(len(codes.langs), 1), len(codes.orgs)
    slugs = int(codes.dims[3])
    for (dig, org, theme, lang), want in ctx.fac_index.items():
        if org in codes.orgs and lang in codes.langs and (theme in codes.themes or theme == ACROSS):
            t = codes.themes.index(theme) if theme in codes.themes else themes
            k = ((int(dig) * orgs + codes.orgs.index(org)) * slugs + int(codes.slug[t])) * langs
            k += codes.langs.index(lang)
            assert row(codes.fac_ptr, codes.fac_val, k) == want


def test_context_lists_do_not_depend_on_the_input_order() -> None:
    """The per-person lists are read in the given order and put in priority order."""
    people, facs = scale.population(500, 3)
    shuffled = list(people)
    random.Random(1).shuffle(shuffled)
    a = Context(people, RuleBook(), facs, scale.NOW)
    b = Context(shuffled, RuleBook(), facs, scale.NOW)
    assert [c.id for c in a.cands] == [c.id for c in b.cands]
    for name in ("age", "org", "gender", "single", "langs", "cross_own", "since"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.age == [c.age_band for c in a.cands]
    assert a.langs == [sorted(c.languages) for c in a.cands]
    for name in ("theme_ptr", "theme_val", "lang_val", "slot_val", "gender", "org", "dpool"):
        assert np.array_equal(getattr(a.codes, name), getattr(b.codes, name)), name
