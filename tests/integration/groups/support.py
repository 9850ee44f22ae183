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
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from helpers import interest_body
from intake.crypto import ContactCipher
from intake.interests import register
from intake.receipt import code_hash
from intake.schemas import InterestIn
from intake.tables import interest
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
    out = []
    for i in range(n):
        body = interest_body(contact={"email": f"{prefix}{i}@example.no"}, **overrides)
        done = await register(
            session,
            InterestIn.model_validate(body),
            cipher=cipher,
            source="self",
            now=now - timedelta(days=days_ago, minutes=-i),
        )
        iid = (
            await session.execute(
                select(interest.c.id).where(interest.c.receipt_hash == code_hash(done.receipt_code))
            )
        ).scalar_one()
        out.append(iid)
    return out


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
