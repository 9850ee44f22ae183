"""What the templates show, in the page's language: choices for the form and status in words.

Names the pages share with the API come from the same reference data (themes, languages, age
bands, time slots), so the form can never offer a choice the service would reject. Language and
weekday names come from CLDR through Babel, already translated for nb, nn and en.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.places import Place, places, sort_key
from intake.reference import CROSS_PROBLEM, LANGUAGES, THEMES
from intake.schemas import PARTS_OF_DAY, WEEKDAYS, InterestStatus
from intake.tables import county, municipality
from intake.web.i18n import Translator

#: Languages shown before the "more languages" fold: most groups are held in these.
COMMON_LANGUAGES = ("no", "en")

_municipalities: list[tuple[str, list[Place]]] | None = None


async def municipalities_by_county(session: AsyncSession) -> list[tuple[str, list[Place]]]:
    """All municipalities grouped by county, both in Norwegian alphabetical order (Æ, Ø, Å
    last), homonyms labelled with their county, former names attached (``intake.places``);
    reference data, loaded once."""
    global _municipalities
    if _municipalities is None:
        rows = (
            await session.execute(
                select(
                    municipality.c.number, municipality.c.name, county.c.name.label("county")
                ).join(county, county.c.number == municipality.c.county_number)
            )
        ).all()
        county_of = {r.number: r.county for r in rows}
        grouped: dict[str, list[Place]] = {}
        for place in places((r.number, r.name, r.county) for r in rows):
            grouped.setdefault(county_of[place.number], []).append(place)
        found = sorted(grouped.items(), key=lambda item: sort_key(item[0]))
        if found:
            _municipalities = found
        return found
    return _municipalities


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def theme_names(lang: str) -> dict[str, str]:
    """Theme slug → name in the page language (cross-problem included)."""
    names = {t.slug: getattr(t, lang) for t in THEMES}
    names[CROSS_PROBLEM.slug] = getattr(CROSS_PROBLEM, lang)
    return names


def language_choices(lang: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Languages a group can be held in, named in the page language: (common, the rest)."""
    names = _locale(lang).languages
    label = {code: _cap(names.get(code, fallback)) for code, fallback in LANGUAGES.items()}
    common = [(c, label[c]) for c in COMMON_LANGUAGES]
    rest = sorted(
        ((c, n) for c, n in label.items() if c not in COMMON_LANGUAGES), key=lambda x: x[1]
    )
    return common, rest


def weekday_names(lang: str) -> list[tuple[str, str]]:
    wide = _locale(lang).days["format"]["wide"]
    return [(day, _cap(wide[i])) for i, day in enumerate(WEEKDAYS)]


def part_names(t: Translator) -> list[tuple[str, str]]:
    labels = {
        "morning": t.gettext("Morning"),
        "daytime": t.gettext("Daytime"),
        "evening": t.gettext("Evening"),
    }
    return [(p, labels[p]) for p in PARTS_OF_DAY]


def age_band_label(t: Translator, band: str) -> str:
    if band.endswith("+"):
        return t.gettext("%(age)s or older", age=band[:-1])
    return t.gettext("%(band)s years", band=band.replace("-", "–"))


def gender_choices(t: Translator) -> list[tuple[str, str]]:
    return [
        ("female", t.gettext("Woman")),
        ("male", t.gettext("Man")),
        ("other", t.gettext("Other")),
        ("unspecified", t.gettext("I would rather not say")),
    ]


#: One way to write a date everywhere on the pages: weekday first, as people say it
#: ("tirsdag 1. desember 2026"; "Tuesday 1 December 2026", not CLDR's "December 1, 2026").
_DATE = {"nb": "EEEE d. MMMM y", "nn": "EEEE d. MMMM y", "en": "EEEE d MMMM y"}
#: A time of day is written "kl. 18:00" in Norwegian, "at 18:00" in English.
_TIME = {"nb": " 'kl.' HH:mm", "nn": " 'kl.' HH:mm", "en": " 'at' HH:mm"}
OSLO = ZoneInfo("Europe/Oslo")


def long_date(when: datetime | date, lang: str) -> str:
    """A date with its weekday, in the page language."""
    day = when.date() if isinstance(when, datetime) else when
    return format_date(day, _DATE.get(lang, _DATE["nb"]), locale=lang)


def date_and_time(when: datetime, lang: str) -> str:
    """A moment in Oslo time: "tirsdag 1. desember 2026 kl. 18:00"."""
    pattern = _DATE.get(lang, _DATE["nb"]) + _TIME.get(lang, _TIME["nb"])
    return format_datetime(when, pattern, tzinfo=OSLO, locale=lang)


def registered_message(t: Translator, organisation: str | None, *, served: bool) -> str:
    """Where a new sign-up stands, as the receipt says it (and the API's ``message``)."""
    if served:
        return t.gettext("You are on the waiting list at %(org)s.", org=organisation or "")
    return t.gettext(
        "No place starts groups in your municipality yet. Your interest is counted "
        "as demand in your region, and you keep your place in line if one starts."
    )


@dataclass(frozen=True, slots=True)
class StatusView:
    """One interest's status as the person reads it."""

    text: str
    since: str | None
    contact: str | None
    can_withdraw: bool
    #: Why the person still waits and what would place them now, or the group step in words.
    detail: str | None = None
    #: The group waits for this person's yes or no and we cannot reach them.
    can_answer: bool = False
    #: By when the answer must come, in words (None: no question stands).
    respond_by: str | None = None


def status_in_words(t: Translator, s: InterestStatus) -> StatusView:
    """ "You are on the waiting list: 4 others are waiting for a group about grief at …"."""
    names = theme_names(t.lang)
    if s.themes:
        about = t.gettext("a group about %(theme)s", theme=names.get(s.themes[0], "").lower())
    else:
        about = t.gettext("a group across problems")
    n = s.others_waiting_same_theme
    if s.status == "waiting" and s.served and n == 0:
        # Not "0 others are waiting": say plainly that the person is the first.
        text = t.gettext(
            "You are on the waiting list for %(about)s at %(org)s. No one else is waiting for "
            "it yet.",
            about=about,
            org=s.organisation or "",
        )
    elif s.status == "waiting" and s.served:
        text = t.ngettext(
            "You are on the waiting list: %(num)d other person is waiting for %(about)s at "
            "%(org)s.",
            "You are on the waiting list: %(num)d others are waiting for %(about)s at %(org)s.",
            n,
            about=about,
            org=s.organisation or "",
        )
    elif s.status == "waiting":
        text = t.gettext(
            "You are on the waiting list. No place starts groups in your municipality yet: your "
            "interest counts as demand in your region, and you keep your place in line if one "
            "starts."
        )
    elif s.status == "proposed":
        text = t.gettext(
            "A group is being put together for you at %(org)s. A facilitator will contact you.",
            org=s.organisation or "",
        )
    elif s.status == "invited" and s.meeting_start is not None:
        # The time and place follow in the detail: do not say the facilitator will tell them.
        text = t.gettext("You are invited to a new group at %(org)s.", org=s.organisation or "")
    elif s.status == "invited":
        text = t.gettext(
            "You are invited to a new group at %(org)s. The facilitator will tell you when and "
            "where it meets.",
            org=s.organisation or "",
        )
    elif s.status == "placed":
        text = t.gettext("You are in a group at %(org)s.", org=s.organisation or "")
    elif s.contact:
        text = t.gettext(
            "You have withdrawn. Your contact details are deleted, and you will not be contacted."
        )
    else:
        # Someone who left no contact is not told about contact details they never gave.
        text = t.gettext("You have withdrawn. Everything you registered is deleted.")
    return StatusView(
        text=text,
        since=long_date(s.waiting_since, t.lang) if s.status != "withdrawn" else None,
        contact=s.contact,
        can_withdraw=s.status != "withdrawn",
        detail=s.step_text or s.explanation,
        can_answer=s.can_answer,
        # An offer's text already names its deadline; every other question gets it here.
        respond_by=(
            date_and_time(s.respond_by, t.lang)
            if s.respond_by is not None and s.step != "offered"
            else None
        ),
    )


@dataclass(frozen=True, slots=True)
class Criterion:
    """One WCAG 2.1 success criterion (level A or AA) and how these pages stand on it."""

    number: str
    level: str
    #: Name in nb, nn, en (the Norwegian names are those the Norwegian authority uses).
    names: tuple[str, str, str]
    #: "met", or "na" (not applicable: the pages have no such content).
    status: str

    def name(self, lang: str) -> str:
        return self.names[("nb", "nn", "en").index(lang) if lang in ("nb", "nn", "en") else 0]


def _c(number: str, level: str, nb: str, nn: str, en: str, status: str = "met") -> Criterion:
    return Criterion(number, level, (nb, nn, en), status)


#: Every WCAG 2.1 A and AA criterion, as a tilgjengelighetserklæring lists them. Self-assessed:
#: axe-core on every page state in each language, plus checks by hand in Chromium at 320 px,
#: 400 % zoom and keyboard only (no independent audit yet; see the known gaps).
CRITERIA: tuple[Criterion, ...] = (
    _c("1.1.1", "A", "Ikke-tekstlig innhold", "Ikkje-tekstleg innhald", "Non-text Content"),
    _c(
        "1.2.1",
        "A",
        "Bare lyd og bare video (forhåndsinnspilt)",
        "Berre lyd og berre video (førehandsinnspelt)",
        "Audio-only and Video-only (Prerecorded)",
        "na",
    ),
    _c(
        "1.2.2",
        "A",
        "Teksting (forhåndsinnspilt)",
        "Teksting (førehandsinnspelt)",
        "Captions (Prerecorded)",
        "na",
    ),
    _c(
        "1.2.3",
        "A",
        "Synstolking eller mediealternativ (forhåndsinnspilt)",
        "Synstolking eller mediealternativ (førehandsinnspelt)",
        "Audio Description or Media Alternative (Prerecorded)",
        "na",
    ),
    _c("1.2.4", "AA", "Teksting (direkte)", "Teksting (direkte)", "Captions (Live)", "na"),
    _c(
        "1.2.5",
        "AA",
        "Synstolking (forhåndsinnspilt)",
        "Synstolking (førehandsinnspelt)",
        "Audio Description (Prerecorded)",
        "na",
    ),
    _c(
        "1.3.1",
        "A",
        "Informasjon og relasjoner",
        "Informasjon og relasjonar",
        "Info and Relationships",
    ),
    _c("1.3.2", "A", "Meningsfylt rekkefølge", "Meiningsfull rekkjefølgje", "Meaningful Sequence"),
    _c("1.3.3", "A", "Sensoriske egenskaper", "Sensoriske eigenskapar", "Sensory Characteristics"),
    _c("1.3.4", "AA", "Visningsretning", "Visningsretning", "Orientation"),
    _c(
        "1.3.5",
        "AA",
        "Identifiser formål med inndata",
        "Identifiser føremål med inndata",
        "Identify Input Purpose",
    ),
    _c("1.4.1", "A", "Bruk av farge", "Bruk av farge", "Use of Color"),
    _c("1.4.2", "A", "Styring av lyd", "Styring av lyd", "Audio Control", "na"),
    _c("1.4.3", "AA", "Kontrast (minimum)", "Kontrast (minimum)", "Contrast (Minimum)"),
    _c("1.4.4", "AA", "Endring av tekststørrelse", "Endring av tekststorleik", "Resize Text"),
    _c("1.4.5", "AA", "Bilder av tekst", "Bilete av tekst", "Images of Text"),
    _c("1.4.10", "AA", "Dynamisk tilpasning (Reflow)", "Dynamisk tilpassing (Reflow)", "Reflow"),
    _c(
        "1.4.11",
        "AA",
        "Kontrast for ikke-tekstlig innhold",
        "Kontrast for ikkje-tekstleg innhald",
        "Non-text Contrast",
    ),
    _c("1.4.12", "AA", "Tekstavstand", "Tekstavstand", "Text Spacing"),
    _c(
        "1.4.13",
        "AA",
        "Innhold ved pekerfølsomhet eller tastaturfokus",
        "Innhald ved peikarføling eller tastaturfokus",
        "Content on Hover or Focus",
    ),
    _c("2.1.1", "A", "Tastatur", "Tastatur", "Keyboard"),
    _c("2.1.2", "A", "Ingen tastaturfelle", "Inga tastaturfelle", "No Keyboard Trap"),
    _c(
        "2.1.4",
        "A",
        "Hurtigtaster som består av ett tegn",
        "Hurtigtastar som består av eitt teikn",
        "Character Key Shortcuts",
        "na",
    ),
    _c("2.2.1", "A", "Justerbar hastighet", "Justerbar hastigheit", "Timing Adjustable"),
    _c("2.2.2", "A", "Pause, stopp, skjul", "Pause, stopp, skjul", "Pause, Stop, Hide", "na"),
    _c(
        "2.3.1",
        "A",
        "Terskelverdi på maksimalt tre glimt",
        "Terskelverdi på maksimalt tre glimt",
        "Three Flashes or Below Threshold",
    ),
    _c("2.4.1", "A", "Hoppe over blokker", "Hoppe over blokker", "Bypass Blocks"),
    _c("2.4.2", "A", "Sidetitler", "Sidetitlar", "Page Titled"),
    _c("2.4.3", "A", "Fokusrekkefølge", "Fokusrekkjefølgje", "Focus Order"),
    _c(
        "2.4.4",
        "A",
        "Formål med lenke (i kontekst)",
        "Føremål med lenkje (i kontekst)",
        "Link Purpose (In Context)",
    ),
    _c("2.4.5", "AA", "Flere måter", "Fleire måtar", "Multiple Ways"),
    _c(
        "2.4.6",
        "AA",
        "Overskrifter og ledetekster",
        "Overskrifter og leietekstar",
        "Headings and Labels",
    ),
    _c("2.4.7", "AA", "Synlig fokus", "Synleg fokus", "Focus Visible"),
    _c("2.5.1", "A", "Pekerbevegelser", "Peikarrørsler", "Pointer Gestures", "na"),
    _c("2.5.2", "A", "Pekeravbrytelse", "Peikaravbrot", "Pointer Cancellation"),
    _c("2.5.3", "A", "Ledetekst i navn", "Leietekst i namn", "Label in Name"),
    _c("2.5.4", "A", "Bevegelsesaktivering", "Rørsleaktivering", "Motion Actuation", "na"),
    _c("3.1.1", "A", "Språk på siden", "Språk på sida", "Language of Page"),
    _c(
        "3.1.2", "AA", "Språk på deler av innhold", "Språk på delar av innhald", "Language of Parts"
    ),
    _c("3.2.1", "A", "Fokus", "Fokus", "On Focus"),
    _c("3.2.2", "A", "Inndata", "Inndata", "On Input"),
    _c("3.2.3", "AA", "Konsekvent navigering", "Konsekvent navigering", "Consistent Navigation"),
    _c(
        "3.2.4",
        "AA",
        "Konsekvent identifikasjon",
        "Konsekvent identifikasjon",
        "Consistent Identification",
    ),
    _c("3.3.1", "A", "Identifikasjon av feil", "Identifikasjon av feil", "Error Identification"),
    _c(
        "3.3.2",
        "A",
        "Ledetekster eller instruksjoner",
        "Leietekstar eller instruksjonar",
        "Labels or Instructions",
    ),
    _c("3.3.3", "AA", "Forslag ved feil", "Forslag ved feil", "Error Suggestion"),
    _c(
        "3.3.4",
        "AA",
        "Forhindring av feil (juridiske feil, økonomiske feil, datafeil)",
        "Førebygging av feil (juridiske feil, økonomiske feil, datafeil)",
        "Error Prevention (Legal, Financial, Data)",
    ),
    _c("4.1.1", "A", "Parsing (oppdeling)", "Parsing (oppdeling)", "Parsing"),
    _c("4.1.2", "A", "Navn, rolle, verdi", "Namn, rolle, verdi", "Name, Role, Value"),
    _c("4.1.3", "AA", "Statusbeskjeder", "Statusmeldingar", "Status Messages"),
)
