"""The fast diagnosis gives exactly the reasons and suggestions of the plain one."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from matching import diagnose as fast
from matching.algorithm import components, solve_component
from matching.context import Context
from matching.model import Candidate, Facilitator, RuleBook
from unit.matching import diagnose_reference as plain
from unit.matching.matching_strategies import NOW, instances

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("direct_max", [0, 3, fast._DIRECT_MAX])
@FAST
@given(instances(max_n=60))
def test_fast_diagnosis_equals_the_plain_one(
    direct_max: int, inst: tuple[list[Candidate], RuleBook, list[Facilitator]]
) -> None:
    cands, book, facs = inst
    ctx = Context(cands, book, facs, NOW)
    placed = {m for comp in components(ctx) for f in solve_component(ctx, comp) for m in f.members}
    unplaced = [ci for ci in range(len(ctx.cands)) if ci not in placed]
    expected = plain.diagnose(ctx, unplaced)
    with pytest.MonkeyPatch.context() as mp:
        # 0: every bucket through the shared histograms; small: both paths mixed.
        mp.setattr(fast, "_DIRECT_MAX", direct_max)
        got = fast.diagnose(ctx, unplaced)
    # The plain version knows one suggestion; the fast one's ranked list starts with it (the
    # list itself is checked in test_suggest_ranking.py).
    assert [(u.candidate, u.reason, u.suggestion) for u in got] == [
        (u.candidate, u.reason, u.suggestion) for u in expected
    ]
