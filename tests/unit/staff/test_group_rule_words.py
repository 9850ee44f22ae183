"""Every line the rule checker can write about a manual group is worded for staff, in each
language, naming the rule (a line left in the checker's English would mean a rule changed)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from matching.check import violations
from matching.model import Candidate, Facilitator, GroupProposal, Plan, RuleBook, Rules
from staff.group_words import GroupWords

NOW = datetime(2026, 12, 7, tzinfo=UTC)


def _person(i: int, **kw: object) -> Candidate:
    base = Candidate(
        id=f"p{i}", organisation="o", municipality="4601", themes=("sorg",),
        cross_problem_welcome=False, age_band=33, gender="female", same_gender=False,
        languages=frozenset({"no"}), slots=frozenset({"tue-evening"}), digital_welcome=False,
        waiting_since=NOW - timedelta(days=40),
    )  # fmt: skip
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def _lines(people: list[Candidate], **group: object) -> list[str]:
    rules = Rules()
    fac = Facilitator("f", "o", frozenset({"angst"}), frozenset({"en"}), 0, False)
    shape = {"organisation": "o", "theme": "sorg", "language": "no", "slot": "tue-evening",
             "digital": False} | group  # fmt: skip
    proposal = GroupProposal(
        members=tuple(p.id for p in people),
        facilitator="f",
        rules=rules,
        **shape,  # type: ignore[arg-type]
    )
    return violations(Plan(groups=(proposal,)), people, RuleBook(), [fac], now=NOW)


CASES = [
    [_person(i) for i in range(3)],  # size
    [_person(0, age_band=18), *(_person(i, age_band=78) for i in range(1, 5))],  # age span
    [_person(0, themes=("angst",)), *(_person(i) for i in range(1, 5))],  # theme
    [_person(0, languages=frozenset({"en"})), *(_person(i) for i in range(1, 5))],  # language
    [_person(0, slots=frozenset({"mon-morning"})), *(_person(i) for i in range(1, 5))],  # slot
    [_person(0, same_gender=True), _person(1, gender="male"), *(_person(i) for i in range(2, 5))],
    [_person(0, organisation="x"), *(_person(i) for i in range(1, 5))],  # catchment
]


@pytest.mark.parametrize("lang", ["nb", "nn", "en"])
def test_every_checker_line_is_worded(lang: str) -> None:
    words = GroupWords(lang)
    seen = 0
    for people in CASES:
        for line in _lines(people):
            rule = line.split("): ", 1)[-1]
            worded = words.rule(rule)
            assert worded != rule, f"not worded: {rule!r}"
            seen += 1
    assert seen >= len(CASES)


def test_the_size_rule_names_the_numbers() -> None:
    assert GroupWords("en").rule("size 3 outside 4..8") == (
        "Group size: the group would have 3 people; a group has 4 to 8."
    )
