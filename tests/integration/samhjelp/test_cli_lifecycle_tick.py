"""``samhjelp lifecycle tick --at`` and ``samhjelp outbox deliver``: making time pass for a trial.

A group is set up in-process (committed, so the command's own process sees it): matching,
start notice, accepted, first meeting on the group's weekly slot a few days ahead. Then the
command line moves time: ``--at`` past meeting 1 makes the group ``running`` and delivers the
check-in request into the folder channel at once (its due time is the simulated moment, which
the real-time scheduler would not reach for days); a moment before what already happened is
refused with the reason and changes nothing; ``--at`` past the last facilitated meeting makes
the group self-running.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from groups import Answer, answer, answer_offer, propose_first_meeting, tick
from groups.tables import action_link, facilitator_offer
from helpers import make_org_with_facilitator, run_cli
from intake.crypto import ContactCipher
from intake.tables import facilitator, interest, organisation
from integration.groups.support import sign_up
from matching.job import run_matching
from matching.tables import group_event, group_member, match_run, start_group, waiting_note
from notify.tables import outbox
from samhjelp.services import Services
from samhjelp.settings import Settings

OSLO = ZoneInfo("Europe/Oslo")
MUNI = "1804"  # Bodø: no other test commits rows there
TEST_KEY = bytes(range(32))  # the cipher fixture's key
SECRET = "cli-tick-link-secret-" + "x" * 32
DAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}

Maker = async_sessionmaker[AsyncSession]


def _on_slot(slot: str, after: datetime) -> datetime:
    """The first day of the slot's weekday at least three days after ``after``, 18:00 Oslo."""
    day = (after + timedelta(days=3)).astimezone(OSLO).date()
    while day.weekday() != DAYS[slot.split("-")[0]]:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 18, 0, tzinfo=OSLO)


async def _purge(maker: Maker, org_id: uuid.UUID, fac_id: uuid.UUID) -> None:
    async with maker.begin() as s:
        gids = select(start_group.c.id).where(start_group.c.organisation_id == org_id)
        people = select(interest.c.id).where(interest.c.organisation_id == org_id)
        await s.execute(delete(action_link).where(action_link.c.object_id.in_(gids)))
        await s.execute(
            delete(action_link).where(
                or_(action_link.c.subject_id == fac_id, action_link.c.subject_id.in_(people))
            )
        )
        await s.execute(delete(facilitator_offer).where(facilitator_offer.c.group_id.in_(gids)))
        await s.execute(delete(group_event).where(group_event.c.group_id.in_(gids)))
        await s.execute(delete(group_member).where(group_member.c.group_id.in_(gids)))
        runs = (
            (
                await s.execute(
                    select(start_group.c.match_run_id).where(
                        start_group.c.organisation_id == org_id
                    )
                )
            )
            .scalars()
            .all()
        )
        await s.execute(delete(start_group).where(start_group.c.organisation_id == org_id))
        # The matching runs that formed these groups (other tests count match_run rows).
        await s.execute(delete(match_run).where(match_run.c.id.in_([r for r in runs if r])))
        await s.execute(delete(waiting_note).where(waiting_note.c.interest_id.in_(people)))
        await s.execute(
            delete(outbox).where(
                or_(
                    outbox.c.organisation_id == org_id,
                    outbox.c.recipient_ref == f"facilitator:{fac_id}",
                )
            )
        )
        await s.execute(delete(interest).where(interest.c.organisation_id == org_id))
        await s.execute(delete(facilitator).where(facilitator.c.id == fac_id))
        await s.execute(delete(organisation).where(organisation.c.id == org_id))


async def _cli(database_url: str, *args: str) -> tuple[int, str, str]:
    done = await asyncio.to_thread(run_cli, database_url, *args)
    return done.returncode, done.stdout, done.stderr


async def test_tick_at_moves_a_group_to_running_and_self_running_and_never_back(
    engine: AsyncEngine,
    database_url: str,
    cipher: ContactCipher,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The command's process: same contact key and link secret, e-mail into a folder.
    monkeypatch.setenv("SAMHJELP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SAMHJELP_CONTACT_KEY", TEST_KEY.hex())
    monkeypatch.setenv("SAMHJELP_LINK_SECRET", SECRET)
    monkeypatch.setenv("SAMHJELP_MAIL_CHANNEL", "folder")
    maker: Maker = async_sessionmaker(engine, expire_on_commit=False)
    services = Services(
        settings=Settings(data_dir=tmp_path, link_secret=SECRET, scheduler_enabled=False),
        engine=engine,
        sessionmaker=maker,
        cipher=cipher,
        link_secret=SECRET,
    )
    lc = services.lifecycle
    now = datetime.now(UTC)
    async with maker.begin() as s:
        org, fac_id = await make_org_with_facilitator(
            s, (MUNI,), name="Igangsetter", email="igangsetter@example.no"
        )
        await sign_up(s, cipher, now, 5, prefix="tick", municipality=MUNI)
    try:
        await run_matching(maker, now=now)
        await tick(maker, lc, now=now)  # the start notice
        async with maker.begin() as s:
            group = (
                await s.execute(select(start_group).where(start_group.c.organisation_id == org.id))
            ).one()
            offer_id = await s.scalar(
                select(facilitator_offer.c.id).where(facilitator_offer.c.group_id == group.id)
            )
            assert offer_id is not None
            await answer_offer(s, lc, offer_id, fac_id, accept=True, now=now)
            first = _on_slot(group.slot, now)
            assert await propose_first_meeting(
                s, lc, group.id, fac_id, starts_at=first, place="Biblioteket", now=now
            )
        async with maker.begin() as s:
            members = (
                await s.execute(
                    select(group_member.c.interest_id).where(group_member.c.group_id == group.id)
                )
            ).scalars()
            for person in list(members):  # everyone says yes, so the group does not lapse
                assert (
                    await answer(s, lc, group.id, person, accept=True, now=now) is Answer.CONFIRMED
                )

        async def status() -> str:
            async with maker() as s:
                return str(
                    await s.scalar(select(start_group.c.status).where(start_group.c.id == group.id))
                )

        async def events() -> int:
            async with maker() as s:
                return int(
                    await s.scalar(select(func.count()).where(group_event.c.group_id == group.id))
                    or 0
                )

        assert await status() == "scheduled"
        # Relative form: whole hours from now to three hours after meeting 1 starts.
        hours = int((first + timedelta(hours=3) - datetime.now(UTC)).total_seconds() // 3600) + 1
        rc, out, err = await _cli(database_url, "lifecycle", "tick", "--at", f"+{hours}h")
        assert rc == 0, err
        assert "life cycle ticked at" in out and "ahead of the clock" in out
        assert await status() == "running"
        async with maker() as s:
            sent = (
                await s.execute(
                    select(outbox.c.template, outbox.c.status).where(
                        outbox.c.recipient_ref == f"facilitator:{fac_id}"
                    )
                )
            ).all()
        assert ("checkin_request", "sent") in sent, sent
        mails = sorted((tmp_path / "outbox").glob("*.eml"))
        assert any("/s/" in m.read_text(errors="replace") for m in mails)
        assert f"delivered {len(mails)} message(s) to the folder" in out

        # Back in time: refused with the reason, nothing happens.
        before = await events()
        rc, out, err = await _cli(database_url, "lifecycle", "tick", "--at", "+1h")
        assert rc != 0 and "already been moved to" in err and "back in time" in err, (out, err)
        rc, out, err = await _cli(database_url, "lifecycle", "tick", "--at", "2020-01-01T10:00")
        assert rc != 0 and "is in the past" in err
        rc, out, err = await _cli(database_url, "lifecycle", "tick", "--at", "soon")
        assert rc != 0 and "write e.g. +8d" in err
        assert await events() == before and await status() == "running"

        # ISO form (an Oslo wall-clock time): after meeting 3 ends the group runs on its own.
        last = (first + timedelta(weeks=2, hours=3)).astimezone(OSLO)
        rc, out, err = await _cli(
            database_url, "lifecycle", "tick", "--at", last.strftime("%Y-%m-%dT%H:%M")
        )
        assert rc == 0, err
        assert await status() == "self_running"
        assert "self_running: 1" in out

        # `outbox deliver` sends what is due now (nothing left here) without ticking.
        rc, out, err = await _cli(database_url, "outbox", "deliver")
        assert rc == 0 and out.startswith("delivered 0 message(s)"), (out, err)
    finally:
        await _purge(maker, org.id, fac_id)
