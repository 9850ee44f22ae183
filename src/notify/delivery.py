"""Delivery job: claim due outbox rows, send them, record the outcome.

Claiming uses a lease rather than holding row locks through the send. ``SELECT … FOR UPDATE
SKIP LOCKED`` picks due rows without waiting on other workers; in the same short transaction
they are set to ``sending`` with ``next_attempt_at`` moved to the end of the lease and committed.
Sending happens with no transaction open (a slow SMTP server must not pin database
connections and locks), and the outcome is written in a second short transaction, fenced on the
worker id and attempt number so a worker whose lease ran out cannot overwrite a newer attempt.
A worker that dies between claim and mark leaves a row whose lease expires; it becomes due again
and is resent with the same id: at-least-once, deduplicable by Message-ID. See docs/notify.md.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake.crypto import ContactCipher
from notify.model import (
    Attachment,
    Channel,
    DeliveryError,
    Language,
    MessageStatus,
    Notifier,
    OutgoingMessage,
    RenderedMessage,
    open_address,
)
from notify.outbox import enqueue
from notify.tables import outbox

log = logging.getLogger(__name__)

ALERT_TEMPLATE = "coordinator_alert"


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How often and how patiently to try (built from settings by ``delivery_policy()``).

    The defaults give up after 8 attempts spread over roughly a day, long enough to ride out a
    mail server's maintenance night, short enough that a coordinator hears about it in time.
    """

    max_attempts: int = 8
    base_backoff: timedelta = timedelta(minutes=1)
    max_backoff: timedelta = timedelta(hours=6)
    lease: timedelta = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one ``deliver_due`` run did; a run that claimed nothing means the queue is drained.

    ``stale`` counts outcomes that could not be recorded because the lease had passed to another
    worker (or the message was erased meanwhile); ``released`` counts claimed messages handed
    back unsent because the batch ran out of lease time.
    """

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    alerts: int = 0
    stale: int = 0
    released: int = 0


def backoff_delay(message_id: uuid.UUID, attempt: int, *, policy: DeliveryPolicy) -> timedelta:
    """Wait after failed attempt number ``attempt`` (1-based): exponential, with equal jitter.

    The delay is half the exponential step plus a pseudo-random share of the other half. The
    randomness comes from a hash of the message id and attempt, not from ``random``: thousands of
    messages failing together still spread out, yet a test can predict every delay.
    """
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    step: timedelta = min(policy.max_backoff, policy.base_backoff * 2 ** min(attempt - 1, 40))
    digest = hashlib.sha256(message_id.bytes + attempt.to_bytes(4, "big")).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    half = step / 2
    return half + half * fraction


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: uuid.UUID
    channel: Channel
    template: str
    attempts: int
    recipient: bytes | None
    coordinator: bytes | None
    organisation_id: uuid.UUID | None
    subject: str | None
    body_text: str | None
    body_html: str | None
    attachments: list[dict[str, str]] | None
    created_at: datetime


async def _claim(
    session: AsyncSession, *, now: datetime, batch_size: int, worker_id: str, lease: timedelta
) -> list[_Claimed]:
    due = (
        select(outbox.c.id)
        .where(
            outbox.c.status.in_((MessageStatus.PENDING.value, MessageStatus.SENDING.value)),
            outbox.c.next_attempt_at <= now,
        )
        .order_by(outbox.c.next_attempt_at)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    ids = (await session.execute(due)).scalars().all()
    if not ids:
        return []
    rows = await session.execute(
        update(outbox)
        .where(outbox.c.id.in_(ids))
        .values(
            status=MessageStatus.SENDING.value,
            attempts=outbox.c.attempts + 1,
            lease_owner=worker_id,
            next_attempt_at=now + lease,
        )
        .returning(*(outbox.c[f] for f in _Claimed.__dataclass_fields__))
    )
    claimed = [_Claimed(**row) for row in rows.mappings()]
    claimed.sort(key=lambda c: ids.index(c.id))
    return claimed


def _rendered(row: _Claimed, cipher: ContactCipher) -> RenderedMessage:
    if row.recipient is None or row.body_text is None:
        raise DeliveryError("message was scrubbed before sending", transient=False)
    try:
        to = open_address(cipher, row.recipient)
    except (InvalidTag, ValueError):
        # Most likely a wrong key in the deployment: keep the message until it is fixed.
        raise DeliveryError("recipient could not be decrypted", transient=True) from None
    return RenderedMessage(
        message_id=row.id,
        channel=Channel(row.channel),
        to=to,
        subject=row.subject or "",
        text=row.body_text,
        html=row.body_html,
        date=row.created_at,
        attachments=tuple(Attachment(**a) for a in row.attachments or ()),
    )


async def _send(
    row: _Claimed, notifier_for_channel: Callable[[Channel], Notifier], cipher: ContactCipher
) -> DeliveryError | None:
    try:
        await notifier_for_channel(Channel(row.channel)).send(_rendered(row, cipher))
    except DeliveryError as exc:
        return exc
    except Exception as exc:  # a bug in a channel must not stop the whole batch
        # Only the type: exception texts from mail libraries may contain the address.
        log.error("unexpected %s sending message %s", type(exc).__name__, row.id)
        return DeliveryError(f"unexpected {type(exc).__name__}", transient=True)
    return None


def _fence(rows: list[_Claimed], worker_id: str) -> Any:
    """Only rows still leased by this worker for this very attempt may be updated."""
    return (
        outbox.c.status == MessageStatus.SENDING.value,
        outbox.c.lease_owner == worker_id,
        tuple_(outbox.c.id, outbox.c.attempts).in_([(r.id, r.attempts) for r in rows]),
    )


async def _record(
    session: AsyncSession,
    outcomes: list[tuple[_Claimed, DeliveryError | None]],
    *,
    now: datetime,
    worker_id: str,
    policy: DeliveryPolicy,
) -> DeliveryReport:
    sent = [row for row, error in outcomes if error is None]
    counts = {"sent": 0, "retrying": 0, "failed": 0, "alerts": 0, "stale": 0}
    if sent:
        done = await session.execute(
            update(outbox)
            .where(*_fence(sent, worker_id))
            .values(status=MessageStatus.SENT.value, sent_at=now, lease_owner=None, last_error=None)
            .returning(outbox.c.id)
        )
        counts["sent"] = len(done.scalars().all())
        counts["stale"] += len(sent) - counts["sent"]
    for row, error in outcomes:
        if error is None:
            continue
        retry = error.transient and row.attempts < policy.max_attempts
        values: dict[str, Any] = {"lease_owner": None, "last_error": error.reason[:500]}
        if retry:
            delay = backoff_delay(row.id, row.attempts, policy=policy)
            values |= {"status": MessageStatus.PENDING.value, "next_attempt_at": now + delay}
        else:
            values |= {"status": MessageStatus.FAILED.value, "failed_at": now}
        result = await session.execute(
            update(outbox).where(*_fence([row], worker_id)).values(**values).returning(outbox.c.id)
        )
        if result.scalar_one_or_none() is None:
            counts["stale"] += 1
            continue
        if retry:
            counts["retrying"] += 1
            continue
        counts["failed"] += 1
        log.warning("message %s failed after %d attempts: %s", row.id, row.attempts, error.reason)
        if row.coordinator is not None and row.template != ALERT_TEMPLATE:
            await enqueue(session, _alert(row, error), now=now)
            counts["alerts"] += 1
    return DeliveryReport(**counts)


def _alert(row: _Claimed, error: DeliveryError) -> OutgoingMessage:
    """The coordinator's notice that ``row`` will not arrive: ids and reasons, no personal data."""
    assert row.coordinator is not None
    return OutgoingMessage(
        channel=Channel.EMAIL,
        recipient=row.coordinator,
        template=ALERT_TEMPLATE,
        lang=Language.NB,
        context={
            "reason": "message_failed",
            "reference": str(row.id),
            "template": row.template,
            "channel": str(row.channel),
            "attempts": row.attempts,
            "error": error.reason,
        },
        organisation_id=row.organisation_id,
    )


async def deliver_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier_for_channel: Callable[[Channel], Notifier],
    cipher: ContactCipher,
    *,
    now: datetime,
    batch_size: int = 100,
    worker_id: str,
    policy: DeliveryPolicy | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> DeliveryReport:
    """Send up to ``batch_size`` due messages once; call repeatedly until ``claimed == 0``.

    Three steps, each short: claim (transaction 1), send (no transaction), record (transaction
    2). Failed-for-good messages with a coordinator get a ``coordinator_alert`` enqueued in
    transaction 2, so the alert exists exactly when the failure is recorded.

    Args:
        sessionmaker: opens the two transactions; it must not be inside an outer transaction.
        notifier_for_channel: the channel for e-mail or SMS, e.g. ``notifiers.__getitem__``.
        cipher: opens sealed recipient addresses just before sending.
        now: the business clock: decides what is due, leases and backoff.
        batch_size: messages claimed at once.
        worker_id: unique per running worker (host:pid:n), used to fence updates.
        policy: retry and lease rules; defaults to :class:`DeliveryPolicy`.
        monotonic: elapsed-time clock that stops a slow batch before its lease can run out.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    policy = policy or DeliveryPolicy()
    started = monotonic()
    async with sessionmaker.begin() as session:
        claimed = await _claim(
            session, now=now, batch_size=batch_size, worker_id=worker_id, lease=policy.lease
        )
    if not claimed:
        return DeliveryReport()
    outcomes: list[tuple[_Claimed, DeliveryError | None]] = []
    unsent: list[_Claimed] = []
    # Stop sending at half the lease: the rest of the batch is handed back rather than risking
    # a second worker taking a message over while this one is still sending it.
    budget = policy.lease.total_seconds() / 2
    for row in claimed:
        if monotonic() - started > budget:
            unsent.append(row)
            continue
        outcomes.append((row, await _send(row, notifier_for_channel, cipher)))
    async with sessionmaker.begin() as session:
        report = await _record(session, outcomes, now=now, worker_id=worker_id, policy=policy)
        if unsent:
            await session.execute(
                update(outbox)
                .where(*_fence(unsent, worker_id))
                .values(
                    status=MessageStatus.PENDING.value,
                    attempts=outbox.c.attempts - 1,
                    next_attempt_at=now,
                    lease_owner=None,
                )
            )
    return DeliveryReport(
        claimed=len(claimed),
        sent=report.sent,
        retrying=report.retrying,
        failed=report.failed,
        alerts=report.alerts,
        stale=report.stale,
        released=len(unsent),
    )
