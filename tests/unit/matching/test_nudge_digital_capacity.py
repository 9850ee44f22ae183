"""Digital groups need digital facilitators with free starts (issue 13 §2): when suggestions move
people to digital, the core must not start more digital groups than those facilitators can."""

from __future__ import annotations

from matching.algorithm import form_groups
from matching.check import violations
from matching.model import Candidate, Facilitator, ReasonKind, RuleBook
from unit.matching.matching_strategies import NOW, person, starter

ORGS = ("A", "B", "C", "D")


def spread(n: int) -> list[Candidate]:
    """``n`` people who welcome digital, spread over four organisations (one catchment each),
    so no organisation has enough of them for a local group."""
    return [person(f"p{i:02d}", org=ORGS[i % 4], digital=True, days=30 + i) for i in range(n)]


def plan(people: list[Candidate], facs: list[Facilitator]):  # type: ignore[no-untyped-def]
    result = form_groups(people, RuleBook(), now=NOW, facilitators=facs)
    assert violations(result, people, RuleBook(), facs, now=NOW) == []
    return result


def test_no_digital_facilitator_no_digital_group() -> None:
    people = spread(4)
    result = plan(people, [starter("f-local", org="A", digital=False, free=3)])
    assert result.groups == ()
    reasons = {u.reason.kind for u in result.unplaced}
    assert reasons == {ReasonKind.NO_FACILITATOR}
    assert all(u.reason.digital for u in result.unplaced)


def test_a_digital_facilitator_starts_one() -> None:
    people = spread(4)
    result = plan(people, [starter("f-digital", org="B", digital=True, free=1)])
    [group] = result.groups
    assert group.digital and group.facilitator == "f-digital" and len(group.members) == 4


def test_never_more_digital_groups_than_free_starts() -> None:
    people = spread(12)  # enough for two digital groups
    one = plan(people, [starter("f-digital", org="B", digital=True, free=1)])
    assert len(one.groups) == 1
    two = plan(people, [starter("f-digital", org="B", digital=True, free=2)])
    assert len(two.groups) == 2 and all(g.digital for g in two.groups)
    # Two digital facilitators with one start each also make two.
    facs = [starter("f1", org="A", free=1), starter("f2", org="C", free=1)]
    assert sorted(g.facilitator for g in plan(people, facs).groups) == ["f1", "f2"]


def test_a_busy_digital_facilitator_starts_nothing() -> None:
    result = plan(spread(8), [starter("f-digital", org="B", digital=True, free=0)])
    assert result.groups == ()
