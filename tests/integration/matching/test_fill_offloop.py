"""The worker process hands back the same additions to open groups, and every person's full
list of suggestions, as a run on the loop."""

from __future__ import annotations

import random

from matching.fill import OpenGroup, Seated
from matching.job import OffLoopPlanner, compute_plan
from matching.model import RuleBook, Rules
from matching.service import Inputs
from unit.matching.matching_strategies import NOW, THEMES, person, starter


def _inputs() -> Inputs:
    rng = random.Random(13)
    people = [
        person(
            f"p{i:04d}",
            org=rng.choice(("A", "B")),
            themes=tuple(rng.sample(THEMES, rng.randint(1, 2))),
            cross=rng.random() < 0.5,
            age=rng.choice((33, 38, 43)),
            slots=frozenset(rng.sample(("tue-evening", "wed-evening", "thu-daytime"), 1)),
            digital=rng.random() < 0.3,
            days=rng.randint(0, 60),
        )
        for i in range(400)
    ]
    # Three wait on Tuesdays and three on Wednesdays in C: the one on Thursdays could complete
    # either group by adding a slot (two suggestions).
    people += [
        person(f"c{i}", org="C", slots=frozenset({slot}), days=40)
        for i, slot in enumerate(["tue-evening"] * 3 + ["wed-evening"] * 3 + ["thu-daytime"])
    ]
    four = tuple(Seated(38, "female", False, "A") for _ in range(4))
    groups = [OpenGroup(f"g{t}", "A", t, "no", "tue-evening", False, Rules(), four) for t in THEMES]
    facs = [starter(f"f{o}", org=o, free=n) for o, n in (("A", 3), ("B", 1), ("C", 2))]
    return Inputs(people, facs, RuleBook(), {o: o for o in "ABC"}, open_groups=groups)


async def test_the_worker_returns_the_additions_and_every_suggestion() -> None:
    inputs = _inputs()
    planner = OffLoopPlanner()
    try:
        off = await planner.compute(inputs, NOW)
    finally:
        planner.shutdown()
    on = compute_plan(inputs, NOW)
    assert len(on.additions) == 12  # three open groups of four, each filled to eight
    assert off.additions == on.additions
    assert off.plan == on.plan
    ranked = {u.candidate: u.suggestions for u in on.plan.unplaced}
    assert any(len(s) > 1 for s in ranked.values())
    assert {u.candidate: u.suggestions for u in off.plan.unplaced} == ranked
