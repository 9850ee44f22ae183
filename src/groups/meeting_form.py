"""The first-meeting form: the next dates on the group's slot, or another time confirmed.

A Tuesday-evening group was once invited to a Friday-morning meeting and nobody was warned.
So the form offers the next dates on the group's agreed slot (at the part of day's default
start, :data:`groups.brief.DEFAULT_START`), and another time only with an explicit
confirmation. Validation is server-side; each error belongs to one field and is shown next to
it (the page works without JavaScript).

Form fields: ``when`` (``YYYY-MM-DDTHH:MM`` of an offered date, or ``other``), ``date`` and
``time`` (for ``other``), ``confirm_other_time`` (``yes``), ``place``. A post with ``date`` and
``time`` but no ``when`` is read as ``other`` (older forms and scripts); a time that is on the
slot anyway needs no confirmation.

A group at its smallest size has an earliest first meeting (``earliest``,
:func:`groups.timing.meets_from`): the dates offered start there, an earlier date is refused
with the reason, and the form says why, so the facilitator knows the wait is on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from babel.dates import format_date

from groups.brief import (
    MIN_LEAD,
    OSLO,
    next_slot_starts,
    on_slot,
    page_lang,
    slot_text,
    when_text,
)
from intake.web.i18n import Translator

FIELDS = ("when", "date", "time", "confirm_other_time", "place")
PLACE_MAX = 300
#: Where each field's error summary link points (the first control of the field).
ANCHORS = {"when": "when-1"}


@dataclass(frozen=True, slots=True)
class MeetingForm:
    """What the template shows: where it posts, the slot, the choices, values and errors."""

    action: str
    slot_text: str
    meetings: int
    choices: list[tuple[str, str]]
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    #: Why the first dates are some weeks away (a group at its smallest size), or None.
    fill_note: str | None = None


@dataclass(frozen=True, slots=True)
class MeetingChoice:
    """A valid answer: when, where, and whether the time is off the group's slot."""

    starts_at: datetime
    place: str
    off_slot: bool


def choice_value(at: datetime) -> str:
    return at.astimezone(OSLO).strftime("%Y-%m-%dT%H:%M")


def build(
    *,
    action: str,
    slot: str,
    meetings: int,
    now: datetime,
    lang: str,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    earliest: datetime | None = None,
) -> MeetingForm:
    """The form with the next four dates on ``slot`` (from ``earliest`` if later); the first
    is chosen unless posted."""
    waits = _waits(now, earliest)
    starts = next_slot_starts(slot, now=waits or now + MIN_LEAD, lead=timedelta(0))
    choices = [(choice_value(s), when_text(s, lang)) for s in starts]
    shown = {k: "" for k in FIELDS}
    shown.update(values or {})
    if not shown["when"] and not (shown["date"] or shown["time"]):
        shown["when"] = choices[0][0]
    return MeetingForm(
        action=action,
        slot_text=slot_text(slot, lang),
        meetings=meetings,
        choices=choices,
        values=shown,
        errors=dict(errors or {}),
        fill_note=None if waits is None else _fill_note(waits, lang),
    )


def _waits(now: datetime, earliest: datetime | None) -> datetime | None:
    """The morning of the group's own earliest day (any time that day will do) when it is
    later than the usual two days ahead; None when the usual rule applies."""
    if earliest is None:
        return None
    day = datetime.combine(earliest.astimezone(OSLO).date(), time(0), tzinfo=OSLO)
    return day if day > now + MIN_LEAD else None


def _day_text(at: datetime, lang: str) -> str:
    """A day as people read it: "tirsdag 29.12.2026" / "Tuesday 29 December 2026"."""
    pattern = "EEEE d MMMM yyyy" if lang == "en" else "EEEE dd.MM.yyyy"
    return format_date(at.astimezone(OSLO).date(), pattern, locale=page_lang(lang))


def _fill_note(earliest: datetime, lang: str) -> str:
    return Translator(lang).gettext(
        "So that more people can join before it starts, a group this small meets on "
        "%(date)s at the earliest. Until shortly before the first meeting, people who fit "
        "are offered a place in it.",
        date=_day_text(earliest, lang),
    )


def values_of(form: Any) -> dict[str, str]:
    return {k: str(form.get(k, "")).strip() for k in FIELDS}


def _local(day: str, at: str) -> datetime | None:
    try:
        return datetime.combine(
            datetime.strptime(day, "%Y-%m-%d").date(), time.fromisoformat(at), tzinfo=OSLO
        )
    except ValueError:
        return None


def parse(
    values: Mapping[str, str],
    *,
    slot: str,
    now: datetime,
    t: Translator,
    earliest: datetime | None = None,
) -> tuple[MeetingChoice | None, dict[str, str]]:
    """Check a posted form: the choice, or one error per field (in page order)."""
    errors: dict[str, str] = {}
    when = values.get("when", "")
    if not when and (values.get("date") or values.get("time")):
        when = "other"
    start: datetime | None = None
    waits = _waits(now, earliest)
    soonest = waits or now + MIN_LEAD
    too_soon = (
        t.gettext("The first meeting must be at least two days ahead, so everyone can answer.")
        if waits is None
        else t.gettext(
            "So that more people can join, this group meets on %(date)s at the earliest. "
            "Choose that day or later.",
            date=_day_text(waits, t.lang),
        )
    )
    if when == "other":
        day, at = values.get("date", ""), values.get("time", "")
        if not day or _local(day, "12:00") is None:
            errors["date"] = t.gettext("Write the date as YYYY-MM-DD.")
        if not at or _local("2000-01-01", at) is None:
            errors["time"] = t.gettext("Write the time as HH:MM, for example 18:00.")
        if not errors:
            start = _local(day, at)
            assert start is not None
            if start < soonest:
                errors["date"] = too_soon
            elif not on_slot(slot, start) and values.get("confirm_other_time") != "yes":
                errors["confirm_other_time"] = t.gettext(
                    "This time differs from what the participants chose. Tick the box to "
                    "confirm it, or choose one of the dates above."
                )
    elif when:
        start = _local(*when.partition("T")[::2])
        if start is None or not on_slot(slot, start):
            errors["when"] = t.gettext("Choose one of the dates, or another time.")
        elif start < soonest:
            errors["when"] = too_soon
    else:
        errors["when"] = t.gettext("Choose one of the dates, or another time.")
    place = values.get("place", "")
    if not place:
        errors["place"] = t.gettext("Write where the group meets.")
    elif len(place) > PLACE_MAX:
        errors["place"] = t.gettext("Write the place in at most 300 characters.")
    if errors or start is None:
        return None, _in_page_order(errors)
    return MeetingChoice(start, place, not on_slot(slot, start)), {}


def _in_page_order(errors: dict[str, str]) -> dict[str, str]:
    return {k: errors[k] for k in FIELDS if k in errors}
