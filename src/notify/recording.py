"""Recording one message's outcome: a fenced UPDATE, committed before the lane sends again.

On a pooled engine a worker's batch records on one bare asyncpg connection, held for the batch
and shared by its lanes (their records are one at a time): one prepared UPDATE per message,
autocommitted (no BEGIN/COMMIT round trips) and, unless
``DeliveryPolicy.synchronous_records``, without waiting for the disk flush (asked for in the
statement itself, so the connection goes back to the pool unchanged). A final failure that
alerts a coordinator, and a sessionmaker bound to one connection (a caller's transaction, the
rolled-back test fixtures), take the SQLAlchemy path in a transaction of their own instead.
See :mod:`notify.delivery` for the guarantee this serves.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from notify.model import Channel, DeliveryError, Language, MessageStatus, OutgoingMessage
from notify.outbox import enqueue
from notify.policy import DeliveryPolicy, backoff_delay
from notify.tables import outbox

log = logging.getLogger(__name__)

ALERT_TEMPLATE = "coordinator_alert"

#: What recording one message did; the names are the counters of the delivery report.
Outcome = Literal["sent", "retrying", "failed", "stale"]


@dataclass(frozen=True, slots=True)
class Claimed:
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


async def _record(
    session: AsyncSession,
    row: Claimed,
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


def _retries(row: Claimed, error: DeliveryError | None, policy: DeliveryPolicy) -> bool:
    return error is not None and error.transient and row.attempts < policy.max_attempts


def _alerts(row: Claimed, error: DeliveryError | None, policy: DeliveryPolicy) -> bool:
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
    if isinstance(exc, asyncpg.InterfaceError | asyncpg.PostgresConnectionError):
        return True  # the bare connection's own errors: lost, closed, refused
    if isinstance(exc, asyncpg.PostgresError):
        return str(exc.sqlstate or "").startswith(_UNAVAILABLE_SQLSTATES)
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError):
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    return sqlstate.startswith(_UNAVAILABLE_SQLSTATES)


#: The plain outcome in one prepared statement; ``coalesce`` keeps the columns an outcome does
#: not set. Fenced like :func:`_record`.
_OUTCOME = f"""
UPDATE {outbox.name} SET status = $3::varchar, lease_owner = NULL, last_error = $4::text,
  sent_at = coalesce($5::timestamptz, sent_at),
  failed_at = coalesce($6::timestamptz, failed_at),
  next_attempt_at = coalesce($7::timestamptz, next_attempt_at)
WHERE id = $1::uuid AND attempts = $2::integer AND status = 'sending' AND lease_owner = $8::varchar
RETURNING id
"""  # noqa: S608 - the table name is ours
#: The same without waiting for the flush (``synchronous_records`` off): the statement is its
#: own transaction, and ``set_config(…, true)`` lasts until that transaction's end, whose commit
#: reads it. So the connection is never changed (no SET before, no RESET after: two round trips
#: per batch, issue 12) and goes back to the pool as it came.
_OUTCOME_NO_FLUSH = _OUTCOME.replace(
    "\nWHERE id",
    "\nFROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_flush\nWHERE id",
)


def _outcome_args(
    row: Claimed,
    error: DeliveryError | None,
    *,
    now: datetime,
    worker_id: str,
    policy: DeliveryPolicy,
) -> tuple[Any, ...]:
    if error is None:
        status, sent, failed, due = MessageStatus.SENT.value, now, None, None
    elif _retries(row, error, policy):
        due = now + backoff_delay(row.id, row.attempts, policy=policy)
        status, sent, failed = MessageStatus.PENDING.value, None, None
    else:
        status, sent, failed, due = MessageStatus.FAILED.value, None, now, None
    reason = None if error is None else error.reason[:500]
    return (row.id, row.attempts, status, reason, sent, failed, due, worker_id)


class Recorder:
    """Records the outcomes of one worker's batch, one message at a time (the caller's lanes
    take turns), each committed on its own.

    Holds the batch's bare connection between messages (opened at the first record, given back
    at :meth:`close`) and rides out a database that is briefly away: an outcome that cannot be
    written is retried with backoff on a fresh connection, and :meth:`record` returns None when
    every try failed, so the batch stops rather than send messages whose outcome would be lost.
    """

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        now: datetime,
        worker_id: str,
        policy: DeliveryPolicy,
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._sessionmaker = sessionmaker
        bind = sessionmaker.kw.get("bind")
        self._engine = bind if isinstance(bind, AsyncEngine) else None
        self._now, self._worker_id, self._policy, self._sleep = now, worker_id, policy, sleep
        self._conn: AsyncConnection | None = None
        self._driver: Any = None
        #: Set while the outcome statement runs: a connection left so is not handed back.
        self._busy = False

    async def record(
        self, row: Claimed, error: DeliveryError | None
    ) -> tuple[Outcome, bool] | None:
        """Commit one outcome; its kind and whether a coordinator alert was enqueued."""
        wait = self._policy.record_backoff.total_seconds()
        for attempt in range(1, self._policy.record_tries + 1):
            try:
                if self._engine is None or _alerts(row, error, self._policy):
                    return await self._record_in_session(row, error)
                return await self._record_bare(row, error)
            except Exception as exc:
                # A connection the server dropped can also leave asyncpg's protocol half-way
                # (InternalClientError): it is as gone as one that says so.
                lost = self._driver is not None and (
                    self._driver.is_closed() or isinstance(exc, asyncpg.InternalClientError)
                )
                if not (lost or database_unavailable(exc)):
                    raise
                await self._drop()
                if self._engine is not None:
                    # The database went away: the pool's other idle connections are as dead
                    # as this one (SQLAlchemy would invalidate them all had it seen the error).
                    await self._engine.dispose(close=False)
                if attempt == self._policy.record_tries:
                    log.warning(
                        "outcome of message %s not recorded after %d tries (%s); stopping the"
                        " batch, the message will be resent with the same id when its lease"
                        " expires",
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
                await self._sleep(wait)
                wait *= 2
        raise AssertionError("unreachable: record_tries >= 1")

    async def _record_bare(self, row: Claimed, error: DeliveryError | None) -> tuple[Outcome, bool]:
        if self._driver is None:
            assert self._engine is not None
            self._conn = await self._engine.connect()
            self._driver = (await self._conn.get_raw_connection()).driver_connection
        args = _outcome_args(row, error, now=self._now, worker_id=self._worker_id,
                             policy=self._policy)  # fmt: skip
        sql = _OUTCOME if self._policy.synchronous_records else _OUTCOME_NO_FLUSH
        self._busy = True
        found = await self._driver.fetchval(sql, *args)
        self._busy = False
        if found is None:
            return "stale", False
        if error is None:
            return "sent", False
        return ("retrying" if _retries(row, error, self._policy) else "failed"), False

    async def _record_in_session(
        self, row: Claimed, error: DeliveryError | None
    ) -> tuple[Outcome, bool]:
        async with self._sessionmaker() as session:
            outcome = await _record(
                session, row, error, now=self._now, worker_id=self._worker_id, policy=self._policy
            )
            await session.commit()
            return outcome

    async def _drop(self) -> None:
        conn, self._conn, self._driver, self._busy = self._conn, None, None, False
        if conn is not None:
            await conn.invalidate()
            await conn.close()

    async def close(self) -> None:
        """Give the connection back to the pool as it was taken (nothing on it was changed:
        see ``_OUTCOME_NO_FLUSH``). One left in the middle of a statement (this task cancelled
        meanwhile, or an error) or closed by the server is discarded instead: the next user
        must not find it busy or gone."""
        conn, driver, self._conn, self._driver = self._conn, self._driver, None, None
        if conn is None:
            return
        try:
            # One the server closed (a restart while the batch waited) must not go back to
            # the pool either: the next batch's lanes would spend their record tries on it.
            if self._busy or driver.is_closed():
                await conn.invalidate()
        finally:
            await conn.close()


def _alert(row: Claimed, error: DeliveryError) -> OutgoingMessage:
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
