"""The status API and page tell a person their group step, and take a yes or no from people
we cannot reach (no contact channel) with their receipt code."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from groups import (
    Lifecycle,
    reschedule_meeting,
    tick,
)
from helpers import interest_body, make_org_with_facilitator
from intake.crypto import ContactCipher
from intake.interests import register
from intake.schemas import InterestIn
from intake.tables import interest
from integration.groups.support import schedule_first_meeting, sign_up
from matching.job import run_matching
from matching.tables import start_group
from notify.tables import outbox

PLACE = "Frivilligsentralen, 2. etasje"


async def _invited_without_contact(
    session: AsyncSession,
    maker: async_sessionmaker[AsyncSession],
    lc: Lifecycle,
    cipher: ContactCipher,
    clock: Any,
    client: httpx.AsyncClient,
) -> str:
    """Five reachable people and one without contact, matched, accepted, first meeting set."""
    await make_org_with_facilitator(session)
    await sign_up(session, cipher, clock.now, 5)
    unreachable = await register(
        session,
        InterestIn.model_validate(interest_body()),
        cipher=cipher,
        source="self",
        now=clock.now - timedelta(days=20),
    )
    code = unreachable.receipt_code
    await session.commit()

    assert (await run_matching(maker, now=clock.now)).groups == 1
    proposed = (await client.get(f"/api/v1/interests/{code}")).json()
    assert proposed["status"] == "proposed" and proposed["step"] == "proposed"
    assert "igangsetter" in proposed["step_text"] and proposed["can_answer"] is False
    early = await client.post(f"/api/v1/interests/{code}/answer", json={"accept": True})
    assert early.status_code == 409

    await tick(maker, lc, now=clock.now)
    await schedule_first_meeting(session, clock, lc, place=PLACE)
    starts = clock.now + timedelta(days=7)
    invited = (await client.get(f"/api/v1/interests/{code}?lang=en")).json()
    assert invited["step"] == "invited" and invited["can_answer"] is True
    assert PLACE in invited["step_text"] and invited["meeting_place"] == PLACE
    assert invited["meeting_start"].startswith(starts.date().isoformat())
    return code


async def test_answer_yes_with_the_receipt_code(
    session: AsyncSession,
    maker: async_sessionmaker[AsyncSession],
    lc: Lifecycle,
    cipher: ContactCipher,
    clock: Any,
    client: httpx.AsyncClient,
) -> None:
    code = await _invited_without_contact(session, maker, lc, cipher, clock, client)
    bad = await client.post(f"/api/v1/interests/{code}/answer", json={"accept": "maybe"})
    assert bad.status_code == 422
    yes = await client.post(f"/api/v1/interests/{code}/answer", json={"accept": True})
    assert yes.status_code == 201 and yes.json() == {"answer": "confirmed"}
    confirmed = (await client.get(f"/api/v1/interests/{code}")).json()
    assert confirmed["step"] == "confirmed" and confirmed["status"] == "placed"
    assert confirmed["can_answer"] is False
    again = await client.post(f"/api/v1/interests/{code}/answer", json={"accept": False})
    assert again.status_code == 409
    statuses = (await session.execute(select(interest.c.status))).scalars().all()
    assert statuses.count("placed") == 1


async def test_answer_no_on_the_status_page_keeps_the_place_in_line(
    session: AsyncSession,
    maker: async_sessionmaker[AsyncSession],
    lc: Lifecycle,
    cipher: ContactCipher,
    clock: Any,
    client: httpx.AsyncClient,
) -> None:
    code = await _invited_without_contact(session, maker, lc, cipher, clock, client)
    page = await client.get("/status")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    shown = await client.post("/status", data={"_csrf_token": token.group(1), "code": code})
    assert PLACE in shown.text and 'action="/status/svar"' in shown.text
    answered = await client.post(
        "/status/svar", data={"_csrf_token": token.group(1), "code": code, "accept": "no"}
    )
    assert answered.status_code == 200 and 'action="/status/svar"' not in answered.text
    back = (await client.get(f"/api/v1/interests/{code}")).json()
    assert back["status"] == "waiting" and back["step"] is None
    kept = (
        await session.execute(
            select(interest.c.waiting_since).where(interest.c.status == "waiting")
        )
    ).scalar_one()
    assert kept == clock.now - timedelta(days=20)


async def test_a_moved_meeting_updates_everyones_calendar(
    session: AsyncSession,
    maker: async_sessionmaker[AsyncSession],
    lc: Lifecycle,
    cipher: ContactCipher,
    clock: Any,
    client: httpx.AsyncClient,
) -> None:
    code = await _invited_without_contact(session, maker, lc, cipher, clock, client)
    gid = (await session.execute(select(start_group.c.id))).scalar_one()
    later = clock.now + timedelta(days=8, hours=1)
    assert not await reschedule_meeting(
        session,
        lc,
        gid,
        1,
        starts_at=clock.now - timedelta(hours=1),
        place=None,
        now=clock.now,
        actor="cli",
    )  # the past is refused
    assert await reschedule_meeting(
        session, lc, gid, 1, starts_at=later, place="Biblioteket", now=clock.now, actor="cli"
    )
    rows = (
        await session.execute(
            select(outbox.c.template, outbox.c.subject, outbox.c.attachments).where(
                outbox.c.template.in_(["invitation", "meeting_changed"]),
                outbox.c.recipient_ref.like("interest:%"),  # the facilitator is told too
            )
        )
    ).all()
    invites = [r for r in rows if r.template == "invitation"]
    changes = [r for r in rows if r.template == "meeting_changed"]
    assert len(invites) == len(changes) == 5  # the five reachable people
    first_ics = invites[0].attachments[0]["content"]
    moved_ics = changes[0].attachments[0]["content"]
    uid = re.search(r"UID:(\S+)", first_ics)
    assert uid is not None and f"UID:{uid.group(1)}" in moved_ics  # the same event, moved
    assert "SEQUENCE:1" in moved_ics and "METHOD:REQUEST" in moved_ics
    assert "Biblioteket" in moved_ics and "sorg" not in (changes[0].subject or "").lower()
    step = (await client.get(f"/api/v1/interests/{code}")).json()
    assert step["meeting_place"] == "Biblioteket"
    assert step["meeting_start"].startswith(later.date().isoformat())
