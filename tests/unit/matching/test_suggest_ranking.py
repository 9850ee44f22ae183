"""Every single change in a person's own choices that would place them, ranked.

The oracle is the core itself: a change offered as placing *now* must place the person when it
is applied and matching runs again; a change that is not offered must not.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings

from matching.algorithm import form_groups
from matching.diagnose import rank_key
from matching.model import Candidate, Facilitator, RuleBook, Suggestion, SuggestionKind, Unplaced
from unit.matching.matching_strategies import NOW, instances, person, starter

K = SuggestionKind


def _why(people: list[Candidate], facs: list[Facilitator], cid: str = "me") -> Unplaced:
    plan = form_groups(people, RuleBook(), now=NOW, facilitators=facs)
    assert cid not in plan.placed
    return plan.why(cid)


def _apply(c: Candidate, kind: SuggestionKind, value: str | None = None) -> Candidate:
    if kind is K.ADD_SLOT:
        return replace(c, slots=c.slots | {value or ""})
    if kind is K.ADD_LANGUAGE:
        return replace(c, languages=c.languages | {value or ""})
    if kind is K.WELCOME_DIGITAL:
        return replace(c, digital_welcome=True)
    return replace(c, cross_problem_welcome=True)


def _placed_with(
    people: list[Candidate], facs: list[Facilitator], kind: SuggestionKind, value: str | None
) -> bool:
    changed = [_apply(p, kind, value) if p.id == "me" else p for p in people]
    return "me" in form_groups(changed, RuleBook(), now=NOW, facilitators=facs).placed


def _near_misses() -> tuple[list[Candidate], list[Facilitator]]:
    """'me' (sorg, Norwegian, Tuesday evening, local only) is one change away from four groups
    and two changes away from nothing else."""
    others = [
        *[person(f"w{i}", slots=frozenset({"wed-evening"}), days=30) for i in range(3)],
        *[person(f"e{i}", languages=frozenset({"en"}), days=30) for i in range(3)],
        *[person(f"x{i}", themes=("angst",), cross=True, days=30) for i in range(3)],
        *[person(f"r{i}", org="B", digital=True, days=30) for i in range(3)],
        # Too few to place anybody even with 'me': Spanish and Thursday daytime.
        *[person(f"s{i}", languages=frozenset({"es"}), days=30) for i in range(2)],
        *[person(f"t{i}", slots=frozenset({"thu-daytime"}), days=30) for i in range(2)],
    ]
    facs = [
        starter("f", languages=frozenset({"no", "en", "es"}), free=4),
        starter("g", org="B", free=2),
    ]
    return [*others, person("me", days=40)], facs


def test_every_single_change_that_places_is_offered_smallest_first() -> None:
    people, facs = _near_misses()
    u = _why(people, facs)
    assert u.suggestions == (
        Suggestion(K.ADD_SLOT, "wed-evening"),
        Suggestion(K.WELCOME_DIGITAL),
        Suggestion(K.ADD_LANGUAGE, "en"),
        Suggestion(K.WELCOME_CROSS_PROBLEM),
    )
    assert u.suggestion == u.suggestions[0]


def test_each_offered_change_places_and_the_others_do_not() -> None:
    people, facs = _near_misses()
    u = _why(people, facs)
    for s in u.suggestions:
        assert _placed_with(people, facs, s.kind, s.value), s
    assert not _placed_with(people, facs, K.ADD_LANGUAGE, "es")
    assert not _placed_with(people, facs, K.ADD_SLOT, "thu-daytime")
    offered = {(s.kind, s.value) for s in u.suggestions}
    assert (K.ADD_LANGUAGE, "es") not in offered
    assert (K.ADD_SLOT, "thu-daytime") not in offered


def test_several_slots_each_offered_in_week_order() -> None:
    slots = ("fri-evening", "mon-morning", "wed-evening")
    people = [person(f"{s}{i}", slots=frozenset({s}), days=30) for s in slots for i in range(3)] + [
        person("me", days=40)
    ]
    u = _why(people, [starter("f", free=5)])
    assert [s.value for s in u.suggestions] == ["mon-morning", "wed-evening", "fri-evening"]
    assert all(s.kind is K.ADD_SLOT and not s.soon for s in u.suggestions)


def test_now_ranks_before_soon_and_suggestion_is_the_first_that_places_now() -> None:
    # Everybody is new: three others on Wednesday make a group of exactly four, which waits for
    # a fifth person (soon); four others on Friday make five, proposed at once (now).
    wed = [person(f"w{i}", slots=frozenset({"wed-evening"}), days=3) for i in range(3)]
    fri = [person(f"f{i}", slots=frozenset({"fri-evening"}), days=3) for i in range(4)]
    me = person("me", days=3)
    facs = [starter("f", free=3)]
    u = _why([*wed, *fri, me], facs)
    assert u.suggestions == (
        Suggestion(K.ADD_SLOT, "fri-evening"),
        Suggestion(K.ADD_SLOT, "wed-evening", soon=True),
    )
    assert u.suggestion == Suggestion(K.ADD_SLOT, "fri-evening")
    assert _placed_with([*wed, *fri, me], facs, K.ADD_SLOT, "fri-evening")
    assert not _placed_with([*wed, *fri, me], facs, K.ADD_SLOT, "wed-evening")

    only_soon = _why([*wed, me], facs)
    assert only_soon.suggestions == (Suggestion(K.ADD_SLOT, "wed-evening", soon=True),)
    assert only_soon.suggestion is None


def test_cross_problem_before_the_wait_is_over_places_soon() -> None:
    mixed = [person(f"x{i}", themes=("angst",), cross=True, days=40) for i in range(3)]
    u = _why([*mixed, person("me", days=5)], [starter("f", free=2)])
    assert u.suggestions == (Suggestion(K.WELCOME_CROSS_PROBLEM, soon=True),)
    assert u.suggestion is None


def test_digital_only_when_a_digital_facilitator_has_capacity() -> None:
    remote = [person(f"r{i}", org="B", digital=True, days=40) for i in range(3)]
    me = person("me", days=40)
    local = starter("f", free=2, digital=False)  # A can start local groups only
    with_capacity = _why([*remote, me], [local, starter("g", org="B", free=1)])
    assert Suggestion(K.WELCOME_DIGITAL) in with_capacity.suggestions
    for digital_fac in (
        starter("g", org="B", free=0),  # no capacity left
        starter("g", org="B", free=2, digital=False),  # capacity, but not for digital groups
    ):
        u = _why([*remote, me], [local, digital_fac])
        assert all(s.kind is not K.WELCOME_DIGITAL for s in u.suggestions)


def test_unplaced_built_without_a_list() -> None:
    u = Unplaced("x", _why(*_near_misses()).reason, None)
    assert u.suggestions == ()
    # Built from one suggestion only (older callers), the list is that suggestion.
    one = Suggestion(K.ADD_SLOT, "mon-morning")
    assert Unplaced("x", u.reason, one).suggestions == (one,)


def test_repr_is_the_one_the_fingerprints_were_recorded_with() -> None:
    people, facs = _near_misses()
    u = _why(people, facs)
    assert "suggestions" not in repr(u)
    assert repr(Suggestion(K.ADD_SLOT, "wed-evening")) == (
        "Suggestion(kind=<SuggestionKind.ADD_SLOT: 'add_slot'>, value='wed-evening')"
    )
    assert repr(Suggestion(K.WELCOME_DIGITAL, soon=True)).endswith("value=None, soon=True)")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_n=40))
def test_suggestions_are_ranked_new_and_consistent(
    inst: tuple[list[Candidate], RuleBook, list[Facilitator]],
) -> None:
    cands, book, facs = inst
    plan = form_groups(cands, book, now=NOW, facilitators=facs)
    by_id = {c.id: c for c in cands}
    for u in plan.unplaced:
        c = by_id[u.candidate]
        assert list(u.suggestions) == sorted(u.suggestions, key=rank_key)
        assert len(set(u.suggestions)) == len(u.suggestions)
        first_now = next((s for s in u.suggestions if not s.soon), None)
        assert u.suggestion == (
            first_now if u.suggestions and first_now == u.suggestions[0] else None
        )
        for s in u.suggestions:  # only changes: nothing the person has already chosen
            if s.kind is K.ADD_SLOT:
                assert s.value not in c.slots
            elif s.kind is K.ADD_LANGUAGE:
                assert s.value not in c.languages
            elif s.kind is K.WELCOME_DIGITAL:
                assert not c.digital_welcome
            else:
                assert not c.cross_problem_welcome
