"""Helpers for the waiting-list, record and today tests (staff.waiting/person/phone/today)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import interest_body
from intake.crypto import ContactCipher
from intake.interests import register
from intake.receipt import code_hash
from intake.schemas import InterestIn
from intake.tables import interest
from staff.tables import staff_audit
from staff_support import make_staff_user, signed_in_cookie


async def person(
    session: AsyncSession,
    cipher: ContactCipher,
    now: datetime,
    *,
    days_ago: float = 10,
    source: str = "self",
    **overrides: Any,
) -> uuid.UUID:
    """One registration waiting since ``days_ago`` days (``overrides``: interest_body fields)."""
    done = await register(
        session,
        InterestIn.model_validate(interest_body(**overrides)),
        cipher=cipher,
        source=source,
        now=now - timedelta(days=days_ago),
    )
    found = await session.scalar(
        select(interest.c.id).where(interest.c.receipt_hash == code_hash(done.receipt_code))
    )
    assert found is not None
    return uuid.UUID(str(found))


async def sign_in(
    client: httpx.AsyncClient,
    session: AsyncSession,
    now: datetime,
    role: str = "staff",
    *,
    method: str = "passkey",
    **scope: Any,
) -> uuid.UUID:
    """Make a staff user and put their session cookie in the client's jar."""
    user = await make_staff_user(session, role, **scope)
    cookies = await signed_in_cookie(session, user, method=method, now=now)  # type: ignore[arg-type]
    for name, value in cookies.items():
        client.cookies.set(name, value)
    return user


def csrf(html: str) -> str:
    m = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


async def post_form(
    client: httpx.AsyncClient, page: str, action: str, data: dict[str, Any]
) -> httpx.Response:
    """GET ``page`` for its CSRF token, then POST ``data`` to ``action``."""
    got = await client.get(page)
    assert got.status_code == 200, got.text[:500]
    return await client.post(action, data={"_csrf_token": csrf(got.text), **data})


async def audit_rows(session: AsyncSession, record_id: uuid.UUID) -> list[tuple[str, Any]]:
    rows = await session.execute(
        select(staff_audit.c.action, staff_audit.c.user_id)
        .where(staff_audit.c.record_id == str(record_id))
        .order_by(staff_audit.c.id)
    )
    return [(r.action, r.user_id) for r in rows]
