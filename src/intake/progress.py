"""Where a person stands after signing up, in words: why they still wait (matching's note from
the latest run) or which step of their group's start they are at (matching's life cycle).

Intake owns the receipt code; matching owns groups. The status API and page ask here, and
withdraw here: a withdrawal must reach the person's group before intake erases them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from groups import Answer, Lifecycle, answer_for, participant_step
from groups import erasure as lifecycle_erasure
from intake import interests
from intake.schemas import InterestStatus
from matching.explain import Locale
from matching.service import waiting_explanation


async def with_progress(
    session: AsyncSession, found: InterestStatus, locale: Locale
) -> InterestStatus:
    """``found`` with the explanation (waiting) or the group step (in a group) added."""
    if found.id is None or found.status == "withdrawn":
        return found
    if found.status == "waiting":
        words = await waiting_explanation(session, found.id, locale)
        return found.model_copy(update={"explanation": words})
    step = await participant_step(session, found.id, locale)
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


async def answer(
    session: AsyncSession, lc: Lifecycle, code: str, *, accept: bool, now: datetime
) -> Answer:
    """A yes or no to a group given with the receipt code (for people we cannot reach)."""
    found = await interests.status(session, code)
    assert found.id is not None
    return await answer_for(session, lc, found.id, accept=accept, now=now)


async def withdraw(session: AsyncSession, lc: Lifecycle, code: str, *, now: datetime) -> None:
    """Withdraw with the receipt code: the registration is erased at once (anonymous counts
    stay), a place the person held in a forming group is offered on. Afterwards the code is
    unknown, exactly like one never issued (:class:`intake.errors.NotFound`)."""
    interest_id = await interests.id_for_code(session, code, lock=True)
    await lifecycle_erasure.withdraw(session, lc, interest_id, now=now)
