"""A waiting person widens their own choices: one more meeting slot, one more language, or a
welcome to a digital or a cross-problem group.

These are exactly the single changes the matching core suggests (``matching.model
.SuggestionKind``; intake cannot import matching, so the kinds are the same strings here). A
change only ever *adds* to what the person chose — narrowing choices is what the staff console's
full form and a new sign-up are for — so it can be offered in one click, by the person with
their receipt code, by staff after a phone call, or through the link in a suggestion message.

The waiting time stays: a change keeps the person's place in line. Only the choice columns (and
``updated_at``) are written; nothing is logged about the person. The caller commits and then
asks the re-check port (:class:`intake.progress.Recheck`) to run matching at once.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from intake.errors import Conflict, FieldProblem, InvalidInterest, NotFound
from intake.lapse import alive_values
from intake.reference import LANGUAGES
from intake.schemas import SLOTS
from intake.tables import interest

log = logging.getLogger(__name__)

ADD_SLOT: Final = "add_slot"
WELCOME_DIGITAL: Final = "welcome_digital"
ADD_LANGUAGE: Final = "add_language"
WELCOME_CROSS_PROBLEM: Final = "welcome_cross_problem"
#: Every kind of change, smallest first (the order of ``matching.model.SuggestionKind``).
KINDS: tuple[str, ...] = (ADD_SLOT, WELCOME_DIGITAL, ADD_LANGUAGE, WELCOME_CROSS_PROBLEM)
#: Kinds that name a value (a slot, a language code); the others take none.
_VALUED = {ADD_SLOT: SLOTS, ADD_LANGUAGE: tuple(LANGUAGES)}

#: Who asked for a change: the person with their receipt code, staff after a phone call, or the
#: person through the link of a suggestion message.
ACTORS: tuple[str, ...] = ("participant", "staff", "message")


@dataclass(frozen=True, slots=True)
class ChoiceChange:
    """One change: ``kind`` from :data:`KINDS`; ``value`` a slot ("tue-evening") for
    ``add_slot``, a language code ("en") for ``add_language``, else None."""

    kind: str
    value: str | None = None


def problems_of(changes: Sequence[ChoiceChange], field: str = "changes") -> list[FieldProblem]:
    """What is wrong with these changes, checked against the reference data (empty: fine)."""
    out: list[FieldProblem] = []
    if not changes:
        out.append(FieldProblem(field, "name at least one change", "missing"))
    for i, c in enumerate(changes):
        where = f"{field}[{i}]"
        if c.kind not in KINDS:
            out.append(FieldProblem(f"{where}.kind", f"unknown change {c.kind!r}"))
            continue
        allowed = _VALUED.get(c.kind)
        if allowed is None:
            if c.value is not None:
                out.append(FieldProblem(f"{where}.value", f"{c.kind} takes no value"))
        elif c.value is None:
            out.append(FieldProblem(f"{where}.value", f"{c.kind} needs a value", "missing"))
        elif c.value not in allowed:
            what = "slot" if c.kind == ADD_SLOT else "language"
            out.append(FieldProblem(f"{where}.value", f"unknown {what} {c.value!r}"))
    return out


def _merged(row: Any, changes: Sequence[ChoiceChange]) -> dict[str, Any]:
    """The new values of the columns the changes touch (only those that really change)."""
    slots = list(row.slots)
    languages = list(row.languages)
    values: dict[str, Any] = {}
    for c in changes:
        if c.kind == ADD_SLOT and c.value not in slots:
            slots.append(str(c.value))
            values["slots"] = [s for s in SLOTS if s in slots]  # week order, as at sign-up
        elif c.kind == ADD_LANGUAGE and c.value not in languages:
            languages.append(str(c.value))
            values["languages"] = languages
        elif c.kind == WELCOME_DIGITAL and not row.digital_welcome:
            values["digital_welcome"] = True
        elif c.kind == WELCOME_CROSS_PROBLEM and not row.cross_problem_welcome:
            values["cross_problem_welcome"] = True
    return values


async def apply(
    session: AsyncSession,
    interest_id: uuid.UUID,
    changes: Sequence[ChoiceChange],
    *,
    now: datetime,
    actor: str,
) -> bool:
    """Add these choices to a waiting person's; True when anything changed.

    Runs in the caller's transaction and never commits. The row is locked until the
    transaction ends, so a matching run (which skips locked rows) and a withdrawal cannot
    interleave. A change the person already has is no error (a second click, another tab):
    nothing is written for it.

    Raises:
        InvalidInterest: an unknown kind, slot or language, or a value where none belongs.
        NotFound: no such person (withdrawn and erased, or never registered).
        Conflict: the person is not waiting (in a group, or placed) — only a waiting person's
            choices can change.
        ValueError: ``actor`` is not one of :data:`ACTORS` (a programming error).
    """
    if actor not in ACTORS:
        raise ValueError(f"unknown actor {actor!r}")
    problems = problems_of(changes)
    if problems:
        raise InvalidInterest(problems)
    row = (
        await session.execute(
            select(
                interest.c.status,
                interest.c.slots,
                interest.c.languages,
                interest.c.digital_welcome,
                interest.c.cross_problem_welcome,
            )
            .where(interest.c.id == interest_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise NotFound("no such interest")
    if row.status != "waiting":
        raise Conflict("only the choices of someone still waiting can change")
    values = _merged(row, changes)
    if not values:
        return False
    # waiting_since stays as it is: the person keeps their place in line. A change is a sign
    # of life: the registration is kept a new year (intake.lapse).
    await session.execute(
        update(interest)
        .where(interest.c.id == interest_id)
        .values(**values, **alive_values(now), updated_at=now)
    )
    # Kinds and who asked, never who it was or what they chose.
    log.info("choices widened", extra={"actor": actor, "changed": sorted(values)})
    return True


@dataclass(frozen=True, slots=True)
class Current:
    """A person's widenable choices as they stand (for offering the remaining changes)."""

    slots: tuple[str, ...]
    languages: tuple[str, ...]
    digital_welcome: bool
    cross_problem_welcome: bool

    def open_slots(self) -> list[str]:
        """Slots not chosen yet, in week order."""
        return [s for s in SLOTS if s not in self.slots]

    def open_languages(self) -> list[str]:
        """Languages not chosen yet (codes of the reference data)."""
        return [code for code in LANGUAGES if code not in self.languages]


async def current(session: AsyncSession, interest_id: uuid.UUID) -> Current | None:
    """The person's choices that a change can widen; None when unknown."""
    row = (
        await session.execute(
            select(
                interest.c.slots,
                interest.c.languages,
                interest.c.digital_welcome,
                interest.c.cross_problem_welcome,
            ).where(interest.c.id == interest_id)
        )
    ).first()
    if row is None:
        return None
    return Current(
        tuple(row.slots), tuple(row.languages), row.digital_welcome, row.cross_problem_welcome
    )
