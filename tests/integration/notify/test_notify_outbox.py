"""The outbox against real PostgreSQL: enqueue, deliver, retry, fail, erase."""

from __future__ import annotations

import asyncio
import email
import email.policy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake.crypto import ContactCipher
from notify import (
    Channel,
    DeliveryPolicy,
    MessageStatus,
    OutgoingMessage,
    RenderedMessage,
    backoff_delay,
    deliver_due,
    enqueue,
    erase_recipient,
    list_messages,
    open_address,
    retry_failed,
    scrub_delivered,
    seal_address,
)
from notify.memory import MemoryNotifier
from notify.smtp import SmtpNotifier
from notify.tables import outbox
from notify.testing import RecordingSmtpServer

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
POLICY = DeliveryPolicy(
    max_attempts=4, base_backoff=timedelta(minutes=1), max_backoff=timedelta(hours=1)
)
CONTEXT: dict[str, Any] = {
    "org_name": "LINK Oslo",
    "meeting_start": datetime(2026, 12, 1, 17, 0, tzinfo=UTC),
    "place": "Frivilligsentralen, Storgata 1",
}
Maker = async_sessionmaker[AsyncSession]


def message(cipher: ContactCipher, to: str = "deltaker@example.no", **kw: Any) -> OutgoingMessage:
    values: dict[str, Any] = {
        "channel": Channel.EMAIL,
        "recipient": seal_address(cipher, to),
        "template": "meeting_reminder",
        "lang": "nb",
        "context": CONTEXT,
    }
    values.update(kw)
    return OutgoingMessage(**values)


async def enqueue_many(maker: Maker, cipher: ContactCipher, n: int, **kw: Any) -> list[uuid.UUID]:
    async with maker.begin() as session:
        return [
            await enqueue(session, message(cipher, f"p{i}@example.no", **kw), now=T0)
            for i in range(n)
        ]


async def row(maker: Maker, message_id: uuid.UUID) -> Any:
    async with maker() as session:
        return (await session.execute(select(outbox).where(outbox.c.id == message_id))).one()


async def drain(
    maker: Maker, notifier: Any, cipher: ContactCipher, *, now: datetime, worker: str = "w1"
) -> int:
    total = 0
    while (
        report := await deliver_due(
            maker,
            lambda _: notifier,
            cipher,
            now=now,
            batch_size=7,
            worker_id=worker,
            policy=POLICY,
        )
    ).claimed:
        total += report.sent
    return total


async def test_message_exists_only_if_the_transaction_commits(
    maker: Maker, cipher: ContactCipher
) -> None:
    async with maker() as session, session.begin():
        await enqueue(session, message(cipher), now=T0)
        await session.rollback()
    async with maker() as session:
        assert await session.scalar(select(func.count()).select_from(outbox)) == 0

    async with maker.begin() as session:
        message_id = await enqueue(session, message(cipher), now=T0)
    assert (await row(maker, message_id)).status == "pending"


async def test_recipient_is_stored_encrypted(maker: Maker, cipher: ContactCipher) -> None:
    [message_id] = await enqueue_many(maker, cipher, 1)
    stored = await row(maker, message_id)
    assert b"p0@example.no" not in stored.recipient
    assert open_address(cipher, stored.recipient) == "p0@example.no"


async def test_dedupe_key_makes_enqueue_idempotent(maker: Maker, cipher: ContactCipher) -> None:
    async with maker.begin() as session:
        first = await enqueue(session, message(cipher, dedupe_key="reminder:m1:p1"), now=T0)
        second = await enqueue(session, message(cipher, dedupe_key="reminder:m1:p1"), now=T0)
    assert first == second
    async with maker() as session:
        assert await session.scalar(select(func.count()).select_from(outbox)) == 1


async def test_not_before_delays_delivery(maker: Maker, cipher: ContactCipher) -> None:
    await enqueue_many(maker, cipher, 1, not_before=T0 + timedelta(days=1))
    memory = MemoryNotifier()
    assert await drain(maker, memory, cipher, now=T0 + timedelta(hours=23)) == 0
    assert await drain(maker, memory, cipher, now=T0 + timedelta(days=1)) == 1


async def test_smtp_down_then_back_delivers_each_message_exactly_once(
    maker: Maker, cipher: ContactCipher
) -> None:
    ids = await enqueue_many(maker, cipher, 20)
    server = RecordingSmtpServer()  # not started: the mail server is down
    smtp = SmtpNotifier("127.0.0.1", server.port, "noreply@example.no", tls="none", timeout=5)

    now = T0
    assert await drain(maker, smtp, cipher, now=now) == 0
    now += timedelta(minutes=2)
    assert await drain(maker, smtp, cipher, now=now) == 0  # second failed attempt
    server.start()
    try:
        for _ in range(6):
            now += timedelta(minutes=10)
            await drain(maker, smtp, cipher, now=now)
    finally:
        server.stop()

    got = [email.message_from_bytes(m, policy=email.policy.default) for m in server.messages]
    assert sorted(str(m["Message-ID"]) for m in got) == sorted(f"<{i}@samhjelp>" for i in ids)
    assert {(await row(maker, i)).status for i in ids} == {"sent"}


@dataclass
class SlowMemory(MemoryNotifier):
    """Yields to the event loop while "sending", so two workers really interleave."""

    async def send(self, message: RenderedMessage) -> None:
        await asyncio.sleep(0.001)
        await super().send(message)


async def test_two_workers_never_send_a_message_twice(maker: Maker, cipher: ContactCipher) -> None:
    ids = await enqueue_many(maker, cipher, 120)
    shared = SlowMemory()

    sent = await asyncio.gather(
        drain(maker, shared, cipher, now=T0, worker="a"),
        drain(maker, shared, cipher, now=T0, worker="b"),
    )

    sent_ids = [m.message_id for m in shared.sent]
    assert len(sent_ids) == len(set(sent_ids)) == 120
    assert set(sent_ids) == set(ids)
    assert all(n > 0 for n in sent), f"both workers should have worked: {sent}"


async def test_backoff_schedule_then_failure(maker: Maker, cipher: ContactCipher) -> None:
    [message_id] = await enqueue_many(maker, cipher, 1)
    down = MemoryNotifier(available=False)
    now = T0
    for attempt in range(1, POLICY.max_attempts):
        await drain(maker, down, cipher, now=now)
        stored = await row(maker, message_id)
        assert (stored.status, stored.attempts) == ("pending", attempt)
        expected = now + backoff_delay(message_id, attempt, policy=POLICY)
        assert stored.next_attempt_at == expected
        # Not due a moment before the backoff ends.
        await drain(maker, down, cipher, now=expected - timedelta(seconds=1))
        assert (await row(maker, message_id)).attempts == attempt
        now = expected
    await drain(maker, down, cipher, now=now)
    stored = await row(maker, message_id)
    assert (stored.status, stored.attempts, stored.failed_at) == ("failed", 4, now)


async def test_final_failure_alerts_the_coordinator(maker: Maker, cipher: ContactCipher) -> None:
    org = uuid.uuid4()
    async with maker.begin() as session:
        failing = await enqueue(
            session,
            message(
                cipher,
                "reject@example.no",
                coordinator=seal_address(cipher, "koordinator@link.example.no"),
                organisation_id=org,
            ),
            now=T0,
        )
    memory = MemoryNotifier(rejected={"reject@example.no"})

    await drain(maker, memory, cipher, now=T0)  # permanent: fails at once, alert enqueued
    await drain(maker, memory, cipher, now=T0)  # the alert goes out

    assert (await row(maker, failing)).status == "failed"
    [alert] = memory.sent
    assert alert.to == "koordinator@link.example.no"
    assert str(failing) in alert.text
    assert "reject@example.no" not in alert.text
    async with maker() as session:
        alert_row = (
            await session.execute(select(outbox).where(outbox.c.id == alert.message_id))
        ).one()
    assert (alert_row.template, alert_row.organisation_id) == ("coordinator_alert", org)


async def test_failing_alert_does_not_alert_again(maker: Maker, cipher: ContactCipher) -> None:
    coordinator = seal_address(cipher, "reject@link.example.no")
    async with maker.begin() as session:
        await enqueue(
            session, message(cipher, "reject@example.no", coordinator=coordinator), now=T0
        )
    memory = MemoryNotifier(rejected={"reject@example.no", "reject@link.example.no"})
    for _ in range(3):
        await drain(maker, memory, cipher, now=T0)
    async with maker() as session:
        assert await session.scalar(select(func.count()).select_from(outbox)) == 2


class Crash(BaseException):
    """The process dies right after the mail server accepted the message."""


@dataclass
class CrashAfterSend(MemoryNotifier):
    crash: bool = True

    async def send(self, message: RenderedMessage) -> None:
        await super().send(message)
        if self.crash:
            self.crash = False
            raise Crash


async def test_crash_between_send_and_mark_resends_the_same_message(
    maker: Maker, cipher: ContactCipher
) -> None:
    [message_id] = await enqueue_many(maker, cipher, 1)
    notifier = CrashAfterSend()
    with pytest.raises(Crash):
        await deliver_due(
            maker, lambda _: notifier, cipher, now=T0, worker_id="dies", policy=POLICY
        )
    assert (await row(maker, message_id)).status == "sending"

    # Within the lease nobody else touches it ...
    assert await drain(maker, notifier, cipher, now=T0 + POLICY.lease - timedelta(seconds=1)) == 0
    # ... after it, another worker resends it: the same message, not a new one.
    assert await drain(maker, notifier, cipher, now=T0 + POLICY.lease, worker="w2") == 1

    first, second = notifier.sent
    assert first == second
    assert first.rfc_message_id == f"<{message_id}@samhjelp>"
    assert (await row(maker, message_id)).status == "sent"


async def test_slow_batch_hands_back_what_it_could_not_send(
    maker: Maker, cipher: ContactCipher
) -> None:
    await enqueue_many(maker, cipher, 5)
    ticks = iter([0.0, 0.0] + [POLICY.lease.total_seconds()] * 10)
    memory = MemoryNotifier()

    report = await deliver_due(
        maker,
        lambda _: memory,
        cipher,
        now=T0,
        worker_id="slow",
        policy=POLICY,
        monotonic=lambda: next(ticks),
    )

    assert (report.claimed, report.sent, report.released) == (5, 1, 4)
    summaries = await _summaries(maker)
    assert sorted((s.status, s.attempts) for s in summaries) == [("pending", 0)] * 4 + [("sent", 1)]


async def _summaries(maker: Maker, status: str | None = None) -> list[Any]:
    async with maker() as session:
        return await list_messages(session, status=status)


async def test_erasure_cancels_unsent_and_scrubs_everything(
    maker: Maker, cipher: ContactCipher
) -> None:
    async with maker.begin() as session:
        sent = await enqueue(session, message(cipher, recipient_ref="interest:1"), now=T0)
    await drain(maker, MemoryNotifier(), cipher, now=T0)
    async with maker.begin() as session:
        pending = await enqueue(session, message(cipher, recipient_ref="interest:1"), now=T0)
        other = await enqueue(session, message(cipher, recipient_ref="interest:2"), now=T0)
        assert await erase_recipient(session, "interest:1", now=T0) == 2

    for message_id, status in ((sent, "sent"), (pending, "cancelled")):
        stored = await row(maker, message_id)
        assert stored.status == status
        assert (stored.recipient, stored.body_text, stored.subject, stored.recipient_ref) == (
            None,
            None,
            None,
            None,
        )
    memory = MemoryNotifier()
    assert await drain(maker, memory, cipher, now=T0) == 1
    assert [m.message_id for m in memory.sent] == [other]


async def test_scrub_after_retention(maker: Maker, cipher: ContactCipher) -> None:
    [message_id] = await enqueue_many(maker, cipher, 1)
    await drain(maker, MemoryNotifier(), cipher, now=T0)
    async with maker.begin() as session:
        assert (
            await scrub_delivered(session, now=T0 + timedelta(days=6), retention=timedelta(days=7))
            == 0
        )
        assert (
            await scrub_delivered(session, now=T0 + timedelta(days=7), retention=timedelta(days=7))
            == 1
        )
    stored = await row(maker, message_id)
    assert (stored.recipient, stored.body_html, stored.status) == (None, None, "sent")


async def test_operator_list_and_retry(maker: Maker, cipher: ContactCipher) -> None:
    [message_id] = await enqueue_many(maker, cipher, 1)
    await drain(maker, MemoryNotifier(rejected={"p0@example.no"}), cipher, now=T0)

    [failed] = await _summaries(maker, "failed")
    assert failed.id == message_id and failed.has_recipient
    assert "p0@example.no" not in repr(failed)

    async with maker.begin() as session:
        assert await retry_failed(session, [message_id], now=T0 + timedelta(hours=1)) == 1
    memory = MemoryNotifier()
    assert await drain(maker, memory, cipher, now=T0 + timedelta(hours=1)) == 1
    assert [s.status for s in await _summaries(maker)] == [MessageStatus.SENT]


@dataclass
class Blocking(MemoryNotifier):
    """Holds every send until released, so a second worker runs while the first is mid-send."""

    entered: asyncio.Event | None = None
    release: asyncio.Event | None = None

    async def send(self, message: RenderedMessage) -> None:
        assert self.entered is not None and self.release is not None
        self.entered.set()
        await self.release.wait()
        await super().send(message)


async def test_second_worker_leaves_leased_messages_alone(
    maker: Maker, cipher: ContactCipher
) -> None:
    ids = await enqueue_many(maker, cipher, 3)
    blocking = Blocking(entered=asyncio.Event(), release=asyncio.Event())
    first = asyncio.create_task(
        deliver_due(maker, lambda _: blocking, cipher, now=T0, worker_id="a", policy=POLICY)
    )
    assert blocking.entered is not None
    await asyncio.wait_for(blocking.entered.wait(), 5)

    other = MemoryNotifier()
    assert await drain(maker, other, cipher, now=T0 + timedelta(minutes=1), worker="b") == 0

    assert blocking.release is not None
    blocking.release.set()
    report = await first
    assert report.sent == 3 and other.sent == []
    assert sorted(m.message_id for m in blocking.sent) == sorted(ids)
