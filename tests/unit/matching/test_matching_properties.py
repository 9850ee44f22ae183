"""Property-based tests: validity, determinism and monotonicity of ``form_groups``."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.algorithm import EXACT_MAX_CANDIDATES, form_groups
from matching.check import violations
from matching.model import GroupProposal, Plan, RuleBook
from unit.matching.matching_strategies import NOW, candidates, instances, person, starter

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(instances(max_n=60))
def test_every_group_satisfies_every_hard_rule(inst: tuple) -> None:
    cands, book, facs = inst
    plan = form_groups(cands, book, now=NOW, facilitators=facs)
    assert violations(plan, cands, book, facs, now=NOW) == []


@FAST
@given(instances(max_n=60))
def test_nobody_is_placed_twice_and_everyone_is_accounted_for(inst: tuple) -> None:
    cands, book, facs = inst
    plan = form_groups(cands, book, now=NOW, facilitators=facs)
    members = [m for g in plan.groups for m in g.members]
    assert len(members) == len(set(members))
    assert sorted(members + [u.candidate for u in plan.unplaced]) == sorted(c.id for c in cands)


@FAST
@given(instances(max_n=60), st.randoms(use_true_random=False))
def test_same_input_in_any_order_gives_the_same_plan(inst: tuple, rnd: random.Random) -> None:
    cands, book, facs = inst
    first = form_groups(cands, book, now=NOW, facilitators=facs)
    shuffled, sfacs = list(cands), list(facs)
    rnd.shuffle(shuffled)
    rnd.shuffle(sfacs)
    assert form_groups(shuffled, book, now=NOW, facilitators=sfacs) == first


@FAST
@given(instances(max_n=EXACT_MAX_CANDIDATES - 1), st.data())
def test_adding_a_candidate_never_reduces_the_number_placed(
    inst: tuple, data: st.DataObject
) -> None:
    cands, book, facs = inst
    orgs = tuple(sorted({f.organisation for f in facs} | {"A"}))
    extra = data.draw(candidates(999, orgs))
    before = form_groups(cands, book, now=NOW, facilitators=facs)
    after = form_groups([*cands, extra], book, now=NOW, facilitators=facs)
    assert len(after.placed) >= len(before.placed)


def test_checker_catches_each_kind_of_broken_group() -> None:
    people = [person(f"p{i}", days=40, age=23 + 5 * (i % 2)) for i in range(5)]
    old = person("old", age=78, days=40)
    fac = starter("f", free=1)
    book = RuleBook()
    good = GroupProposal(
        tuple(p.id for p in people), "A", "sorg", "no", "tue-evening", False, "f", book.default
    )
    ok = Plan((good,), ())
    assert violations(ok, people, book, [fac], now=NOW) == []
    cases = {
        "theme": replace(good, theme="angst"),
        "language": replace(good, language="en"),
        "slot": replace(good, slot="wed-evening"),
        "size": replace(good, members=good.members[:3]),
        "facilitator": replace(good, facilitator="nobody"),
        "age span": replace(good, members=(*good.members[:4], "old")),
    }
    for word, bad in cases.items():
        found = violations(Plan((bad,), ()), [*people, old], book, [fac], now=NOW)
        assert any(word in line for line in found), (word, found)
    twice = Plan((good, good), ())
    assert any("placed 2 times" in line for line in violations(twice, people, book, [fac], now=NOW))


def test_prefers_first_theme_and_target_size() -> None:
    # Six people share both 'sorg' and 'angst'; 'sorg' is everyone's first choice.
    people = [person(f"p{i}", themes=("sorg", "angst"), days=5) for i in range(6)]
    plan = form_groups(people, RuleBook(), now=NOW, facilitators=[starter("f")])
    assert [(g.theme, len(g.members)) for g in plan.groups] == [("sorg", 6)]


def test_group_of_four_waits_until_someone_has_waited_long_enough() -> None:
    young = [person(f"p{i}", days=3) for i in range(4)]
    plan = form_groups(young, RuleBook(), now=NOW, facilitators=[starter("f")])
    assert plan.groups == ()
    assert {u.reason.kind.value for u in plan.unplaced} == {"waiting_for_fifth"}
    older = [*young[:3], person("p3", days=30)]
    plan = form_groups(older, RuleBook(), now=NOW, facilitators=[starter("f")])
    assert len(plan.groups) == 1 and len(plan.groups[0].members) == 4


def test_single_gender_wish_is_honoured() -> None:
    women = [person(f"w{i}", same_gender=True, days=30) for i in range(4)]
    men = [person(f"m{i}", gender="male", days=30) for i in range(3)]
    plan = form_groups([*women, *men], RuleBook(), now=NOW, facilitators=[starter("f")])
    assert [set(g.members) for g in plan.groups] == [{w.id for w in women}]


def test_form_groups_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    # A small pool runs the exact step, i.e. creates a HiGHS instance; its banner ("Running
    # HiGHS ...") is written by C++ straight to file descriptor 1, so capfd is needed.
    people = [person(f"p{i}", days=30 + i) for i in range(6)]
    plan = form_groups(people, RuleBook(), now=NOW, facilitators=[starter("f")])
    assert len(plan.groups) == 1
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")
