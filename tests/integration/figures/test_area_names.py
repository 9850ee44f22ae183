"""The open data names every area a release has cells for, even one registered after the
process cached the list of area names (a full test run found a new organisation's cells left
out of the catchment table for up to the cache's minute)."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from figures.refresh import refresh_release
from intake.crypto import ContactCipher
from integration.figures.fixture import NOV, clean_slate, seed


async def test_a_new_organisation_is_in_the_catchment_table_at_once(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher
) -> None:
    # A release before the organisations exist, read once: the process caches the names.
    await clean_slate(session)
    await refresh_release(session, now=NOV)
    before = await client.get("/api/v1/statistics/tables/signups?level=catchment")
    assert before.status_code == 200
    orgs = await seed(session, cipher)
    await refresh_release(session, now=NOV)
    data = (await client.get("/api/v1/statistics/tables/signups?level=catchment")).json()
    areas = data["dimension"][data["id"][1]]["category"]["index"]
    assert orgs["a"].slug in areas and orgs["b"].slug in areas
