"""A delivery batch reuses SMTP connections: one per lane, counted at a real aiosmtpd sink.

Opening a connection per message (TCP, greeting, EHLO, then QUIT) used to cost more than the
message itself. The sink counts the SMTP sessions that delivered mail, keyed by aiosmtpd's
per-connection session object, and the Message-IDs, so each test also checks exactly-once.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from intake.crypto import ContactCipher
from notify import DeliveryPolicy, deliver_due, enqueue
from notify.model import Channel
from notify.smtp import SmtpNotifier
from notify.tables import outbox
from notify.testing import free_port, sample_reminder

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
Maker = async_sessionmaker[AsyncSession]


class SessionCountingSink:
    """aiosmtpd server recording each accepted Message-ID and the connection it came on."""

    def __init__(self, *, drop_after: int | None = None) -> None:
        self.port = free_port()
        self.message_ids: list[str] = []
        self.sessions: list[object] = []  # strong references: ids of dead objects are reused
        self._lock = threading.Lock()
        self._drop_after = drop_after
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.message_ids.append(str(mail["Message-ID"]))
            if not any(s is session for s in self.sessions):
                self.sessions.append(session)
            count = len(self.message_ids)
        if self._drop_after is not None and count == self._drop_after:
            # Like a relay's idle timeout: the connection goes away after this reply.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 Message accepted"

    def __enter__(self) -> SessionCountingSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


def smtp_to(sink: SessionCountingSink) -> SmtpNotifier:
    return SmtpNotifier("127.0.0.1", sink.port, "noreply@example.no", tls="none", timeout=10)


async def enqueue_many(maker: Maker, cipher: ContactCipher, n: int) -> list[uuid.UUID]:
    async with maker.begin() as session:
        return [await enqueue(session, sample_reminder(cipher, i), now=T0) for i in range(n)]


async def deliver_to(
    maker: Maker, cipher: ContactCipher, notifier: Any, *, lanes: int = 1, batch_size: int = 100
) -> Any:
    """One delivery batch of worker "w1" to ``notifier``, with ``lanes`` concurrent lanes."""
    return await deliver_due(
        maker, lambda _: notifier, cipher, now=T0, batch_size=batch_size, worker_id="w1",
        policy=DeliveryPolicy(concurrency=lanes),
    )  # fmt: skip


def assert_exactly_once(ids: list[uuid.UUID], received: list[str]) -> None:
    assert Counter(received) == Counter(f"<{i}@samhjelp>" for i in ids)


async def test_a_batch_sends_over_one_connection_per_lane(
    maker: Maker, cipher: ContactCipher
) -> None:
    ids = await enqueue_many(maker, cipher, 40)
    with SessionCountingSink() as sink:
        report = await deliver_to(maker, cipher, smtp_to(sink), batch_size=40)
    assert report.sent == 40
    assert len(sink.sessions) == 1
    assert_exactly_once(ids, sink.message_ids)


async def test_concurrent_lanes_each_reuse_their_own_connection(
    maker: Maker, cipher: ContactCipher
) -> None:
    ids = await enqueue_many(maker, cipher, 60)
    with SessionCountingSink() as sink:
        report = await deliver_to(maker, cipher, smtp_to(sink), lanes=3, batch_size=60)
    assert report.sent == 60
    assert len(sink.sessions) <= 3
    assert_exactly_once(ids, sink.message_ids)
    async with maker() as session:
        statuses = Counter((await session.execute(select(outbox.c.status))).scalars())
    assert statuses == Counter({"sent": 60})


async def test_a_connection_the_server_closed_is_reopened(
    maker: Maker, cipher: ContactCipher
) -> None:
    """The relay drops the connection between two messages: the next one goes out on a new
    connection in the same batch, once, instead of waiting for a retry."""
    ids = await enqueue_many(maker, cipher, 10)
    with SessionCountingSink(drop_after=4) as sink:
        report = await deliver_to(maker, cipher, smtp_to(sink), batch_size=10)
    assert report.sent == 10 and report.retrying == 0
    assert len(sink.sessions) == 2
    assert_exactly_once(ids, sink.message_ids)


async def test_a_staged_message_is_delivered_only_when_handed_over(cipher: ContactCipher) -> None:
    """What lets lanes stage at once: until the end of DATA the server has taken nothing, and
    a connection closed before it (a killed worker, an abandoned lane) delivers nothing."""
    from notify.delivery import _rendered
    from notify.recording import Claimed

    def message(i: int) -> Any:
        row = Claimed(
            id=uuid.uuid4(), channel=Channel.EMAIL, template="t", attempts=1,
            recipient=sample_reminder(cipher, i).recipient, coordinator=None,
            organisation_id=None, subject="Hei", body_text="Hei på deg\n.\nlinje", body_html=None,
            attachments=None, created_at=T0,
        )  # fmt: skip
        return _rendered(row, cipher)

    with SessionCountingSink() as sink:
        smtp = smtp_to(sink)
        async with smtp.session() as session:
            first, second = message(1), message(2)
            staged = await session.stage(first)
            await asyncio.sleep(0.1)
            assert sink.message_ids == []  # body sent, nothing taken yet
            staged.abandon()
            await asyncio.sleep(0.1)
            assert sink.message_ids == []  # closed before the end of DATA: dropped
            await (await session.stage(second)).complete()  # a fresh connection
            assert sink.message_ids == [f"<{second.message_id}@samhjelp>"]
        # A session closed with a message staged withdraws it too (no QUIT read as body text).
        async with smtp.session() as session:
            await session.stage(message(3))
        await asyncio.sleep(0.1)
        assert len(sink.message_ids) == 1


async def test_records_skip_the_flush_but_hand_the_connection_back_as_taken(
    database_url: str, cipher: ContactCipher
) -> None:
    """The lane's connection records with ``synchronous_commit = off``; back in the pool it is
    reset, so a request that gets it next waits for its own flush as usual."""
    from sqlalchemy import delete, text
    from sqlalchemy.ext.asyncio import create_async_engine

    one = create_async_engine(database_url, pool_size=1, max_overflow=0)  # the one watched
    maker = async_sessionmaker(one, expire_on_commit=False)
    seen: list[str] = []
    try:
        ids = await enqueue_many(maker, cipher, 5)
        with SessionCountingSink() as sink:
            report = await deliver_to(maker, cipher, smtp_to(sink))
            assert report.sent == 5
            assert_exactly_once(ids, list(sink.message_ids))
        async with one.connect() as c:
            seen.append(str(await c.scalar(text("SHOW synchronous_commit"))))
        assert seen == ["on"]
    finally:
        async with maker.begin() as session:
            await session.execute(delete(outbox))
        await one.dispose()


# --- Connections kept open from one batch to the next (issue 12) ----------------------------


async def _drain(maker: Maker, cipher: ContactCipher, notifier: SmtpNotifier, batches: int) -> Any:
    return [await deliver_to(maker, cipher, notifier, batch_size=10) for _ in range(batches)]


async def test_batches_in_a_row_take_up_the_connection_kept_open(
    maker: Maker, cipher: ContactCipher
) -> None:
    """A drain of the outbox: each batch's lane takes up the connection the one before kept
    open, instead of a connection per lane and batch."""
    ids = await enqueue_many(maker, cipher, 30)
    with SessionCountingSink() as sink:
        notifier = smtp_to(sink)
        reports = await _drain(maker, cipher, notifier, 3)
        notifier.close_idle()
    assert [r.sent for r in reports] == [10, 10, 10]
    assert len(sink.sessions) == 1
    assert_exactly_once(ids, sink.message_ids)


async def test_a_kept_connection_the_server_closed_is_replaced(
    maker: Maker, cipher: ContactCipher
) -> None:
    """The relay closes the kept connection between two batches (its idle timeout): the next
    batch sends on a new one, each message once, none left for a retry."""
    ids = await enqueue_many(maker, cipher, 20)
    with SessionCountingSink(drop_after=10) as sink:
        notifier = smtp_to(sink)
        first = await _drain(maker, cipher, notifier, 1)
        await asyncio.sleep(0.1)  # the close reaches the client while the connection is kept
        second = await _drain(maker, cipher, notifier, 1)
        notifier.close_idle()
    assert [r.sent for r in first + second] == [10, 10]
    assert [r.retrying for r in first + second] == [0, 0]
    assert len(sink.sessions) == 2
    assert_exactly_once(ids, sink.message_ids)


async def test_records_ask_for_no_flush_in_the_statement_itself(
    database_url: str, cipher: ContactCipher
) -> None:
    """Each outcome statement asks for no flush itself (``set_config(…, true)``, its own
    transaction's setting): no SET before a lane's records and no RESET after them, two round
    trips per lane and batch less (issue 12); the connection is never changed."""
    from sqlalchemy import delete, text
    from sqlalchemy.ext.asyncio import create_async_engine

    one = create_async_engine(database_url, pool_size=1, max_overflow=0)  # the one watched
    maker = async_sessionmaker(one, expire_on_commit=False)
    sent: list[str] = []
    try:
        ids = await enqueue_many(maker, cipher, 5)
        async with one.connect() as c:
            raw = (await c.get_raw_connection()).driver_connection
        raw.add_query_logger(lambda query: sent.append(query.query))
        with SessionCountingSink() as sink:
            report = await deliver_to(maker, cipher, smtp_to(sink))
        await asyncio.sleep(0)  # asyncpg hands queries to its loggers with call_soon
        raw.remove_query_logger(sent.append)
        assert report.sent == 5
        assert_exactly_once(ids, list(sink.message_ids))
        outcomes = [q for q in sent if "SET status = $3::varchar" in q]
        assert len(outcomes) == 5
        assert all("set_config('synchronous_commit', 'off', true)" in q for q in outcomes)
        assert not [q for q in sent if "synchronous_commit" in q and q not in outcomes], sent
        async with one.connect() as c:
            assert await c.scalar(text("SHOW synchronous_commit")) == "on"
    finally:
        async with maker.begin() as session:
            await session.execute(delete(outbox))
        await one.dispose()


async def test_a_batchs_lanes_record_over_one_database_connection(
    maker: Maker, engine: AsyncEngine, cipher: ContactCipher
) -> None:
    """The lanes record one at a time (the worker's hand-over lock), so one pooled
    connection serves all their records: a batch takes two from the pool (the claim, the
    records) whatever the number of lanes, not one per lane (issue 12)."""
    ids = await enqueue_many(maker, cipher, 40)
    checkouts: list[object] = []

    def checked_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        checkouts.append(dbapi_connection)

    event.listen(engine.sync_engine, "checkout", checked_out)
    try:
        with SessionCountingSink() as sink:
            report = await deliver_to(maker, cipher, smtp_to(sink), lanes=4, batch_size=40)
    finally:
        event.remove(engine.sync_engine, "checkout", checked_out)
    assert report.sent == 40
    assert len(sink.sessions) == 4  # the lanes did send at once
    assert len(checkouts) == 2
    assert_exactly_once(ids, sink.message_ids)
