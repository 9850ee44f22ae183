"""A facilitator paused on the run's date (an Oslo date) gives the matching core no capacity."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from helpers import FakeClock, make_org_with_facilitator, register_people
from intake.crypto import ContactCipher
from intake.tables import facilitator
from matching.job import run_matching

# 23:30 UTC on 23 November is already 24 November in Oslo (UTC+1).
LATE = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)


def _maker(conn: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


async def _facilitators_of_plan(
    conn: AsyncConnection, session: AsyncSession, paused: tuple[date | None, date | None]
) -> set[str | None]:
    await session.execute(update(facilitator).values(paused_from=paused[0], paused_until=paused[1]))
    await session.commit()
    report = await run_matching(_maker(conn), now=LATE, dry_run=True)
    assert report.ran and report.plan is not None
    return {g.facilitator for g in report.plan.groups}


async def test_a_facilitator_paused_on_the_oslo_date_of_the_run_is_not_given_a_group(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    _, fid = await make_org_with_facilitator(session)
    await register_people(session, cipher, clock.now, 6, step=timedelta(days=1))
    await session.commit()

    # The pause ended on the UTC date of the run, the day before the Oslo date: free again.
    assert await _facilitators_of_plan(conn, session, (None, date(2026, 11, 23))) == {str(fid)}
    # Paused on the Oslo date (24 November): the core does not count their capacity.
    assert str(fid) not in await _facilitators_of_plan(
        conn, session, (date(2026, 11, 24), date(2026, 11, 30))
    )
    # An open-ended pause that began on the Oslo date counts too.
    assert str(fid) not in await _facilitators_of_plan(conn, session, (date(2026, 11, 24), None))
