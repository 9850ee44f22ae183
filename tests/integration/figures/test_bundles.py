"""Two or more suppressed cells of one table, period and area are stored as one row (a bundle,
``figures.refresh.stored_rows``); every reader still sees one suppressed cell per category,
with its status: JSON-stat, CSV, the page's figures."""

from __future__ import annotations

import csv
import io

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from figures.read import area_figures
from figures.refresh import BUNDLE, refresh_release
from figures.tables import stat_cell
from intake.crypto import ContactCipher
from integration.figures.fixture import NOV, seed
from integration.figures.test_open_data import value_at


async def test_a_bundle_reads_as_suppressed_cells_everywhere(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher
) -> None:
    await seed(session, cipher)
    await refresh_release(session, now=NOV)
    bundles = (
        await session.execute(
            select(
                stat_cell.c.table_id,
                stat_cell.c.period,
                stat_cell.c.area_kind,
                stat_cell.c.area_code,
                stat_cell.c.value,
                stat_cell.c.suppressed,
                stat_cell.c.suppressed_categories,
            ).where(stat_cell.c.category == BUNDLE)
        )
    ).all()
    assert bundles, "the fixture's release has suppressed cells of one area stored together"
    on_page = 0
    for table, period, kind, code, value, suppressed, categories in bundles:
        assert value is None and suppressed and len(categories) >= 2
        level = f"?level={kind}"
        data = (await client.get(f"/api/v1/statistics/tables/{table}{level}")).json()
        rows = list(
            csv.DictReader(
                io.StringIO((await client.get(f"/api/v1/statistics/csv/{table}{level}")).text)
            )
        )
        for category in categories:
            assert value_at(data, period, code, category) == (None, ":"), (table, code, category)
            [row] = [
                r
                for r in rows
                if r["period"] == period and r["area_code"] == code and category in r.values()
            ]
            assert (row["value"], row["status"]) == ("", "suppressed")
        figures = await area_figures(session, kind, code, month=period)
        assert figures is not None
        if period in (figures.month, "now"):
            on_page += 1
            for category in categories:
                got = figures.figures[table][category]
                assert got.value is None and got.suppressed
    assert on_page, "a bundle of the page's month or of now is read by the page too"
