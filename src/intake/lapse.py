"""Registrations that lapse: a waiting registration is kept until its last sign of life plus a
year, and the person is asked once, a month before, whether they still want a group.

Health data (the chosen theme) is kept only while it serves its purpose (GDPR art. 5(1)(c)
and (e)): someone who has not shown any sign of life for ``SAMHJELP_LAPSE_AFTER_DAYS`` (default
365) while waiting is erased through the one erasure path (``groups.erasure.forget``, outcome
``lapsed``; the job is ``groups.lapse``). Only waiting people lapse: someone in a group being
put together, in a running group or placed never does (their registration goes with the
group's own erasure, ``groups.erasure.erase_due``).

A sign of life is the sign-up (``created_at``) or a later one, stored in ``alive_at``
(:func:`alive_values`): a change of choices (``intake.choices.apply``, which also covers an
accepted suggestion), "keep me on the list" (:func:`keep`), and a return to the pool when a
group did not start (``intake.pool.set_status`` to 'waiting'). Keeping one date and computing
the deadline means a changed setting applies to everyone at once.

People who left a contact get ONE message :attr:`LapsePolicy.notice` before the deadline, with
a link ``/behold/<token>`` signed like the suggestion links (:mod:`intake.nudges`, purpose
``lapse``, valid until the deadline the message names) to a page with a "keep me on the list"
button. Nobody with a contact is erased without that message having gone out at least
:attr:`LapsePolicy.notice` before: when the job could not send it in time (a backlog after
an outage, or the registrations already older than a year when this started), the deadline
moves to :attr:`LapsePolicy.notice` after the message (:data:`KEEP_UNTIL`). Any sign of life
clears the message's time and link, so the next period gets its own message.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    DateTime,
    Interval,
    LargeBinary,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from intake import interests, nudges
from intake.errors import Conflict
from intake.tables import interest

#: The purpose signed into the link (never valid as a suggestion link, nor the reverse).
PURPOSE = "lapse"
#: Only a waiting registration lapses.
LAPSING = "waiting"
#: The same condition as SQL text, not a bound parameter, so the planner can always match the
#: partial index ``ix_interest_alive`` (a generic plan cannot prove a parameter's value).
_IS_WAITING = interest.c.status == literal_column("'waiting'")


@dataclass(frozen=True, slots=True)
class LapsePolicy:
    """How long a waiting registration is kept after its last sign of life, and how long
    before that the one message goes out (``SAMHJELP_LAPSE_AFTER_DAYS`` and
    ``SAMHJELP_LAPSE_NOTICE_DAYS``)."""

    after: timedelta = timedelta(days=365)
    notice: timedelta = timedelta(days=30)

    def __post_init__(self) -> None:
        if self.notice <= timedelta(0) or self.after <= self.notice:
            raise ValueError("the notice must be positive and shorter than the keeping time")

    @classmethod
    def of(cls, settings: Any) -> LapsePolicy:
        """From settings with ``lapse_after_days`` / ``lapse_notice_days`` (defaults when
        absent, so a test's settings object need not name them)."""
        return cls(
            after=timedelta(days=int(getattr(settings, "lapse_after_days", 365))),
            notice=timedelta(days=int(getattr(settings, "lapse_notice_days", 30))),
        )


class LinkProblem(enum.StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Notice:
    """What a valid link stands for: the person, their status and the message's language."""

    interest_id: uuid.UUID
    status: str
    language: str
    sent_at: datetime


def alive_values(now: datetime) -> dict[str, Any]:
    """The column values of a new sign of life: a new period, no message sent in it yet."""
    return {"alive_at": now, "lapse_notice_at": None, "lapse_link_hash": None}


def _alive() -> ColumnElement[datetime]:
    """The last sign of life (the expression ``ix_interest_alive`` indexes)."""
    return func.coalesce(interest.c.alive_at, interest.c.created_at)


def keep_until_clause(policy: LapsePolicy, now: datetime) -> ColumnElement[datetime]:
    """When a waiting registration is erased: a year after its last sign of life, but for
    someone with a contact never sooner than the notice period after the message (which, if
    not sent yet, can go out at the earliest now)."""
    base = _alive() + literal(policy.after, Interval())
    notice = literal(policy.notice, Interval())
    told = func.coalesce(interest.c.lapse_notice_at, literal(now, DateTime(timezone=True)))
    return case(
        (interest.c.contact_encrypted.is_(None), base),
        else_=func.greatest(base, told + notice),
    )


async def keep_until(
    session: AsyncSession, interest_id: uuid.UUID, policy: LapsePolicy, *, now: datetime
) -> datetime | None:
    """The registration's keep-until time; None when it does not lapse (not waiting)."""
    found: datetime | None = await session.scalar(
        select(keep_until_clause(policy, now)).where(
            interest.c.id == interest_id, interest.c.status == LAPSING
        )
    )
    return found


async def keep(session: AsyncSession, interest_id: uuid.UUID, *, now: datetime) -> bool:
    """ "Keep me on the list": a new sign of life. False when the person is not waiting (then
    nothing lapses, so nothing needs keeping) or is gone."""
    done = await session.execute(
        update(interest)
        .where(interest.c.id == interest_id, interest.c.status == LAPSING)
        .values(**alive_values(now), updated_at=now)
        .returning(interest.c.id)
    )
    return done.first() is not None


async def keep_by_code(
    session: AsyncSession, code: str, policy: LapsePolicy, *, now: datetime
) -> datetime:
    """ "Keep me on the list" with the receipt code; returns the new keep-until time.

    Raises NotFound for an unknown (or erased) code and Conflict when the person is not
    waiting (in a group, nothing lapses)."""
    interest_id = await interests.id_for_code(session, code, lock=True)
    if not await keep(session, interest_id, now=now):
        raise Conflict("only a registration that is waiting for a group can lapse")
    return now + policy.after


def notice_due(policy: LapsePolicy, now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Waiting people with a contact whose message is due and not sent in this period."""
    return (
        _IS_WAITING,
        interest.c.contact_encrypted.is_not(None),
        interest.c.lapse_notice_at.is_(None),
        _alive() <= now - (policy.after - policy.notice),
    )


def erase_due(policy: LapsePolicy, now: datetime) -> tuple[ColumnElement[bool], ...]:
    """Waiting people whose keep-until time has come (see :func:`keep_until_clause`): the
    first condition is the indexed one, the rest is the kind rule about the message."""
    return (
        _IS_WAITING,
        _alive() <= now - policy.after,
        (interest.c.contact_encrypted.is_(None))
        | (interest.c.lapse_notice_at <= now - policy.notice),
    )


#: Claim the message for many people in one statement: only those still due get it, so of two
#: racing runs only one sees each person (see :func:`claim_notices`).
_CLAIM = text(
    """
UPDATE interest AS i
SET lapse_notice_at = :now, lapse_link_hash = c.h
FROM unnest(:ids, :hashes) AS c(iid, h)
WHERE i.id = c.iid AND i.status = 'waiting' AND i.contact_encrypted IS NOT NULL
  AND i.lapse_notice_at IS NULL AND coalesce(i.alive_at, i.created_at) <= :cutoff
RETURNING i.id
"""
).bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("hashes", type_=ARRAY(LargeBinary())),
    bindparam("now", type_=DateTime(timezone=True)),
    bindparam("cutoff", type_=DateTime(timezone=True)),
)


async def claim_notices(
    session: AsyncSession,
    ids: list[uuid.UUID],
    policy: LapsePolicy,
    *,
    now: datetime,
    secret: str,
) -> dict[uuid.UUID, str]:
    """Record that the message goes out now to each of these people (if still due) with a
    new link; returns the signed link tokens of those claimed."""
    if not ids:
        return {}
    nonces = {iid: nudges.new_token() for iid in ids}
    done = await session.execute(
        _CLAIM,
        {
            "ids": ids,
            "hashes": [nudges.token_hash(nonces[iid], purpose=PURPOSE) for iid in ids],
            "now": now,
            "cutoff": now - (policy.after - policy.notice),
        },
    )
    return {
        iid: nudges.signed(secret, iid, now, nonces[iid], purpose=PURPOSE, valid=policy.notice)
        for iid in done.scalars()
    }


async def resolve(
    session: AsyncSession, token: str, policy: LapsePolicy, *, now: datetime, secret: str
) -> Notice | LinkProblem:
    """What a link stands for, or why it cannot be used: unknown (malformed, forged, replaced
    by a new sign of life, or the registration is gone) or expired."""
    if not nudges.wellformed(token):
        return LinkProblem.UNKNOWN
    row = (
        await session.execute(
            select(
                interest.c.id,
                interest.c.status,
                interest.c.suggestion_language,
                interest.c.lapse_notice_at,
            ).where(
                interest.c.lapse_link_hash
                == nudges.token_hash(token[: nudges.NONCE_CHARS], purpose=PURPOSE)
            )
        )
    ).first()
    if row is None or row.lapse_notice_at is None:
        return LinkProblem.UNKNOWN
    if not nudges.verified(
        secret, token, row.id, row.lapse_notice_at, purpose=PURPOSE, valid=policy.notice
    ):
        return LinkProblem.UNKNOWN
    if now >= row.lapse_notice_at + policy.notice:
        return LinkProblem.EXPIRED
    lang = row.suggestion_language if row.suggestion_language in ("nb", "nn", "en") else "nb"
    return Notice(interest_id=row.id, status=row.status, language=lang, sent_at=row.lapse_notice_at)
