"""Suggestions that lead into an open group: a change of choices after which the fill of the
next run would take the person into a group that has not met yet (issue 13)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from matching.algorithm import form_groups
from matching.fill import OpenGroup, Seated, after_run, fill_groups
from matching.job import compute_plan
from matching.model import (
    ALL_SLOTS,
    Candidate,
    Plan,
    ReasonKind,
    RuleBook,
    Rules,
    Suggestion,
    SuggestionKind,
)
from matching.open_joins import OpenGroupJoins, with_open_groups
from matching.service import Inputs
from unit.matching.matching_strategies import NOW, person, starter

FOUR = tuple(Seated(38, "female", False, "A") for _ in range(4))
TUE = Suggestion(SuggestionKind.ADD_SLOT, "tue-evening")


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


def offered(people: list[Candidate], groups: list[OpenGroup], who: str = "me") -> Plan:
    """The job's pipeline without a database: fill, form, then the diagnosis with the groups."""
    plan = compute_plan(
        Inputs(people, [starter("f1", free=2)], RuleBook(), {}, open_groups=groups), NOW
    ).plan
    assert who in plan.waiting
    return plan


def me(**kw: Any) -> Candidate:
    """The person asked about: grief, Norwegian, Wednesday evenings only."""
    kw.setdefault("slots", frozenset({"wed-evening"}))
    found: Candidate = person("me", **kw)
    return found


def test_a_slot_of_an_open_group_is_offered_and_accepting_it_joins_the_group() -> None:
    plan = offered([me()], [group()])
    why = plan.why("me")
    assert why.reason.kind is ReasonKind.TOO_FEW  # nobody else waits: no new group possible
    assert why.suggestions == (TUE,)
    assert why.suggestion == TUE  # places at the next run
    # Accepting it: the next run's fill takes them into that very group.
    changed = replace(me(), slots=me().slots | {"tue-evening"})
    filled = fill_groups([changed], [group()], RuleBook(), now=NOW)
    assert [(a.group, a.candidate) for a in filled.additions] == [("g1", "me")]


def test_not_offered_when_the_group_cannot_take_them() -> None:
    full = group(members=tuple(Seated(38, "female", False, "A") for _ in range(8)))
    closed = group(closes_at=NOW - timedelta(minutes=1))
    left = group(former=frozenset({"me"}))
    for g in (full, closed, left):
        assert offered([me()], [g]).why("me").suggestions == ()
    # Their age is out of the group's span (members 38, span 15).
    assert offered([me(age=58)], [group()]).why("me").suggestions == ()
    assert offered([me(age=53)], [group()]).why("me").suggestions == (TUE,)
    # A group in another catchment, or closing later, or with room after a full one.
    assert offered([me(org="B")], [group()]).why("me").suggestions == ()
    later = group(closes_at=NOW + timedelta(hours=1))
    assert offered([me()], [full, later]).why("me").suggestions == (TUE,)


def test_room_left_after_this_runs_fill_counts() -> None:
    # Seven members and one place: someone who fits takes it in this run's fill.
    seven = group(members=tuple(Seated(38, "female", False, "A") for _ in range(7)))
    taker = person("taker", slots=frozenset({"tue-evening"}), days=30)
    plan = offered([taker, me()], [seven])
    assert "taker" not in plan.waiting
    assert plan.why("me").suggestions == ()
    # Without the taker the place is offered.
    assert offered([me()], [seven]).why("me").suggestions == (TUE,)


def test_each_kind_of_change_into_an_open_group() -> None:
    digital = group(digital=True, slot="wed-evening", organisation="B")
    assert offered([me()], [digital]).why("me").suggestions == (
        Suggestion(SuggestionKind.WELCOME_DIGITAL),
    )
    english = group(language="en", slot="wed-evening")
    assert offered([me()], [english]).why("me").suggestions == (
        Suggestion(SuggestionKind.ADD_LANGUAGE, "en"),
    )
    across = group(theme=None, slot="wed-evening")
    assert offered([me()], [across]).why("me").suggestions == (
        Suggestion(SuggestionKind.WELCOME_CROSS_PROBLEM),
    )
    # Before their cross-problem wait is over the fill would not take them: not offered.
    assert offered([me(days=3)], [across]).why("me").suggestions == ()
    # A single-gender group of women does not take a man whatever he changes.
    women = group(members=(*FOUR[:3], Seated(38, "female", True, "A")))
    assert offered([me(gender="male")], [women]).why("me").suggestions == ()


def test_a_group_proposed_in_this_run_is_open_to_the_next() -> None:
    four = [person(f"p{i}", slots=frozenset({"tue-evening"}), days=40) for i in range(4)]
    plan = offered([*four, me()], [])
    assert [len(g.members) for g in plan.groups] == [4]
    assert plan.why("me").suggestions == (TUE,)


def test_an_open_group_makes_a_soon_change_place_now() -> None:
    # Three others (68) wait on Tuesdays, none long: a group of four there would wait for a
    # fifth. The open group (38) is too young for them, not for me (53).
    three = [person(f"p{i}", slots=frozenset({"tue-evening"}), days=2, age=68) for i in range(3)]
    people = [*three, me(age=53)]
    alone = form_groups(people, RuleBook(), now=NOW, facilitators=[starter("f1")])
    soon = Suggestion(SuggestionKind.ADD_SLOT, "tue-evening", True)
    assert alone.why("me").suggestions == (soon,)
    assert alone.why("me").suggestion is None
    plan = offered(people, [group()])
    assert set(plan.waiting) == {"p0", "p1", "p2", "me"}
    assert plan.why("me").suggestions == (TUE,)
    assert plan.why("me").suggestion == TUE


def test_without_open_groups_the_plan_is_the_core_plan() -> None:
    people = [me(), person("p1", slots=frozenset({"thu-daytime"}))]
    core = form_groups(people, RuleBook(), now=NOW, facilitators=[starter("f1")])
    assert with_open_groups(core, people, [], RuleBook(), now=NOW) is core
    full = group(members=tuple(Seated(38, "female", False, "A") for _ in range(8)))
    assert with_open_groups(core, people, [full], RuleBook(), now=NOW) is core
    job = compute_plan(Inputs(people, [starter("f1")], RuleBook(), {}), NOW).plan
    assert repr(job) == repr(core)


def test_after_run_adds_the_joiners_and_the_new_groups() -> None:
    joiner = person("j", slots=frozenset({"tue-evening"}))
    filled = fill_groups([joiner], [group(), group("old", closes_at=NOW)], RuleBook(), now=NOW)
    new = form_groups(
        [person(f"p{i}", days=40, slots=frozenset({"wed-evening"})) for i in range(4)],
        RuleBook(),
        now=NOW,
        facilitators=[starter("f1")],
    ).groups
    people = [joiner, *(person(f"p{i}", days=40) for i in range(4))]
    after = after_run(
        [group(), group("old", closes_at=NOW)], filled.additions, people, new, now=NOW
    )
    assert [(g.id, len(g.members), g.slot) for g in after] == [
        ("g1", 5, "tue-evening"),
        ("new:0", 4, "wed-evening"),
    ]


# --- The oracle: a change is offered exactly when the fill alone takes the changed person ---

CHANGES: list[Suggestion] = [
    *(Suggestion(SuggestionKind.ADD_SLOT, s) for s in ALL_SLOTS),
    Suggestion(SuggestionKind.WELCOME_DIGITAL),
    *(Suggestion(SuggestionKind.ADD_LANGUAGE, lang) for lang in ("no", "en", "ar")),
    Suggestion(SuggestionKind.WELCOME_CROSS_PROBLEM),
]


def _apply(c: Candidate, s: Suggestion) -> Candidate | None:
    """``c`` with the change, or None when it changes nothing."""
    if s.kind is SuggestionKind.ADD_SLOT:
        return None if s.value in c.slots else replace(c, slots=c.slots | {s.value or ""})
    if s.kind is SuggestionKind.ADD_LANGUAGE:
        if s.value in c.languages:
            return None
        return replace(c, languages=c.languages | {s.value or ""})
    if s.kind is SuggestionKind.WELCOME_DIGITAL:
        return None if c.digital_welcome else replace(c, digital_welcome=True)
    return None if c.cross_problem_welcome else replace(c, cross_problem_welcome=True)


SLOT_NAMES = ("tue-evening", "wed-evening", "thu-daytime")
SLOTS = st.sampled_from(SLOT_NAMES)
LANGS = st.sampled_from(["no", "en"])


@st.composite
def open_group(draw: st.DrawFn, n: int) -> OpenGroup:
    """A group that would take a 38-year-old woman of "A" (grief, Norwegian, Tuesday evening,
    in person), then up to two things changed at random: what a change of choices could fix
    (slot, language, digital, cross-problem) or what it could not (age, gender wish, catchment,
    room, closed, left before)."""
    g = group(f"g{n}", rules=Rules(cross_problem_after_days=7))
    for what in draw(st.lists(st.integers(0, 10), max_size=2)):
        if what == 0:
            g = replace(g, slot=draw(SLOTS))
        elif what == 1:
            g = replace(g, language=draw(LANGS))
        elif what == 2:
            g = replace(g, digital=True)
        elif what == 3:
            g = replace(g, theme=None)
        elif what == 4:
            g = replace(g, theme="angst")
        elif what == 5:
            g = replace(
                g, members=(*g.members, Seated(draw(st.sampled_from([23, 53])), None, False, "A"))
            )
        elif what == 6:
            g = replace(g, members=(*g.members[:-1], Seated(38, "female", True, "A")))
        elif what == 7:
            g = replace(
                g, organisation="B", members=tuple(replace(m, organisation="B") for m in g.members)
            )
        elif what == 8:
            g = replace(g, members=g.members + FOUR)
        elif what == 9:
            g = replace(g, closes_at=draw(st.sampled_from([NOW, NOW + timedelta(days=1)])))
        else:
            g = replace(g, former=frozenset({"me"}))
    return g


@st.composite
def scenario(draw: st.DrawFn) -> tuple[Candidate, list[OpenGroup], RuleBook]:
    groups = [draw(open_group(n)) for n in range(draw(st.integers(1, 4)))]
    c = person(
        "me",
        org=draw(st.sampled_from(["A", "A", "B"])),
        themes=tuple(
            draw(st.lists(st.sampled_from(["sorg", "angst"]), min_size=1, max_size=2, unique=True))
        ),
        cross=draw(st.booleans()),
        age=draw(st.sampled_from([38, 38, 53])),
        gender=draw(st.sampled_from(["female", "female", "male", None])),
        same_gender=draw(st.sampled_from([False, False, True])),
        languages=frozenset(draw(st.sampled_from([["no"], ["no"], ["en"], ["no", "en"]]))),
        slots=frozenset(
            draw(st.sampled_from([["tue-evening"], ["wed-evening"], list(SLOT_NAMES[:2])]))
        ),
        digital=draw(st.booleans()),
        days=draw(st.sampled_from([3, 10])),
    )
    book = RuleBook(overrides={"B": Rules(pool_digital_across_catchments=draw(st.booleans()))})
    return c, groups, book


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_offered_exactly_when_the_fill_takes_the_changed_person(
    case: tuple[Candidate, list[OpenGroup], RuleBook],
) -> None:
    c, groups, book = case
    # Someone the fill takes as they are is in a group, not waiting: nothing to suggest.
    assume(not fill_groups([c], groups, book, now=NOW).additions)
    joins = OpenGroupJoins(Plan(()), [c], groups, book, now=NOW)
    joins._prepare()
    got = set(joins.joins(c))
    expected = set()
    for s in CHANGES:
        changed = _apply(c, s)
        if changed is not None and fill_groups([changed], groups, book, now=NOW).additions:
            expected.add((s.kind, s.value))
    event(f"kinds offered: {sorted({k for k, _ in expected})}")
    assert got == expected
