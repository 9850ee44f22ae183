"""Intake's :class:`intake.progress.Progress` port, answered by the life cycle and matching.

Intake sits below every other package, so it cannot ask groups or matching directly where a
person stands. The composition root builds one :class:`GroupProgress` around the one
:class:`~groups.config.Lifecycle` and hands it to intake's status API and pages.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from groups import erasure
from groups.config import Lifecycle
from groups.members import answer_for
from groups.steps import participant_step
from intake.progress import AnswerOutcome, GroupStep, Locale
from matching.notes import waiting_explanations


@dataclass(frozen=True, slots=True)
class GroupProgress:
    """Progress through matching (why still waiting) and the life cycle (which step)."""

    lifecycle: Lifecycle

    async def waiting_explanations(
        self, session: AsyncSession, interest_ids: Sequence[uuid.UUID], locale: Locale
    ) -> dict[uuid.UUID, str]:
        return await waiting_explanations(session, interest_ids, locale)

    async def group_step(
        self, session: AsyncSession, interest_id: uuid.UUID, locale: Locale
    ) -> GroupStep | None:
        step = await participant_step(session, interest_id, locale)
        if step is None:
            return None
        return GroupStep(
            step=str(step.step),
            text=step.text,
            meeting_start=step.meeting_start,
            place=step.place,
            respond_by=step.respond_by,
        )

    async def answer(
        self, session: AsyncSession, interest_id: uuid.UUID, *, accept: bool, now: datetime
    ) -> AnswerOutcome:
        result = await answer_for(session, self.lifecycle, interest_id, accept=accept, now=now)
        # Same values on both sides (a test pins it): one enum per package, no shared import.
        return AnswerOutcome(str(result.value))

    async def withdraw(
        self, session: AsyncSession, interest_id: uuid.UUID, *, now: datetime
    ) -> None:
        await erasure.withdraw(session, self.lifecycle, interest_id, now=now)
