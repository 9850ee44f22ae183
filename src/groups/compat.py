"""Pure rule: may this waiting person take a freed place in this group? (no I/O)

Compatible means: the group's theme is one of theirs, or the group is across problems and they
welcome that (after the organisation's ``cross_problem_after_days``); the group's language and
slot are among theirs (checked in SQL as well); the age span stays within the rules; and
same-gender wishes hold on both sides. Organisation and digital fit are checked by the query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Person:
    age_band: int
    gender: str | None
    same_gender: bool

    @property
    def wants_single_gender(self) -> bool:
        return self.same_gender and self.gender is not None


@dataclass(frozen=True, slots=True)
class Seat:
    """What the group offers: theme (None = across problems), language, slot, rules."""

    theme: str | None
    language: str
    slot: str
    max_age_span: int
    cross_problem_after_days: int


def fits(
    person: Person,
    *,
    themes: Sequence[str],
    cross_problem_welcome: bool,
    languages: frozenset[str],
    slots: frozenset[str],
    waiting_since: datetime,
    seat: Seat,
    members: Sequence[Person],
    now: datetime,
) -> bool:
    if seat.language not in languages or seat.slot not in slots:
        return False
    if seat.theme is None:
        waited = now - waiting_since
        if not cross_problem_welcome or waited < timedelta(days=seat.cross_problem_after_days):
            return False
    elif seat.theme not in themes:
        return False
    ages = [m.age_band for m in members] + [person.age_band]
    if max(ages) - min(ages) > seat.max_age_span:
        return False
    if person.wants_single_gender and any(m.gender != person.gender for m in members):
        return False
    return not any(m.wants_single_gender and m.gender != person.gender for m in members)
