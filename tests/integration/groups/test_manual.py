"""Manual group changes (groups.manual) keep the algorithm's rules — the same checker refuses a
bad group with the rule named — and a paused facilitator is not asked by the job."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from groups import Lifecycle, manual, tick
from groups.facilitator_admin import set_pause
from groups.service import lapse_group
from groups.tables import facilitator_offer
from helpers import FakeClock, make_org_with_facilitator
from intake.crypto import ContactCipher
from intake.registry import add_facilitator
from intake.tables import interest
from integration.staff.person_support import person
from matching.job import run_matching
from matching.service import rules_from
from matching.tables import group_member, start_group
from notify.tables import outbox

SHAPE = dict(theme="sorg", language="no", slot="tue-evening", digital=False)


async def _people(
    session: AsyncSession, cipher: ContactCipher, clock: FakeClock, n: int, **kw: object
) -> list[uuid.UUID]:
    return [
        await person(session, cipher, clock.now, days_ago=40 - i, **kw)  # type: ignore[arg-type]
        for i in range(n)
    ]


async def test_a_paused_facilitator_is_not_asked_by_the_job(
    session: AsyncSession,
    cipher: ContactCipher,
    clock: FakeClock,
    maker: async_sessionmaker[AsyncSession],
    lc: Lifecycle,
) -> None:
    org, paused = await make_org_with_facilitator(session, ("4601",), name="På ferie")
    # Less versatile first: the core picks ``paused``; the life cycle must skip them.
    other = await add_facilitator(
        session, organisation_id=org.id, name="Hjemme", email="h@example.no",
        themes=["sorg", "angst"],
    )  # fmt: skip
    today = clock.now.date()
    await set_pause(session, paused, today - timedelta(days=1), today + timedelta(days=1))
    await _people(session, cipher, clock, 5)
    await session.commit()
    assert (await run_matching(maker, now=clock.now)).groups == 1
    await tick(maker, lc, now=clock.now)
    asked = set((await session.execute(select(facilitator_offer.c.facilitator_id))).scalars())
    assert asked == {other}


async def test_a_pause_that_has_ended_no_longer_holds(
    session: AsyncSession,
    cipher: ContactCipher,
    clock: FakeClock,
    maker: async_sessionmaker[AsyncSession],
    lc: Lifecycle,
) -> None:
    _org, fid = await make_org_with_facilitator(session, ("4601",))
    await set_pause(session, fid, date(2026, 1, 1), clock.now.date() - timedelta(days=1))
    await _people(session, cipher, clock, 5)
    await session.commit()
    assert (await run_matching(maker, now=clock.now)).groups == 1
    await tick(maker, lc, now=clock.now)
    asked = set((await session.execute(select(facilitator_offer.c.facilitator_id))).scalars())
    assert asked == {fid}


@pytest.mark.parametrize(
    ("sizes", "rule"),
    [
        ({"n": 3}, "size 3 outside 4..8"),
        ({"n": 4, "old": True}, "age span"),
    ],
)
async def test_the_checker_refuses_a_bad_group_formed_by_hand(
    session: AsyncSession,
    cipher: ContactCipher,
    clock: FakeClock,
    lc: Lifecycle,
    sizes: dict[str, object],
    rule: str,
) -> None:
    org, _ = await make_org_with_facilitator(session, ("4601",))
    n = int(sizes["n"])  # type: ignore[call-overload]
    people = await _people(session, cipher, clock, n - 1 if sizes.get("old") else n)
    if sizes.get("old"):
        people.append(await person(session, cipher, clock.now, days_ago=40, age_band="78+"))
    with pytest.raises(manual.Refused) as refused:
        await manual.form_group(
            session, lc, manual.Shape(org.id, **SHAPE), people, facilitator_id=None,
            rules=rules_from({}), now=clock.now, actor="staff:test",
        )  # fmt: skip
    assert refused.value.why == "rules"
    assert any(rule in p for p in refused.value.problems), refused.value.problems
    assert await session.scalar(select(func.count()).select_from(start_group)) == 0
    statuses = set(
        (
            await session.execute(select(interest.c.status).where(interest.c.id.in_(people)))
        ).scalars()
    )
    assert statuses == {"waiting"}


async def test_a_group_formed_by_hand_is_stored_as_the_job_stores_one(
    session: AsyncSession, cipher: ContactCipher, clock: FakeClock, lc: Lifecycle
) -> None:
    org, fid = await make_org_with_facilitator(session, ("4601",))
    people = await _people(session, cipher, clock, 4)
    gid = await manual.form_group(
        session, lc, manual.Shape(org.id, **SHAPE), people, facilitator_id=None,
        rules=rules_from({}), now=clock.now, actor="staff:test",
    )  # fmt: skip
    group = (await session.execute(select(start_group).where(start_group.c.id == gid))).one()
    assert (group.status, group.places, group.facilitator_id) == ("proposed", 4, fid)
    assert group.match_run_id is not None
    statuses = set(
        (
            await session.execute(select(interest.c.status).where(interest.c.id.in_(people)))
        ).scalars()
    )
    assert statuses == {"proposed"}
    offer = (await session.execute(select(facilitator_offer))).one()
    assert (offer.facilitator_id, offer.status) == (fid, "pending")


async def test_adding_to_a_full_group_is_refused_with_the_size_rule(
    session: AsyncSession, cipher: ContactCipher, clock: FakeClock, lc: Lifecycle
) -> None:
    org, _ = await make_org_with_facilitator(session, ("4601",), max_concurrent_starts=2)
    people = await _people(session, cipher, clock, 9)
    gid = await manual.form_group(
        session, lc, manual.Shape(org.id, **SHAPE), people[:8], facilitator_id=None,
        rules=rules_from({}), now=clock.now, actor="staff:test",
    )  # fmt: skip
    with pytest.raises(manual.Refused) as refused:
        await manual.add_member(session, lc, gid, people[8], now=clock.now, actor="staff:test")
    assert any("size 9 outside 4..8" in p for p in refused.value.problems)
    count = await session.scalar(
        select(func.count()).where(group_member.c.group_id == gid, group_member.c.active)
    )
    assert count == 8


async def test_reask_withdraws_the_pending_notice_and_sends_a_new_one(
    session: AsyncSession, cipher: ContactCipher, clock: FakeClock, lc: Lifecycle
) -> None:
    org, fid = await make_org_with_facilitator(session, ("4601",))
    people = await _people(session, cipher, clock, 5)
    gid = await manual.form_group(
        session, lc, manual.Shape(org.id, **SHAPE), people, facilitator_id=None,
        rules=rules_from({}), now=clock.now, actor="staff:test",
    )  # fmt: skip
    notices = select(func.count()).where(outbox.c.template == "start_notice")
    assert await session.scalar(notices) == 1
    clock.advance(days=3)
    await manual.ask_facilitator(session, lc, gid, fid, now=clock.now, actor="staff:test")
    assert await session.scalar(notices) == 2
    states = sorted((await session.execute(select(facilitator_offer.c.status))).scalars())
    assert states == ["pending", "withdrawn"]


async def test_reopen_a_lapsed_group_with_those_still_waiting(
    session: AsyncSession, cipher: ContactCipher, clock: FakeClock, lc: Lifecycle
) -> None:
    org, _fid = await make_org_with_facilitator(session, ("4601",))
    people = await _people(session, cipher, clock, 5)
    gid = await manual.form_group(
        session, lc, manual.Shape(org.id, **SHAPE), people, facilitator_id=None,
        rules=rules_from({}), now=clock.now, actor="staff:test",
    )  # fmt: skip
    await lapse_group(session, gid, now=clock.now, actor="lifecycle", why="test")
    with pytest.raises(manual.Refused):  # only a lapsed group can be re-opened …
        await manual.reopen(session, lc, uuid.uuid4(), now=clock.now, actor="staff:test")
    assert await manual.reopen(session, lc, gid, now=clock.now, actor="staff:test") == 5
    group = (await session.execute(select(start_group).where(start_group.c.id == gid))).one()
    assert group.status == "proposed"
    pending = await session.scalar(
        select(func.count()).where(
            facilitator_offer.c.group_id == gid, facilitator_offer.c.status == "pending"
        )
    )
    assert pending == 1
