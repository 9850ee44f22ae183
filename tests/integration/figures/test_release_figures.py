"""The refresh job on real PostgreSQL, checked against the hand-computed fixture."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from figures.catalogue import TABLES
from figures.read import expand
from figures.refresh import refresh_release, release_count
from figures.tables import stat_cell
from intake.crypto import ContactCipher
from integration.figures.fixture import EXPECTED, NOV, seed
from samhjelp import jobs
from samhjelp.jobs import scheduled_jobs
from samhjelp.services import Services

PEOPLE_TABLES = {t.id for t in TABLES.values() if t.protected}


async def published(session: AsyncSession) -> dict[tuple[str, str, str, str], Any]:
    rows = (await session.execute(select(stat_cell))).mappings().all()
    return {
        (r["table_id"], r["period"], f"{r['area_kind']}:{r['area_code']}", category): (
            v.value,
            v.suppressed,
        )
        for r in rows
        for category, v in expand(
            r["category"], r["value"], r["suppressed"], r["suppressed_categories"]
        )
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


async def test_the_scheduled_job_replaces_the_release_and_metrics_show_operations(
    services: Services, session: AsyncSession, cipher: ContactCipher, client: Any
) -> None:
    await seed(session, cipher)
    assert "statistics" in {job.id for job in scheduled_jobs(services)}
    first = await jobs.statistics(services)
    second = await jobs.statistics(services)
    assert first["ran"] and second["ran"] and second["release"] > first["release"]
    assert await release_count(session) == 1  # the older release is dropped
    metrics = (await client.get("/metrics")).text
    assert 'samhjelp_waiting_by_region{region="vestland"} 16.0' in metrics
    assert 'samhjelp_waiting_by_region{region="innlandet"} 3.0' in metrics
    assert "samhjelp_time_to_placement_weeks_bucket" in metrics
    assert "samhjelp_outbox_queue_depth" in metrics
    assert "samhjelp_match_run_last_duration_seconds" in metrics


async def test_catchments_and_breakdowns_below_the_county_match_the_fixture(
    session: AsyncSession, cipher: ContactCipher
) -> None:
    """Worked out by hand from the fixture. A catchment is the sum of its municipalities and
    is shown only where the rest of the release fixes it: org A serves Bergen alone, whose
    figures are shown, so A's are too; org B serves Lillehammer (3 in October, 3 waiting),
    so B's figures are hidden. Sign-ups by source and age band now reach the municipality:
    everyone in the fixture signed up themselves, aged 33-37. Placed and withdrawn reach the
    municipality and the catchment too: A's are Bergen's (2 and 2 in October, hidden; 6
    placed in November and 5 withdrawn in September, shown)."""
    orgs = await seed(session, cipher)
    await refresh_release(session, now=NOV)
    cells = await published(session)
    a, b = f"catchment:{orgs['a'].slug}", f"catchment:{orgs['b'].slug}"
    expected: dict[tuple[str, str, str, str], int | None] = {
        ("signups", "2026-10", a, "all"): 9,
        ("signups", "2026-10", b, "all"): None,
        ("signups", "2026-11", a, "all"): 11,
        ("signups-by-theme", "2026-10", a, "theme:angst"): 9,
        ("signups-by-theme", "2026-10", a, "theme:sorg"): None,  # Bergen's 2
        ("signups-by-theme", "2026-10", b, "theme:sorg"): None,
        ("signups-by-language", "2026-11", a, "language:no"): 11,
        ("waiting", "now", a, "all"): None,  # Bergen's waiting is hidden (see EXPECTED)
        ("waiting", "now", b, "all"): None,
        ("signups-by-source", "2026-10", "municipality:4601", "source:self"): 9,
        ("signups-by-source", "2026-10", "municipality:4632", "source:self"): None,
        ("signups-by-source", "2026-10", "municipality:3405", "source:self"): None,
        ("signups-by-source", "2026-11", "municipality:4601", "source:self"): 11,
        ("signups-by-source", "2026-11", a, "source:self"): 11,
        ("signups-by-age", "2026-10", "municipality:4601", "age:33-37"): 9,
        ("signups-by-age", "2026-10", "municipality:4632", "age:33-37"): None,
        ("signups-by-age", "2026-10", b, "age:33-37"): None,
        ("signups-by-age", "2026-11", a, "age:33-37"): 11,
        ("placed", "2026-10", a, "all"): None,
        ("placed", "2026-11", a, "all"): 6,
        ("placed", "2026-10", b, "all"): 0,
        ("withdrawn", "2026-10", a, "all"): None,
        ("withdrawn", "2026-09", a, "all"): 5,
        ("withdrawn", "2026-11", a, "all"): 0,
    }
    for key, want in expected.items():
        assert cells.get(key, (0, False)) == (want, want is None), key
    # Every stored catchment cell has its organisation's region as parent.
    rows = (
        await session.execute(
            select(stat_cell.c.parent).where(
                stat_cell.c.area_kind == "catchment", stat_cell.c.table_id == "signups"
            )
        )
    ).scalars()
    assert set(rows) <= {"region:vestland", "region:innlandet"}
