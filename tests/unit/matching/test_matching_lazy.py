"""The reasons of the unplaced are worked out lazily, and lazily they are the same.

``form_groups`` returns a plan whose reasons are found when first asked for (issue 12: explaining
everyone was two thirds of a country-wide run). Asking about one person, in any order, must give
exactly what explaining everyone gives, and reading the waiting ids must explain nobody.
"""

from __future__ import annotations

import pickle
import random
from dataclasses import replace

import pytest

from matching.algorithm import form_groups
from matching.model import (
    GroupProposal,
    Plan,
    Reason,
    ReasonKind,
    RuleBook,
    Rules,
    Unplaced,
)
from unit.matching import plan_fingerprint as fp


def _country(n: int, seed: int) -> Plan:
    people, facs = fp.scale.population(n, seed)
    facs = [replace(f, free_starts=2) for f in facs]
    return form_groups(people, RuleBook(), now=fp.scale.NOW, facilitators=facs)


def test_one_persons_reason_equals_the_reason_among_everyones() -> None:
    asked = _country(2_000, 5)
    everyone = _country(2_000, 5)
    assert asked.waiting == everyone.waiting
    assert len(asked.waiting) > 100
    # Ask about people in a scrambled order first, then about everyone.
    order = list(asked.waiting)
    random.Random(1).shuffle(order)
    one_by_one = {cid: asked.why(cid) for cid in order[:300]}
    by_id = {u.candidate: u for u in everyone.unplaced}
    assert one_by_one == {cid: by_id[cid] for cid in order[:300]}
    assert asked.unplaced == everyone.unplaced
    assert [u.candidate for u in everyone.unplaced] == list(everyone.waiting)
    assert asked == everyone and hash(asked) == hash(everyone)
    assert repr(asked) == repr(everyone)


def test_placed_and_unknown_people_have_no_reason() -> None:
    plan = _country(2_000, 5)
    someone_placed = plan.groups[0].members[0]
    for cid in (someone_placed, "nobody"):
        with pytest.raises(KeyError):
            plan.why(cid)
    assert not set(plan.waiting) & plan.placed


class _Counting:
    """An explainer that counts the reasons it is asked for."""

    def __init__(self, ids: tuple[str, ...]) -> None:
        self.waiting = ids
        self.asked: list[str] = []

    def why(self, candidate: str) -> Unplaced:
        if candidate not in self.waiting:
            raise KeyError(candidate)
        self.asked.append(candidate)
        reason = Reason(ReasonKind.TOO_FEW, "org", None, 0, 4, True)
        return Unplaced(candidate, reason, None)


def test_waiting_ids_explain_nobody_and_everyone_is_explained_once() -> None:
    explainer = _Counting(("a", "b", "c"))
    plan = Plan((), explainer=explainer)
    assert plan.waiting == ("a", "b", "c")
    assert explainer.asked == []
    assert plan.why("b").candidate == "b"
    assert explainer.asked == ["b"]
    assert [u.candidate for u in plan.unplaced] == ["a", "b", "c"]
    assert [u.candidate for u in plan.unplaced] == ["a", "b", "c"]  # kept, not asked again
    assert explainer.asked == ["b", "a", "b", "c"]


def test_a_lazy_plan_pickles_and_stays_immutable() -> None:
    plan = _country(2_000, 11)
    copy = pickle.loads(pickle.dumps(plan))
    assert copy == plan and copy.unplaced == plan.unplaced
    with pytest.raises(AttributeError):
        plan.groups = ()  # type: ignore[misc]


def test_a_plan_given_its_unplaced_answers_the_same_questions() -> None:
    reason = Reason(ReasonKind.TOO_FEW, "org", None, 0, 4, True)
    u = Unplaced("x", reason, None)
    group = GroupProposal(
        ("a", "b", "c", "d"), "org", None, "no", "mon-evening", False, "f", Rules()
    )
    plan = Plan((group,), (u,))
    assert plan.waiting == ("x",) and plan.why("x") == u and plan.placed == {"a", "b", "c", "d"}
    with pytest.raises(KeyError):
        plan.why("a")
