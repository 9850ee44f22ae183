"""Migration 0029: ``start_group.municipality_number`` upgrades with a backfill from what is
left of each group, downgrades cleanly, and matches ``matching.tables``.

Run inside the test's rolled-back transaction (PostgreSQL's DDL is transactional): groups are
stored the normal way, some members are removed, the column is dropped (downgrade to 0028)
and added again (upgrade), and the backfill is compared with the evidence by hand:

* G1: founders 1 Bergen + 3 Austrheim, and 3 people from Bergen who joined later: the
  founders decide, Austrheim;
* G2: no member left, organisation serving Lillehammer alone: Lillehammer;
* G3: no member left, organisation serving Bergen and Austrheim: NULL (unknown);
* G4: no founder left, one later joiner from Bergen: Bergen.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, delete, insert, inspect, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from helpers import FakeClock, make_org_with_facilitator
from intake.crypto import ContactCipher
from integration.staff.person_support import person
from matching.model import GroupProposal, Plan
from matching.service import rules_from, store_plan
from matching.tables import group_member, metadata, start_group
from samhjelp.database import alembic_config

BERGEN, AUSTRHEIM, LILLEHAMMER = "4601", "4632", "3405"
BEFORE = "0028_outbox_more"


def _migrate(connection: Connection, to: str, *, down: bool = False) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(cfg, to)


def _columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("start_group")}


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        d
        for d in compare_metadata(context, metadata)
        # Other packages' tables are not in this metadata ("remove_table" for each of them).
        if "start_group" in repr(d) and not (isinstance(d, tuple) and d[0] == "remove_table")
    ]


async def _group(
    session: AsyncSession,
    cipher: ContactCipher,
    clock: FakeClock,
    org: Any,
    fid: uuid.UUID,
    munis: list[str],
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    people = [await person(session, cipher, clock.now, days_ago=30, municipality=m) for m in munis]
    proposal = GroupProposal(
        members=tuple(str(p) for p in people), organisation=str(org.id), theme="sorg",
        language="no", slot="tue-evening", digital=False, facilitator=str(fid),
        rules=rules_from({}),
    )  # fmt: skip
    run = await store_plan(session, Plan(groups=(proposal,)), now=clock.now, candidates=4)
    gid = await session.scalar(select(start_group.c.id).where(start_group.c.match_run_id == run))
    assert gid is not None
    return gid, people


async def _join_later(
    session: AsyncSession, cipher: ContactCipher, clock: FakeClock, gid: uuid.UUID, muni: str
) -> None:
    joiner = await person(session, cipher, clock.now, days_ago=20, municipality=muni)
    await session.execute(
        insert(group_member).values(
            group_id=gid, interest_id=joiner, joined_at=clock.now + timedelta(days=2)
        )
    )


async def test_upgrade_backfills_from_the_members_and_downgrade_drops_the_column(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    two, f2 = await make_org_with_facilitator(session, (BERGEN, AUSTRHEIM))
    one, f1 = await make_org_with_facilitator(session, (LILLEHAMMER,))
    g1, _ = await _group(session, cipher, clock, two, f2, [BERGEN] + [AUSTRHEIM] * 3)
    for _ in range(3):
        await _join_later(session, cipher, clock, g1, BERGEN)
    g2, p2 = await _group(session, cipher, clock, one, f1, [LILLEHAMMER] * 4)
    g3, p3 = await _group(session, cipher, clock, two, f2, [BERGEN] * 4)
    g4, p4 = await _group(session, cipher, clock, two, f2, [AUSTRHEIM] * 4)
    await _join_later(session, cipher, clock, g4, BERGEN)
    await session.execute(
        delete(group_member).where(group_member.c.interest_id.in_([*p2, *p3, *p4]))
    )
    await session.flush()
    groups = [g1, g2, g3, g4]

    async def homes() -> list[str | None]:
        rows = dict(
            (
                await session.execute(
                    select(start_group.c.id, start_group.c.municipality_number).where(
                        start_group.c.id.in_(groups)
                    )
                )
            ).all()
        )
        return [rows[g] for g in groups]

    # As stored when formed (the members were all there then).
    assert await homes() == [AUSTRHEIM, LILLEHAMMER, BERGEN, AUSTRHEIM]
    await conn.run_sync(lambda c: _migrate(c, BEFORE, down=True))
    assert "municipality_number" not in await conn.run_sync(_columns)
    await conn.run_sync(lambda c: _migrate(c, "0029_group_municipality"))
    assert "municipality_number" in await conn.run_sync(_columns)
    assert await homes() == [AUSTRHEIM, LILLEHAMMER, None, BERGEN]
    await conn.run_sync(lambda c: _migrate(c, "head"))
    assert await conn.run_sync(_diff) == []
