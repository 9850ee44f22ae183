"""What the templates show, in the page's language: choices for the form and status in words.

Names the pages share with the API come from the same reference data (themes, languages, age
bands, time slots), so the form can never offer a choice the service would reject. Language and
weekday names come from CLDR through Babel, already translated for nb, nn and en.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from babel import Locale
from babel.dates import format_date
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
                select(municipality.c.number, municipality.c.name, county.c.name.label("county"))
                .join(county, county.c.number == municipality.c.county_number)
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


def long_date(when: datetime, lang: str) -> str:
    return format_date(when.date(), format="long", locale=lang)


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


def status_in_words(t: Translator, s: InterestStatus) -> StatusView:
    """ "You are on the waiting list: 4 others are waiting for a group about grief at …"."""
    names = theme_names(t.lang)
    if s.themes:
        about = t.gettext("a group about %(theme)s", theme=names.get(s.themes[0], "").lower())
    else:
        about = t.gettext("a group across problems")
    n = s.others_waiting_same_theme
    if s.status == "waiting" and s.served:
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
    elif s.status == "invited":
        text = t.gettext(
            "You are invited to a new group at %(org)s. The facilitator will tell you when and "
            "where it meets.",
            org=s.organisation or "",
        )
    elif s.status == "placed":
        text = t.gettext("You are in a group at %(org)s.", org=s.organisation or "")
    else:
        text = t.gettext(
            "You have withdrawn. Your contact details are deleted, and you will not be contacted."
        )
    return StatusView(
        text=text,
        since=long_date(s.waiting_since, t.lang) if s.status != "withdrawn" else None,
        contact=s.contact,
        can_withdraw=s.status != "withdrawn",
        detail=s.step_text or s.explanation,
        can_answer=s.can_answer,
    )
