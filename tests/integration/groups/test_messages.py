"""Issue 9, the messages of the life cycle, on real PostgreSQL (and real SMTP where the mail
itself matters): the start notice says what the facilitator is asked to start and comes from
the organisation; invitations state a deadline that ends at least 24 h before the first
meeting and carry every meeting in one .ics with ORGANIZER and ATTENDEE; only people who said
yes are reminded; a participant can say "I can't come this time" or leave (CANCEL); a move
tells the facilitator; SMS never cut a place; check-in notes reach the organisation; coordinator
alerts say what happened; check-ins after downtime arrive as one message."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from groups import Lifecycle, tick
from groups.checkins import record_checkin
from groups.facilitators import answer_offer
from groups.meetings import reschedule_meeting
from groups.members import answer
from groups.tables import facilitator_offer, group_meeting
from helpers import interest_body, unique
from intake.crypto import ContactCipher
from intake.interests import register
from intake.registry import Organisation, add_facilitator, add_organisation, create_api_key
from intake.schemas import InterestIn
from intake.tables import interest
from integration.groups.support import (
    CSRF,
    deliver,
    propose_group,
    schedule_first_meeting,
    sign_up,
)
from matching.tables import group_member, start_group
from notify import open_address
from notify.smtp import SmtpNotifier
from notify.tables import outbox
from notify.testing import RecordingSmtpServer

Maker = async_sessionmaker[AsyncSession]
MEMBER_LINK = re.compile(r"http://testserver(/g/[A-Za-z0-9_-]{28})")
ORG_NAME = "LINK Bergen og omegn"
ORG_CONTACT = "post@linkbergen.example.no"
FACILITATOR = "igangsetter@example.no"
LONG_PLACE = "Frivilligsentralen Laksevåg, Kirkegaten 12, inngang fra bakgården, 2. etasje, rom 4"


async def _org(session: AsyncSession, *, facilitators: int = 1) -> Organisation:
    org = await add_organisation(
        session, slug=unique("org"), name=ORG_NAME, kind="link", municipalities=("4601",),
        contact_email=ORG_CONTACT, coordinator_email="koordinator@example.no",
    )  # fmt: skip
    for k in range(facilitators):
        await add_facilitator(
            session, organisation_id=org.id, name=f"F{k}",
            email=FACILITATOR if k == 0 else f"f{k}@example.no", themes=["sorg"],
        )  # fmt: skip
    return org


async def _proposed(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    *, n: int = 5, facilitators: int = 1, phone: bool = False,
) -> tuple[Organisation, list[uuid.UUID]]:  # fmt: skip
    org = await _org(session, facilitators=facilitators)
    people = await sign_up(
        session, cipher, clock.now, n - int(phone), days_ago=40, availability=["tue-evening"]
    )
    if phone:
        body = interest_body(contact={"phone": "+4791234567"}, availability=["tue-evening"])
        await register(session, InterestIn.model_validate(body), cipher=cipher, source="self",
                       now=clock.now - timedelta(days=39))  # fmt: skip
        people = list(
            (await session.execute(select(interest.c.id).order_by(interest.c.waiting_since)))
            .scalars()
        )  # fmt: skip
    await propose_group(maker, session, clock, lc)
    return org, people


async def _scheduled(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    *, ahead: timedelta = timedelta(days=8, hours=8), place: str = "Biblioteket",
    phone: bool = False, n: int = 5,
) -> tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]:  # fmt: skip
    """A group whose first meeting is planned (default: Tuesday 1 December 17:00 UTC, the
    group's Tuesday-evening slot); returns (group, facilitator, people)."""
    _, people = await _proposed(maker, session, cipher, clock, lc, phone=phone, n=n)
    gid, fid = await schedule_first_meeting(session, clock, lc, ahead=ahead, place=place)
    return gid, fid, people


async def _outbox(session: AsyncSession, cipher: ContactCipher, template: str) -> list[Any]:
    rows = (
        await session.execute(
            select(outbox.c.recipient, outbox.c.subject, outbox.c.body_text, outbox.c.channel,
                   outbox.c.attachments)
            .where(outbox.c.template == template)
            .order_by(outbox.c.created_at)
        )
    ).all()  # fmt: skip
    return [(open_address(cipher, r.recipient), r) for r in rows]


async def _member_link(session: AsyncSession, cipher: ContactCipher, to: str) -> str:
    [(_, row)] = [x for x in await _outbox(session, cipher, "invitation") if x[0] == to]
    found = MEMBER_LINK.search(row.body_text)
    assert found is not None, row.body_text
    return found.group(1)


async def _post(client: httpx.AsyncClient, path: str, **form: str) -> httpx.Response:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    token = CSRF.search(page.text)
    assert token is not None
    return await client.post(path, data={"_csrf_token": token.group(1), **form})


def _mail(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


async def test_start_notice_says_what_to_start_and_comes_from_the_organisation(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    smtp_server: RecordingSmtpServer,
) -> None:  # fmt: skip
    await _proposed(maker, session, cipher, clock, lc)
    smtp = SmtpNotifier("127.0.0.1", smtp_server.port, "samhjelp <noreply@example.no>",
                        tls="none", timeout=5)  # fmt: skip
    assert (await deliver(maker, smtp, cipher, clock.now))["sent"] == 1
    mail = _mail(smtp_server.messages[0])
    assert mail["From"].addresses[0].display_name == ORG_NAME
    assert mail["Reply-To"] == ORG_CONTACT
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "igangsetter" in str(mail["Subject"])
    for fact in (
        "Tema: Sorg",  # theme (a cross-problem group says so instead)
        "Deltakere: 5 personer",  # how many
        "Språk: norsk",  # language
        "Når: tirsdag kveld (17:00–22:00), hver uke",  # the agreed weekday and time of day
        f"Område: {ORG_NAME}",  # the area
        "Møteform: fysisk oppmøte",  # digital or in person
        "Svar innen torsdag 26. november kl. 10:00",  # the deadline (3 days, Oslo time)
    ):
        assert fact in body, (fact, body)


async def test_invitation_deadline_ends_a_day_before_the_first_meeting_and_ics_has_all(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    smtp_server: RecordingSmtpServer,
) -> None:  # fmt: skip
    # 50 hours ahead (a Wednesday morning, off the Tuesday-evening slot): the 72-hour reply
    # window would end after the meeting; the deadline is cut to 24 hours before it.
    gid, _, _ = await _scheduled(maker, session, cipher, clock, lc,
                                 ahead=timedelta(hours=50))  # fmt: skip
    first = clock.now + timedelta(hours=50)
    deadlines = (
        await session.execute(select(group_member.c.respond_by).where(group_member.c.active))
    ).scalars().all()  # fmt: skip
    assert set(deadlines) == {first - timedelta(hours=24)}
    smtp = SmtpNotifier("127.0.0.1", smtp_server.port, "noreply@example.no", tls="none", timeout=5)
    await deliver(maker, smtp, cipher, clock.now)
    invitations = [m for m in map(_mail, smtp_server.messages) if m["To"] == "p0@example.no"]
    [mail] = invitations
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Svar innen tirsdag 24. november kl. 12:00" in body
    assert "annet enn det dere valgte" in body and "beholder du plassen din i køen" in body
    assert mail["Reply-To"] == ORG_CONTACT
    [ics] = [p.get_content() for p in mail.walk() if p.get_content_type() == "text/calendar"]
    events = Calendar.from_ical(ics).walk("VEVENT")
    planned = (
        await session.execute(select(group_meeting.c.id).where(group_meeting.c.group_id == gid))
    ).scalars().all()  # fmt: skip
    assert len(events) == len(planned) == 3  # every facilitated meeting
    for event in events:
        assert str(event["ORGANIZER"]) == f"mailto:{ORG_CONTACT}"
        assert str(event["ATTENDEE"]) == "mailto:p0@example.no"  # only the reader
    assert "METHOD:REQUEST" in ics


async def test_nobody_who_has_not_answered_is_reminded(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle
) -> None:
    # The first meeting 50 hours ahead: before, the reply window (72 h) was still open at the
    # reminder, and the two who had not answered were reminded of a meeting they never accepted.
    gid, _, people = await _scheduled(maker, session, cipher, clock, lc, n=6,
                                      ahead=timedelta(hours=50))  # fmt: skip
    for iid in people[:4]:
        await answer(session, lc, gid, iid, accept=True, now=clock.now)
    await session.commit()
    clock.now += timedelta(hours=30)  # 20 hours before the meeting
    await tick(maker, lc, now=clock.now)
    reminded = {to for to, _ in await _outbox(session, cipher, "meeting_reminder")}
    assert reminded == {f"p{i}@example.no" for i in range(4)} | {FACILITATOR}


async def test_a_participant_can_skip_one_meeting_or_leave_the_group(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:  # fmt: skip
    gid, _, people = await _scheduled(maker, session, cipher, clock, lc, n=6)
    for iid in people[:5]:
        await answer(session, lc, gid, iid, accept=True, now=clock.now)
    await session.commit()
    meeting = (
        await session.execute(
            select(group_meeting.c.id, group_meeting.c.starts_at).where(
                group_meeting.c.group_id == gid, group_meeting.c.number == 1)
        )
    ).one()  # fmt: skip

    # p1 cannot come this time: the page offers it, the facilitator hears, p1 keeps the place.
    page = await _member_link(session, cipher, "p1@example.no")
    shown = await app_client.get(page)
    assert "Biblioteket" in shown.text and "Gå ut av gruppen" in shown.text
    done = await _post(app_client, page, action="absent", meeting=str(meeting.id))
    assert done.status_code == 200 and "ingen påminnelse" in done.text
    [(to, told)] = await _outbox(session, cipher, "member_absent")
    assert to == FACILITATOR and "kan ikke komme på møte 1" in told.subject

    # p2 leaves the group: one CANCEL for every coming meeting, back in the queue.
    page = await _member_link(session, cipher, "p2@example.no")
    done = await _post(app_client, page, action="leave")
    assert done.status_code == 200
    [(to, left)] = await _outbox(session, cipher, "group_left")
    assert to == "p2@example.no"
    [cancel] = [a for a in left.attachments if a["content_type"].startswith("text/calendar")]
    cal = Calendar.from_ical(cancel["content"])
    assert cal["METHOD"] == "CANCEL" and len(cal.walk("VEVENT")) == 3
    assert all("ORGANIZER" in e and "ATTENDEE" in e for e in cal.walk("VEVENT"))
    status = await session.scalar(select(interest.c.status).where(interest.c.id == people[2]))
    assert status == "waiting"
    assert len(await _outbox(session, cipher, "member_absent")) == 2  # the leave, too

    # The day before: p0, p3, p4 (yes) and the facilitator — not p1 (can't come this time),
    # not p2 (left), not p5 (never answered).
    clock.now = meeting.starts_at - timedelta(hours=20)
    await tick(maker, lc, now=clock.now)
    reminded = {to for to, _ in await _outbox(session, cipher, "meeting_reminder")}
    assert reminded == {"p0@example.no", "p3@example.no", "p4@example.no", FACILITATOR}


async def test_a_moved_meeting_tells_the_facilitator_too(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle
) -> None:
    gid, _, _ = await _scheduled(maker, session, cipher, clock, lc)
    later = clock.now + timedelta(days=15, hours=8)
    assert await reschedule_meeting(session, lc, gid, 2, starts_at=later, place="Kafeen",
                                    now=clock.now, actor="cli")  # fmt: skip
    changed = await _outbox(session, cipher, "meeting_changed")
    [(_, row)] = [x for x in changed if x[0] == FACILITATOR]
    assert "Kafeen" in row.body_text and "Sorg" in row.body_text  # names the group
    [ics] = [a for a in row.attachments if a["content_type"].startswith("text/calendar")]
    assert "SEQUENCE:1" in ics["content"] and f"mailto:{FACILITATOR}" in ics["content"]
    assert len(changed) == 6  # five participants and the facilitator


async def test_sms_sends_the_status_link_instead_of_cutting_the_place(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:  # fmt: skip
    await _scheduled(maker, session, cipher, clock, lc, place=LONG_PLACE, phone=True)
    [(to, sms)] = [x for x in await _outbox(session, cipher, "invitation") if x[1].channel == "sms"]
    assert to == "+4791234567" and len(sms.body_text) <= 160
    assert "Kirkegaten" not in sms.body_text and "Frivilligsentralen" not in sms.body_text
    found = MEMBER_LINK.search(sms.body_text)
    assert found is not None
    page = await app_client.get(found.group(1))
    assert page.status_code == 200 and LONG_PLACE in page.text  # in full, one tap away


async def test_checkins_after_downtime_come_as_one_message_and_notes_reach_the_organisation(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:  # fmt: skip
    gid, fid, people = await _scheduled(maker, session, cipher, clock, lc)
    for iid in people:
        await answer(session, lc, gid, iid, accept=True, now=clock.now)
    meetings = (
        await session.execute(
            select(group_meeting.c.id, group_meeting.c.starts_at)
            .where(group_meeting.c.group_id == gid).order_by(group_meeting.c.number)
        )
    ).all()  # fmt: skip
    await session.commit()
    # The service was down from before meeting 1 until after meeting 2.
    clock.now = meetings[1].starts_at + timedelta(hours=3)
    await tick(maker, lc, now=clock.now)
    [(to, checkin)] = await _outbox(session, cipher, "checkin_request")
    assert to == FACILITATOR and checkin.subject == "Hvordan gikk møtene?"
    assert "Møte 1:" in checkin.body_text and "Møte 2:" in checkin.body_text
    assert "Sorg, tirsdag kveld" in checkin.body_text  # names the group

    note = "Én deltaker virket svært nedfor; bør ringes opp."
    assert await record_checkin(session, lc, meetings[0].id, fid, attended=5, goes_on=True,
                                follow_up=note, now=clock.now)  # fmt: skip
    [(to, alert)] = await _outbox(session, cipher, "checkin_note")
    assert to == "koordinator@example.no"
    assert str(gid) in alert.body_text and f"/api/v1/staff/groups/{gid}" in alert.body_text
    assert note not in alert.body_text  # the note stays out of e-mail
    await session.commit()
    org_id = await session.scalar(select(start_group.c.organisation_id))
    key = await create_api_key(session, organisation_id=org_id, role="staff")
    headers = {"Authorization": f"Bearer {key}"}
    await session.commit()
    detail = await app_client.get(f"/api/v1/staff/groups/{gid}", headers=headers)
    assert detail.status_code == 200, detail.text
    assert detail.json()["meetings"][0]["follow_up"] == note
    notes = await app_client.get("/api/v1/staff/groups/checkin-notes", headers=headers)
    assert [n["follow_up"] for n in notes.json()] == [note]


async def test_coordinator_alert_says_declined_vs_no_answer_which_group_and_next_step(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle
) -> None:
    await _proposed(maker, session, cipher, clock, lc, facilitators=2)
    first = (await session.execute(select(facilitator_offer))).mappings().one()
    await answer_offer(session, lc, first["id"], first["facilitator_id"], accept=False,
                       now=clock.now)  # fmt: skip
    await session.commit()
    clock.now += lc.config.facilitator_window + timedelta(minutes=1)
    await tick(maker, lc, now=clock.now)  # the second says nothing: nobody is left
    [(to, alert)] = await _outbox(session, cipher, "coordinator_alert")
    gid = await session.scalar(select(start_group.c.id))
    assert to == "koordinator@example.no"
    assert alert.subject == f"Ingen igangsetter har sagt ja: gruppe {gid.hex[:8]}"
    text = alert.body_text
    assert "1 sa nei, og 1 svarte ikke innen fristen" in text
    assert f"Id: {gid}" in text and f"/api/v1/staff/groups/{gid}" in text
    assert "Gruppe: Sorg, tirsdag kveld (17:00–22:00)" in text
    assert "Neste steg:" in text
