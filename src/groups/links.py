"""Signed, expiring, single-use links for facilitators and participants (no login needed).

A link is ``<base>/s/<token>``; the token is 28 characters, short enough for an SMS:

* 12 characters of nonce (9 random bytes, base64url), the key of an :data:`action_link` row;
* 16 characters of HMAC-SHA256 (96 bits) with the link secret over
  ``purpose | object id | subject id | expiry | nonce``.

The row stores purpose, object (offer, group or meeting), subject (facilitator or interest)
and expiry, so the token needs to carry none of them, and it stores ``used_at``, which makes a
link work once. A forged token (wrong MAC, unknown nonce) and an old or used one are told apart
so the page can explain kindly what happened. Changing any stored field breaks the MAC.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from groups.tables import action_link

NONCE_CHARS = 12
MAC_CHARS = 16
TOKEN_CHARS = NONCE_CHARS + MAC_CHARS


class Purpose(enum.StrEnum):
    """What a link lets its holder do."""

    OFFER_ACCEPT = "offer_accept"  # object: facilitator_offer, subject: facilitator
    OFFER_DECLINE = "offer_decline"
    MEETING_FORM = "meeting_form"  # object: group, subject: facilitator
    INVITE_ACCEPT = "invite_accept"  # object: group, subject: interest
    INVITE_DECLINE = "invite_decline"
    PLACE_ACCEPT = "place_accept"  # object: group, subject: interest
    PLACE_DECLINE = "place_decline"
    CHECKIN = "checkin"  # object: meeting, subject: facilitator
    FOLLOWUP = "followup"  # object: group, subject: facilitator
    REVIEW = "review"  # object: group, subject: facilitator
    #: The participants' contact for the facilitator. Viewed, never used up: each view is a
    #: group event (groups.roster); it ends at its expiry or when the group's links retire.
    ROSTER = "roster"  # object: group, subject: facilitator
    #: "Your group" (groups.answers, at /g/<token>): the meetings in full, and for a
    #: participant the answers — yes/no, "I can't come this time", "leave the group". SMS link
    #: to it instead of a place that does not fit. Viewed, never used up.
    MEMBER = "member"  # object: group, subject: interest or facilitator

    @property
    def family(self) -> str:
        """Links of one family answer the same question: using one uses them all."""
        return self.value.split("_")[0]


class LinkProblem(enum.StrEnum):
    """Why a link cannot be used; ``forged`` → 400, the others → 410."""

    FORGED = "forged"
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True, slots=True)
class Link:
    nonce: str
    purpose: Purpose
    object_id: uuid.UUID
    subject_id: uuid.UUID
    expires_at: datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _mac(
    secret: str,
    purpose: str,
    object_id: uuid.UUID,
    subject_id: uuid.UUID,
    expires_at: datetime,
    nonce: str,
) -> str:
    msg = f"{purpose}|{object_id}|{subject_id}|{int(expires_at.timestamp())}|{nonce}".encode()
    digest = hmac.new(secret.encode(), msg, hashlib.sha256).digest()
    return _b64(digest)[:MAC_CHARS]


async def issue(
    session: AsyncSession,
    *,
    secret: str,
    purpose: Purpose,
    object_id: uuid.UUID,
    subject_id: uuid.UUID,
    expires_at: datetime,
    now: datetime,
) -> str:
    """Store a new link and return its token (in the caller's transaction)."""
    if not secret:
        raise ValueError("a link secret is required")
    nonce = _b64(secrets.token_bytes(9))
    expires_at = expires_at.replace(microsecond=0)
    await session.execute(
        action_link.insert().values(
            nonce=nonce,
            purpose=purpose.value,
            object_id=object_id,
            subject_id=subject_id,
            expires_at=expires_at,
            created_at=now,
        )
    )
    return nonce + _mac(secret, purpose.value, object_id, subject_id, expires_at, nonce)


def url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/s/{token}"


async def resolve(
    session: AsyncSession, token: str, *, secret: str, now: datetime, lock: bool = False
) -> Link | LinkProblem:
    """Check a token: the link, or why it cannot be used. ``lock`` holds the row until the
    transaction ends, so two clicks at once cannot both use it."""
    if len(token) != TOKEN_CHARS or not secret:
        return LinkProblem.FORGED
    nonce, mac = token[:NONCE_CHARS], token[NONCE_CHARS:]
    stmt = select(action_link).where(action_link.c.nonce == nonce)
    if lock:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).mappings().first()
    if row is None:
        return LinkProblem.FORGED
    try:
        purpose = Purpose(row["purpose"])
    except ValueError:
        return LinkProblem.FORGED
    expected = _mac(
        secret, purpose.value, row["object_id"], row["subject_id"], row["expires_at"], nonce
    )
    if not hmac.compare_digest(expected, mac):
        return LinkProblem.FORGED
    if row["used_at"] is not None:
        return LinkProblem.USED
    if now >= row["expires_at"]:
        return LinkProblem.EXPIRED
    return Link(nonce, purpose, row["object_id"], row["subject_id"], row["expires_at"])


async def consume(session: AsyncSession, link: Link, *, now: datetime) -> None:
    """Use a link, and with it every unused link of the same family, object and subject
    (accepting makes the decline link — and a reminder's copies — stale too)."""
    family = [p.value for p in Purpose if p.family == link.purpose.family]
    await session.execute(
        update(action_link)
        .where(
            action_link.c.object_id == link.object_id,
            action_link.c.subject_id == link.subject_id,
            action_link.c.purpose.in_(family),
            action_link.c.used_at.is_(None),
        )
        .values(used_at=now)
    )


async def retire(session: AsyncSession, object_id: uuid.UUID, *, now: datetime) -> None:
    """Make every unused link about ``object_id`` stale (the question no longer stands)."""
    await session.execute(
        update(action_link)
        .where(action_link.c.object_id == object_id, action_link.c.used_at.is_(None))
        .values(used_at=now)
    )
