"""The bitset greedy forms exactly the groups of the list-based one it replaced.

``greedy_reference.py`` is the greedy before the bitsets (lanes as lists, walked person by
person), kept as the oracle. Both run on the same pools with the same facilitator capacity and
must return the same groups (members, option, facilitator) in the same order.
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
from matching.model import Candidate, Facilitator, RuleBook, Rules
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
def test_bitset_greedy_equals_the_list_greedy(
    pool_of: str,
    local: bool,
    digital: bool,
    inst: tuple[list[Candidate], RuleBook, list[Facilitator]],
) -> None:
    cands, book, facs = inst
    _both(cands, book, facs, pool_of, local=local, digital=digital)


@pytest.mark.parametrize("overrides", [False, True])
def test_bitset_greedy_equals_the_list_greedy_country_wide(overrides: bool) -> None:
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
    """The NumPy codes the bitsets are built from say the same as the candidates."""
    cands, book, facs = inst
    ctx = Context(cands, book, facs, NOW)
    codes = ctx.codes
    for ci, c in enumerate(ctx.cands):
        assert {t for j, t in enumerate(codes.themes) if codes.theme_tab[ci, j]} == set(c.themes)
        assert {v for j, v in enumerate(codes.langs) if codes.lang_tab[ci, j]} == c.languages
        assert {v for j, v in enumerate(codes.slots) if codes.slot_tab[ci, j]} == c.slots
        assert codes.age[ci] == c.age_band
        assert codes.genders[codes.gender[ci]] == c.gender
        assert codes.orgs[codes.org[ci]] == c.organisation
        assert bool(codes.notsingle[ci]) == (not (c.same_gender and c.gender is not None))
        assert bool(codes.welcome[ci]) == c.cross_problem_welcome
        assert codes.rules_of[codes.rules[ci]] is ctx.own_rules[ci]
        if c.digital_welcome:
            assert codes.dpools[codes.dpool[ci]] == ctx.dpool(ci)
        else:
            assert codes.dpool[ci] == -1


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
    assert np.array_equal(a.codes.slot_tab, b.codes.slot_tab)


@FAST
@given(instances(max_n=60))
def test_small_pools_get_the_same_bitsets(
    inst: tuple[list[Candidate], RuleBook, list[Facilitator]],
) -> None:
    """Bitsets built person by person (small pools) equal those built from the NumPy codes."""
    cands, book, facs = inst
    ctx = Context(cands, book, facs, NOW)
    pool = list(range(len(ctx.cands)))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fast, "_SMALL", len(pool))
        small = fast._Bits(ctx, pool)
        mp.setattr(fast, "_SMALL", -1)
        large = fast._Bits(ctx, pool)
    for name in ("theme", "lang", "slot", "band", "gender", "notsingle", "org", "dpool", "wanted"):
        assert getattr(small, name) == getattr(large, name), name
