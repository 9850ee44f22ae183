"""Helpers of the life-cycle tests: sign-ups, delivery, mail parsing, clicking links."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from groups import Lifecycle, answer_offer, links, propose_first_meeting, tick
from groups.links import Purpose
from groups.tables import facilitator_offer
from helpers import register_people
from intake.crypto import ContactCipher
from matching.job import run_matching
from matching.tables import start_group
from notify import Channel, DeliveryPolicy, Notifier, deliver_due

LINK = re.compile(r"http://testserver(/s/[A-Za-z0-9_-]{28})")
CSRF = re.compile(r'name="_csrf_token" value="([^"]*)"')
POLICY = DeliveryPolicy(
    max_attempts=8, base_backoff=timedelta(minutes=1), lease=timedelta(minutes=5)
)


async def sign_up(
    session: AsyncSession,
    cipher: ContactCipher,
    now: Any,
    n: int,
    *,
    prefix: str = "p",
    days_ago: int = 10,
    **overrides: Any,
) -> list[uuid.UUID]:
    """``n`` people waiting since ``days_ago`` days (oldest first), with e-mail contact."""
    people = await register_people(
        session, cipher, now, n, prefix=prefix, days_ago=days_ago, **overrides
    )
    return [iid for iid, _ in people]


async def propose_group(
    maker: async_sessionmaker[AsyncSession], session: AsyncSession, clock: Any, lc: Lifecycle
) -> None:
    """Commit who is waiting, match them into one group and tick (the start notice goes out)."""
    await session.commit()
    assert (await run_matching(maker, now=clock.now)).groups == 1
    await tick(maker, lc, now=clock.now)


async def schedule_first_meeting(
    session: AsyncSession,
    clock: Any,
    lc: Lifecycle,
    *,
    ahead: timedelta = timedelta(days=7),
    place: str = "Biblioteket",
) -> tuple[uuid.UUID, uuid.UUID]:
    """The one offered facilitator accepts and plans the first meeting ``ahead`` from now;
    returns (group id, facilitator id)."""
    offer = (await session.execute(select(facilitator_offer))).mappings().one()
    gid, fid = offer["group_id"], offer["facilitator_id"]
    await answer_offer(session, lc, offer["id"], fid, accept=True, now=clock.now)
    assert await propose_first_meeting(
        session, lc, gid, fid, starts_at=clock.now + ahead, place=place, now=clock.now
    )
    return gid, fid


async def deliver(
    maker: async_sessionmaker[AsyncSession],
    notifier: Notifier,
    cipher: ContactCipher,
    now: Any,
) -> dict[str, int]:
    total = {"sent": 0, "retrying": 0, "failed": 0}
    while True:
        report = await deliver_due(
            maker,
            {Channel.EMAIL: notifier, Channel.SMS: notifier}.__getitem__,
            cipher,
            now=now,
            batch_size=50,
            worker_id="test",
            policy=POLICY,
        )
        for k in total:
            total[k] += getattr(report, k)
        if report.claimed == 0 or report.sent + report.failed + report.retrying == 0:
            return total


@dataclass
class Mail:
    to: str
    subject: str
    text: str
    message_id: str
    calendars: list[str]

    def links(self) -> list[str]:
        return LINK.findall(self.text)


def parse(raw: bytes) -> Mail:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    body = msg.get_body(("plain",))
    assert body is not None
    calendars = [
        part.get_content() for part in msg.walk() if part.get_content_type() == "text/calendar"
    ]
    return Mail(
        to=str(msg["To"]),
        subject=str(msg["Subject"]),
        text=body.get_content(),
        message_id=str(msg["Message-ID"]),
        calendars=calendars,
    )


async def click(client: httpx.AsyncClient, path: str, **form: str) -> httpx.Response:
    """Open a link page and press its button (with the page's CSRF token)."""
    page = await client.get(path)
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found is not None
    return await client.post(path, data={"_csrf_token": found.group(1), **form})


async def pending_start_notice(
    session: AsyncSession, lc: Lifecycle, group_id: uuid.UUID, facilitator_id: uuid.UUID, now: Any
) -> str:
    """A start notice to ``facilitator_id`` made directly (pending, the group names them), and
    the path of its accept link, so a test depends on the pages, not on the e-mail's wording."""
    offer_id = uuid.uuid4()
    await session.execute(
        facilitator_offer.insert().values(
            id=offer_id, group_id=group_id, facilitator_id=facilitator_id, status="pending",
            sent_at=now, respond_by=now + lc.config.facilitator_window,
        )
    )  # fmt: skip
    await session.execute(
        update(start_group).where(start_group.c.id == group_id).values(
            facilitator_id=facilitator_id)
    )  # fmt: skip
    token = await links.issue(
        session, secret=lc.link_secret, purpose=Purpose.OFFER_ACCEPT, object_id=offer_id,
        subject_id=facilitator_id, expires_at=now + lc.config.facilitator_window, now=now,
    )  # fmt: skip
    return f"/s/{token}"
