"""Today's group parts come from one statement (the newest few of each state) and every count
from one more: the page's first five per state in the groups page's order, only the viewer's
organisations, and far fewer statements than the thirteen it once took."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from groups.common import reference
from helpers import FakeClock, make_org_with_facilitator
from integration.staff.person_support import sign_in
from integration.staff.test_today import group
from staff.group_queries import newest_in_states


async def test_newest_five_of_each_state_only_the_viewers_and_few_statements(
    client: httpx.AsyncClient, session: AsyncSession, conn: AsyncConnection, clock: FakeClock
) -> None:
    org, _ = await make_org_with_facilitator(session, ("4601",))
    other, _ = await make_org_with_facilitator(session, ("4602",))
    proposed = [
        await group(session, org.id, "proposed", clock.now - timedelta(hours=i)) for i in range(7)
    ]
    lapsed = [
        await group(session, org.id, "lapsed", clock.now - timedelta(days=i)) for i in range(2)
    ]
    theirs = await group(session, other.id, "proposed", clock.now)

    newest = await newest_in_states(session, [org.id], ("proposed", "lapsed"), 5)
    assert [g.id for g in newest["proposed"]] == proposed[:5]  # newest first
    assert [g.id for g in newest["lapsed"]] == lapsed

    await sign_in(client, session, clock.now, organisation_id=org.id)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(conn.sync_connection, "before_cursor_execute", count)
    try:
        page = (await client.get("/ansatt?lang=en")).text
    finally:
        event.remove(conn.sync_connection, "before_cursor_execute", count)
    assert all(reference(g) in page for g in proposed[:5] + lapsed)
    assert reference(proposed[5]) not in page and reference(theirs) not in page
    assert ">7</span>" in page and ">2</span>" in page  # the counts of both parts
    assert len(statements) <= 10, statements  # 15 before (counts and group parts apart)
