"""Life-cycle windows set through the settings are honoured by every entry point: the scheduled
jobs, the facilitator's link pages, intake's status API (through its progress port) and the
command line. Before the life cycle was built once in the composition root, the link pages and
the CLI built their own with default windows: with ``SAMHJELP_FACILITATED_MEETINGS=1`` the
meeting form still planned three meetings.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from groups.tables import facilitator_offer, group_meeting
from helpers import make_org_with_facilitator, purge_organisation, register_people, run_cli
from intake.crypto import ContactCipher
from integration.groups.support import CSRF, click
from matching.job import run_matching
from matching.tables import group_member, start_group
from notify import Channel
from notify.memory import MemoryNotifier
from notify.tables import outbox
from samhjelp.app import Services, create_app
from samhjelp.jobs import scheduled_jobs
from samhjelp.settings import Settings

#: Every window the settings expose, each away from its default (3 meetings, 72 h, 3 d, 30 d).
WINDOWS = {
    "SAMHJELP_FACILITATED_MEETINGS": "1",
    "SAMHJELP_REPLY_WINDOW_HOURS": "30",
    "SAMHJELP_FACILITATOR_WINDOW_DAYS": "5",
    "SAMHJELP_ERASE_CONTACTS_AFTER_DAYS": "9",
}
LINK = re.compile(r"http://testserver(/s/[A-Za-z0-9_-]+)")
FORM = re.compile(r'form method="post" action="http://testserver(/s/[A-Za-z0-9_-]+)"')
WHEN = re.compile(r'name="when" value="(\d{4}-\d\d-\d\dT\d\d:\d\d)"')


@pytest.fixture
def windowed(services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Services:
    """The test's services with settings read from an environment that sets the windows."""
    for name, value in WINDOWS.items():
        monkeypatch.setenv(name, value)
    settings = Settings(
        data_dir=tmp_path,
        public_base_url="http://testserver",
        post_rate_per_minute=1000,
        scheduler_enabled=False,
    )
    return replace(services, settings=settings)


async def test_jobs_link_pages_and_status_api_use_the_configured_windows(
    windowed: Services, session: AsyncSession, clock: Any
) -> None:
    services = windowed
    config = services.lifecycle.config
    assert (config.facilitated_meetings, config.reply_window) == (1, timedelta(hours=30))
    jobs = {job.id: job for job in scheduled_jobs(services)}
    assert set(jobs) == {
        "match",
        "lifecycle",
        "deliver",
        "housekeeping",
        "statistics",
        "audit_retention",
        "nudges",
        "lapse",
    }
    mailbox = MemoryNotifier()
    services.notifiers = {Channel.EMAIL: mailbox, Channel.SMS: mailbox}

    await make_org_with_facilitator(session, name="Fasilitator", email="igangsetter@example.no")
    people = await register_people(session, services.cipher, clock.now, 6, prefix="p")
    await session.commit()

    # The scheduled jobs: matching proposes, the tick sends the start notice with the
    # facilitator's configured five days to answer.
    assert (await jobs["match"].run())["groups"] == 1
    offered_at = clock.now
    await jobs["lifecycle"].run()
    respond_by = await session.scalar(select(facilitator_offer.c.respond_by))
    assert respond_by == offered_at + timedelta(days=5)

    # Four days on, a default three-day window would have expired the offer; five have not.
    clock.advance(days=4)
    await jobs["lifecycle"].run()
    assert await session.scalar(select(facilitator_offer.c.status)) == "pending"
    await jobs["deliver"].run()
    notice = next(m for m in mailbox.sent if m.to == "igangsetter@example.no")
    accept = LINK.findall(notice.text)[0]

    # The link pages (registered by create_app itself) plan one facilitated meeting.
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        page = await click(client, accept)
        assert page.status_code == 200, page.text
        form_url = FORM.search(page.text)
        assert form_url is not None, page.text
        # The last date the form offers on the group's slot: a week or more ahead, so the
        # invitations' reply deadline is the reply window, not cut short by the meeting.
        when = WHEN.findall(page.text)[-1]
        token = CSRF.search(page.text)
        assert token is not None
        done = await client.post(
            form_url.group(1),
            data={"_csrf_token": token.group(1), "when": when, "place": "LINK, rom 2"},
        )
        assert done.status_code == 200, done.text
        meetings = await session.scalar(select(func.count()).select_from(group_meeting))
        assert meetings == 1
        planned = await session.scalar(select(start_group.c.meetings_planned))
        assert planned == 1
        # Invitations carry the configured 30-hour reply window.
        invited = (await session.execute(select(group_member.c.respond_by))).scalars().all()
        assert set(invited) == {clock.now + timedelta(hours=30)}

        # Intake's status API withdraws through the port: the freed place is offered on
        # with the same configured window.
        [(newcomer, _)] = await register_people(session, services.cipher, clock.now, 1, prefix="q")
        await session.commit()
        clock.advance(hours=1)
        gone = await client.delete(f"/api/v1/interests/{people[0][1]}")
        assert gone.status_code == 204, gone.text
        offer = await session.scalar(
            select(group_member.c.respond_by).where(group_member.c.interest_id == newcomer)
        )
        assert offer == clock.now + timedelta(hours=30)


async def test_the_command_line_uses_the_configured_windows(
    engine: AsyncEngine, database_url: str, cipher: ContactCipher, clock: Any
) -> None:
    """``samhjelp group close`` on a group that has met schedules the contact erasure after
    the configured nine days (a CLI-built default life cycle said thirty)."""
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with maker.begin() as s:
        org, _ = await make_org_with_facilitator(s, ("3405",), email=None)
        await register_people(s, cipher, clock.now, 6, step=timedelta(days=1), municipality="3405")
    before = set(await _scalars(maker, select(outbox.c.id)))
    try:
        assert (await run_matching(maker, now=clock.now)).groups == 1
        async with maker.begin() as s:
            gid = await s.scalar(
                select(start_group.c.id).where(start_group.c.organisation_id == org.id)
            )
            # A shortcut to "has met": the erasure date is set only once a group has met.
            await s.execute(
                update(start_group).where(start_group.c.id == gid).values(status="running")
            )
        closed = await asyncio.to_thread(
            run_cli, database_url, "group", "close", str(gid), "--reason", "ended early",
            env=WINDOWS,
        )  # fmt: skip
        assert closed.returncode == 0, closed.stderr
        async with maker() as s:
            row = (
                await s.execute(
                    select(start_group.c.closed_at, start_group.c.erase_contacts_after).where(
                        start_group.c.id == gid
                    )
                )
            ).one()
        assert row.erase_contacts_after - row.closed_at == timedelta(days=9)
    finally:
        made = set(await _scalars(maker, select(outbox.c.id))) - before
        async with maker.begin() as s:
            await s.execute(delete(outbox).where(outbox.c.id.in_(made)))
        await purge_organisation(maker, org.id)


async def _scalars(maker: async_sessionmaker[AsyncSession], stmt: Any) -> list[Any]:
    async with maker() as s:
        return list((await s.execute(stmt)).scalars())
