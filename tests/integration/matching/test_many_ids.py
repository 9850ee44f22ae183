"""A national run places more people than one statement may carry parameters (asyncpg: 32,767).

``IN (…)`` sends one parameter per id; storing a plan with 85,000 placed people failed. The
id lists now travel as one array parameter.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from intake import pool
from matching.notes import waiting_explanations

MANY = 40_000  # above asyncpg's 32,767 parameters per statement


async def test_status_and_notes_take_more_ids_than_parameters(session: AsyncSession) -> None:
    ids = [uuid.uuid4() for _ in range(MANY)]
    now = datetime(2026, 12, 1, tzinfo=UTC)
    moved = await pool.set_status(session, ids, "placed", now=now, only_from=("proposed",))
    assert moved == set()
    assert await pool.profiles(session, ids) == {}
    assert await waiting_explanations(session, ids, "nb") == {}
