"""Delivery job: claim due outbox rows, send them, record each outcome as soon as it is known.

Claiming uses a lease rather than holding row locks through the send. ``SELECT … FOR UPDATE
SKIP LOCKED`` picks due rows without waiting on other workers; in the same statement (its own
transaction) they are set to ``sending`` with ``next_attempt_at`` moved to the end of the lease.
Sending happens with no transaction open (a slow SMTP server must not pin database
connections and locks). A batch is sent by ``DeliveryPolicy.concurrency`` lanes, each over
one reused channel connection, one message at a time; the lanes stage at once, but hand over
one at a time per worker. Each message's outcome is committed on its own right after the
channel answered, before the worker hands over again, fenced on the worker id and attempt
number so a worker whose lease ran out cannot overwrite a newer attempt. A worker that dies
mid-batch therefore leaves at most one message sent but unrecorded (the one in flight); the
batch's unsent rest is merely claimed. When the lease expires both
become due again and those in flight are resent with the same id: at-least-once, deduplicable
by Message-ID. If an outcome cannot be recorded (database unavailable) the record is retried
with backoff and, if that fails too, the batch stops rather than send messages whose outcome
could not be stored. See docs/notify.md.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from cryptography.exceptions import InvalidTag
from sqlalchemy import select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from intake.crypto import ContactCipher
from notify.model import (
    Attachment,
    Channel,
    DeliveryError,
    Handover,
    MessageStatus,
    Notifier,
    RenderedMessage,
    Stager,
    notifier_session,
    open_address,
)
from notify.policy import DeliveryPolicy, backoff_delay
from notify.recording import Claimed, Recorder, database_unavailable
from notify.tables import outbox

__all__ = [
    "DeliveryPolicy",
    "DeliveryReport",
    "backoff_delay",
    "database_unavailable",
    "deliver_due",
]

log = logging.getLogger(__name__)


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


def _claim_statement(*, now: datetime, batch_size: int, worker_id: str, lease: timedelta) -> Any:
    """Pick due rows and lease them in one statement: ``WITH due AS (SELECT … FOR UPDATE SKIP
    LOCKED) UPDATE … FROM due RETURNING …``. The CTE runs once (a locking CTE is always
    materialised), and returns the rows' due times from before the update, for their order."""
    due = (
        select(outbox.c.id, outbox.c.next_attempt_at.label("due_at"))
        .where(
            outbox.c.status.in_((MessageStatus.PENDING.value, MessageStatus.SENDING.value)),
            outbox.c.next_attempt_at <= now,
        )
        .order_by(outbox.c.next_attempt_at)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
        .cte("due")
    )
    return (
        update(outbox)
        .where(outbox.c.id == due.c.id)
        .values(
            status=MessageStatus.SENDING.value,
            attempts=outbox.c.attempts + 1,
            lease_owner=worker_id,
            next_attempt_at=now + lease,
        )
        .returning(due.c.due_at, *(outbox.c[f] for f in Claimed.__dataclass_fields__))
    )


async def _claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    batch_size: int,
    worker_id: str,
    lease: timedelta,
) -> list[Claimed]:
    """Claim up to ``batch_size`` due messages, in due order.

    On a pooled engine the one statement is its own transaction (autocommit: one round trip,
    no BEGIN/COMMIT), committed with the usual flush before anything is sent; bound to one
    connection (a caller's transaction, tests) it runs in a transaction of the sessionmaker's.
    """
    stmt = _claim_statement(now=now, batch_size=batch_size, worker_id=worker_id, lease=lease)
    bind = sessionmaker.kw.get("bind")
    if isinstance(bind, AsyncEngine):
        async with bind.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            rows = (await auto.execute(stmt)).mappings().all()
    else:
        async with sessionmaker.begin() as session:
            rows = (await session.execute(stmt)).mappings().all()
    ordered = sorted(rows, key=lambda row: row["due_at"])
    return [Claimed(**{f: row[f] for f in Claimed.__dataclass_fields__}) for row in ordered]


def _rendered(row: Claimed, cipher: ContactCipher) -> RenderedMessage:
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


#: What is left to do for a message after staging: hand it over (or abandon it), or the error.
Staged = tuple[Handover | None, DeliveryError | None]


async def _stage(row: Claimed, notifier: Notifier, cipher: ContactCipher) -> Staged:
    """Everything before the hand-over, where the channel has such a step (SMTP); else
    nothing yet. A rendering or staging failure comes back as the message's error."""
    try:
        message = _rendered(row, cipher)
        if _stages(type(notifier)):
            return await cast(Stager, notifier).stage(message), None
        return _Deferred(notifier, message), None
    except DeliveryError as exc:
        return None, exc
    except Exception as exc:  # a bug in a channel must not stop the whole batch
        return None, _unexpected(row, exc)


async def _hand_over(row: Claimed, staged: Staged) -> DeliveryError | None:
    handover, error = staged
    if handover is None:
        return error
    try:
        await handover.complete()
    except DeliveryError as exc:
        return exc
    except Exception as exc:
        return _unexpected(row, exc)
    return None


@functools.cache
def _stages(kind: type) -> bool:
    """Whether a sender class stages (asked once per class: a runtime protocol check costs
    more than building the message)."""
    return issubclass(kind, Stager)


def _unexpected(row: Claimed, exc: Exception) -> DeliveryError:
    # Only the type: exception texts from mail libraries may contain the address.
    log.error("unexpected %s sending message %s", type(exc).__name__, row.id)
    return DeliveryError(f"unexpected {type(exc).__name__}", transient=True)


@dataclass(frozen=True, slots=True)
class _Deferred:
    """A channel without a staging step: the whole send is the hand-over."""

    notifier: Notifier
    message: RenderedMessage

    async def complete(self) -> None:
        await self.notifier.send(self.message)

    def abandon(self) -> None:
        pass


def _fence(rows: list[Claimed], worker_id: str) -> Any:
    """Only rows still leased by this worker for this very attempt may be updated."""
    return (
        outbox.c.status == MessageStatus.SENDING.value,
        outbox.c.lease_owner == worker_id,
        tuple_(outbox.c.id, outbox.c.attempts).in_([(r.id, r.attempts) for r in rows]),
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

    Claim the batch (one statement), then ``policy.concurrency`` lanes (one on a
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
    claimed = await _claim(
        sessionmaker, now=now, batch_size=batch_size, worker_id=worker_id, lease=policy.lease
    )
    if not claimed:
        return DeliveryReport()
    counts = {"sent": 0, "retrying": 0, "failed": 0, "alerts": 0, "stale": 0}
    queue = deque(claimed)
    stop = False
    # Stop sending at half the lease: the rest of the batch is handed back rather than risking
    # a second worker taking a message over while this one is still sending it.
    budget = policy.lease.total_seconds() / 2

    # One hand-over and its record at a time per worker, whatever the number of lanes: at
    # most one message of this worker is ever accepted by the channel but not yet recorded.
    handing_over = asyncio.Lock()
    # So the records need one database connection per worker, not one per lane: the lanes
    # share it, under that lock (issue 12: four lanes held four pooled connections a batch).
    recorder = Recorder(sessionmaker, now=now, worker_id=worker_id, policy=policy, sleep=sleep)

    async def lane() -> None:
        """Stage messages of the batch over this lane's own connections, then hand each over
        and record its outcome under the worker's lock, before staging the next."""
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
                staged = await _stage(row, senders[channel], cipher)
                async with handing_over:
                    if stop:
                        # Another lane could not record: withdraw this one unsent (closing
                        # the connection before the end of DATA), it stays claimed.
                        if staged[0] is not None:
                            staged[0].abandon()
                        return
                    error = await _hand_over(row, staged)
                    outcome = await recorder.record(row, error)
                    if outcome is None:
                        # Every lane stops before its next hand-over. The rest stays claimed
                        # (unsent) until the lease expires; handing it back would need the
                        # database that just failed.
                        stop = True
                        return
                kind, alerted = outcome
                counts[kind] += 1
                counts["alerts"] += alerted
                # Let the lane the lock just woke hand over first: the hand-overs and their
                # records are the worker's one serial path, staging the next message is not.
                await asyncio.sleep(0)

    # A sessionmaker bound to one connection (a caller's transaction, the rolled-back test
    # fixtures) allows one lane only.
    pooled = isinstance(sessionmaker.kw.get("bind"), AsyncEngine)
    try:
        async with asyncio.TaskGroup() as lanes:
            for _ in range(min(policy.concurrency if pooled else 1, len(claimed))):
                lanes.create_task(lane())
    except BaseExceptionGroup as group:
        # A failing lane cancels the others (like a crash: their messages stay leased); the
        # caller sees the lane's own error, as it did before there were lanes.
        raise group.exceptions[0]  # noqa: B904
    finally:
        await recorder.close()
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
