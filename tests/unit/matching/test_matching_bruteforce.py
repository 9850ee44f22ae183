"""The plan places as many people as a brute-force optimum on small random instances.

The brute force shares no code with the algorithm: it enumerates every subset of candidates,
checks the hard rules in its own words, and searches all ways to pick disjoint groups and assign
facilitators within capacity.
"""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from itertools import combinations

from hypothesis import HealthCheck, given, settings

from matching.algorithm import form_groups
from matching.model import Candidate, Facilitator, RuleBook
from unit.matching.matching_strategies import NOW, instances, person, starter


def feasible_facilitators(
    group: tuple[Candidate, ...], book: RuleBook, facs: list[Facilitator]
) -> frozenset[int]:
    """Indices of facilitators who could start *some* valid group of exactly these people."""
    orgs = {c.organisation for c in group}
    options = []  # (digital, group organisation)
    if len(orgs) == 1:
        options.append((False, next(iter(orgs))))
    if all(c.digital_welcome for c in group) and (
        len(orgs) == 1 or all(book.for_org(o).pool_digital_across_catchments for o in orgs)
    ):
        options += [(True, o) for o in sorted(orgs)]
    ok: set[int] = set()
    genders = {c.gender for c in group}
    single = {c.gender for c in group if c.same_gender and c.gender is not None}
    if single and (len(single) > 1 or genders != single):
        return frozenset()
    langs = frozenset.intersection(*(c.languages for c in group))
    if not langs or not frozenset.intersection(*(c.slots for c in group)):
        return frozenset()
    ages = [c.age_band for c in group]
    for digital, org in options:
        r = book.for_org(org)
        if not r.min_size <= len(group) <= r.max_size or max(ages) - min(ages) > r.max_age_span:
            continue
        if len(group) == r.min_size < r.target_size and not any(
            NOW - c.waiting_since >= timedelta(days=r.min_size_after_days) for c in group
        ):
            continue
        themes = set.intersection(*(set(c.themes) for c in group))
        if all(
            c.cross_problem_welcome
            and NOW - c.waiting_since >= timedelta(days=r.cross_problem_after_days)
            for c in group
        ):
            themes.add("across")
        for i, f in enumerate(facs):
            if f.free_starts <= 0 or not (themes & f.themes) or not (langs & f.languages):
                continue
            if digital and not (f.digital and f.organisation in orgs):
                continue
            if not digital and f.organisation != org:
                continue
            ok.add(i)
    return frozenset(ok)


def optimum(cands: list[Candidate], book: RuleBook, facs: list[Facilitator]) -> int:
    """Maximum number of people placed over all valid plans."""
    n = len(cands)
    groups: dict[int, list[tuple[int, frozenset[int]]]] = {i: [] for i in range(n)}
    for size in range(2, 9):
        for combo in combinations(range(n), size):
            f = feasible_facilitators(tuple(cands[i] for i in combo), book, facs)
            if f:
                mask = sum(1 << i for i in combo)
                groups[combo[0]].append((mask, f))
    caps = tuple(f.free_starts for f in facs)

    @cache
    def best(used: int, caps: tuple[int, ...]) -> int:
        first = next((i for i in range(n) if not used >> i & 1), None)
        if first is None:
            return 0
        result = best(used | 1 << first, caps)  # leave `first` out
        for mask, fs in groups[first]:
            if mask & used:
                continue
            for fi in fs:
                if caps[fi] > 0:
                    nc = (*caps[:fi], caps[fi] - 1, *caps[fi + 1 :])
                    result = max(result, mask.bit_count() + best(used | mask, nc))
        return result

    return best(0, caps)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(min_n=4, max_n=14))
def test_plan_places_as_many_as_brute_force(inst: tuple) -> None:
    cands, book, facs = inst
    plan = form_groups(cands, book, now=NOW, facilitators=facs)
    assert len(plan.placed) == optimum(cands, book, facs)


def test_brute_force_itself_finds_a_known_optimum() -> None:
    # 9 people for 'sorg': one group of 9 is too big, two groups (5 + 4) need two starts.
    cands = [person(f"p{i}", days=40) for i in range(9)]
    assert optimum(cands, RuleBook(), [starter("f", free=1)]) == 8
    assert optimum(cands, RuleBook(), [starter("f", free=2)]) == 9
    plan = form_groups(cands, RuleBook(), now=NOW, facilitators=[starter("f", free=2)])
    assert len(plan.placed) == 9 and len(plan.groups) == 2
