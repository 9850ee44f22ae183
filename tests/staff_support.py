"""Test helpers for the staff console: make a staff user and a signed-in session without going
through the e-mail link (the sign-in tests themselves do go through it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from helpers import unique
from staff import sessions
from staff.config import StaffConfig
from staff.tables import staff_user


async def make_staff_user(
    db: AsyncSession,
    role: str = "staff",
    *,
    organisation_id: uuid.UUID | None = None,
    region_slug: str | None = None,
    name: str = "Kari Ansatt",
    email: str | None = None,
) -> uuid.UUID:
    user_id = uuid.uuid4()
    await db.execute(
        staff_user.insert().values(
            id=user_id,
            name=name,
            email=(email or f"{unique('ansatt')}@example.org").lower(),
            role=role,
            organisation_id=organisation_id,
            region_slug=region_slug,
        )
    )
    return user_id


async def signed_in_cookie(
    db: AsyncSession,
    user_id: uuid.UUID,
    *,
    method: sessions.Method = "passkey",
    now: datetime | None = None,
    config: StaffConfig | None = None,
) -> dict[str, str]:
    """Cookies of a signed-in browser (``method='email'``: without the second factor)."""
    opened = await sessions.open_session(
        db,
        user_id,
        method=method,
        now=now or datetime.now(UTC),
        config=config or StaffConfig(base_url="http://testserver"),
    )
    return {sessions.COOKIE: opened.cookie_value}
