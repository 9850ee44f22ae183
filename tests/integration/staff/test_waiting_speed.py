"""The waiting list, a person's record and today's work with 20,000 waiting people in one
organisation: the list's page is read from an index in waiting order (no sort of every row, so
page 1 and page 200 cost the same), and each page's time is printed (p95, in-process client).

The timing is asserted loosely (p50 under 200 ms, a guard against N+1 queries or sorting every
row; unloaded the pages answer in 10-40 ms): on a shared 2-core machine a strict p95 is the
load's figure, not the code's. The 20,000-people benchmark with p95 figures is in bench/."""

from __future__ import annotations

import statistics
import time

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from conftest import FakeClock
from helpers import make_org
from intake.crypto import ContactCipher
from integration.staff.person_support import person, sign_in

pytestmark = pytest.mark.slow
PEOPLE = 20_000


async def test_pages_stay_fast_with_20000_waiting(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    model = await person(session, cipher, clock.now, contact={"email": "a@example.no"})
    # Copies of one registration with their own ids, hashes and waiting times.
    await session.execute(
        text(
            """
            INSERT INTO interest (id, receipt_hash, municipality_number, organisation_id,
              region_slug, themes, cross_problem_welcome, age_band, gender, same_gender,
              languages, slots, digital_welcome, contact_kind, contact_encrypted,
              contact_masked, consent_version, consented_at, source, status, waiting_since,
              created_at, updated_at)
            SELECT gen_random_uuid(), sha256(('x' || g)::bytea), municipality_number,
              organisation_id, region_slug,
              CASE WHEN g % 3 = 0 THEN ARRAY['angst'] ELSE themes END,
              cross_problem_welcome, age_band, gender, same_gender, languages,
              CASE WHEN g % 2 = 0 THEN ARRAY['mon-morning'] ELSE slots END, digital_welcome,
              contact_kind, contact_encrypted, contact_masked, consent_version, consented_at,
              source, 'waiting', waiting_since - make_interval(mins => g), created_at, updated_at
            FROM interest, generate_series(1, :n) AS g WHERE id = :model
            """
        ),
        {"n": PEOPLE - 1, "model": model},
    )
    await session.execute(text("ANALYZE interest"))
    await sign_in(client, session, clock.now, organisation_id=org.id)
    paths = [
        "/ansatt",
        "/ansatt/venteliste",
        "/ansatt/venteliste?page=200",
        "/ansatt/venteliste?theme=angst&slot=mon-morning&weeks=2",
        f"/ansatt/venteliste/{model}",
    ]
    results: dict[str, float] = {}
    for path in paths:
        await client.get(path)  # warm up
        times = []
        for _ in range(20):
            start = time.perf_counter()
            r = await client.get(path)
            times.append(time.perf_counter() - start)
            assert r.status_code == 200
        p95 = sorted(times)[18]
        print(f"{path}: p95 {p95 * 1000:.1f} ms, p50 {statistics.median(times) * 1000:.1f} ms")
        results[path] = statistics.median(times)
    assert all(p < 0.200 for p in results.values()), results


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
