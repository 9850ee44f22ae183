"""The refresh job on real PostgreSQL, checked against the hand-computed fixture."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from figures.catalogue import TABLES
from figures.refresh import refresh_release
from figures.tables import stat_cell
from intake.crypto import ContactCipher
from integration.figures.fixture import EXPECTED, NOV, seed

PEOPLE_TABLES = {t.id for t in TABLES.values() if t.protected}


async def published(session: AsyncSession) -> dict[tuple[str, str, str, str], Any]:
    rows = (await session.execute(select(stat_cell))).mappings().all()
    return {
        (r["table_id"], r["period"], f"{r['area_kind']}:{r['area_code']}", r["category"]): (
            r["value"],
            r["suppressed"],
        )
        for r in rows
    }


async def test_figures_match_the_hand_computed_fixture(
    session: AsyncSession, cipher: ContactCipher
) -> None:
    await seed(session, cipher)
    report = await refresh_release(session, now=NOV)
    assert report.ran and report.cells > 0
    cells = await published(session)
    # No stored people count below five is shown, and only people counts are suppressed.
    for (table, *_), (value, suppressed) in cells.items():
        if table in PEOPLE_TABLES:
            assert suppressed or value is None or value == 0 or value >= 5
    for key, expected in EXPECTED.items():
        value, suppressed = cells.get(key, (0, False))
        assert (value, suppressed) == (expected, expected is None), key
