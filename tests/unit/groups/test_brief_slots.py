"""The group's slot as clock times: dates offered on the slot, and what counts as off it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from groups.brief import OSLO, next_slot_starts, on_slot, slot_text, when_text
from groups.meeting_form import parse
from intake.web.i18n import Translator

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday


def test_next_dates_are_the_slot_weekday_at_the_part_of_day_start_two_days_ahead() -> None:
    starts = next_slot_starts("tue-evening", now=NOW)
    assert [s.isoformat() for s in starts] == [
        "2026-12-01T18:00:00+01:00",  # Tuesday 24 Nov is only 33 hours ahead
        "2026-12-08T18:00:00+01:00",
        "2026-12-15T18:00:00+01:00",
        "2026-12-22T18:00:00+01:00",
    ]
    assert (
        next_slot_starts("mon-morning", now=NOW, count=1)[0]
        .isoformat()
        .startswith("2026-11-30T10:00")
    )


def test_local_time_holds_across_the_end_of_summer_time() -> None:
    starts = next_slot_starts("tue-daytime", now=datetime(2026, 10, 18, tzinfo=UTC), count=2)
    assert [s.astimezone(OSLO).strftime("%d.%m %H:%M %z") for s in starts] == [
        "20.10 13:00 +0200",
        "27.10 13:00 +0100",
    ]


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2026-12-01T17:00", True),
        ("2026-12-01T21:59", True),
        ("2026-12-01T22:00", False),  # the window's end is not in it
        ("2026-12-01T16:59", False),
        ("2026-12-04T18:00", False),  # a Friday
    ],
)
def test_on_slot_is_weekday_and_part_of_day_in_oslo_time(local: str, expected: bool) -> None:
    at = datetime.fromisoformat(local).replace(tzinfo=OSLO)
    assert on_slot("tue-evening", at) is expected
    assert on_slot("tue-evening", at.astimezone(UTC)) is expected


def test_slot_and_time_words_in_each_language() -> None:
    at = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert slot_text("tue-evening", "nb") == "tirsdag kveld (17:00–22:00)"
    assert slot_text("tue-evening", "nn") == "tysdag kveld (17:00–22:00)"
    assert slot_text("tue-evening", "en") == "Tuesday evening (17:00–22:00)"
    assert when_text(at, "nb") == "tirsdag 01.12.2026 kl. 18:00"
    assert when_text(at, "en") == "Tuesday 1 December 2026 at 18:00"


def test_another_time_off_the_slot_needs_the_confirmation() -> None:
    t = Translator("en")
    base = {"when": "other", "date": "2026-12-04", "time": "10:00", "place": "Rom 1"}
    choice, errors = parse(base, slot="tue-evening", now=NOW, t=t)
    assert choice is None and list(errors) == ["confirm_other_time"]
    choice, errors = parse({**base, "confirm_other_time": "yes"}, slot="tue-evening", now=NOW, t=t)
    assert choice is not None and choice.off_slot and not errors
    # Another time that is on the slot anyway needs no confirmation and is not off it.
    on = {**base, "date": "2026-12-08", "time": "19:30"}
    choice, errors = parse(on, slot="tue-evening", now=NOW, t=t)
    assert choice is not None and not choice.off_slot
    # A forged "offered" date off the slot is refused, as is one too soon.
    _, errors = parse({"when": "2026-12-04T18:00", "place": "x"}, slot="tue-evening", now=NOW, t=t)
    assert list(errors) == ["when"]
    soon = (NOW + timedelta(hours=30)).astimezone(OSLO).strftime("%Y-%m-%dT18:00")
    _, errors = parse({"when": soon, "place": "x"}, slot="tue-evening", now=NOW, t=t)
    assert list(errors) == ["when"]


def test_the_form_offers_dates_from_a_small_groups_earliest_day_and_refuses_earlier_ones() -> None:
    from groups.meeting_form import build

    now = datetime(2026, 12, 1, 9, tzinfo=UTC)  # a Tuesday
    earliest = now + timedelta(days=21)  # Tuesday 22 December, 10:00 in Oslo
    form = build(action="", slot="tue-evening", meetings=3, now=now, lang="en", earliest=earliest)
    first = datetime.fromisoformat(form.choices[0][0]).replace(tzinfo=OSLO)
    assert first == datetime(2026, 12, 22, 18, tzinfo=OSLO)  # that day's evening counts
    assert form.fill_note is not None and "Tuesday 22 December 2026" in form.fill_note
    plain = build(action="", slot="tue-evening", meetings=3, now=now, lang="en")
    assert plain.fill_note is None and plain.choices[0][0] == "2026-12-08T18:00"
    t = Translator("en")
    earlier = {"when": "2026-12-15T18:00", "place": "LINK"}
    choice, errors = parse(earlier, slot="tue-evening", now=now, t=t, earliest=earliest)
    assert choice is None and "22 December 2026" in errors["when"]
    choice, errors = parse(earlier, slot="tue-evening", now=now, t=t)
    assert choice is not None and not errors
    taken = {"when": "2026-12-22T18:00", "place": "LINK"}
    choice, _ = parse(taken, slot="tue-evening", now=now, t=t, earliest=earliest)
    assert choice is not None and choice.starts_at == first
    # Past the earliest day, the usual two days ahead apply.
    later = now + timedelta(days=30)
    form = build(action="", slot="tue-evening", meetings=3, now=later, lang="en", earliest=earliest)
    assert form.fill_note is None
