"""The wording of suggestions that place *soon*, and of the whole list, in nb, nn and en."""

from __future__ import annotations

from matching.explain import explain_suggestion, explain_suggestions, explain_unplaced
from matching.model import Reason, ReasonKind, Suggestion, SuggestionKind, Unplaced

K = SuggestionKind


def test_soon_is_said_as_soon_in_three_languages() -> None:
    s = Suggestion(K.WELCOME_CROSS_PROBLEM, soon=True)
    assert explain_suggestion(s, "en") == (
        "If you welcome a cross-problem group, a group could start soon"
    )
    assert explain_suggestion(s, "nb") == (
        "Hvis du er åpen for en gruppe på tvers av problemer, kan en gruppe starte snart"
    )
    assert explain_suggestion(s, "nn") == (
        "Om du er open for ei gruppe på tvers av problem, kan ei gruppe starte snart"
    )


def test_the_list_in_order_and_the_one_line_explanation_unchanged() -> None:
    reason = Reason(ReasonKind.TOO_FEW, "bergen", "sorg", 2, 4, False)
    ranked = (
        Suggestion(K.ADD_SLOT, "wed-evening"),
        Suggestion(K.ADD_LANGUAGE, "en"),
        Suggestion(K.ADD_SLOT, "mon-morning", soon=True),
    )
    u = Unplaced("x", reason, ranked[0], ranked)
    assert explain_suggestions(u, "en") == [
        "If you could also meet on Wednesday evening, a group could start now",
        "If you could also take part in English, a group could start now",
        "If you could also meet on Monday morning, a group could start soon",
    ]
    one_line = explain_unplaced(u, "en", organisations={}, themes={})
    assert one_line.endswith(
        ". If you could also meet on Wednesday evening, a group could start now."
    )
    # Only "soon" ones: the one-line explanation promises nothing for now.
    later = Unplaced("x", reason, None, ranked[2:])
    assert "could start" not in explain_unplaced(later, "en", organisations={}, themes={})
