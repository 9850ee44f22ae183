"""Erasure in the life cycle (issue 8): a member who withdraws leaves no trace and their place
goes to the next person; everyone in a group that has run on its own for the configured time is
erased, leaving only anonymous tallies."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from groups import Lifecycle, LifecycleConfig, answer, tick
from groups.tables import group_meeting
from helpers import interest_body, make_org_with_facilitator
from intake.crypto import ContactCipher
from intake.interests import id_for_code, register
from intake.schemas import InterestIn
from intake.tables import interest
from integration.groups.support import propose_group, schedule_first_meeting, sign_up
from integration.intake.test_erasure import needles_of, person_traces, tallies
from matching.tables import group_event, group_member, start_group
from notify.tables import outbox

Maker = async_sessionmaker[AsyncSession]


async def _scheduled_group(
    maker: Maker, session: AsyncSession, clock: Any, lc: Lifecycle
) -> tuple[uuid.UUID, uuid.UUID]:
    """A group with a first meeting in a week; returns (group id, facilitator id)."""
    await propose_group(maker, session, clock, lc)
    return await schedule_first_meeting(session, clock, lc)


async def _org(session: AsyncSession) -> uuid.UUID:
    org, _ = await make_org_with_facilitator(session)
    return org.id


async def test_withdrawal_from_a_forming_group_erases_the_member_and_offers_the_place(
    maker: Maker,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    lc: Lifecycle,
    client: httpx.AsyncClient,
) -> None:
    org = await _org(session)
    await sign_up(session, cipher, clock.now, 4, days_ago=40)
    done = await register(
        session,
        InterestIn.model_validate(interest_body(contact={"email": "kari@example.no"})),
        cipher=cipher,
        source="self",
        now=clock.now - timedelta(days=41),
    )
    kari = await id_for_code(session, done.receipt_code)
    gid, _ = await _scheduled_group(maker, session, clock, lc)
    late = await sign_up(session, cipher, clock.now, 1, prefix="late", days_ago=5)
    assert await answer(session, lc, gid, kari, accept=True, now=clock.now) == "confirmed"
    needles = await needles_of(session, kari)
    before = await person_traces(session, needles)
    # What the life cycle holds about her: membership, personal links, an event naming her.
    assert {"interest", "group_member", "action_link", "group_event"} <= set(before["interest id"])

    clock.advance(minutes=1)
    assert (await client.delete(f"/api/v1/interests/{done.receipt_code}")).status_code == 204

    assert await person_traces(session, needles) == {}
    assert (await client.get(f"/api/v1/interests/{done.receipt_code}")).status_code == 404
    # The group noticed at once: the event says someone left, and the place is offered on.
    events = (
        (await session.execute(select(group_event.c.what).where(group_event.c.group_id == gid)))
        .scalars()
        .all()
    )
    assert "member_withdrew" in events
    offered = (
        await session.execute(
            select(group_member.c.interest_id, group_member.c.state).where(
                group_member.c.state == "offered", group_member.c.group_id == gid
            )
        )
    ).all()
    assert offered == [(late[0], "offered")]
    assert await session.scalar(
        select(func.count()).select_from(outbox).where(outbox.c.template == "place_offered")
    )
    assert (await tallies(session, org))[("all", "all", "withdrawn")] == 1


async def test_scheduled_erasure_after_self_running_deletes_every_member(
    maker: Maker,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    lc: Lifecycle,
) -> None:
    # The delay is the injected configuration (SAMHJELP_ERASE_CONTACTS_AFTER_DAYS), here 10.
    lc10 = Lifecycle(
        cipher=lc.cipher,
        link_secret=lc.link_secret,
        base_url=lc.base_url,
        config=LifecycleConfig(erase_after=timedelta(days=10)),
    )
    org = await _org(session)
    people = await sign_up(session, cipher, clock.now, 5, days_ago=40)
    gid, _ = await _scheduled_group(maker, session, clock, lc10)
    for p in people:
        assert await answer(session, lc10, gid, p, accept=True, now=clock.now) == "confirmed"
    needles = [await needles_of(session, p) for p in people]
    meetings = (
        (await session.execute(select(group_meeting.c.starts_at).order_by(group_meeting.c.number)))
        .scalars()
        .all()
    )
    for starts_at in meetings:
        clock.now = starts_at + timedelta(hours=3)
        await tick(maker, lc10, now=clock.now)
    group = (
        (await session.execute(select(start_group).where(start_group.c.id == gid))).mappings().one()
    )
    assert group["status"] == "self_running"

    clock.now = group["self_running_at"] + timedelta(days=9)
    report = await tick(maker, lc10, now=clock.now)
    assert report.counts["people_erased"] == 0
    assert (
        await session.scalar(
            select(func.count()).select_from(interest).where(interest.c.organisation_id == org)
        )
        == 5
    )

    clock.now = group["self_running_at"] + timedelta(days=10, minutes=1)
    report = await tick(maker, lc10, now=clock.now)
    assert report.counts["people_erased"] == 5 and report.counts["groups_erased"] == 1
    assert (
        await session.scalar(
            select(func.count()).select_from(interest).where(interest.c.organisation_id == org)
        )
        == 0
    )
    for n in needles:
        assert await person_traces(session, n) == {}
    counts = await tallies(session, org)
    assert counts[("all", "all", "placed")] == 5
    assert counts[("theme", "sorg", "placed")] == 5
    # Signed up 40 days before, first meeting a week later: 47 days, six full weeks.
    assert {k: v for k, v in counts.items() if k[0] == "wait_weeks"} == {
        ("wait_weeks", "6", "placed"): 5
    }
    # Nothing further happens on the next tick; the group itself stays, without members.
    again = await tick(maker, lc10, now=clock.now + timedelta(days=1))
    assert again.counts["people_erased"] == 0
    status = await session.scalar(select(start_group.c.status).where(start_group.c.id == gid))
    assert status == "self_running"
    assert not await session.scalar(
        select(func.count()).select_from(group_member).where(group_member.c.group_id == gid)
    )
