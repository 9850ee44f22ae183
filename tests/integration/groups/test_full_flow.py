"""The whole life cycle against PostgreSQL and a real SMTP server (aiosmtpd in-process):
sign-ups → matching → start notice → accept by link → first meeting → invitations with .ics →
confirmations → meetings 1–3 with check-ins → self-running → follow-up → registrations erased.
The SMTP server is down while the invitations go out and comes back: each is delivered once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from groups import Lifecycle, participant_step, tick
from groups.tables import group_meeting
from helpers import make_org_with_facilitator
from intake.crypto import ContactCipher
from intake.tables import interest
from integration.groups.support import Mail, click, deliver, parse, propose_group, sign_up
from matching.tables import group_event, start_group
from notify.smtp import SmtpNotifier
from notify.tables import outbox
from notify.testing import RecordingSmtpServer

Maker = async_sessionmaker[AsyncSession]


class Inbox:
    """Reads the recording server's messages as parsed mails, remembering what was seen."""

    def __init__(self, server: RecordingSmtpServer) -> None:
        self.server = server
        self.seen = 0

    def new(self) -> list[Mail]:
        mails = [parse(raw) for raw in self.server.messages[self.seen :]]
        self.seen = len(self.server.messages)
        return mails


async def _status(session: AsyncSession) -> str:
    return str((await session.execute(select(start_group.c.status))).scalar_one())


async def test_full_life_cycle_over_smtp(
    maker: Maker,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    lc: Lifecycle,
    app_client: httpx.AsyncClient,
    smtp_server: RecordingSmtpServer,
) -> None:
    smtp = SmtpNotifier("127.0.0.1", smtp_server.port, "noreply@example.no", tls="none", timeout=5)
    inbox = Inbox(smtp_server)
    await make_org_with_facilitator(session, name="Fasilitator", email="igangsetter@example.no")
    people = await sign_up(session, cipher, clock.now, 6)

    # Matching proposes a group; the tick sends the start notice.
    await propose_group(maker, session, clock, lc)
    assert (await deliver(maker, smtp, cipher, clock.now))["sent"] == 1
    [notice] = inbox.new()
    assert notice.to == "igangsetter@example.no" and "igangsetter" in notice.subject
    accept, decline = notice.links()

    # The facilitator accepts through the link; the page offers the first-meeting form.
    page = await click(app_client, accept)
    assert page.status_code == 200 and 'name="place"' in page.text
    assert await _status(session) == "accepted"
    form_url = page.text.split('form method="post" action="http://testserver')[1].split('"')[0]
    assert (await app_client.get(decline)).status_code == 410  # the pair is used up

    # First meeting on the group's slot: the first date the form offers (18:00 Oslo time).
    first = page.text.split('name="when" value="')[1].split('"')[0]
    assert first.endswith("T18:00")
    done = await click(app_client, form_url, when=first, place="LINK, rom 2")
    day, month, year = first[8:10], first[5:7], first[:4]
    assert done.status_code == 200 and f"{day}.{month}.{year}" in done.text
    assert await _status(session) == "scheduled"

    # The mail server is down while the invitations go out, then comes back.
    smtp_server.stop()
    down = await deliver(maker, smtp, cipher, clock.now)
    assert down["sent"] == 0 and down["retrying"] == 6
    smtp_server.start()
    clock.advance(minutes=2)
    back = await deliver(maker, smtp, cipher, clock.now)
    assert back["sent"] == 6
    invitations = inbox.new()
    assert len(invitations) == 6
    assert len({m.message_id for m in invitations}) == 6
    assert {m.to for m in invitations} == {f"p{i}@example.no" for i in range(6)}
    for mail in invitations:
        assert len(mail.calendars) == 1 and "METHOD:REQUEST" in mail.calendars[0]
        assert "sorg" not in mail.subject.lower()
    status = await participant_step(session, people[0])
    assert status is not None and status.step == "invited" and "LINK, rom 2" in status.text

    # Everyone confirms through their own link.
    for mail in invitations:
        yes, no = mail.links()
        assert (await click(app_client, yes)).status_code == 200
        for used in (yes, no):  # a link works once, and its sibling goes with it
            again = await app_client.get(used)
            assert again.status_code == 410 and "allerede brukt" in again.text
    statuses = (await session.execute(select(interest.c.status))).scalars().all()
    assert sorted(statuses) == ["placed"] * 6

    # Meetings 1..3: reminder the day before, check-in after.
    meetings = (
        (await session.execute(select(group_meeting).order_by(group_meeting.c.number)))
        .mappings()
        .all()
    )
    assert [m["number"] for m in meetings] == [1, 2, 3]
    for m in meetings:
        clock.now = m["starts_at"] - timedelta(hours=20)
        await tick(maker, lc, now=clock.now)
        await deliver(maker, smtp, cipher, clock.now)
        reminders = inbox.new()
        assert len(reminders) == 7  # six participants and the facilitator
        clock.now = m["starts_at"] + timedelta(hours=3)
        await tick(maker, lc, now=clock.now)
        await deliver(maker, smtp, cipher, clock.now)
        [checkin] = inbox.new()
        assert checkin.to == "igangsetter@example.no"
        [checkin_link] = checkin.links()
        reply = await click(app_client, checkin_link, attended="6", goes_on="yes", follow_up="")
        assert reply.status_code == 200
        assert (await app_client.get(checkin_link)).status_code == 410
    assert await _status(session) == "self_running"
    step = await participant_step(session, people[0], "en")
    assert step is not None and step.step == "self_running"

    # Follow-up reminder four weeks later.
    self_running_at = (await session.execute(select(start_group.c.self_running_at))).scalar_one()
    clock.now = self_running_at + timedelta(weeks=4, hours=1)
    await tick(maker, lc, now=clock.now)
    await deliver(maker, smtp, cipher, clock.now)
    [followup] = inbox.new()
    assert followup.to == "igangsetter@example.no" and followup.links()
    assert (await session.execute(select(interest.c.contact_encrypted).limit(1))).scalar_one()

    # 30 days after self-running the participants' registrations are erased (issue 8),
    # messages too; only anonymous tallies remain.
    clock.now = self_running_at + timedelta(days=30, minutes=1)
    report = await tick(maker, lc, now=clock.now)
    assert report.counts["people_erased"] == 6
    assert await session.scalar(select(func.count()).select_from(interest)) == 0
    refs = [f"interest:{p}" for p in people]
    kept = await session.scalar(
        select(func.count())
        .select_from(outbox)
        .where(outbox.c.recipient.is_not(None), outbox.c.template.in_(("invitation",)))
    )
    assert kept == 0
    assert not (
        await session.execute(select(outbox.c.id).where(outbox.c.recipient_ref.in_(refs)))
    ).all()
    # Every message over the whole flow reached the server exactly once.
    ids = [parse(raw).message_id for raw in smtp_server.messages]
    assert len(ids) == len(set(ids))
    events = (await session.execute(select(group_event.c.what))).scalars().all()
    for what in (
        "formed",
        "start_notice_sent",
        "facilitator_accepted",
        "meetings_planned",
        "member_confirmed",
        "started",
        "checkin",
        "self_running",
        "followup_requested",
        "people_erased",
    ):
        assert what in events, what
