"""Groups fill up until they meet: waiting people join open groups before new ones are formed.

A proposed group is not closed. Until shortly before its first meeting, people who signed up
later (or whose choices changed) and fit an open group below its maximum get a place in it,
longest-waiting first, by the same hard rules as forming a group (:func:`fill_groups`). The
people left over go on to :func:`matching.algorithm.form_groups`. The matching job runs both
(``matching.job.compute_plan``); ``matching.check.fill_violations`` vets the additions with
its own, independent statement of the rules, as ``violations`` vets new groups.

Pure like the rest of the core: no clock (``now=`` is passed in), no I/O, no randomness. The
order of the inputs does not matter: people are taken by ``(waiting_since, id)`` and groups are
compared by a total key ending in their id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from matching.model import Candidate, Gender, GroupProposal, RuleBook, Rules


@dataclass(frozen=True, slots=True)
class Seated:
    """What the rules need to know about someone already in an open group (no contact data)."""

    age_band: int
    gender: Gender | None
    same_gender: bool
    organisation: str

    @property
    def wants_single_gender(self) -> bool:
        return self.same_gender and self.gender is not None


@dataclass(frozen=True, slots=True)
class OpenGroup:
    """A group that has not met yet (proposed, accepted or scheduled) and may take people.

    Attributes:
        id: The group's id.
        organisation: The organisation whose rules apply (for a digital group, a member's).
        theme: The group's theme; ``None`` for a cross-problem group.
        language: The group's language.
        slot: The group's meeting slot.
        digital: Whether the group meets digitally.
        rules: The rules the group was formed with (``start_group.rules``).
        members: Everyone holding a place now (proposed, offered, invited, confirmed).
        closes_at: The last moment someone may still be added: a newcomer must be able to
            answer the invitation before the first meeting, so the shell sets it a reply margin
            before meeting 1. ``None`` while no first meeting is set.
        former: People who were in the group and left it (declined, no reply): it is not
            offered to them again.
    """

    id: str
    organisation: str
    theme: str | None
    language: str
    slot: str
    digital: bool
    rules: Rules
    members: tuple[Seated, ...]
    closes_at: datetime | None = None
    former: frozenset[str] = frozenset()

    def open_at(self, now: datetime) -> bool:
        """Whether people may still join at ``now`` (before ``closes_at``)."""
        return self.closes_at is None or now < self.closes_at


@dataclass(frozen=True, slots=True)
class Addition:
    """``candidate`` gets a place in open group ``group``."""

    group: str
    candidate: str


@dataclass(frozen=True, slots=True)
class Filled:
    """The additions, in the order they were made (longest-waiting first), and who is left."""

    additions: tuple[Addition, ...]
    rest: tuple[Candidate, ...]


def seated(c: Candidate) -> Seated:
    """The part of a candidate that stays relevant once they hold a place."""
    return Seated(c.age_band, c.gender, c.same_gender, c.organisation)


def fits(
    person: Candidate,
    group: OpenGroup,
    members: Iterable[Seated],
    book: RuleBook,
    now: datetime,
) -> bool:
    """Whether ``person`` may join ``group`` whose current members are ``members``.

    The same hard rules as a new group: the theme (or a cross-problem group the person
    welcomes, after the group's ``cross_problem_after_days``), the language, the slot, the age
    span, single-gender wishes both ways, and the catchment (a local group only takes its own
    organisation's people; a digital group people who welcome digital, from other catchments
    only where every organisation involved pools digital groups).
    """
    r = group.rules
    if group.language not in person.languages or group.slot not in person.slots:
        return False
    if group.theme is None:
        if not person.cross_problem_welcome or person.waited(now) < timedelta(
            days=r.cross_problem_after_days
        ):
            return False
    elif group.theme not in person.themes:
        return False
    people = [*members, seated(person)]
    ages = [p.age_band for p in people]
    if max(ages) - min(ages) > r.max_age_span:
        return False
    single = {p.gender for p in people if p.wants_single_gender}
    if single and (len(single) > 1 or {p.gender for p in people} != single):
        return False
    if not group.digital:
        return person.organisation == group.organisation
    if not person.digital_welcome:
        return False
    orgs = {p.organisation for p in people}
    return len(orgs) == 1 or all(book.for_org(o).pool_digital_across_catchments for o in orgs)


def admits(
    person: Candidate,
    group: OpenGroup,
    members: Sequence[Seated],
    book: RuleBook,
    now: datetime,
) -> bool:
    """Whether :func:`fill_groups` may give ``person`` a place in ``group`` at ``now``.

    The group is still open to newcomers, below its ``max_size`` with ``members``, the person
    was not in it before, and :func:`fits` holds. :func:`fill_groups` asks exactly this, and
    so does the diagnosis when it looks for a change of choices that would let someone join an
    open group (``matching.open_joins.with_open_groups``): the two cannot disagree.
    """
    return (
        group.open_at(now)
        and len(members) < group.rules.max_size
        and person.id not in group.former
        and fits(person, group, members, book, now)
    )


def after_run(
    groups: Iterable[OpenGroup],
    additions: Iterable[Addition],
    candidates: Iterable[Candidate],
    proposals: Iterable[GroupProposal] = (),
    *,
    now: datetime,
) -> list[OpenGroup]:
    """The open groups as the next run will see them: the ones still open at ``now`` with the
    people this run added, and the groups this run proposed (ids ``new:<n>``; no first meeting
    is set yet, so they are open). ``candidates`` must hold everyone added or proposed."""
    by_id = {c.id: c for c in candidates}
    joined: dict[str, list[Seated]] = {}
    for a in additions:
        joined.setdefault(a.group, []).append(seated(by_id[a.candidate]))
    out = [
        replace(g, members=(*g.members, *joined.get(g.id, ()))) if g.id in joined else g
        for g in groups
        if g.open_at(now)
    ]
    for n, p in enumerate(proposals):
        out.append(
            OpenGroup(
                id=f"new:{n}",
                organisation=p.organisation,
                theme=p.theme,
                language=p.language,
                slot=p.slot,
                digital=p.digital,
                rules=p.rules,
                members=tuple(seated(by_id[m]) for m in p.members),
            )
        )
    return out


def fill_groups(
    candidates: Iterable[Candidate],
    groups: Iterable[OpenGroup],
    book: RuleBook,
    *,
    now: datetime,
) -> Filled:
    """Give waiting people places in open groups, longest-waiting first.

    Each person, in order of ``(waiting_since, id)``, joins the best open group they fit that
    is below its ``max_size`` and still open at ``now``; "best" is, in this order: a group
    still below its target size, the person's more preferred theme (a cross-problem group
    counts after their last theme), in person before digital, the smaller group (a group of
    four is the fragile one), and the group id. A person who fits no group is left for
    :func:`matching.algorithm.form_groups`.
    """
    open_groups = sorted((g for g in groups if g.open_at(now)), key=lambda g: g.id)
    members: dict[str, list[Seated]] = {g.id: list(g.members) for g in open_groups}
    # Index by what must match exactly, so a country-wide pool does not try every group.
    local: dict[tuple[str, str, str], list[OpenGroup]] = {}
    digital: dict[tuple[str, str], list[OpenGroup]] = {}
    for g in open_groups:
        if g.digital:
            digital.setdefault((g.language, g.slot), []).append(g)
        else:
            local.setdefault((g.organisation, g.language, g.slot), []).append(g)
    additions: list[Addition] = []
    rest: list[Candidate] = []
    for person in sorted(candidates, key=lambda c: (c.waiting_since, c.id)):
        best: tuple[tuple[bool, int, bool, int, str], OpenGroup] | None = None
        for g in _reachable(person, local, digital):
            inside = members[g.id]
            if not admits(person, g, inside, book, now):
                continue
            key = (
                len(inside) >= g.rules.target_size,
                _theme_rank(person, g.theme),
                g.digital,
                len(inside),
                g.id,
            )
            if best is None or key < best[0]:
                best = (key, g)
        if best is None:
            rest.append(person)
            continue
        chosen = best[1]
        members[chosen.id].append(seated(person))
        additions.append(Addition(chosen.id, person.id))
    return Filled(tuple(additions), tuple(rest))


def _reachable(
    person: Candidate,
    local: dict[tuple[str, str, str], list[OpenGroup]],
    digital: dict[tuple[str, str], list[OpenGroup]],
) -> Iterable[OpenGroup]:
    """Open groups in the person's languages and slots: their catchment's, and digital ones."""
    if not local and not digital:
        return
    for language in sorted(person.languages):
        for slot in sorted(person.slots):
            yield from local.get((person.organisation, language, slot), ())
            if person.digital_welcome:
                yield from digital.get((language, slot), ())


def _theme_rank(person: Candidate, theme: str | None) -> int:
    if theme is None:
        return len(person.themes)
    return person.themes.index(theme)
