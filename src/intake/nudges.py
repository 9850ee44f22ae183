"""Suggestion messages: the opt-in, the link each message carries, and stopping them (issue 13).

A person who left a contact and ticked the box at sign-up (``interest.suggestion_messages``)
gets at most one message in :data:`INTERVAL` when one small change in their own choices would
place them now (the job is ``samhjelp.nudges``). The message carries a link to a page that shows
the change(s), with a button to accept each and one to stop these messages.

The link is ``<base>/forslag/<token>``, signed and expiring like the life cycle's links
(``groups.links``); the token is 28 characters, short enough for an SMS:

* 12 characters of nonce (9 random bytes, base64url); only its SHA-256 is stored, in
  the person's row, as with receipt codes, so a database dump hands out no working link;
* 16 characters of HMAC-SHA256 (96 bits) with the link secret over
  ``suggestion | interest id | expiry | nonce``, the expiry being :data:`LINK_VALID` after the
  message went out.

It works for one purpose (this page), until its expiry, and only for the latest message: a
forged or altered token (wrong signature), a replaced or stopped one (no row with that nonce)
and an old one ("expired") are told apart so the page can say kindly what happened. Changing
the stored send time or moving the link to another person breaks the signature. The token
says nothing about the person; everything it stands for stays in the database.

"Stop these messages" clears the opt-in, the link and the offered changes at once; withdrawal
and erasure delete the row and all of this with it.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import DateTime, LargeBinary, bindparam, or_, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from intake.tables import interest

#: At most one message per person in this time.
INTERVAL = timedelta(days=30)
#: How long a message's link works.
LINK_VALID = timedelta(days=14)
NONCE_CHARS = 12
MAC_CHARS = 16
TOKEN_CHARS = NONCE_CHARS + MAC_CHARS
_TOKEN_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


class LinkProblem(enum.StrEnum):
    """Why a link cannot be used: unknown (never issued, mistyped, tampered, replaced or
    stopped) or expired."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Change:
    """One offered change: ``kind`` is a ``SuggestionKind`` value (``add_slot``,
    ``welcome_digital``, ``add_language``, ``welcome_cross_problem``), ``value`` the slot or
    language code where the kind needs one."""

    kind: str
    value: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value}


@dataclass(frozen=True, slots=True)
class Offer:
    """What a valid link stands for."""

    interest_id: uuid.UUID
    status: str
    language: str
    changes: tuple[Change, ...]
    sent_at: datetime

    @property
    def expires_at(self) -> datetime:
        return self.sent_at + LINK_VALID


def new_token() -> str:
    """A fresh nonce for a link (never stored; only :func:`token_hash` of it is)."""
    return secrets.token_urlsafe(9)


def token_hash(nonce: str, *, purpose: str = "suggestion") -> bytes:
    """What the person's row keeps of a link: the SHA-256 of its nonce (and its purpose, so a
    nonce of one kind of link never finds a row through the other's column)."""
    return hashlib.sha256(f"{purpose}-link:".encode() + nonce.encode()).digest()


def signed(
    secret: str,
    interest_id: uuid.UUID,
    sent_at: datetime,
    nonce: str,
    *,
    purpose: str = "suggestion",
    valid: timedelta = LINK_VALID,
) -> str:
    """The link token for a message sent at ``sent_at``: the nonce and its signature.

    ``purpose`` and ``valid`` let another kind of message (``intake.lapse``: "do you still
    want a group?") use the same signed links: the purpose is signed with the rest, so a token
    of one kind never passes as the other."""
    if not secret:
        raise ValueError("a link secret is required")
    expiry = int((sent_at + valid).timestamp())
    message = f"{purpose}|{interest_id}|{expiry}|{nonce}".encode()
    mac = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return nonce + base64.urlsafe_b64encode(mac).decode()[:MAC_CHARS]


def wellformed(token: str) -> bool:
    """The shape of a token (length and alphabet), checked before any database look-up."""
    return len(token) == TOKEN_CHARS and set(token) <= _TOKEN_ALPHABET


def verified(
    secret: str,
    token: str,
    interest_id: uuid.UUID,
    sent_at: datetime,
    *,
    purpose: str = "suggestion",
    valid: timedelta = LINK_VALID,
) -> bool:
    """Whether ``token`` is exactly the one signed for this person and send time (constant
    time)."""
    expected = signed(
        secret, interest_id, sent_at, token[:NONCE_CHARS], purpose=purpose, valid=valid
    )
    return hmac.compare_digest(expected.encode(), token.encode())


def due_clause(now: datetime) -> Any:
    """People who opted in and have had no message in :data:`INTERVAL`."""
    return (
        interest.c.suggestion_messages.is_(True),
        or_(
            interest.c.suggestion_sent_at.is_(None),
            interest.c.suggestion_sent_at <= now - INTERVAL,
        ),
    )


#: Claim many people in one statement (see :func:`claim_messages`).
_CLAIM_MANY = text(
    """
UPDATE interest AS i
SET suggestion_sent_at = :now, suggestion_link_hash = c.h, suggestion_offer = :offers -> c.n::text
FROM unnest(:ids, :hashes) WITH ORDINALITY AS c(iid, h, n)
WHERE i.id = c.iid AND i.status = 'waiting' AND i.suggestion_messages
  AND (i.suggestion_sent_at IS NULL OR i.suggestion_sent_at <= :cutoff)
RETURNING i.id
"""
).bindparams(
    bindparam("ids", type_=ARRAY(UUID(as_uuid=True))),
    bindparam("hashes", type_=ARRAY(LargeBinary())),
    bindparam("offers", type_=JSONB),
    bindparam("now", type_=DateTime(timezone=True)),
    bindparam("cutoff", type_=DateTime(timezone=True)),
)


async def claim_messages(
    session: AsyncSession,
    offers: Mapping[uuid.UUID, Sequence[Change]],
    *,
    now: datetime,
    secret: str,
) -> dict[uuid.UUID, str]:
    """Record that a message goes out now to each of these people, with these changes and a
    new link, if they are still waiting, still opted in and had none in :data:`INTERVAL`;
    returns the links' signed tokens (:func:`signed`) of those claimed (the others are left
    out).

    One conditional ``UPDATE`` for the whole batch: of two replicas (or two runs) racing for
    the same person, only one sees the condition true, so nobody gets two messages in a month.
    The offered changes travel as one JSON object keyed by position.
    """
    if not offers:
        return {}
    ids = list(offers)
    nonces = {iid: new_token() for iid in ids}
    done = await session.execute(
        _CLAIM_MANY,
        {
            "ids": ids,
            "hashes": [token_hash(nonces[iid]) for iid in ids],
            "offers": {
                str(n): [c.as_json() for c in offers[iid]] for n, iid in enumerate(ids, start=1)
            },
            "now": now,
            "cutoff": now - INTERVAL,
        },
    )
    return {iid: signed(secret, iid, now, nonces[iid]) for iid in done.scalars()}


async def resolve(
    session: AsyncSession, token: str, *, now: datetime, secret: str
) -> Offer | LinkProblem:
    """What a link stands for, or why it cannot be used (a forged signature is unknown)."""
    if not wellformed(token):
        return LinkProblem.UNKNOWN
    nonce = token[:NONCE_CHARS]
    row = (
        await session.execute(
            select(
                interest.c.id,
                interest.c.status,
                interest.c.suggestion_language,
                interest.c.suggestion_offer,
                interest.c.suggestion_sent_at,
            ).where(interest.c.suggestion_link_hash == token_hash(nonce))
        )
    ).first()
    if row is None or row.suggestion_sent_at is None:
        return LinkProblem.UNKNOWN
    if not verified(secret, token, row.id, row.suggestion_sent_at):
        return LinkProblem.UNKNOWN
    if now >= row.suggestion_sent_at + LINK_VALID:
        return LinkProblem.EXPIRED
    changes = tuple(
        Change(str(c["kind"]), c.get("value")) for c in (row.suggestion_offer or []) if "kind" in c
    )
    return Offer(
        interest_id=row.id,
        status=row.status,
        language=row.suggestion_language or "nb",
        changes=changes,
        sent_at=row.suggestion_sent_at,
    )


async def stop(session: AsyncSession, interest_id: uuid.UUID, *, now: datetime) -> None:
    """No more suggestion messages: the opt-in, the link and the offered changes go at once.

    The language stays: it is also the language of the one "do you still want a group?"
    message before the registration lapses (``intake.lapse``)."""
    await session.execute(
        update(interest)
        .where(interest.c.id == interest_id)
        .values(
            suggestion_messages=False,
            suggestion_link_hash=None,
            suggestion_offer=None,
            updated_at=now,
        )
    )
