"""Groups fill until they meet: a later sign-up joins an open group in the next matching run,
before any new group is formed; in a scheduled group the tick invites them (real SMTP)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from groups import Lifecycle, tick
from groups.tables import facilitator_offer
from helpers import make_org_with_facilitator
from intake.crypto import ContactCipher
from intake.tables import interest
from integration.groups.support import (
    LINK,
    click,
    deliver,
    parse,
    propose_group,
    schedule_first_meeting,
    sign_up,
)
from matching.job import run_matching
from matching.tables import group_event, group_member, match_run, start_group
from notify.smtp import SmtpNotifier
from notify.tables import outbox
from notify.testing import RecordingSmtpServer
from staff_support import make_staff_user, signed_in_cookie

Maker = async_sessionmaker[AsyncSession]


async def _members(session: AsyncSession, gid: uuid.UUID) -> dict[uuid.UUID, str]:
    rows = await session.execute(
        select(group_member.c.interest_id, group_member.c.state).where(
            group_member.c.group_id == gid, group_member.c.active
        )
    )
    return {r.interest_id: r.state for r in rows}


async def _start_notice_accept(session: AsyncSession, cipher: ContactCipher) -> str:
    body = (
        await session.execute(select(outbox.c.body_text).where(outbox.c.template == "start_notice"))
    ).scalar_one()
    return str(LINK.findall(body)[0])


async def test_a_late_sign_up_joins_the_proposed_group_and_the_facilitator_sees_it(
    maker: Maker,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:
    await make_org_with_facilitator(session)
    first = await sign_up(session, cipher, clock.now, 4, days_ago=40)
    await propose_group(maker, session, clock, lc)
    gid = (await session.execute(select(start_group.c.id))).scalar_one()
    accept = await _start_notice_accept(session, cipher)
    page = await app_client.get(accept, params={"lang": "en"})
    assert "4 people" in page.text and "joined after" not in page.text

    clock.advance(days=1)
    [late] = await sign_up(session, cipher, clock.now, 1, prefix="late", days_ago=0)
    [other] = await sign_up(session, cipher, clock.now, 1, prefix="kreft", themes=["kreft"])
    await session.commit()
    report = await run_matching(maker, now=clock.now)
    assert (report.joined, report.groups) == (1, 0)

    members = await _members(session, gid)
    assert set(members) == {*first, late} and members[late] == "proposed"
    statuses = dict((await session.execute(select(interest.c.id, interest.c.status))).all())
    assert statuses[late] == "proposed" and statuses[other] == "waiting"
    assert (await session.execute(select(start_group.c.places))).scalar_one() == 5
    events = (
        await session.execute(
            select(group_event.c.what, group_event.c.actor, group_event.c.detail).where(
                group_event.c.what == "member_joined"
            )
        )
    ).all()
    assert [(e.what, e.actor, e.detail["interest"]) for e in events] == [
        ("member_joined", "matching", str(late))
    ]
    assert (
        await session.execute(select(match_run.c.joined).order_by(match_run.c.started_at.desc()))
    ).scalars().first() == 1

    page = await app_client.get(accept, params={"lang": "en"})
    assert page.status_code == 200
    assert "5 people" in page.text and "1 of them joined after the group was proposed" in page.text

    # The staff console's group page shows the new member and the event.
    org_id = (await session.execute(select(start_group.c.organisation_id))).scalar_one()
    user = await make_staff_user(session, "staff", organisation_id=org_id)
    app_client.cookies.update(await signed_in_cookie(session, user, now=clock.now))
    await session.commit()
    staff_page = await app_client.get(f"/ansatt/grupper/{gid}?lang=en")
    assert staff_page.status_code == 200
    assert "A waiting person joined the group before its first meeting" in staff_page.text
    assert staff_page.text.count("In the proposal") == 5

    # Accepting the group works as before.
    await click(app_client, accept)
    offer = (await session.execute(select(facilitator_offer))).mappings().one()
    assert offer["status"] == "accepted"


async def test_joining_a_scheduled_group_brings_an_invitation_by_email(
    maker: Maker,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    lc: Lifecycle,
    smtp_server: RecordingSmtpServer,
) -> None:
    smtp = SmtpNotifier("127.0.0.1", smtp_server.port, "noreply@example.no", tls="none", timeout=5)
    await make_org_with_facilitator(session)
    await sign_up(session, cipher, clock.now, 4, days_ago=40)
    await propose_group(maker, session, clock, lc)
    gid, _ = await schedule_first_meeting(session, clock, lc, ahead=timedelta(days=7))
    await session.commit()
    await deliver(maker, smtp, cipher, clock.now)
    before = len(smtp_server.messages)

    clock.advance(hours=1)
    [late] = await sign_up(session, cipher, clock.now, 1, prefix="late", days_ago=0)
    await session.commit()
    assert (await run_matching(maker, now=clock.now)).joined == 1
    assert (await _members(session, gid))[late] == "proposed"
    report = await tick(maker, lc, now=clock.now)
    assert report.counts["joiners_invited"] == 1
    assert (await _members(session, gid))[late] == "invited"
    assert (await deliver(maker, smtp, cipher, clock.now))["sent"] == 1
    [mail] = [parse(raw) for raw in smtp_server.messages[before:]]
    assert mail.to == "late0@example.no"
    assert len(mail.calendars) == 1 and "METHOD:REQUEST" in mail.calendars[0]
    assert len(mail.links()) >= 2
    # Nobody else is invited twice, and a second tick sends nothing more.
    assert (await tick(maker, lc, now=clock.now)).counts["joiners_invited"] == 0


async def test_no_one_joins_once_the_first_meeting_is_close(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle
) -> None:
    await make_org_with_facilitator(session)
    await sign_up(session, cipher, clock.now, 4, days_ago=40)
    await propose_group(maker, session, clock, lc)
    gid, _ = await schedule_first_meeting(session, clock, lc, ahead=timedelta(days=7))
    await session.commit()
    clock.advance(days=5, hours=1)  # under 48 hours before meeting 1
    [late] = await sign_up(session, cipher, clock.now, 1, prefix="late", days_ago=0)
    await session.commit()
    assert (await run_matching(maker, now=clock.now)).joined == 0
    assert late not in await _members(session, gid)
