"""Reasons and suggestions in words: bokmål ("nb"), nynorsk ("nn") and English ("en").

The core never looks anything up, so organisation and theme names come in as mappings from the
caller (the service layer owns the registry). An id without a name is shown as the id, which is
ugly but never wrong. Weekday, time-of-day and a few language names are part of the wording and
live here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from matching.model import Reason, ReasonKind, Suggestion, SuggestionKind, Unplaced

Locale = Literal["nb", "nn", "en"]
LOCALES: tuple[Locale, ...] = ("nb", "nn", "en")

_DAYS: dict[Locale, tuple[str, ...]] = {
    "nb": ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag"),
    "nn": ("måndag", "tysdag", "onsdag", "torsdag", "fredag", "laurdag", "sundag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_DAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_PARTS: dict[Locale, dict[str, str]] = {
    "nb": {"morning": "morgen", "daytime": "på dagtid", "evening": "kveld"},
    "nn": {"morning": "morgon", "daytime": "på dagtid", "evening": "kveld"},
    "en": {"morning": "morning", "daytime": "daytime", "evening": "evening"},
}
_LANGUAGES: dict[Locale, dict[str, str]] = {
    "nb": {
        "no": "norsk",
        "en": "engelsk",
        "es": "spansk",
        "ar": "arabisk",
        "pl": "polsk",
        "uk": "ukrainsk",
        "so": "somali",
        "se": "nordsamisk",
        "ti": "tigrinja",
    },
    "nn": {
        "no": "norsk",
        "en": "engelsk",
        "es": "spansk",
        "ar": "arabisk",
        "pl": "polsk",
        "uk": "ukrainsk",
        "so": "somali",
        "se": "nordsamisk",
        "ti": "tigrinja",
    },
    "en": {
        "no": "Norwegian",
        "en": "English",
        "es": "Spanish",
        "ar": "Arabic",
        "pl": "Polish",
        "uk": "Ukrainian",
        "so": "Somali",
        "se": "Northern Sami",
        "ti": "Tigrinya",
    },
}

_T: dict[Locale, dict[str, str]] = {
    "nb": {
        "q": "«{}»",
        "cross": "en gruppe på tvers av problemer",
        "digital": "en digital gruppe",
        "in": "i {}",
        "none": "Ingen andre som venter på {what} {where}, har et møtetidspunkt, et språk og en "
        "aldersgruppe felles med deg",
        "one": "1 annen som venter på {what} {where}, har et møtetidspunkt, et språk og en "
        "aldersgruppe felles med deg",
        "many": "{n} andre som venter på {what} {where}, har et møtetidspunkt, et språk og en "
        "aldersgruppe felles med deg",
        "needed": "{n} trengs",
        "not_cross": "gruppe på tvers av problemer er ikke ønsket",
        "fifth": "{n} kan møtes om {what} {where}; vi venter inntil {d} dager til på én person "
        "til, fordi grupper på {m} er sårbare",
        "nofac": "Nok folk venter på {what} {where}, men ingen igangsetter er ledig for det ennå",
        "next": "En gruppe om {what} {where} ser ut til å være mulig; den foreslås ved neste "
        "kjøring",
        "nochoice": "Velg minst ett møtetidspunkt, ett språk og et tema (eller si ja til en "
        "gruppe på tvers av problemer)",
        "if": "Hvis du {change}, kan en gruppe starte nå",
        "if_soon": "Hvis du {change}, kan en gruppe starte snart",
        "slot": "også kan møtes {}",
        "lang": "også kan delta på {}",
        "wdig": "er åpen for en digital gruppe",
        "wcross": "er åpen for en gruppe på tvers av problemer",
    },
    "nn": {
        "q": "«{}»",
        "cross": "ei gruppe på tvers av problem",
        "digital": "ei digital gruppe",
        "in": "i {}",
        "none": "Ingen andre som ventar på {what} {where}, har eit møtetidspunkt, eit språk og ei "
        "aldersgruppe felles med deg",
        "one": "1 annan som ventar på {what} {where}, har eit møtetidspunkt, eit språk og ei "
        "aldersgruppe felles med deg",
        "many": "{n} andre som ventar på {what} {where}, har eit møtetidspunkt, eit språk og ei "
        "aldersgruppe felles med deg",
        "needed": "{n} trengst",
        "not_cross": "gruppe på tvers av problem er ikkje ønskt",
        "fifth": "{n} kan møtast om {what} {where}; vi ventar inntil {d} dagar til på éin person "
        "til, fordi grupper på {m} er sårbare",
        "nofac": "Nok folk ventar på {what} {where}, men ingen igangsetjar er ledig for det enno",
        "next": "Ei gruppe om {what} {where} ser ut til å vere mogleg; ho blir føreslått ved "
        "neste køyring",
        "nochoice": "Vel minst eitt møtetidspunkt, eitt språk og eit tema (eller sei ja til ei "
        "gruppe på tvers av problem)",
        "if": "Om du {change}, kan ei gruppe starte no",
        "if_soon": "Om du {change}, kan ei gruppe starte snart",
        "slot": "også kan møtast {}",
        "lang": "også kan delta på {}",
        "wdig": "er open for ei digital gruppe",
        "wcross": "er open for ei gruppe på tvers av problem",
    },
    "en": {
        "q": "'{}'",
        "cross": "a cross-problem group",
        "digital": "a digital group",
        "in": "in {}",
        "none": "Nobody else waiting for {what} {where} shares a meeting time, a language and an "
        "age group with you",
        "one": "1 other person waiting for {what} {where} shares a meeting time, a language and "
        "an age group with you",
        "many": "{n} others waiting for {what} {where} share a meeting time, a language and an "
        "age group with you",
        "needed": "{n} are needed",
        "not_cross": "cross-problem not welcome",
        "fifth": "{n} could meet for {what} {where}; we wait up to {d} more days for one more "
        "person, because groups of {m} are fragile",
        "nofac": "Enough people wait for {what} {where}, but no facilitator is free for it yet",
        "next": "A group for {what} {where} looks possible; it will be proposed in the next run",
        "nochoice": "Choose at least one meeting time, one language and a theme (or welcome a "
        "cross-problem group)",
        "if": "If you {change}, a group could start now",
        "if_soon": "If you {change}, a group could start soon",
        "slot": "could also meet on {}",
        "lang": "could also take part in {}",
        "wdig": "welcome a digital group",
        "wcross": "welcome a cross-problem group",
    },
}


def slot_name(slot: str, locale: Locale) -> str:
    """'tue-evening' -> 'Tuesday evening' / 'tirsdag kveld' / 'tysdag kveld'."""
    day, _, part = slot.partition("-")
    if day not in _DAY_KEYS or part not in _PARTS[locale]:
        return slot
    return f"{_DAYS[locale][_DAY_KEYS.index(day)]} {_PARTS[locale][part]}"


def language_name(code: str, locale: Locale, names: Mapping[str, str] | None = None) -> str:
    """Name of an ISO 639-1 code in ``locale``; ``names`` (from the caller) wins."""
    if names and code in names:
        return names[code]
    return _LANGUAGES[locale].get(code, code)


def explain_reason(
    reason: Reason,
    locale: Locale,
    *,
    organisations: Mapping[str, str],
    themes: Mapping[str, str],
) -> str:
    """One sentence on why the person is not in a group yet.

    Args:
        reason: The structured reason from the plan.
        locale: "nb", "nn" or "en".
        organisations: Organisation id -> display name in ``locale``.
        themes: Theme slug -> display name in ``locale``.
    """
    t = _T[locale]
    if reason.kind is ReasonKind.NO_CHOICES:
        return t["nochoice"]
    what = (
        t["cross"]
        if reason.theme is None
        else t["q"].format(themes.get(reason.theme, reason.theme))
    )
    org = organisations.get(reason.organisation, reason.organisation)
    where = t["in"].format(t["digital"] if reason.digital else org)
    if reason.kind is ReasonKind.TOO_FEW:
        n = reason.others
        head = t["none" if n == 0 else "one" if n == 1 else "many"]
        parts = [head.format(n=n, what=what, where=where), t["needed"].format(n=reason.needed)]
        if not reason.cross_problem_welcome:
            parts.append(t["not_cross"])
        return "; ".join(parts)
    if reason.kind is ReasonKind.WAITING_FOR_FIFTH:
        return t["fifth"].format(
            n=reason.others + 1, what=what, where=where, d=reason.days_left, m=reason.needed
        )
    if reason.kind is ReasonKind.NO_FACILITATOR:
        return t["nofac"].format(what=what, where=where)
    return t["next"].format(what=what, where=where)


def explain_suggestion(
    suggestion: Suggestion, locale: Locale, *, language_names: Mapping[str, str] | None = None
) -> str:
    """A change that would place the person now (or soon, :attr:`Suggestion.soon`), as one
    sentence."""
    t = _T[locale]
    if suggestion.kind is SuggestionKind.ADD_SLOT:
        change = t["slot"].format(slot_name(suggestion.value or "", locale))
    elif suggestion.kind is SuggestionKind.ADD_LANGUAGE:
        change = t["lang"].format(language_name(suggestion.value or "", locale, language_names))
    elif suggestion.kind is SuggestionKind.WELCOME_DIGITAL:
        change = t["wdig"]
    else:
        change = t["wcross"]
    return t["if_soon" if suggestion.soon else "if"].format(change=change)


def explain_suggestions(
    unplaced: Unplaced, locale: Locale, *, language_names: Mapping[str, str] | None = None
) -> list[str]:
    """Every suggestion of the person, best first, one sentence each (without a full stop)."""
    return [
        explain_suggestion(s, locale, language_names=language_names) for s in unplaced.suggestions
    ]


def explain_unplaced(
    unplaced: Unplaced,
    locale: Locale,
    *,
    organisations: Mapping[str, str],
    themes: Mapping[str, str],
    language_names: Mapping[str, str] | None = None,
) -> str:
    """Reason and, if there is one, suggestion, as two sentences."""
    text = explain_reason(unplaced.reason, locale, organisations=organisations, themes=themes)
    if unplaced.suggestion is None:
        return text + "."
    hint = explain_suggestion(unplaced.suggestion, locale, language_names=language_names)
    return f"{text}. {hint}."
