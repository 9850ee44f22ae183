"""The waiting list's page is read from an index in waiting order (no sort of every row, so page 1
and page 200 cost the same). Its speed with 20,000 waiting people is a benchmark, not a test:
bench/staff_pages.py."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock, make_org
from intake.crypto import ContactCipher
from integration.staff.person_support import person

pytestmark = pytest.mark.slow
PEOPLE = 20_000


async def _plan(session: AsyncSession, sql: str, **params: object) -> str:
    rows = await session.execute(text("EXPLAIN " + sql), params)
    return "\n".join(r[0] for r in rows)


async def test_a_page_of_the_list_is_read_in_order_from_an_index(
    session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    for i in range(30):
        await person(session, cipher, clock.now, days_ago=i)
        await person(session, cipher, clock.now, days_ago=i, municipality="4647")  # unmet
    await session.execute(text("ANALYZE interest"))
    # With this few rows a sort is cheapest; the question is whether an index gives the order.
    await session.execute(text("SET LOCAL enable_seqscan = off"))
    await session.execute(text("SET LOCAL enable_sort = off"))
    plan = await _plan(
        session,
        "SELECT id FROM interest WHERE organisation_id = :org AND status = 'waiting' "
        "ORDER BY waiting_since, id LIMIT 50 OFFSET 0",
        org=org.id,
    )
    assert "ix_interest_org_waiting" in plan and "Sort" not in plan, plan
    plan = await _plan(
        session,
        "SELECT id FROM interest WHERE organisation_id IS NULL AND region_slug = 'vestland' "
        "AND status = 'waiting' ORDER BY waiting_since, id LIMIT 50",
    )
    assert "ix_interest_unmet_waiting" in plan and "Sort" not in plan, plan
