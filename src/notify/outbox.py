"""Writing to the outbox and the operator functions around it.

``enqueue`` is the only way other packages create messages. It renders the message at once, so
a broken template or a missing context value fails inside the caller's transaction (and rolls
back the state change with it) instead of surfacing later in the delivery job.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notify.model import Channel, Language, MessageStatus, OutgoingMessage
from notify.render import render
from notify.tables import outbox


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now


async def enqueue(session: AsyncSession, message: OutgoingMessage, *, now: datetime) -> uuid.UUID:
    """Add ``message`` to the outbox in the caller's transaction; never commits.

    Returns:
        The message id. With a ``dedupe_key`` that is already in the outbox, the id of the
        existing message (nothing new is added).

    Raises:
        notify.render.UnknownTemplateError, jinja2.UndefinedError: the message cannot be rendered.
        ValueError: attachments on an SMS, or a naive ``now``.
    """
    _aware(now)
    channel = Channel(message.channel)
    lang = Language(message.lang)
    if channel is Channel.SMS and message.attachments:
        raise ValueError("SMS messages cannot carry attachments")
    content = render(message.template, lang, message.context, channel=channel)
    due = max(now, message.not_before) if message.not_before else now
    stmt = insert(outbox).values(
        id=message.message_id,
        channel=channel.value,
        template=message.template,
        lang=lang.value,
        status=MessageStatus.PENDING.value,
        recipient=message.recipient,
        recipient_ref=message.recipient_ref,
        organisation_id=message.organisation_id,
        coordinator=message.coordinator,
        subject=content.subject,
        body_text=content.text,
        body_html=content.html,
        attachments=[
            {"filename": a.filename, "content_type": a.content_type, "content": a.content}
            for a in message.attachments
        ],
        dedupe_key=message.dedupe_key,
        attempts=0,
        next_attempt_at=due,
        created_at=now,
    )
    if message.dedupe_key is None:
        await session.execute(stmt)
        return message.message_id
    stmt = stmt.on_conflict_do_nothing(index_elements=[outbox.c.dedupe_key])
    inserted: uuid.UUID | None = (
        await session.execute(stmt.returning(outbox.c.id))
    ).scalar_one_or_none()
    if inserted is not None:
        return inserted
    existing: uuid.UUID | None = await session.scalar(
        select(outbox.c.id).where(outbox.c.dedupe_key == message.dedupe_key)
    )
    assert existing is not None  # the conflict proves the row exists
    return existing


#: Columns holding personal data or content derived from it; scrubbing sets them all to NULL.
_PERSONAL = {
    "recipient": None,
    "recipient_ref": None,
    "coordinator": None,
    "subject": None,
    "body_text": None,
    "body_html": None,
    "attachments": None,
}


async def erase_recipient(
    session: AsyncSession, recipient_ref: str | Sequence[str], *, now: datetime
) -> int:
    """Scrub every message to the person(s) behind ``recipient_ref`` (erasure on request).

    Messages not yet sent are cancelled, including one a worker is sending right now: its
    fenced "sent" update then finds the row cancelled and leaves it so. The row itself stays,
    without any personal data, so delivery statistics remain correct. The dedupe key goes too:
    the life cycle's keys end in the person's id, and an erased person gets no more messages
    to deduplicate. Several refs are scrubbed in the same two statements (batch erasure).
    Returns the number of rows scrubbed.
    """
    _aware(now)
    refs = [recipient_ref] if isinstance(recipient_ref, str) else list(recipient_ref)
    if not refs:
        return 0
    await session.execute(
        update(outbox)
        .where(
            outbox.c.recipient_ref.in_(refs),
            outbox.c.status.in_((MessageStatus.PENDING.value, MessageStatus.SENDING.value)),
        )
        .values(status=MessageStatus.CANCELLED.value, lease_owner=None)
    )
    result = await session.execute(
        update(outbox)
        .where(outbox.c.recipient_ref.in_(refs))
        .values(**_PERSONAL, dedupe_key=None, scrubbed_at=now)
        .returning(outbox.c.id)
    )
    return len(result.scalars().all())


async def scrub_delivered(session: AsyncSession, *, now: datetime, retention: timedelta) -> int:
    """Remove personal data from messages finished more than ``retention`` ago.

    Sent, failed and cancelled messages keep their address and text for ``retention`` (settings:
    ``retention_days``, default 7) so an operator can look into a complaint or retry a failure;
    after that only the metadata remains. ``retention=timedelta(0)`` scrubs at once. Run daily.
    """
    _aware(now)
    finished_at = func.coalesce(outbox.c.sent_at, outbox.c.failed_at, outbox.c.created_at)
    result = await session.execute(
        update(outbox)
        .where(
            outbox.c.status.in_(
                (
                    MessageStatus.SENT.value,
                    MessageStatus.FAILED.value,
                    MessageStatus.CANCELLED.value,
                )
            ),
            outbox.c.scrubbed_at.is_(None),
            finished_at <= now - retention,
        )
        .values(**_PERSONAL, scrubbed_at=now)
        .returning(outbox.c.id)
    )
    return len(result.scalars().all())


@dataclass(frozen=True, slots=True)
class MessageSummary:
    """One outbox row as an operator sees it: metadata only, never the address or text."""

    id: uuid.UUID
    channel: str
    template: str
    lang: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None
    last_error: str | None
    has_recipient: bool
    organisation_id: uuid.UUID | None


async def list_messages(
    session: AsyncSession,
    status: MessageStatus | str | None = None,
    limit: int = 50,
    *,
    organisation_ids: Sequence[uuid.UUID] | None = None,
) -> list[MessageSummary]:
    """The newest messages, optionally of one status, for ``samhjelp outbox list`` (and, for
    ``organisation_ids``, only those organisations' messages: the staff console's view)."""
    stmt = (
        select(
            outbox.c.id,
            outbox.c.channel,
            outbox.c.template,
            outbox.c.lang,
            outbox.c.status,
            outbox.c.attempts,
            outbox.c.created_at,
            outbox.c.next_attempt_at,
            outbox.c.sent_at,
            outbox.c.failed_at,
            outbox.c.last_error,
            outbox.c.recipient.is_not(None).label("has_recipient"),
            outbox.c.organisation_id,
        )
        .order_by(outbox.c.created_at.desc(), outbox.c.id)
        .limit(limit)
    )
    if status is not None:
        stmt = stmt.where(outbox.c.status == MessageStatus(status).value)
    if organisation_ids is not None:
        stmt = stmt.where(outbox.c.organisation_id.in_(list(organisation_ids)))
    rows = (await session.execute(stmt)).mappings().all()
    return [MessageSummary(**row) for row in rows]


async def retry_failed(
    session: AsyncSession, ids: Sequence[uuid.UUID] | None = None, *, now: datetime
) -> int:
    """Put failed messages back in the queue with a fresh attempt budget.

    Only messages that still have a recipient can be retried; scrubbed ones are skipped.
    ``ids=None`` retries every failed message. Returns the number re-queued.
    """
    _aware(now)
    stmt = update(outbox).where(
        outbox.c.status == MessageStatus.FAILED.value, outbox.c.recipient.is_not(None)
    )
    if ids is not None:
        stmt = stmt.where(outbox.c.id.in_(list(ids)))
    result = await session.execute(
        stmt.values(
            status=MessageStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            failed_at=None,
            lease_owner=None,
        ).returning(outbox.c.id)
    )
    return len(result.scalars().all())
