"""Server-side sessions of the staff console, kept in PostgreSQL.

The browser holds only a random session id in an ``HttpOnly``, ``SameSite=Lax`` cookie
(``Secure`` behind https); the table holds its SHA-256, so a database dump takes over no
session. A session ends after :attr:`StaffConfig.idle_timeout` without a request, after
:attr:`StaffConfig.absolute_timeout` whatever the activity, on sign-out, or when the user signs
out everywhere or is disabled. Signing in (and adding a second factor) always issues a *new* id
and revokes the one the browser came with, so a planted cookie can never be promoted (session
fixation).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from staff.access import Role, Viewer
from staff.config import StaffConfig
from staff.tables import staff_session, staff_user

COOKIE = "samhjelp_staff"
Method = Literal["email", "passkey", "oidc"]
#: Methods that count as the second factor health data needs.
TWO_FACTOR: frozenset[str] = frozenset({"passkey", "oidc"})
#: A session is touched at most this often: a page view need not write a row every time.
_TOUCH_EVERY_SECONDS = 60


def digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


@dataclass(frozen=True)
class NewSession:
    """A session just opened: ``cookie_value`` goes to the browser, never to the database."""

    cookie_value: str
    expires_at: datetime


async def open_session(
    db: AsyncSession,
    user_id: uuid.UUID,
    *,
    method: Method,
    now: datetime,
    config: StaffConfig,
    replacing: str | None = None,
) -> NewSession:
    """A fresh session for ``user_id``; ``replacing`` (the cookie the browser came with) is
    revoked so the old id is worthless afterwards."""
    if replacing:
        await revoke(db, replacing, now=now)
    session_id = secrets.token_urlsafe(32)
    expires_at = now + config.absolute_timeout
    await db.execute(
        staff_session.insert().values(
            id_hash=digest(session_id),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
            method=method,
        )
    )
    await db.execute(
        update(staff_user).where(staff_user.c.id == user_id).values(last_sign_in_at=now)
    )
    return NewSession(session_id, expires_at)


async def viewer_for(
    db: AsyncSession, session_id: str, *, now: datetime, config: StaffConfig
) -> Viewer | None:
    """The signed-in user behind a cookie, or None when the session is unknown, revoked,
    idle too long, past its absolute end, or its user disabled. Touches ``last_seen_at``."""
    key = digest(session_id)
    row = (
        await db.execute(
            select(
                staff_session.c.last_seen_at,
                staff_session.c.expires_at,
                staff_session.c.method,
                staff_user.c.id,
                staff_user.c.name,
                staff_user.c.email,
                staff_user.c.role,
                staff_user.c.organisation_id,
                staff_user.c.region_slug,
            )
            .join(staff_user, staff_user.c.id == staff_session.c.user_id)
            .where(
                staff_session.c.id_hash == key,
                staff_session.c.revoked_at.is_(None),
                staff_user.c.disabled_at.is_(None),
            )
        )
    ).one_or_none()
    if row is None or now >= row.expires_at or now - row.last_seen_at >= config.idle_timeout:
        return None
    if (now - row.last_seen_at).total_seconds() >= _TOUCH_EVERY_SECONDS:
        await db.execute(
            update(staff_session).where(staff_session.c.id_hash == key).values(last_seen_at=now)
        )
    return Viewer(
        user_id=row.id,
        name=row.name,
        email=row.email,
        role=Role(row.role),
        organisation_id=row.organisation_id,
        region_slug=row.region_slug,
        two_factor=row.method in TWO_FACTOR,
        session_hash=key,
    )


async def revoke(db: AsyncSession, session_id: str, *, now: datetime) -> None:
    await db.execute(
        update(staff_session)
        .where(staff_session.c.id_hash == digest(session_id), staff_session.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_all(db: AsyncSession, user_id: uuid.UUID, *, now: datetime) -> int:
    """Sign out everywhere: every open session of the user, this one included."""
    result = await db.execute(
        update(staff_session)
        .where(staff_session.c.user_id == user_id, staff_session.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
