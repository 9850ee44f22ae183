"""On PostgreSQL: a waiting person is offered the slot of a group that has not met yet, the
status API lists it, and accepting it puts them into that group at the re-check (issue 13)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from helpers import make_org_with_facilitator, register_people
from intake.crypto import ContactCipher
from intake.tables import interest
from matching.job import run_matching
from matching.model import Suggestion, SuggestionKind
from matching.notes import suggestions_for
from matching.tables import group_event, group_member, start_group

DAY = timedelta(days=1)
WED = Suggestion(SuggestionKind.ADD_SLOT, "wed-evening")


def _maker(conn: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


async def _members(session: AsyncSession, gid: uuid.UUID) -> set[uuid.UUID]:
    rows = await session.execute(
        select(group_member.c.interest_id).where(
            group_member.c.group_id == gid, group_member.c.active
        )
    )
    return set(rows.scalars())


async def test_the_slot_of_an_open_group_is_offered_and_accepting_it_joins_the_group(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any, client: Any
) -> None:
    await make_org_with_facilitator(session)
    four = await register_people(
        session, cipher, clock.now, 4, days_ago=40, step=DAY, availability=["wed-evening"]
    )
    [(me, code)] = await register_people(
        session, cipher, clock.now, 1, days_ago=40, availability=["tue-evening"]
    )
    await session.commit()

    # Run 1 proposes a group of four on Wednesdays; nobody else waits with me, so no new group
    # could form with me anywhere — but that group is open until it meets.
    report = await run_matching(_maker(conn), now=clock.now)
    assert (report.groups, report.placed) == (1, 4)
    gid = (await session.execute(select(start_group.c.id))).scalar_one()
    assert await _members(session, gid) == {i for i, _ in four}
    assert await suggestions_for(session, [me]) == {me: [WED]}

    # Run 2 loads the group as an open one from the database and still offers its slot.
    clock.advance(hours=1)
    report = await run_matching(_maker(conn), now=clock.now)
    assert (report.groups, report.joined) == (0, 0)
    assert await suggestions_for(session, [me]) == {me: [WED]}

    status = (await client.get(f"/api/v1/interests/{code}?lang=en")).json()
    assert status["status"] == "waiting"
    assert [(s["kind"], s["value"], s["soon"]) for s in status["suggestions"]] == [
        ("add_slot", "wed-evening", False)
    ]
    assert "Wednesday evening" in status["suggestions"][0]["text"]

    answer = await client.post(
        f"/api/v1/interests/{code}/choices?lang=en",
        json={"changes": [{"kind": "add_slot", "value": "wed-evening"}]},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["changed"] is True and body["rechecked"] is True
    assert body["status"]["status"] == "proposed"

    # The re-check's fill put me into that very group; no new group was formed.
    assert await _members(session, gid) == {*(i for i, _ in four), me}
    assert (await session.execute(select(start_group.c.places))).scalar_one() == 5
    assert await session.scalar(select(interest.c.status).where(interest.c.id == me)) == "proposed"
    joined = (
        await session.execute(
            select(group_event.c.detail).where(group_event.c.what == "member_joined")
        )
    ).scalars()
    assert [d["interest"] for d in joined] == [str(me)]


async def test_a_full_open_group_is_not_offered(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: Any
) -> None:
    await make_org_with_facilitator(session)
    await register_people(
        session, cipher, clock.now, 8, days_ago=40, step=DAY, availability=["wed-evening"]
    )
    [(me, _)] = await register_people(
        session, cipher, clock.now, 1, days_ago=40, availability=["tue-evening"]
    )
    await session.commit()
    report = await run_matching(_maker(conn), now=clock.now)
    assert (report.groups, report.placed) == (1, 8)  # max_size 8: no room left
    clock.advance(hours=1)
    await run_matching(_maker(conn), now=clock.now)
    assert await suggestions_for(session, [me]) == {me: []}
