"""Delivery job: claim due outbox rows, send them, record each outcome as soon as it is known.

Claiming uses a lease rather than holding row locks through the send. ``SELECT … FOR UPDATE
SKIP LOCKED`` picks due rows without waiting on other workers; in the same short transaction
they are set to ``sending`` with ``next_attempt_at`` moved to the end of the lease and committed.
Sending happens with no transaction open (a slow SMTP server must not pin database
connections and locks). A batch is sent by ``DeliveryPolicy.concurrency`` lanes, each over
one reused channel connection, one message at a time. Each message's outcome is committed on
its own right after the channel answered, before that lane sends again, fenced on the worker
id and attempt number so a worker whose lease ran out cannot overwrite a newer attempt. A
worker that dies mid-batch therefore leaves at most one message per lane sent but unrecorded
(those in flight); the batch's unsent rest is merely claimed. When the lease expires both
become due again and those in flight are resent with the same id: at-least-once, deduplicable
by Message-ID. If an outcome cannot be recorded (database unavailable) the record is retried
with backoff and, if that fails too, the batch stops rather than send messages whose outcome
could not be stored. See docs/notify.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from sqlalchemy import select, tuple_, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

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
    notifier_session,
    open_address,
)
from notify.outbox import enqueue
from notify.tables import outbox

log = logging.getLogger(__name__)

ALERT_TEMPLATE = "coordinator_alert"

#: What recording one message did; the names are the counters of :class:`DeliveryReport`.
Outcome = Literal["sent", "retrying", "failed", "stale"]


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
    #: Tries to record one outcome while the database is unreachable, the first wait between
    #: them (doubling after each): 0.25 + 0.5 + 1 + 2 + 4 s rides out a restart or a failover
    #: of a few seconds, and stays far inside half the lease.
    record_tries: int = 6
    record_backoff: timedelta = timedelta(milliseconds=250)
    #: Lanes per batch: each sends over a connection of its own, one message at a time, and
    #: records an outcome before its next send. So a fault resends at most this many messages
    #: per worker (the ones in flight, one per lane). The default is one lane: the promise
    #: (README, "Security and privacy") is at most one resent message per worker, and on the
    #: development machine 4 lanes measured no faster (CPU-bound, local relay). Raise it only
    #: for a remote relay with real network latency, accepting that many duplicates per fault.
    concurrency: int = 1

    def __post_init__(self) -> None:
        if self.record_tries < 1:
            raise ValueError("record_tries must be at least 1")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What one ``deliver_due`` run did; a run that claimed nothing means the queue is drained.

    ``stale`` counts outcomes that could not be recorded because the lease had passed to another
    worker (or the message was erased meanwhile); ``released`` counts claimed messages handed
    back unsent because the batch ran out of lease time. ``interrupted`` is set when an outcome
    could not be recorded even after retries: the batch stopped there, that one message will be
    resent once its lease expires, and the claimed rest stays leased until then unsent.
    """

    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    alerts: int = 0
    stale: int = 0
    released: int = 0
    interrupted: bool = False


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


async def _send(row: _Claimed, notifier: Notifier, cipher: ContactCipher) -> DeliveryError | None:
    try:
        await notifier.send(_rendered(row, cipher))
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
    row: _Claimed,
    error: DeliveryError | None,
    *,
    now: datetime,
    worker_id: str,
    policy: DeliveryPolicy,
) -> tuple[Outcome, bool]:
    """Write one message's outcome; returns it and whether a coordinator alert was enqueued.

    One UPDATE (plus the coordinator's alert on a final failure, in the same transaction). The
    fence also makes a repeated record harmless: if an earlier try did commit but its answer
    was lost with the connection, the row is no longer ``sending`` and nothing changes twice.
    """
    fence = (
        outbox.c.id == row.id,
        outbox.c.attempts == row.attempts,
        outbox.c.status == MessageStatus.SENDING.value,
        outbox.c.lease_owner == worker_id,
    )
    values: dict[str, Any] = {"lease_owner": None}
    retry = _retries(row, error, policy)
    if error is None:
        values |= {"status": MessageStatus.SENT.value, "sent_at": now, "last_error": None}
    else:
        values["last_error"] = error.reason[:500]
        if retry:
            delay = backoff_delay(row.id, row.attempts, policy=policy)
            values |= {"status": MessageStatus.PENDING.value, "next_attempt_at": now + delay}
        else:
            values |= {"status": MessageStatus.FAILED.value, "failed_at": now}
    result = await session.execute(
        update(outbox).where(*fence).values(**values).returning(outbox.c.id)
    )
    if result.scalar_one_or_none() is None:
        return "stale", False
    if error is None:
        return "sent", False
    if retry:
        return "retrying", False
    log.warning("message %s failed after %d attempts: %s", row.id, row.attempts, error.reason)
    if _alerts(row, error, policy):
        await enqueue(session, _alert(row, error), now=now)
        return "failed", True
    return "failed", False


def _retries(row: _Claimed, error: DeliveryError | None, policy: DeliveryPolicy) -> bool:
    return error is not None and error.transient and row.attempts < policy.max_attempts


def _alerts(row: _Claimed, error: DeliveryError | None, policy: DeliveryPolicy) -> bool:
    """A final failure tells the coordinator, unless the message is itself an alert."""
    return (
        error is not None
        and not _retries(row, error, policy)
        and row.coordinator is not None
        and row.template != ALERT_TEMPLATE
    )


#: SQLSTATE classes that mean "the server is not there right now", not "the statement is
#: wrong": 08 connection exception, 57 operator intervention (admin shutdown, starting up).
_UNAVAILABLE_SQLSTATES = ("08", "57")


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached (worth retrying), not a bug."""
    if isinstance(exc, OSError | TimeoutError):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    return sqlstate.startswith(_UNAVAILABLE_SQLSTATES)


async def _record_durably(
    sessionmaker: async_sessionmaker[AsyncSession],
    row: _Claimed,
    error: DeliveryError | None,
    *,
    now: datetime,
    worker_id: str,
    policy: DeliveryPolicy,
    sleep: Callable[[float], Awaitable[None]],
) -> tuple[Outcome, bool] | None:
    """Commit one outcome in its own transaction, retrying while the database is unreachable.

    Returns None when every try failed: the caller must stop sending, because each further
    message would be one more whose outcome is lost and that would be resent.
    """
    wait = policy.record_backoff.total_seconds()
    for attempt in range(1, policy.record_tries + 1):
        try:
            async with sessionmaker() as session:
                # One UPDATE is atomic by itself: in autocommit it costs one round trip instead
                # of three (BEGIN, UPDATE, COMMIT), which per message matters. Only on a pooled
                # engine: a session bound to a connection (tests) may be inside a transaction.
                if not _alerts(row, error, policy) and isinstance(session.bind, AsyncEngine):
                    await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                outcome = await _record(
                    session, row, error, now=now, worker_id=worker_id, policy=policy
                )
                await session.commit()
                return outcome
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            if attempt == policy.record_tries:
                log.warning(
                    "outcome of message %s not recorded after %d tries (%s); stopping the batch,"
                    " the message will be resent with the same id when its lease expires",
                    row.id,
                    attempt,
                    type(exc).__name__,
                )
                return None
            log.warning(
                "database unavailable recording message %s (%s); retrying in %.2f s",
                row.id,
                type(exc).__name__,
                wait,
            )
            await sleep(wait)
            wait *= 2
    raise AssertionError("unreachable: record_tries >= 1")


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
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> DeliveryReport:
    """Send up to ``batch_size`` due messages once; call repeatedly until ``claimed == 0``.

    Claim the batch (one short transaction), then ``policy.concurrency`` lanes (one on a
    sessionmaker bound to a single connection) take its messages in order; each lane keeps one
    channel session (one SMTP connection) and for each message sends it with no transaction
    open and commits its outcome on its own (one autocommitted UPDATE) before its next send.
    So a crash, a kill or a database restart at any point leaves at most one message in flight
    per lane sent but unrecorded. Failed-for-good messages with a coordinator get a
    ``coordinator_alert`` enqueued in the transaction that records the failure, so the alert
    exists exactly when the failure is recorded.

    Args:
        sessionmaker: opens the short transactions; it must not be inside an outer transaction.
        notifier_for_channel: the channel for e-mail or SMS, e.g. ``notifiers.__getitem__``.
        cipher: opens sealed recipient addresses just before sending.
        now: the business clock: decides what is due, leases and backoff.
        batch_size: messages claimed at once.
        worker_id: unique per running worker (host:pid:n), used to fence updates.
        policy: retry and lease rules; defaults to :class:`DeliveryPolicy`.
        monotonic: elapsed-time clock that stops a slow batch before its lease can run out.
        sleep: waits between tries to record an outcome while the database is unreachable.
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
    counts = {"sent": 0, "retrying": 0, "failed": 0, "alerts": 0, "stale": 0}
    queue = deque(claimed)
    stop = False
    # Stop sending at half the lease: the rest of the batch is handed back rather than risking
    # a second worker taking a message over while this one is still sending it.
    budget = policy.lease.total_seconds() / 2

    async def lane() -> None:
        """Send messages of the batch one at a time over this lane's own connections.

        Each outcome is committed before this lane sends again, so a lane never has more than
        one message sent but unrecorded: the guarantee per worker is one per lane.
        """
        nonlocal stop
        async with AsyncExitStack() as stack:
            senders: dict[Channel, Notifier] = {}
            while queue and not stop:
                if monotonic() - started > budget:
                    return
                row = queue.popleft()
                channel = Channel(row.channel)
                if channel not in senders:
                    senders[channel] = await stack.enter_async_context(
                        notifier_session(notifier_for_channel(channel))
                    )
                error = await _send(row, senders[channel], cipher)
                outcome = await _record_durably(
                    sessionmaker,
                    row,
                    error,
                    now=now,
                    worker_id=worker_id,
                    policy=policy,
                    sleep=sleep,
                )
                if outcome is None:
                    # Every lane stops before its next send. The rest stays claimed (unsent)
                    # until the lease expires; handing it back would need the database that
                    # just failed.
                    stop = True
                    return
                kind, alerted = outcome
                counts[kind] += 1
                counts["alerts"] += alerted

    # Lanes record on connections of their own from the pool; a sessionmaker bound to one
    # connection (a caller's transaction, the rolled-back test fixtures) allows one lane only.
    pooled = isinstance(sessionmaker.kw.get("bind"), AsyncEngine)
    try:
        async with asyncio.TaskGroup() as lanes:
            for _ in range(min(policy.concurrency if pooled else 1, len(claimed))):
                lanes.create_task(lane())
    except BaseExceptionGroup as group:
        # A failing lane cancels the others (like a crash: their messages stay leased); the
        # caller sees the lane's own error, as it did before there were lanes.
        raise group.exceptions[0]  # noqa: B904
    interrupted = stop
    unsent = [] if interrupted else list(queue)
    if unsent:
        async with sessionmaker.begin() as session:
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
        claimed=len(claimed), released=len(unsent), interrupted=interrupted, **counts
    )
