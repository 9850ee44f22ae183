"""Where a person stands after signing up, in words: why they still wait (the latest matching
run's note) or which step of their group's start they are at.

Intake is the ground floor: it owns the receipt code but knows nothing of matching or groups.
What it needs from them is the small :class:`Progress` port below; the composition root plugs in
the implementation (``groups.progress.GroupProgress``) and the status API and page receive it as
a dependency. A withdrawal goes through the port too, because it must reach the person's group
(a freed place is offered on) before the registration is erased. A second port,
:class:`Suggestions`, gives the changes of choices that would place a waiting person and
re-checks them at once after they accept one (``intake.choices``).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from litestar.datastructures import State
from sqlalchemy.ext.asyncio import AsyncSession

from intake import choices, interests
from intake.choices import ChoiceChange
from intake.schemas import InterestStatus, SuggestionOut

Locale = Literal["nb", "nn", "en"]


class AnswerOutcome(enum.StrEnum):
    """What became of a yes or no given with the receipt code."""

    CONFIRMED = "confirmed"
    DECLINED = "declined"
    #: Nothing waited for this person's answer (no group, or the question has passed).
    GONE = "gone"


@dataclass(frozen=True, slots=True)
class GroupStep:
    """The person's step in their group's start, already in words.

    ``step``: proposed | offered | accepted | invited | confirmed | running | self_running |
    closed (whatever the groups package reports; intake only shows it).
    """

    step: str
    text: str
    meeting_start: datetime | None = None
    place: str | None = None
    respond_by: datetime | None = None


class Progress(Protocol):
    """What intake asks of the packages above it about a registered person.

    Every call runs in the caller's session (the request's transaction) and never commits.
    """

    async def waiting_explanations(
        self, session: AsyncSession, interest_ids: Sequence[uuid.UUID], locale: Locale
    ) -> dict[uuid.UUID, str]:
        """Why each of these people still waits and what would place them now."""
        ...

    async def group_step(
        self, session: AsyncSession, interest_id: uuid.UUID, locale: Locale
    ) -> GroupStep | None:
        """The person's step in a group, or None when they are in none."""
        ...

    async def answer(
        self, session: AsyncSession, interest_id: uuid.UUID, *, accept: bool, now: datetime
    ) -> AnswerOutcome:
        """A yes or no to the person's group, if it waits for one."""
        ...

    async def withdraw(
        self, session: AsyncSession, interest_id: uuid.UUID, *, now: datetime
    ) -> None:
        """Erase the person at once, after their group has let them go."""
        ...


@dataclass(frozen=True, slots=True)
class Offer:
    """One suggested change of the person's own choices, with its wording.

    ``kind`` and ``value`` are those of :class:`intake.choices.ChoiceChange`; ``soon`` tells a
    change that places the person at the next run from one that places them within days.
    """

    kind: str
    value: str | None
    soon: bool
    text: str


class Suggestions(Protocol):
    """What intake asks of matching about changes of choices (``samhjelp.services`` plugs in
    the implementation; intake cannot import matching)."""

    async def offers(
        self, session: AsyncSession, interest_ids: Sequence[uuid.UUID], locale: Locale
    ) -> dict[uuid.UUID, list[Offer]]:
        """Every single change that would place each of these people (latest run), best
        first; people without a note are left out. Runs in the caller's session."""
        ...

    async def recheck(self, *, now: datetime) -> bool:
        """Run matching at once, in its own transaction, after a change was *committed*.

        Advisory-locked like the scheduled run: False when another run holds the lock (that
        run, or the next scheduled one, sees the change), True when a run happened.
        """
        ...


def provide_suggestions(state: State) -> Suggestions:
    """The composition root's :class:`Suggestions` (``samhjelp.services.Services.suggestions``,
    kept on the app's state as ``services``), for handlers that declare it as a dependency."""
    port: Suggestions = state.services.suggestions
    return port


async def with_progress(
    session: AsyncSession,
    progress: Progress,
    found: InterestStatus,
    locale: Locale,
    suggestions: Suggestions | None = None,
) -> InterestStatus:
    """``found`` with the explanation and suggestions (waiting) or the group step (in a group)
    added; suggestions only when the port is given."""
    if found.id is None or found.status == "withdrawn":
        return found
    if found.status == "waiting":
        words = (await progress.waiting_explanations(session, [found.id], locale)).get(found.id)
        offers: list[Offer] = []
        if suggestions is not None:
            offers = (await suggestions.offers(session, [found.id], locale)).get(found.id, [])
        return found.model_copy(
            update={
                "explanation": words,
                "suggestions": [
                    SuggestionOut(kind=o.kind, value=o.value, soon=o.soon, text=o.text)
                    for o in offers
                ],
            }
        )
    step = await progress.group_step(session, found.id, locale)
    if step is None:
        return found
    return found.model_copy(
        update={
            "step": step.step,
            "step_text": step.text,
            "meeting_start": step.meeting_start,
            "meeting_place": step.place,
            "respond_by": step.respond_by,
            "can_answer": step.step in ("invited", "offered") and found.contact is None,
        }
    )


async def answer_by_code(
    session: AsyncSession, progress: Progress, code: str, *, accept: bool, now: datetime
) -> AnswerOutcome:
    """A yes or no to a group given with the receipt code (for people we cannot reach)."""
    found = await interests.status(session, code)
    assert found.id is not None
    return await progress.answer(session, found.id, accept=accept, now=now)


async def withdraw_by_code(
    session: AsyncSession, progress: Progress, code: str, *, now: datetime
) -> None:
    """Withdraw with the receipt code: the registration is erased at once (anonymous counts
    stay), a place the person held in a forming group is offered on. Afterwards the code is
    unknown, exactly like one never issued (:class:`intake.errors.NotFound`)."""
    interest_id = await interests.id_for_code(session, code, lock=True)
    await progress.withdraw(session, interest_id, now=now)


async def change_by_code(
    session: AsyncSession,
    code: str,
    changes: list[ChoiceChange],
    *,
    now: datetime,
    actor: str = "participant",
) -> bool:
    """Widen the choices of the person behind a receipt code (see :func:`intake.choices.apply`;
    the caller commits and then asks :meth:`Suggestions.recheck`)."""
    interest_id = await interests.id_for_code(session, code, lock=True)
    return await choices.apply(session, interest_id, changes, now=now, actor=actor)
