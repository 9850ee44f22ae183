"""The age window of the greedy heuristic picks exactly what the plain definition picks.

``best_window`` counts per age band for speed (issue 12); this compares it with the definition
written out plainly: among the windows ``[lo, lo + span]`` that contain the seed, the one with the
most others, the lowest on a tie, and the others in it in their given order.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.context import Context, best_window
from matching.model import Candidate, RuleBook

NOW = datetime(2026, 1, 1)


def _plain(ages: list[int], a: int, others: list[int], span: int) -> list[int]:
    best: list[int] = []
    for lo in range(a - span, a + 1):  # every window holding the seed, lowest first
        inside = [o for o in others if lo <= ages[o] <= lo + span]
        if len(inside) > len(best):
            best = inside
    return best


def _ctx(ages: list[int]) -> Context:
    people = [
        Candidate(
            id=f"p{i:03d}",
            organisation="org",
            municipality="0301",
            themes=("sorg",),
            cross_problem_welcome=False,
            age_band=x,
            gender=None,
            same_gender=False,
            languages=frozenset({"no"}),
            slots=frozenset({"mon-evening"}),
            digital_welcome=False,
            waiting_since=NOW - timedelta(days=i + 1),  # index i stays person i
        )
        for i, x in enumerate(ages)
    ]
    return Context(people, RuleBook(), [], NOW)


@settings(max_examples=300, deadline=None)
@given(
    ages=st.lists(st.integers(18, 80), min_size=2, max_size=14),
    span=st.integers(0, 25),
    data=st.data(),
)
def test_best_window_is_the_largest_lowest_window(
    ages: list[int], span: int, data: st.DataObject
) -> None:
    ctx = _ctx(ages)
    seed = data.draw(st.integers(0, len(ages) - 1))
    rest = [i for i in range(len(ages)) if i != seed]
    others = data.draw(st.permutations(rest)) if rest else []
    want = _plain(ctx.age, ctx.age[seed], list(others), span)
    assert best_window(ctx, seed, list(others), span) == want
