"""A group's home municipality (``start_group.municipality_number``, migration 0029) is set
when the group is stored — by the matching job and by a staff member forming one by hand —
as the municipality where most of its members live, ties to the lowest number, and is not
rewritten by people joining later or by the members' erasure."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from groups import Lifecycle, manual
from groups.erasure import forget
from helpers import FakeClock, make_org_with_facilitator
from intake.crypto import ContactCipher
from integration.staff.person_support import person
from matching.job import run_matching
from matching.model import GroupProposal, Plan
from matching.service import rules_from, store_plan
from matching.tables import group_member, start_group

SHAPE = dict(theme="sorg", language="no", slot="tue-evening", digital=False)
BERGEN, AUSTRHEIM = "4601", "4632"  # both in Vestland (county 46)


async def _people(
    session: AsyncSession, cipher: ContactCipher, clock: FakeClock, munis: list[str]
) -> list[uuid.UUID]:
    return [
        await person(session, cipher, clock.now, days_ago=40 - i, municipality=m)
        for i, m in enumerate(munis)
    ]


async def _home(session: AsyncSession, gid: uuid.UUID) -> str | None:
    found = await session.scalar(
        select(start_group.c.municipality_number).where(start_group.c.id == gid)
    )
    return None if found is None else str(found)


async def test_the_matching_job_stores_where_most_members_live(
    session: AsyncSession,
    cipher: ContactCipher,
    clock: FakeClock,
    maker: async_sessionmaker[AsyncSession],
) -> None:
    await make_org_with_facilitator(session, (BERGEN, AUSTRHEIM))
    people = await _people(
        session, cipher, clock, [BERGEN, AUSTRHEIM, AUSTRHEIM, AUSTRHEIM, BERGEN]
    )
    await session.commit()
    assert (await run_matching(maker, now=clock.now)).groups == 1
    gid = await session.scalar(
        select(group_member.c.group_id).where(group_member.c.interest_id == people[0])
    )
    assert gid is not None
    assert await _home(session, gid) == AUSTRHEIM  # three of five, not the lowest number


async def test_a_group_formed_by_hand_gets_its_home_and_erasure_does_not_move_it(
    session: AsyncSession, cipher: ContactCipher, clock: FakeClock, lc: Lifecycle
) -> None:
    org, _ = await make_org_with_facilitator(session, (BERGEN, AUSTRHEIM))
    people = await _people(session, cipher, clock, [AUSTRHEIM, BERGEN, AUSTRHEIM, AUSTRHEIM])
    gid = await manual.form_group(
        session, lc, manual.Shape(org.id, **SHAPE), people, facilitator_id=None,
        rules=rules_from({}), now=clock.now, actor="staff:test",
    )  # fmt: skip
    assert await _home(session, gid) == AUSTRHEIM
    # Two people from Bergen join before the start: Bergen is now as large, the home stays.
    for joiner in await _people(session, cipher, clock, [BERGEN, BERGEN]):
        await manual.add_member(
            session, lc, gid, joiner, now=clock.now + timedelta(minutes=1), actor="staff:test"
        )
    assert await _home(session, gid) == AUSTRHEIM
    # Every member erased: the group keeps its home.
    await forget(session, people, outcome="withdrawn", now=clock.now + timedelta(minutes=2))
    assert await _home(session, gid) == AUSTRHEIM


async def test_a_tie_goes_to_the_lowest_municipality_number_a_digital_group_too(
    session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    org, fid = await make_org_with_facilitator(session, (BERGEN, AUSTRHEIM))
    people = await _people(session, cipher, clock, [AUSTRHEIM, AUSTRHEIM, BERGEN, BERGEN])
    proposal = GroupProposal(
        members=tuple(str(p) for p in people), organisation=str(org.id), theme="sorg",
        language="no", slot="tue-evening", digital=True, facilitator=str(fid),
        rules=rules_from({}),
    )  # fmt: skip
    run = await store_plan(session, Plan(groups=(proposal,)), now=clock.now, candidates=4)
    gid = await session.scalar(select(start_group.c.id).where(start_group.c.match_run_id == run))
    assert gid is not None
    assert await _home(session, gid) == BERGEN
