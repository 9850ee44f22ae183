"""Freed places: declines and silence re-offer a place to the next compatible person; a group
that falls below the minimum lapses and everyone is told; withdrawals free a place too."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from groups import Lifecycle, participant_step, tick
from helpers import make_org_with_facilitator
from intake.crypto import ContactCipher
from intake.tables import interest
from integration.groups.support import (
    LINK,
    click,
    propose_group,
    schedule_first_meeting,
    sign_up,
)
from matching.tables import group_member, start_group
from notify import open_address
from notify.tables import outbox

Maker = async_sessionmaker[AsyncSession]


async def _scheduled_group(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle, n: int
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    await make_org_with_facilitator(session)
    people = await sign_up(session, cipher, clock.now, n, days_ago=40)
    await propose_group(maker, session, clock, lc)
    gid, _ = await schedule_first_meeting(session, clock, lc)
    return gid, people


async def _templates(
    session: AsyncSession, cipher: ContactCipher, template: str
) -> list[tuple[str, str]]:
    rows = (
        await session.execute(
            select(outbox.c.recipient, outbox.c.body_text)
            .where(outbox.c.template == template)
            .order_by(outbox.c.created_at)
        )
    ).all()
    return [(open_address(cipher, r), body) for r, body in rows]


async def _link_for(
    session: AsyncSession, cipher: ContactCipher, template: str, to: str
) -> list[str]:
    [body] = [b for r, b in await _templates(session, cipher, template) if r == to]
    return list(LINK.findall(body))


async def test_decline_and_silence_re_offer_the_place_longest_waiting_first(
    maker: Maker,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:
    gid, people = await _scheduled_group(maker, session, cipher, clock, lc, 6)
    # Later sign-ups: two compatible (older one first), one with another theme, one too old.
    later = await sign_up(session, cipher, clock.now, 1, prefix="late", days_ago=5)
    earlier = await sign_up(session, cipher, clock.now, 1, prefix="early", days_ago=8)
    await sign_up(session, cipher, clock.now, 1, prefix="kreft", days_ago=30, themes=["kreft"])
    await sign_up(session, cipher, clock.now, 1, prefix="old", days_ago=30, age_band="78+")
    clock.advance(minutes=1)
    _, no = await _link_for(session, cipher, "invitation", "p0@example.no")
    page = await click(app_client, no)
    assert page.status_code == 200
    offers = await _templates(session, cipher, "place_offered")
    assert [to for to, _ in offers] == ["early0@example.no"]
    statuses = dict((await session.execute(select(interest.c.id, interest.c.status))).all())
    assert statuses[people[0]] == "waiting" and statuses[earlier[0]] == "proposed"
    step = await participant_step(session, earlier[0])
    assert step is not None and step.step == "offered"
    # The offered person accepts: they are placed and see the meeting.
    yes, _ = await _link_for(session, cipher, "place_offered", "early0@example.no")
    page = await click(app_client, yes)
    assert page.status_code == 200 and "Biblioteket" in page.text
    statuses = dict((await session.execute(select(interest.c.id, interest.c.status))).all())
    assert statuses[earlier[0]] == "placed"
    # p1 never answers: after 72 hours the place goes to the next compatible person.
    clock.advance(hours=72, minutes=1)
    await tick(maker, lc, now=clock.now)
    offers = await _templates(session, cipher, "place_offered")
    # Everyone who did not answer (p1..p5) frees a place; only one compatible person waits.
    assert [to for to, _ in offers] == ["early0@example.no", "late0@example.no"]
    member_states = dict(
        (
            await session.execute(
                select(group_member.c.interest_id, group_member.c.state).where(
                    group_member.c.group_id == gid
                )
            )
        ).all()
    )
    assert member_states[people[1]] == "expired"
    # Now only 2 hold a place (early confirmed, late offered): below 4, so the group lapsed.
    assert (await session.execute(select(start_group.c.status))).scalar_one() == "lapsed"
    cancelled = {to for to, _ in await _templates(session, cipher, "group_cancelled")}
    assert cancelled == {"early0@example.no", "late0@example.no"}
    waiting_since = dict(
        (await session.execute(select(interest.c.id, interest.c.waiting_since))).all()
    )
    assert waiting_since[earlier[0]] < clock.now - timedelta(days=8)
    statuses = dict((await session.execute(select(interest.c.id, interest.c.status))).all())
    assert all(statuses[p] == "waiting" for p in people + earlier + later)


async def test_group_below_minimum_lapses_and_everyone_is_told(
    maker: Maker,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:
    await _scheduled_group(maker, session, cipher, clock, lc, 4)
    yes, _ = await _link_for(session, cipher, "invitation", "p1@example.no")
    assert (await click(app_client, yes)).status_code == 200
    _, no = await _link_for(session, cipher, "invitation", "p0@example.no")
    assert (await click(app_client, no)).status_code == 200
    assert (await session.execute(select(start_group.c.status))).scalar_one() == "lapsed"
    told = await _templates(session, cipher, "group_cancelled")
    assert {to for to, _ in told} == {"p1@example.no", "p2@example.no", "p3@example.no"}
    cancels = (
        (
            await session.execute(
                select(outbox.c.attachments).where(outbox.c.template == "group_cancelled")
            )
        )
        .scalars()
        .all()
    )
    assert all("METHOD:CANCEL" in a[0]["content"] for a in cancels)
    # The remaining invitation links are dead; the statuses are back to waiting.
    yes2, _ = await _link_for(session, cipher, "invitation", "p2@example.no")
    assert (await app_client.get(yes2)).status_code == 410
    statuses = (await session.execute(select(interest.c.status))).scalars().all()
    assert set(statuses) == {"waiting"}


async def test_withdrawal_frees_a_place_and_erases_messages(
    maker: Maker,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    lc: Lifecycle,
) -> None:
    _, people = await _scheduled_group(maker, session, cipher, clock, lc, 5)
    # p0 as an older version left a withdrawal: only marked 'withdrawn'. The tick erases such
    # rows through the same path as a withdrawal today (issue 8).
    await session.execute(
        interest.update()
        .where(interest.c.id == people[0])
        .values(status="withdrawn", contact_kind=None, contact_encrypted=None, contact_masked=None)
    )
    clock.advance(minutes=1)
    report = await tick(maker, lc, now=clock.now)
    assert report.counts["members_withdrawn"] == 1
    # Membership and registration are gone; the group's story keeps only that someone left.
    assert not (
        await session.execute(
            select(group_member.c.state).where(group_member.c.interest_id == people[0])
        )
    ).all()
    assert not (await session.execute(select(interest).where(interest.c.id == people[0]))).all()
    scrubbed = (
        await session.execute(
            select(outbox.c.recipient, outbox.c.status).where(
                outbox.c.template == "invitation", outbox.c.recipient.is_(None)
            )
        )
    ).all()
    assert len(scrubbed) == 1 and scrubbed[0].status == "cancelled"
    # Four remain, the minimum: the group goes on.
    assert (await session.execute(select(start_group.c.status))).scalar_one() == "scheduled"
