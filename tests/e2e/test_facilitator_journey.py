"""The facilitator's journey in real headless Chromium at phone width (375 px).

Start notice e-mail (real SMTP: aiosmtpd) → accept page with the group brief → meeting form
offering dates on the group's weekly slot (another time refused without a confirmation) →
invitations → participants answer → roster of contacts → reminders → check-in with a note for
follow-up → meetings 2 and 3 → self-running. A second journey confirms a time off the slot: the
invitations say the time differs and that declining keeps the place in the queue.

The app runs for real (uvicorn on a free port, committing sessionmaker, the composition root's
``Services``); time moves by the services' clock, which the pages and the scheduled jobs
(``samhjelp.jobs``, called directly) share — the same mechanism as ``samhjelp lifecycle tick
--at``. Rows are made in municipalities no other test uses and deleted afterwards. Screenshots
are taken at each step; they go to ``$SAMHJELP_SCREENSHOT_DIR`` when set (the ones in
docs/screenshots/facilitator-*.png: ``SAMHJELP_SCREENSHOT_DIR=docs/screenshots pytest
tests/e2e/test_facilitator_journey.py``), else to a temporary folder, so a test run does not
rewrite the committed pictures.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from e2e.support import axe_violations, free_port
from groups.brief import on_slot
from groups.tables import action_link, facilitator_offer, group_meeting
from intake.crypto import ContactCipher
from intake.registry import add_facilitator, add_organisation
from intake.tables import facilitator, interest, organisation
from integration.groups.support import sign_up
from matching.tables import group_event, group_member, match_run, start_group, waiting_note
from notify import Channel
from notify.smtp import SmtpNotifier
from notify.tables import outbox
from notify.testing import RecordingSmtpServer
from samhjelp import jobs
from samhjelp.app import create_app
from samhjelp.services import Services
from samhjelp.settings import Settings

pytestmark = pytest.mark.browser

SHOTS = Path(
    os.environ.get("SAMHJELP_SCREENSHOT_DIR")
    or Path(tempfile.gettempdir()) / "samhjelp-facilitator-screenshots"
)
PHONE = {"width": 375, "height": 812}
CSRF = re.compile(r'name="_csrf_token" value="([^"]*)"')
FACILITATOR = "igangsetter.e2e@example.no"
ORG_MAIL = "post@link-e2e.example.no"
COORDINATOR = "koordinator@link-e2e.example.no"

Maker = async_sessionmaker[AsyncSession]


@dataclass
class Mail:
    to: str
    sender: str
    reply_to: str
    subject: str
    text: str
    calendars: list[str]


def parse(raw: bytes) -> Mail:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    body = msg.get_body(("plain",))
    assert body is not None
    return Mail(
        to=str(msg["To"]),
        sender=str(msg["From"]),
        reply_to=str(msg["Reply-To"] or ""),
        subject=str(msg["Subject"]),
        text=body.get_content(),
        calendars=[
            part.get_content() for part in msg.walk() if part.get_content_type() == "text/calendar"
        ],
    )


@dataclass
class Clock:
    """The business clock of the running app: the test moves it, nobody sleeps."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __call__(self) -> datetime:
        return self.now


@dataclass
class World:
    url: str
    services: Services
    clock: Clock
    smtp: RecordingSmtpServer
    maker: Maker
    seen: int = 0

    async def run_jobs(self) -> list[Mail]:
        """One scheduler round at the clock's time: tick, then deliver; the new mails."""
        await jobs.lifecycle(self.services)
        await jobs.deliver(self.services)
        mails = [parse(raw) for raw in self.smtp.messages[self.seen :]]
        self.seen = len(self.smtp.messages)
        return mails

    def links(self, mail: Mail) -> list[str]:
        return re.findall(re.escape(self.url) + r"/s/[A-Za-z0-9_-]{28}", mail.text)


@pytest.fixture(scope="module")
def smtp() -> Iterator[RecordingSmtpServer]:
    server = RecordingSmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def world(
    engine: AsyncEngine,
    smtp: RecordingSmtpServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[World]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    maker: Maker = async_sessionmaker(engine, expire_on_commit=False)
    clock = Clock()
    # The deployment's default sender: the messages themselves must name the organisation.
    mail = SmtpNotifier(
        "127.0.0.1", smtp.port, "samhjelp <noreply@samhjelp.invalid>", tls="none", timeout=5
    )
    services = Services(
        settings=Settings(
            data_dir=tmp_path_factory.mktemp("journey"),
            public_base_url=url,
            post_rate_per_minute=10_000,
            scheduler_enabled=False,
            link_secret="journey-link-secret-" + "x" * 32,
        ),
        engine=engine,
        sessionmaker=maker,
        cipher=ContactCipher(bytes(range(32))),
        clock=clock,
        notifiers={Channel.EMAIL: mail, Channel.SMS: mail},
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(services), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn offers no start event; poll its flag
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield World(url, services, clock, smtp, maker)
    finally:
        server.should_exit = True
        await task


@dataclass
class Group:
    org_id: uuid.UUID
    facilitator_id: uuid.UUID
    id: uuid.UUID
    slot: str
    emails: list[str]


async def _form_group(world: World, muni: str, prefix: str) -> Group:
    """An organisation, its facilitator and five people waiting for a Tuesday-evening group;
    the matching job forms the group."""
    async with world.maker.begin() as s:
        org = await add_organisation(
            s,
            slug=f"e2e-{prefix}-{uuid.uuid4().hex[:6]}",
            name=f"LINK e2e {prefix}",
            kind="link",
            municipalities=(muni,),
            contact_email=ORG_MAIL,
            coordinator_email=COORDINATOR,
        )
        fac = await add_facilitator(
            s,
            organisation_id=org.id,
            name="Igangsetter E2E",
            email=f"{prefix}.{FACILITATOR}",
            themes=["sorg"],
            languages=["no"],
        )
        await sign_up(
            s,
            world.services.cipher,
            world.clock.now,
            5,
            prefix=f"{prefix}-deltaker",
            municipality=muni,
            availability=["tue-evening"],
        )
    await jobs.match(world.services)
    async with world.maker() as s:
        row = (
            await s.execute(select(start_group).where(start_group.c.organisation_id == org.id))
        ).one()
    emails = [f"{prefix}-deltaker{i}@example.no" for i in range(5)]
    return Group(org.id, fac, row.id, row.slot, emails)


async def _purge(world: World, group: Group) -> None:
    async with world.maker.begin() as s:
        gids = select(start_group.c.id).where(start_group.c.organisation_id == group.org_id)
        meetings = select(group_meeting.c.id).where(group_meeting.c.group_id.in_(gids))
        offers = select(facilitator_offer.c.id).where(facilitator_offer.c.group_id.in_(gids))
        people = select(interest.c.id).where(interest.c.organisation_id == group.org_id)
        await s.execute(
            delete(action_link).where(
                or_(
                    action_link.c.object_id.in_(gids),
                    action_link.c.object_id.in_(meetings),
                    action_link.c.object_id.in_(offers),
                    action_link.c.subject_id == group.facilitator_id,
                    action_link.c.subject_id.in_(people),
                )
            )
        )
        for table in (facilitator_offer, group_event, group_member, group_meeting):
            await s.execute(delete(table).where(table.c.group_id.in_(gids)))
        runs = (
            (
                await s.execute(
                    select(start_group.c.match_run_id).where(
                        start_group.c.organisation_id == group.org_id
                    )
                )
            )
            .scalars()
            .all()
        )
        await s.execute(delete(start_group).where(start_group.c.organisation_id == group.org_id))
        # The matching runs that formed these groups (other tests count match_run rows).
        await s.execute(delete(match_run).where(match_run.c.id.in_([r for r in runs if r])))
        await s.execute(delete(waiting_note).where(waiting_note.c.interest_id.in_(people)))
        await s.execute(
            delete(outbox).where(
                or_(
                    outbox.c.organisation_id == group.org_id,
                    outbox.c.recipient_ref == f"facilitator:{group.facilitator_id}",
                )
            )
        )
        await s.execute(delete(interest).where(interest.c.organisation_id == group.org_id))
        await s.execute(delete(facilitator).where(facilitator.c.id == group.facilitator_id))
        await s.execute(delete(organisation).where(organisation.c.id == group.org_id))


async def _status(world: World, group: Group) -> str:
    async with world.maker() as s:
        return str(await s.scalar(select(start_group.c.status).where(start_group.c.id == group.id)))


async def _events(world: World, group: Group) -> list[str]:
    async with world.maker() as s:
        rows = await s.execute(
            select(group_event.c.what)
            .where(group_event.c.group_id == group.id)
            .order_by(group_event.c.id)
        )
        return [str(w) for w in rows.scalars()]


async def _meetings(world: World, group: Group) -> list[datetime]:
    async with world.maker() as s:
        rows = await s.execute(
            select(group_meeting.c.starts_at)
            .where(group_meeting.c.group_id == group.id)
            .order_by(group_meeting.c.number)
        )
        return list(rows.scalars())


def _to(mails: list[Mail], address: str) -> list[Mail]:
    return [m for m in mails if address in m.to]


async def _answer(world: World, link: str, **form: str) -> httpx.Response:
    """A participant presses the button of a link page (GET, then POST with its token)."""
    async with httpx.AsyncClient() as client:
        shown = await client.get(link)
        assert shown.status_code == 200, shown.text
        token = CSRF.search(shown.text)
        assert token is not None
        return await client.post(link, data={"_csrf_token": token.group(1), **form})


async def _shot(page: Any, name: str) -> None:
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"facilitator-{name}.png"), full_page=True)


async def _accessible(page: Any, what: str) -> None:
    violations = await axe_violations(page)
    assert violations == [], f"{what}: {violations}"


@pytest.fixture
async def phone(browser: Any) -> AsyncIterator[Any]:
    """A phone-sized page (CSP bypassed only so axe-core can be injected)."""
    context = await browser.new_context(
        bypass_csp=True, viewport=PHONE, is_mobile=True, locale="nb-NO", timezone_id="Europe/Oslo"
    )
    page = await context.new_page()
    yield page
    await context.close()


async def _start_notice(world: World, group: Group, prefix: str) -> Mail:
    mails = await world.run_jobs()
    [notice] = _to(mails, f"{prefix}.{FACILITATOR}")
    return notice


async def _accept(world: World, page: Any, notice: Mail, shot: str | None) -> None:
    accept = world.links(notice)[0]
    await page.goto(accept)
    if shot:
        await _accessible(page, "accept page")
        await _shot(page, shot)
    await page.click("form button[type=submit]")
    await page.wait_for_selector("input[name=when]")


async def test_facilitator_journey_from_start_notice_to_self_running(
    world: World, phone: Any
) -> None:
    group = await _form_group(world, "1506", "journey")  # Molde
    try:
        # 1. The start notice says what the facilitator is asked to start.
        notice = await _start_notice(world, group, "journey")
        text = notice.text
        assert "5" in text
        assert re.search(r"tirsdag|tysdag|Tuesday", text, re.I), text
        assert re.search(r"kveld|evening", text, re.I), text
        assert ORG_MAIL in notice.reply_to, (notice.sender, notice.reply_to)
        assert "LINK e2e journey" in notice.sender, notice.sender
        assert len(world.links(notice)) >= 2  # accept and decline

        # 2. The accept page shows the group brief; accepting shows the meeting form.
        await _accept(world, phone, notice, "accept")
        assert await _status(world, group) == "accepted"
        page_text = await phone.inner_text("main")
        assert re.search(r"tirsdag|tysdag|Tuesday", page_text, re.I)

        # 3. The form offers dates on the group's slot; another time needs a confirmation.
        offered = [
            str(await r.get_attribute("value"))
            for r in await phone.query_selector_all("input[name=when]")
        ]
        dates = [v for v in offered if v != "other"]
        assert len(dates) >= 4 and "other" in offered
        starts = [datetime.fromisoformat(v) for v in dates]
        assert all(on_slot(group.slot, s.replace(tzinfo=_oslo())) for s in starts), dates
        await _accessible(phone, "meeting form")
        await _shot(phone, "meeting-form")

        friday = starts[0].date() + timedelta(days=3)  # a Tuesday + 3: the Friday after
        await phone.check("#when-other")
        await phone.fill("#date", friday.isoformat())
        await phone.fill("#time", "10:00")
        await phone.fill("#place", "Molde bibliotek, møterom 2")
        await phone.click("form.signup button[type=submit]")
        await phone.wait_for_selector("#confirm_other_time[aria-invalid=true]")
        assert await _status(world, group) == "accepted"  # nothing planned off the slot
        await _accessible(phone, "meeting form, other time not confirmed")
        await _shot(phone, "meeting-wrong-slot")

        await phone.check("#when-1")
        await phone.fill("#place", "Molde bibliotek, møterom 2")
        await phone.click("form.signup button[type=submit]")
        await phone.wait_for_selector("a#roster-link")  # the roster link on the done page
        assert await _status(world, group) == "scheduled"
        meetings = await _meetings(world, group)
        assert len(meetings) == 3
        assert meetings[0] == starts[0].replace(tzinfo=_oslo())
        assert all(on_slot(group.slot, m) for m in meetings)
        await _accessible(phone, "invitations sent")
        await _shot(phone, "invitations-sent")
        roster_url = await phone.get_attribute("a#roster-link", "href")
        assert roster_url

        # 4. Invitations: one per participant, with the reply deadline and a calendar file.
        mails = await world.run_jobs()
        invitations = [m for e in group.emails for m in _to(mails, e)]
        assert len(invitations) == 5
        for inv in invitations:
            assert inv.calendars and "METHOD:REQUEST" in inv.calendars[0]
            assert "ORGANIZER" in inv.calendars[0] and "ATTENDEE" in inv.calendars[0]
            assert re.search(r"svar.*(innen|seinast|senest)|reply by|answer by", inv.text, re.I)
        for inv in invitations:  # everyone says yes
            answered = await _answer(world, world.links(inv)[0])
            assert answered.status_code == 200

        # 5. The roster shows how to reach each participant who said yes; the view is logged.
        await phone.goto(str(roster_url))
        contacts = await phone.locator("a.contact").all_inner_texts()
        assert sorted(contacts) == sorted(group.emails)
        await _accessible(phone, "roster")
        await _shot(phone, "roster")
        assert any("roster" in e for e in await _events(world, group))

        # 6. The day before meeting 1: reminders to everyone who said yes and the facilitator.
        world.clock.now = meetings[0] - timedelta(hours=23)
        mails = await world.run_jobs()
        assert _to(mails, f"journey.{FACILITATOR}")
        assert len([m for e in group.emails for m in _to(mails, e)]) == 5

        # 7. After meeting 1: running; the check-in asks how it went, with a note to follow up.
        world.clock.now = meetings[0] + timedelta(hours=2, minutes=5)
        mails = await world.run_jobs()
        assert await _status(world, group) == "running"
        [checkin] = _to(mails, f"journey.{FACILITATOR}")
        await phone.goto(world.links(checkin)[0])
        await phone.fill("#attended", "5")
        await phone.check("#goes_on_yes")
        await phone.fill("#follow_up", "Vi trenger et større rom fra neste gang.")
        await _accessible(phone, "check-in")
        await _shot(phone, "checkin")
        await phone.click("form button[type=submit]")
        await phone.wait_for_selector(".ds-alert")
        mails = await world.run_jobs()
        # The follow-up note reaches the organisation's coordinator (not only the database).
        assert _to(mails, COORDINATOR), [m.to for m in mails]

        # 8. Meetings 2 and 3 with their check-ins; after meeting 3 the group runs on its own.
        for start in meetings[1:]:
            world.clock.now = start + timedelta(hours=2, minutes=5)
            mails = await world.run_jobs()
            [checkin] = _to(mails, f"journey.{FACILITATOR}")
            answered = await _answer(world, world.links(checkin)[0], attended="5", goes_on="yes")
            assert answered.status_code == 200
        assert await _status(world, group) == "self_running"
        events = await _events(world, group)
        assert events.index("started") < events.index("self_running")
    finally:
        await _purge(world, group)


async def test_a_time_off_the_slot_is_confirmed_and_the_invitations_say_so(
    world: World, phone: Any
) -> None:
    group = await _form_group(world, "1505", "offslot")  # Kristiansund
    try:
        notice = await _start_notice(world, group, "offslot")
        await _accept(world, phone, notice, None)
        first = await phone.get_attribute("#when-1", "value")
        assert first is not None
        friday = datetime.fromisoformat(first).date() + timedelta(days=3)
        await phone.check("#when-other")
        await phone.fill("#date", friday.isoformat())
        await phone.fill("#time", "10:00")
        await phone.fill("#place", "Kristiansund frivilligsentral")
        await phone.check("#confirm_other_time")
        await phone.click("form.signup button[type=submit]")
        await phone.wait_for_selector("a[href*='/s/']")
        assert await _status(world, group) == "scheduled"
        [meeting1, *_] = await _meetings(world, group)
        assert not on_slot(group.slot, meeting1)
        assert "meeting_off_slot_confirmed" in await _events(world, group)
        await _accessible(phone, "invitations sent off the slot")
        await _shot(phone, "invitations-sent-other-time")

        mails = await world.run_jobs()
        invitations = [m for e in group.emails for m in _to(mails, e)]
        assert len(invitations) == 5
        for inv in invitations:
            # The time differs from what they chose; declining keeps their place in the queue.
            assert re.search(r"annet enn det dere valgte|differs from", inv.text, re.I), inv.text
            assert re.search(r"takke nei.*beholder du plassen din i køen", inv.text), inv.text
    finally:
        await _purge(world, group)


def _oslo() -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Oslo")
