"""The pure fill: waiting people join open groups before new groups are formed."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matching.algorithm import form_groups
from matching.check import fill_violations, violations
from matching.fill import Addition, OpenGroup, Seated, fill_groups, seated
from matching.model import Candidate, RuleBook, Rules
from unit.matching.matching_strategies import NOW, candidates, person, starter

FOUR = tuple(Seated(38, "female", False, "A") for _ in range(4))


def group(gid: str = "g1", **kw: object) -> OpenGroup:
    values: dict[str, object] = {
        "id": gid,
        "organisation": "A",
        "theme": "sorg",
        "language": "no",
        "slot": "tue-evening",
        "digital": False,
        "rules": Rules(),
        "members": FOUR,
        "closes_at": None,
    }
    values.update(kw)
    return OpenGroup(**values)  # type: ignore[arg-type]


def fill(people: list[Candidate], groups: list[OpenGroup], book: RuleBook | None = None):  # type: ignore[no-untyped-def]
    book = book or RuleBook()
    result = fill_groups(people, groups, book, now=NOW)
    assert fill_violations(result.additions, people, groups, book, now=NOW) == []
    return result


def added(people: list[Candidate], groups: list[OpenGroup], **kw: object) -> set[str]:
    return {a.candidate for a in fill(people, groups, **kw).additions}  # type: ignore[arg-type]


def test_longest_waiting_first_and_never_past_max() -> None:
    people = [person(f"p{i}", days=10 + i) for i in range(6)]  # p5 has waited longest
    result = fill(people, [group()])  # 4 members, max 8: room for 4
    assert [a.candidate for a in result.additions] == ["p5", "p4", "p3", "p2"]
    assert {c.id for c in result.rest} == {"p0", "p1"}


def test_a_full_group_takes_nobody() -> None:
    full = group(members=tuple(Seated(38, "female", False, "A") for _ in range(8)))
    assert added([person("p1")], [full]) == set()


def test_the_same_rules_as_forming_a_group() -> None:
    g = group()
    assert added([person("old", age=58)], [g]) == set()  # 38..58: span 20 > 15
    assert added([person("en", languages=frozenset({"en"}))], [g]) == set()
    assert added([person("wed", slots=frozenset({"wed-evening"}))], [g]) == set()
    assert added([person("angst", themes=("angst",))], [g]) == set()
    assert added([person("other", org="B")], [g]) == set()  # another catchment
    assert added([person("fits", age=48)], [g]) == {"fits"}


def test_single_gender_wishes_both_ways() -> None:
    mixed = group(members=(*FOUR[:3], Seated(38, "male", False, "A")))
    assert added([person("w", same_gender=True)], [mixed]) == set()
    women = group(members=(*FOUR[:3], Seated(38, "female", True, "A")))
    assert added([person("m", gender="male")], [women]) == set()
    assert added([person("w2")], [women]) == {"w2"}


def test_cross_problem_group_only_after_the_wait() -> None:
    across = group(theme=None, rules=Rules(cross_problem_after_days=21))
    early = person("early", themes=("angst",), cross=True, days=20)
    late = person("late", themes=("angst",), cross=True, days=22)
    unwilling = person("no", themes=("angst",), cross=False, days=60)
    assert added([early, late, unwilling], [across]) == {"late"}
    shorter = group(theme=None, rules=Rules(cross_problem_after_days=7))
    assert added([early], [shorter]) == {"early"}


def test_digital_pooling_across_catchments() -> None:
    digital = group(digital=True)
    away = person("b", org="B", digital=True)
    assert added([away], [digital]) == {"b"}
    assert added([replace(away, digital_welcome=False)], [digital]) == set()
    closed = RuleBook(overrides={"B": Rules(pool_digital_across_catchments=False)})
    assert added([away], [digital], book=closed) == set()


def test_never_into_a_group_closed_to_newcomers() -> None:
    closing = group(closes_at=NOW)  # the first meeting is too close (or has begun)
    assert added([person("p")], [closing]) == set()
    assert added([person("p")], [group(closes_at=NOW + timedelta(minutes=1))]) == {"p"}


def test_preferred_theme_then_the_smaller_group() -> None:
    sorg = group("g-sorg", members=FOUR + FOUR[:1])
    angst = group("g-angst", theme="angst")
    p = person("p", themes=("sorg", "angst"))
    assert fill([p], [sorg, angst]).additions == (Addition("g-sorg", "p"),)
    other = group("g-sorg2", members=FOUR)
    assert fill([p], [sorg, other]).additions == (Addition("g-sorg2", "p"),)


def test_checker_catches_each_broken_addition() -> None:
    g = group(members=(*FOUR[:3], Seated(38, "female", True, "A")))
    book = RuleBook()
    bad = [
        (person("m", gender="male"), "single-gender"),
        (person("x", themes=("angst",)), "theme"),
        (person("y", languages=frozenset({"en"})), "language"),
        (person("z", slots=frozenset({"wed-evening"})), "slot"),
        (person("o", age=68), "age span"),
        (person("b", org="B"), "another catchment"),
    ]
    for cand, words in bad:
        problems = fill_violations([Addition("g1", cand.id)], [cand], [g], book, now=NOW)
        assert any(words in p for p in problems), (words, problems)
    ok = person("ok")
    assert fill_violations([Addition("g1", "ok")], [ok], [g], book, now=NOW) == []
    twice = fill_violations([Addition("g1", "ok")] * 2, [ok], [g], book, now=NOW)
    assert any("added 2 times" in p for p in twice)
    late = fill_violations([Addition("g1", "ok")], [ok], [group(closes_at=NOW)], book, now=NOW)
    assert any("closed to newcomers" in p for p in late)
    many = [person(f"q{i}") for i in range(5)]
    over = fill_violations([Addition("g1", c.id) for c in many], many, [g], book, now=NOW)
    assert any("size 9 > 8" in p for p in over)


@pytest.mark.parametrize("days", [0, 30])
def test_below_target_rule_holds_small_groups_back(days: int) -> None:
    book = RuleBook(Rules(below_target_after_days=days, min_size_after_days=0))
    people = [person(f"p{i}", days=10) for i in range(5)]
    facs = [starter("f1")]
    plan = form_groups(people, book, now=NOW, facilitators=facs)
    assert violations(plan, people, book, facs, now=NOW) == []
    assert len(plan.groups) == (1 if days == 0 else 0)
    six = [*people, person("p5", days=10)]
    assert len(form_groups(six, book, now=NOW, facilitators=facs).groups) == 1


def test_checker_knows_the_below_target_rule() -> None:
    people = [person(f"p{i}", days=10) for i in range(5)]
    plan = form_groups(
        people, RuleBook(Rules(min_size_after_days=0)), now=NOW, facilitators=[starter("f1")]
    )
    strict = RuleBook(Rules(min_size_after_days=0, below_target_after_days=30))
    fixed = type(plan)(tuple(replace(g, rules=strict.default) for g in plan.groups), plan.unplaced)
    assert any(
        "below target" in p for p in violations(fixed, people, strict, [starter("f1")], now=NOW)
    )


def test_rules_repr_unchanged_unless_the_new_rule_is_set() -> None:
    assert "below_target" not in repr(Rules())
    assert "below_target_after_days=7" in repr(Rules(below_target_after_days=7))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.tuples(*(candidates(i, ("A", "B")) for i in range(24))))
def test_fill_then_form_never_breaks_a_rule(people: tuple[Candidate, ...]) -> None:
    """Open groups built from a first plan, then the rest filled in: the checkers agree."""
    book = RuleBook(overrides={"B": Rules(pool_digital_across_catchments=False)})
    facs = [starter("fa"), starter("fb", org="B")]
    first = form_groups(people[:14], book, now=NOW - timedelta(days=7), facilitators=facs)
    by_id = {c.id: c for c in people}
    groups = [
        OpenGroup(
            f"g{k}", g.organisation, g.theme, g.language, g.slot, g.digital, g.rules,
            tuple(seated(by_id[m]) for m in g.members),
        )
        for k, g in enumerate(first.groups)
    ]  # fmt: skip
    waiting = [c for c in people if c.id not in first.placed]
    result = fill_groups(waiting, groups, book, now=NOW)
    assert fill_violations(result.additions, waiting, groups, book, now=NOW) == []
    assert {a.candidate for a in result.additions}.isdisjoint(c.id for c in result.rest)
    assert len(result.additions) + len(result.rest) == len(waiting)
    rest = form_groups(result.rest, book, now=NOW, facilitators=facs)
    assert violations(rest, list(result.rest), book, facs, now=NOW) == []


def test_a_group_is_not_offered_again_to_someone_who_left_it() -> None:
    left = group(former=frozenset({"p"}))
    assert added([person("p")], [left]) == set()
    assert added([person("q")], [left]) == {"q"}
    problems = fill_violations([Addition("g1", "p")], [person("p")], [left], RuleBook(), now=NOW)
    assert any("was in the group before" in p for p in problems)
