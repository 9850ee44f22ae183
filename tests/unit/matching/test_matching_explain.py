"""Reasons and suggestions: found correctly by the core, worded correctly in nb, nn and en."""

from __future__ import annotations

import pytest

from matching.algorithm import form_groups
from matching.explain import explain_reason, explain_suggestion, explain_unplaced, slot_name
from matching.model import (
    Reason,
    ReasonKind,
    RuleBook,
    Suggestion,
    SuggestionKind,
    Unplaced,
)
from unit.matching.matching_strategies import NOW, person, starter

ORGS = {"bergen": "LINK Bergen og omegn"}
THEMES = {"sorg": "sorg"}


def _unplaced(plan_unplaced: tuple[Unplaced, ...], cid: str) -> Unplaced:
    return next(u for u in plan_unplaced if u.candidate == cid)


def test_too_few_reason_matches_the_issue_example() -> None:
    people = [person(f"p{i}", org="bergen", days=3) for i in range(3)]
    plan = form_groups(people, RuleBook(), now=NOW, facilitators=[starter("f", org="bergen")])
    reason = _unplaced(plan.unplaced, "p0").reason
    assert reason == Reason(ReasonKind.TOO_FEW, "bergen", "sorg", 2, 4, False)
    text = explain_reason(reason, "en", organisations=ORGS, themes=THEMES)
    # "others" are the people the person could actually meet: theme, time, language, age group.
    assert text == (
        "2 others waiting for 'sorg' in LINK Bergen og omegn share a meeting time, a language and"
        " an age group with you; 4 are needed; cross-problem not welcome"
    )


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "nb",
            "2 andre som venter på «sorg» i LINK Bergen og omegn, har et møtetidspunkt, et språk"
            " og en aldersgruppe felles med deg; 4 trengs; "
            "gruppe på tvers av problemer er ikke ønsket",
        ),
        (
            "nn",
            "2 andre som ventar på «sorg» i LINK Bergen og omegn, har eit møtetidspunkt, eit språk"
            " og ei aldersgruppe felles med deg; 4 trengst; "
            "gruppe på tvers av problem er ikkje ønskt",
        ),
        (
            "en",
            "2 others waiting for 'sorg' in LINK Bergen og omegn share a meeting time, a language"
            " and an age group with you; 4 are needed; cross-problem not welcome",
        ),
    ],
)
def test_too_few_in_three_languages(locale: str, expected: str) -> None:
    reason = Reason(ReasonKind.TOO_FEW, "bergen", "sorg", 2, 4, False)
    assert explain_reason(reason, locale, organisations=ORGS, themes=THEMES) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        (
            ReasonKind.NO_FACILITATOR,
            {"nb": "igangsetter", "nn": "igangsetjar", "en": "facilitator"},
        ),
        (ReasonKind.WAITING_FOR_FIFTH, {"nb": "7 dager", "nn": "7 dagar", "en": "7 more days"}),
        (ReasonKind.NOT_THIS_RUN, {"nb": "neste kjøring", "nn": "neste køyring", "en": "next run"}),
        (ReasonKind.NO_CHOICES, {"nb": "Velg minst", "nn": "Vel minst", "en": "Choose at least"}),
    ],
)
def test_other_reasons_in_three_languages(kind: ReasonKind, words: dict[str, str]) -> None:
    reason = Reason(kind, "bergen", None, 3, 4, True, digital=True, days_left=7)
    for locale, word in words.items():
        text = explain_reason(reason, locale, organisations=ORGS, themes=THEMES)  # type: ignore[arg-type]
        assert word in text, (locale, text)


def test_one_and_zero_others_are_worded_properly() -> None:
    one = Reason(ReasonKind.TOO_FEW, "bergen", "sorg", 1, 4, True)
    zero = Reason(ReasonKind.TOO_FEW, "bergen", None, 0, 4, True)
    assert explain_reason(one, "nn", organisations=ORGS, themes=THEMES).startswith(
        "1 annan som ventar"
    )
    assert explain_reason(zero, "en", organisations=ORGS, themes=THEMES) == (
        "Nobody else waiting for a cross-problem group in LINK Bergen og omegn shares a meeting"
        " time, a language and an age group with you; 4 are needed"
    )


@pytest.mark.parametrize(
    ("suggestion", "nb", "nn", "en"),
    [
        (
            Suggestion(SuggestionKind.ADD_SLOT, "tue-evening"),
            "Hvis du også kan møtes tirsdag kveld, kan en gruppe starte nå",
            "Om du også kan møtast tysdag kveld, kan ei gruppe starte no",
            "If you could also meet on Tuesday evening, a group could start now",
        ),
        (
            Suggestion(SuggestionKind.ADD_LANGUAGE, "en"),
            "Hvis du også kan delta på engelsk, kan en gruppe starte nå",
            "Om du også kan delta på engelsk, kan ei gruppe starte no",
            "If you could also take part in English, a group could start now",
        ),
        (
            Suggestion(SuggestionKind.WELCOME_DIGITAL),
            "Hvis du er åpen for en digital gruppe, kan en gruppe starte nå",
            "Om du er open for ei digital gruppe, kan ei gruppe starte no",
            "If you welcome a digital group, a group could start now",
        ),
        (
            Suggestion(SuggestionKind.WELCOME_CROSS_PROBLEM),
            "Hvis du er åpen for en gruppe på tvers av problemer, kan en gruppe starte nå",
            "Om du er open for ei gruppe på tvers av problem, kan ei gruppe starte no",
            "If you welcome a cross-problem group, a group could start now",
        ),
    ],
)
def test_suggestions_in_three_languages(suggestion: Suggestion, nb: str, nn: str, en: str) -> None:
    assert explain_suggestion(suggestion, "nb") == nb
    assert explain_suggestion(suggestion, "nn") == nn
    assert explain_suggestion(suggestion, "en") == en


def test_slot_names() -> None:
    assert slot_name("sat-daytime", "nb") == "lørdag på dagtid"
    assert slot_name("sun-morning", "nn") == "sundag morgon"
    assert slot_name("bogus", "en") == "bogus"


def test_suggests_an_extra_slot() -> None:
    others = [person(f"o{i}", slots=frozenset({"wed-evening"}), days=30) for i in range(3)]
    me = person("me", slots=frozenset({"mon-morning"}), days=30)
    plan = form_groups([*others, me], RuleBook(), now=NOW, facilitators=[starter("f", free=2)])
    assert plan.groups == ()
    u = _unplaced(plan.unplaced, "me")
    assert u.suggestion == Suggestion(SuggestionKind.ADD_SLOT, "wed-evening")
    # A fourth person on Wednesday evening forms the group; then nobody is left to suggest.
    fourth = person("o3", slots=frozenset({"wed-evening"}), days=30)
    plan = form_groups([*others, fourth, me], RuleBook(), now=NOW, facilitators=[starter("f")])
    assert len(plan.groups) == 1
    assert _unplaced(plan.unplaced, "me").suggestion is None


def test_suggests_language_digital_and_cross_problem() -> None:
    fac = [starter("f", free=3), starter("g", org="B", free=3)]
    english = [person(f"e{i}", languages=frozenset({"en"}), days=40) for i in range(3)]
    me = person("me", days=40)
    plan = form_groups([*english, me], RuleBook(), now=NOW, facilitators=fac)
    assert _unplaced(plan.unplaced, "me").suggestion == Suggestion(
        SuggestionKind.ADD_LANGUAGE, "en"
    )

    remote = [person(f"r{i}", org="B", digital=True, days=40) for i in range(3)]
    me = person("me", days=40)
    plan = form_groups([*remote, me], RuleBook(), now=NOW, facilitators=fac)
    assert _unplaced(plan.unplaced, "me").suggestion == Suggestion(SuggestionKind.WELCOME_DIGITAL)

    mixed = [person(f"x{i}", themes=("angst",), cross=True, days=40) for i in range(3)]
    me = person("me", days=40)
    plan = form_groups([*mixed, me], RuleBook(), now=NOW, facilitators=fac)
    assert _unplaced(plan.unplaced, "me").suggestion == Suggestion(
        SuggestionKind.WELCOME_CROSS_PROBLEM
    )


def test_no_facilitator_reason_and_full_sentence() -> None:
    people = [person(f"p{i}", org="bergen", days=30) for i in range(5)]
    plan = form_groups(
        people, RuleBook(), now=NOW, facilitators=[starter("f", org="bergen", free=0)]
    )
    u = _unplaced(plan.unplaced, "p0")
    assert u.reason.kind is ReasonKind.NO_FACILITATOR
    text = explain_unplaced(u, "nb", organisations=ORGS, themes=THEMES)
    assert text == (
        "Nok folk venter på «sorg» i LINK Bergen og omegn, men ingen igangsetter er ledig for "
        "det ennå."
    )
