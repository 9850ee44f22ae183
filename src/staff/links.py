"""One-time links by e-mail: to sign in (minutes) and to accept an invitation (days).

The token is 32 random bytes in the URL; only its SHA-256 is stored (``staff_sign_in``), so a
database dump signs nobody in. Opening the link (a GET) never uses it up — mail scanners open
links — only the button on that page (a POST) does, exactly once: the ``UPDATE … WHERE used_at
IS NULL AND expires_at > now`` is the single-use guarantee, even for two clicks at once.

The mail goes through notify's outbox in the request's transaction, so a request that rolls
back sends nothing.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from litestar import Request
from litestar.background_tasks import BackgroundTask
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from intake.crypto import ContactCipher
from notify import Channel, OutgoingMessage, enqueue, seal_address
from staff.tables import staff_sign_in, staff_user

Purpose = Literal["sign_in", "invite"]
#: How long an invitation's link works.
INVITE_TTL = timedelta(days=7)
#: Where a valid link may send the browser afterwards: console pages only.
CONSOLE = "/ansatt"


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def safe_next(value: str | None) -> str:
    """``value`` when it is a path of the console, else ``/ansatt``: never an open redirect
    (``//evil.example``, ``https://…``, ``/ansatt.evil``, backslashes and control characters
    are all refused)."""
    if not value or any(c in value for c in "\\\r\n\t") or value.startswith("//"):
        return CONSOLE
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return CONSOLE
    if parts.path != CONSOLE and not parts.path.startswith(CONSOLE + "/"):
        return CONSOLE
    if "/../" in parts.path + "/" or "/./" in parts.path + "/":
        return CONSOLE
    return value


@dataclass(frozen=True)
class LinkHolder:
    """Who a valid link signs in (shown on the page with the button)."""

    user_id: uuid.UUID
    name: str
    purpose: Purpose


async def recent_requests(
    db: AsyncSession, user_id: uuid.UUID, *, now: datetime, within: timedelta
) -> int:
    """Sign-in links sent to this user within ``within`` (the per-address rate limit)."""
    count = await db.scalar(
        select(func.count())
        .select_from(staff_sign_in)
        .where(
            staff_sign_in.c.user_id == user_id,
            staff_sign_in.c.purpose == "sign_in",
            staff_sign_in.c.created_at > now - within,
        )
    )
    return int(count or 0)


async def issue(
    db: AsyncSession, user_id: uuid.UUID, *, purpose: Purpose, now: datetime, ttl: timedelta
) -> str:
    """A new one-time token for ``user_id``; the caller puts it in a mail, never in a log."""
    token = secrets.token_urlsafe(32)
    await db.execute(
        staff_sign_in.insert().values(
            token_hash=token_digest(token),
            user_id=user_id,
            purpose=purpose,
            created_at=now,
            expires_at=now + ttl,
        )
    )
    return token


async def peek(
    db: AsyncSession, token: str, *, now: datetime
) -> LinkHolder | Literal["gone"] | None:
    """Who the link signs in, without using it; ``"gone"`` when it was used or has expired
    (or its user is disabled), None when no such link was ever made."""
    row = (
        await db.execute(
            select(
                staff_sign_in.c.purpose,
                staff_sign_in.c.used_at,
                staff_sign_in.c.expires_at,
                staff_user.c.id,
                staff_user.c.name,
                staff_user.c.disabled_at,
            )
            .join(staff_user, staff_user.c.id == staff_sign_in.c.user_id)
            .where(staff_sign_in.c.token_hash == token_digest(token))
        )
    ).one_or_none()
    if row is None:
        return None
    if row.used_at is not None or row.expires_at <= now or row.disabled_at is not None:
        return "gone"
    return LinkHolder(row.id, row.name, row.purpose)


async def consume(db: AsyncSession, token: str, *, now: datetime) -> LinkHolder | None:
    """Use the link up (once: the first of two concurrent clicks wins); None when it is
    unknown, used, expired, or its user disabled."""
    used = (
        await db.execute(
            update(staff_sign_in)
            .where(
                staff_sign_in.c.token_hash == token_digest(token),
                staff_sign_in.c.used_at.is_(None),
                staff_sign_in.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(staff_sign_in.c.user_id, staff_sign_in.c.purpose)
        )
    ).one_or_none()
    if used is None:
        return None
    user = (
        await db.execute(
            select(staff_user.c.name).where(
                staff_user.c.id == used.user_id, staff_user.c.disabled_at.is_(None)
            )
        )
    ).one_or_none()
    if user is None:
        return None
    return LinkHolder(used.user_id, user.name, used.purpose)


def link_url(base_url: str, token: str, *, lang: str, next_path: str | None = None) -> str:
    url = f"{base_url.rstrip('/')}/ansatt/lenke/{token}?lang={lang}"
    if next_path and next_path != CONSOLE:
        url += "&neste=" + quote(next_path, safe="/")
    return url


async def mail_link(
    db: AsyncSession,
    cipher: ContactCipher,
    *,
    user_id: uuid.UUID,
    email: str,
    template: Literal["staff_sign_in", "staff_invitation"],
    lang: str,
    context: dict[str, Any],
    now: datetime,
) -> uuid.UUID:
    """Queue the link's mail in the caller's transaction (``recipient_ref`` names the staff
    user, so the outbox's scrubbing and listing treat it like any other message)."""
    return await enqueue(
        db,
        OutgoingMessage(
            channel=Channel.EMAIL,
            recipient=seal_address(cipher, email),
            template=template,
            lang=lang,
            context=context,
            recipient_ref=f"staff:{user_id}",
        ),
        now=now,
    )


def deliver_soon(request: Request[Any, Any, Any]) -> BackgroundTask | None:
    """One delivery pass after the response (so after the request's commit), when the app
    offers one in its state: a link should arrive in seconds, not at the next scheduled run."""
    deliver = request.app.state.get("deliver_soon")
    return BackgroundTask(deliver) if deliver is not None else None
