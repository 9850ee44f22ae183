"""Facilitators who decline or never answer, escalation to coordinators, and refused links."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from groups import Lifecycle, links, tick
from groups.tables import facilitator_offer
from helpers import make_org
from intake.crypto import ContactCipher
from intake.registry import add_facilitator
from intake.tables import region
from integration.groups.support import LINK, click, deliver, propose_group, sign_up
from matching.tables import group_event, start_group
from notify import open_address
from notify.memory import MemoryNotifier
from notify.tables import outbox

Maker = async_sessionmaker[AsyncSession]


async def _setup(
    session: AsyncSession, cipher: ContactCipher, now: Any, n_fac: int
) -> list[uuid.UUID]:
    org = await make_org(session, ("4601",))
    await session.execute(
        update(region)
        .where(region.c.slug == "vestland")
        .values(coordinator_email="region@example.no")
    )
    facs = []
    for i in range(n_fac):
        facs.append(
            await add_facilitator(
                session,
                organisation_id=org.id,
                name=f"F{i}",
                email=f"f{i}@example.no",
                themes=["sorg"] + ["kreft"] * i,
                languages=["no"],
            )
        )
    await sign_up(session, cipher, now, 6)
    return facs


async def _start_notice(
    maker: Maker,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    lc: Lifecycle,
    n_fac: int,
) -> tuple[str, str, str]:
    """Set up, match, tick: the one start notice sent (template, address, text)."""
    await _setup(session, cipher, clock.now, n_fac)
    await propose_group(maker, session, clock, lc)
    [notice] = await _mails(session, cipher)
    return notice


async def _mails(session: AsyncSession, cipher: ContactCipher) -> list[tuple[str, str, str]]:
    rows = (
        await session.execute(
            select(outbox.c.template, outbox.c.recipient, outbox.c.body_text).order_by(
                outbox.c.created_at, outbox.c.id
            )
        )
    ).all()
    return [(t, open_address(cipher, r), body) for t, r, body in rows]


async def test_silent_facilitators_escalate_to_next_then_coordinators(
    maker: Maker,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:
    # The core chose one of the two (the first notice goes to its choice); the other is next.
    (template, first, _) = await _start_notice(maker, session, cipher, clock, lc, 2)
    assert template == "start_notice"
    chosen = (await session.execute(select(start_group.c.facilitator_id))).scalar_one()
    assert first in ("f0@example.no", "f1@example.no")
    second = ({"f0@example.no", "f1@example.no"} - {first}).pop()
    # After two days a reminder with fresh links; nothing else moves.
    clock.advance(days=2, minutes=1)
    await tick(maker, lc, now=clock.now)
    await tick(maker, lc, now=clock.now)  # idempotent: no second reminder
    assert [t for t, _, _ in await _mails(session, cipher)] == [
        "start_notice",
        "facilitator_reminder",
    ]
    # The window closes: the next facilitator is asked.
    clock.advance(days=1)
    await tick(maker, lc, now=clock.now)
    mails = await _mails(session, cipher)
    assert (mails[-1][0], mails[-1][1]) == ("start_notice", second)
    assert (await session.execute(select(start_group.c.facilitator_id))).scalar_one() != chosen
    # The old facilitator's links no longer work.
    old_accept = LINK.findall(mails[0][2])[0]
    # F1 is silent too: the organisation's coordinator is told, then after 3 days the region's.
    clock.advance(days=3, minutes=1)
    await tick(maker, lc, now=clock.now)
    mails = await _mails(session, cipher)
    assert mails[-1][0] == "coordinator_alert" and mails[-1][1].startswith("koordinator@")
    clock.advance(days=1)
    await tick(maker, lc, now=clock.now)
    assert (await _mails(session, cipher))[-1][0] == "coordinator_alert"  # no new alert yet
    assert len([m for m in await _mails(session, cipher) if m[0] == "coordinator_alert"]) == 1
    clock.advance(days=2, minutes=1)
    await tick(maker, lc, now=clock.now)
    mails = await _mails(session, cipher)
    assert (mails[-1][0], mails[-1][1]) == ("coordinator_alert", "region@example.no")
    statuses = (await session.execute(select(facilitator_offer.c.status))).scalars().all()
    assert sorted(statuses) == ["expired", "expired"]
    group = (await session.execute(select(start_group))).mappings().one()
    assert group["status"] == "proposed" and group["facilitator_id"] is None
    events = (await session.execute(select(group_event.c.what))).scalars().all()
    assert events.count("facilitator_no_answer") == 2
    assert "escalated_to_coordinator" in events and "escalated_to_region" in events
    assert (await app_client.get(old_accept)).status_code == 410


async def test_decline_moves_to_next_facilitator_at_once(
    maker: Maker,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:
    (_, first, body) = await _start_notice(maker, session, cipher, clock, lc, 2)
    accept, decline = LINK.findall(body)
    clock.advance(minutes=5)
    page = await click(app_client, decline)
    assert page.status_code == 200 and "Takk for svaret" in page.text
    mails = await _mails(session, cipher)
    assert mails[-1][0] == "start_notice" and mails[-1][1] not in (first,)
    assert mails[-1][1] in ("f0@example.no", "f1@example.no")
    # The first facilitator's accept link is now used up: a kind 410 page, not an error.
    gone = await app_client.get(accept)
    assert gone.status_code == 410 and "allerede brukt" in gone.text


async def test_forged_expired_and_used_links_are_refused_kindly(
    maker: Maker,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:
    (_, _, body) = await _start_notice(maker, session, cipher, clock, lc, 1)
    accept, _decline = LINK.findall(body)
    token = accept.removeprefix("/s/")
    # A changed MAC, an unknown nonce, and garbage are all "forged".
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (flipped, "x" * 12 + token[12:], "short", token + "x"):
        page = await app_client.get(f"/s/{bad}")
        assert page.status_code == 400, bad
        # The shared layout loads its one script file; nothing inline, nothing reflected.
        assert "Lenken virker ikke" in page.text and "<script>" not in page.text
        assert bad not in page.text
        refused = await app_client.post(f"/s/{bad}", data={})
        assert refused.status_code in (400, 403)
    # A link signed with another secret does not verify either.
    other = Lifecycle(
        cipher=lc.cipher, link_secret="another-secret-" + "y" * 32, base_url=lc.base_url
    )

    assert await links.resolve(session, token, secret=other.link_secret, now=clock.now) == (
        links.LinkProblem.FORGED
    )
    # Past the deadline: 410 and nothing changes.
    clock.advance(days=3, seconds=1)
    page = await app_client.get(accept)
    assert page.status_code == 410 and "for gammel" in page.text
    assert (await session.execute(select(start_group.c.status))).scalar_one() == "proposed"


async def test_a_link_works_once(
    maker: Maker,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:
    (_, _, body) = await _start_notice(maker, session, cipher, clock, lc, 1)
    accept, _ = LINK.findall(body)
    first = await click(app_client, accept)
    assert first.status_code == 200
    page = await app_client.get(accept)
    assert page.status_code == 410 and "allerede brukt" in page.text
    csrf = first.text.split('name="_csrf_token" value="')[1].split('"')[0]
    again = await app_client.post(accept, data={"_csrf_token": csrf})
    assert again.status_code == 410
    accepted = (await session.execute(select(facilitator_offer.c.status))).scalars().all()
    assert accepted == ["accepted"]
    assert await deliver(maker, MemoryNotifier(), cipher, clock.now)


async def test_tick_runs_once_across_replicas(
    maker: Maker, engine: Any, clock: Any, lc: Lifecycle
) -> None:
    """While another replica's tick holds the advisory lock, a second tick returns at once."""
    from sqlalchemy import func

    from groups import TICK_LOCK

    async with engine.connect() as other, other.begin():
        assert await other.scalar(select(func.pg_try_advisory_xact_lock(TICK_LOCK)))
        report = await tick(maker, lc, now=clock.now)
        assert not report.ran
    assert (await tick(maker, lc, now=clock.now)).ran


async def test_a_yes_without_a_meeting_time_is_chased_then_escalated(
    maker: Maker,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:
    (_, _, notice) = await _start_notice(maker, session, cipher, clock, lc, 1)
    accept = LINK.findall(notice)[0]
    accepted = await click(app_client, accept)
    assert accepted.status_code == 200
    assert (await session.execute(select(start_group.c.status))).scalar_one() == "accepted"
    # The facilitator closes the page without setting a time: one day later, nothing yet.
    clock.advance(days=1)
    await tick(maker, lc, now=clock.now)
    assert [t for t, _, _ in await _mails(session, cipher)] == ["start_notice"]
    # After two days: a reminder with a fresh form link; only one, however often the tick runs.
    clock.advance(days=1, minutes=1)
    await tick(maker, lc, now=clock.now)
    await tick(maker, lc, now=clock.now)
    mails = await _mails(session, cipher)
    assert [t for t, _, _ in mails] == ["start_notice", "meeting_time_reminder"]
    assert mails[-1][1] == "f0@example.no"
    form = LINK.findall(mails[-1][2])[0]
    assert (await app_client.get(form)).status_code == 200  # the fresh link opens the form
    # Still nothing three days later: the coordinator is told, once.
    clock.advance(days=3)
    await tick(maker, lc, now=clock.now)
    await tick(maker, lc, now=clock.now)
    mails = await _mails(session, cipher)
    alerts = [m for m in mails if m[0] == "coordinator_alert"]
    assert len(alerts) == 1 and alerts[0][1].startswith("koordinator@")
    assert "første møte" in alerts[0][2]
    whats = (await session.execute(select(group_event.c.what))).scalars().all()
    assert whats.count("meeting_time_reminder_sent") == 1
    assert whats.count("meeting_time_escalated") == 1


async def test_the_facilitator_hears_when_their_group_is_closed(
    maker: Maker,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: Any,
    lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:
    from groups import close_group

    (_, _, notice) = await _start_notice(maker, session, cipher, clock, lc, 1)
    await click(app_client, LINK.findall(notice)[0])
    gid = (await session.execute(select(start_group.c.id))).scalar_one()
    assert await close_group(
        session, gid, now=clock.now, actor="cli", reason="lokalet brant", lc=lc
    )
    ended = [m for m in await _mails(session, cipher) if m[0] == "group_ended"]
    assert len(ended) == 1 and ended[0][1] == "f0@example.no"
    assert "lokalet brant" in ended[0][2]
