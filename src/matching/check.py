"""An independent checker of a plan against every hard rule.

This module deliberately shares no code with ``algorithm.py`` or ``exact.py``: it re-states the
rules from the issue in the plainest form, so that the property tests and the simulator catch a
bug in the search code instead of repeating it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from matching.fill import Addition, OpenGroup
from matching.model import Candidate, Facilitator, GroupProposal, Plan, RuleBook


def violations(
    plan: Plan,
    candidates: Iterable[Candidate],
    rules: RuleBook,
    facilitators: Iterable[Facilitator],
    *,
    now: datetime,
) -> list[str]:
    """Every broken rule in ``plan`` as a readable line; an empty list means the plan is valid.

    Args:
        plan: The plan to check.
        candidates: Everyone who was waiting when the plan was made.
        rules: The rule book the plan was made with.
        facilitators: The facilitators (with their capacity before the plan).
        now: The time the plan was made; waiting-time rules depend on it.
    """
    by_id = {c.id: c for c in candidates}
    facs = {f.id: f for f in facilitators}
    problems: list[str] = []
    seen: Counter[str] = Counter()
    starts: Counter[str] = Counter()
    for number, group in enumerate(plan.groups):
        where = f"group {number} ({group.organisation}, {group.theme}, {group.language})"
        seen.update(group.members)
        unknown = [m for m in group.members if m not in by_id]
        if unknown:
            problems.append(f"{where}: unknown members {unknown}")
            continue
        people = [by_id[m] for m in group.members]
        problems.extend(f"{where}: {p}" for p in _group_problems(group, people, rules, now))
        fac = facs.get(group.facilitator)
        starts[group.facilitator] += 1
        if fac is None:
            problems.append(f"{where}: unknown facilitator {group.facilitator}")
            continue
        wanted = "across" if group.theme is None else group.theme
        if wanted not in fac.themes or group.language not in fac.languages:
            problems.append(f"{where}: facilitator lacks theme or language")
        if group.digital:
            if not fac.digital or fac.organisation not in {p.organisation for p in people}:
                problems.append(f"{where}: facilitator cannot start this digital group")
        elif fac.organisation != group.organisation:
            problems.append(f"{where}: facilitator from another organisation")
    for fac_id, used in starts.items():
        if fac_id in facs and used > facs[fac_id].free_starts:
            problems.append(
                f"facilitator {fac_id}: {used} starts, capacity {facs[fac_id].free_starts}"
            )
    problems.extend(f"candidate {cid} placed {n} times" for cid, n in seen.items() if n > 1)
    unplaced = Counter(u.candidate for u in plan.unplaced)
    for cid in by_id:
        if seen[cid] + unplaced[cid] != 1:
            problems.append(f"candidate {cid}: in {seen[cid]} groups and {unplaced[cid]} unplaced")
    problems.extend(f"unplaced {cid} is not a candidate" for cid in unplaced if cid not in by_id)
    return problems


def _group_problems(
    group: GroupProposal, people: list[Candidate], rules: RuleBook, now: datetime
) -> list[str]:
    """Rule checks that only need the group and its members."""
    out: list[str] = []
    r = rules.for_org(group.organisation)
    if group.rules != r:
        out.append("rules on the proposal differ from the organisation's rules")
    n = len(people)
    if not r.min_size <= n <= r.max_size:
        out.append(f"size {n} outside {r.min_size}..{r.max_size}")
    if n == r.min_size < r.target_size and not any(
        now - p.waiting_since >= timedelta(days=r.min_size_after_days) for p in people
    ):
        out.append("group at minimum size although nobody waited min_size_after_days")
    if (
        r.below_target_after_days
        and n < r.target_size
        and not any(
            now - p.waiting_since >= timedelta(days=r.below_target_after_days) for p in people
        )
    ):
        out.append("group below target although nobody waited below_target_after_days")
    if group.theme is None:
        late = timedelta(days=r.cross_problem_after_days)
        if not all(p.cross_problem_welcome and now - p.waiting_since >= late for p in people):
            out.append("cross-problem group with someone who does not (yet) welcome it")
    elif not all(group.theme in p.themes for p in people):
        out.append(f"theme {group.theme} not shared by all")
    ages = [p.age_band for p in people]
    if max(ages) - min(ages) > r.max_age_span:
        out.append(f"age span {max(ages) - min(ages)} > {r.max_age_span}")
    if not all(group.language in p.languages for p in people):
        out.append("language not shared by all")
    if not all(group.slot in p.slots for p in people):
        out.append("slot not shared by all")
    single = {p.gender for p in people if p.same_gender and p.gender is not None}
    if single and (len(single) > 1 or {p.gender for p in people} != single):
        out.append("a single-gender wish is not honoured")
    orgs = {p.organisation for p in people}
    if group.digital:
        if not all(p.digital_welcome for p in people):
            out.append("digital group with someone who does not welcome digital")
        if group.organisation not in orgs:
            out.append("digital group's organisation is not a member's organisation")
        if len(orgs) > 1 and not all(rules.for_org(o).pool_digital_across_catchments for o in orgs):
            out.append("digital group across catchments where an organisation forbids it")
    elif orgs != {group.organisation}:
        out.append("local group spans catchments")
    return out


def fill_violations(
    additions: Iterable[Addition],
    candidates: Iterable[Candidate],
    groups: Iterable[OpenGroup],
    rules: RuleBook,
    *,
    now: datetime,
) -> list[str]:
    """Every broken rule among the people added to open groups (``matching.fill``).

    Restated here without ``matching.fill``'s code: each open group with its members and
    everyone added to it must still satisfy the rules of a group (size, theme or
    cross-problem wait, age span, language, slot, single-gender wishes, catchment and digital
    pooling), nobody may be added twice or be someone who was not waiting, and no one may be
    added to a group that is closed to newcomers (its first meeting is too close or has begun).
    """
    by_id = {c.id: c for c in candidates}
    open_groups = {g.id: g for g in groups}
    problems: list[str] = []
    added: dict[str, list[Candidate]] = {}
    seen: Counter[str] = Counter()
    for a in additions:
        seen[a.candidate] += 1
        person = by_id.get(a.candidate)
        group = open_groups.get(a.group)
        if person is None or group is None:
            problems.append(f"addition {a.candidate} -> {a.group}: unknown person or group")
            continue
        if a.candidate in group.former:
            problems.append(f"addition {a.candidate} -> {a.group}: was in the group before")
        added.setdefault(a.group, []).append(person)
    problems.extend(f"candidate {cid} added {n} times" for cid, n in seen.items() if n > 1)
    for gid, people in sorted(added.items()):
        g = open_groups[gid]
        where = f"open group {gid} ({g.organisation}, {g.theme}, {g.language})"
        r = g.rules
        if g.closes_at is not None and now >= g.closes_at:
            problems.append(f"{where}: people added after it closed to newcomers")
        if len(g.members) + len(people) > r.max_size:
            problems.append(f"{where}: size {len(g.members) + len(people)} > {r.max_size}")
        if g.theme is None:
            late = timedelta(days=r.cross_problem_after_days)
            if not all(p.cross_problem_welcome and now - p.waiting_since >= late for p in people):
                problems.append(f"{where}: added someone who does not (yet) welcome cross-problem")
        elif not all(g.theme in p.themes for p in people):
            problems.append(f"{where}: added someone without theme {g.theme}")
        if not all(g.language in p.languages for p in people):
            problems.append(f"{where}: added someone without the language")
        if not all(g.slot in p.slots for p in people):
            problems.append(f"{where}: added someone without the slot")
        ages = [m.age_band for m in g.members] + [p.age_band for p in people]
        if max(ages) - min(ages) > r.max_age_span:
            problems.append(f"{where}: age span {max(ages) - min(ages)} > {r.max_age_span}")
        everyone = [(m.gender, m.same_gender) for m in g.members] + [
            (p.gender, p.same_gender) for p in people
        ]
        single = {gender for gender, wish in everyone if wish and gender is not None}
        if single and (len(single) > 1 or {gender for gender, _ in everyone} != single):
            problems.append(f"{where}: a single-gender wish is not honoured")
        orgs = {m.organisation for m in g.members} | {p.organisation for p in people}
        if g.digital:
            if not all(p.digital_welcome for p in people):
                problems.append(f"{where}: added someone who does not welcome digital")
            if len(orgs) > 1 and not all(
                rules.for_org(o).pool_digital_across_catchments for o in orgs
            ):
                problems.append(f"{where}: digital group across catchments where one forbids it")
        elif orgs != {g.organisation}:
            problems.append(f"{where}: local group takes someone from another catchment")
    return problems
