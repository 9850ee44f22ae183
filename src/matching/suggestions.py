"""Intake's :class:`intake.progress.Suggestions` port, on matching: the changes of choices the
latest run found for a waiting person, in words, and a matching run at once after a change.

The composition root builds one (``samhjelp.services``) with the process's sessionmaker and
planner, so a re-check is the very job the scheduler runs: the same advisory lock (a re-check
while another run holds it is skipped; that run or the next sees the change), the same worker
process, the same notes stored afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake.progress import Locale, Offer
from matching.explain import explain_suggestion
from matching.job import Planner, run_matching
from matching.notes import unplaced_for


class MatchingSuggestions:
    """Implements :class:`intake.progress.Suggestions`."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], planner: Planner | None = None
    ) -> None:
        self._sessionmaker = sessionmaker
        self._planner = planner

    async def offers(
        self, session: AsyncSession, interest_ids: Sequence[uuid.UUID], locale: Locale
    ) -> dict[uuid.UUID, list[Offer]]:
        """Every suggestion of the latest run for each of these people, best first, worded."""
        notes = await unplaced_for(session, interest_ids)
        return {
            k: [
                Offer(s.kind.value, s.value, s.soon, explain_suggestion(s, locale))
                for s in u.suggestions
            ]
            for k, u in notes.items()
        }

    async def recheck(self, *, now: datetime) -> bool:
        """One matching run now (its own transaction); False when another run was busy."""
        report = await run_matching(self._sessionmaker, now=now, planner=self._planner)
        return report.ran
