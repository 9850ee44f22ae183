"""Idempotency-Key support: a retried POST returns the first answer and stores nothing twice.

The key row is inserted in the same transaction as the work. A concurrent retry with the same
key blocks on the unique index until the first transaction ends, then reads its answer — so
two racing requests can never both register. Answers are kept encrypted for 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.crypto import ContactCipher
from intake.errors import Conflict
from intake.tables import idempotency_key

RETENTION = timedelta(hours=24)
_CONTEXT = b"idempotency.response"


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: Any


def _key_hash(scope: str, key: str) -> bytes:
    return hashlib.sha256(f"{scope}\x00{key}".encode()).digest()


async def claim(
    session: AsyncSession, *, scope: str, key: str, request_body: bytes, cipher: ContactCipher
) -> Replay | None:
    """Claim ``key`` for this request, or return the stored answer of the first one."""
    kh, rh = _key_hash(scope, key), hashlib.sha256(request_body).digest()
    inserted = (
        await session.execute(
            insert(idempotency_key)
            .values(key_hash=kh, request_hash=rh)
            .on_conflict_do_nothing()
            .returning(idempotency_key.c.key_hash)
        )
    ).first()
    if inserted is not None:
        return None
    row = (
        await session.execute(select(idempotency_key).where(idempotency_key.c.key_hash == kh))
    ).first()
    if row is None:  # expired and purged between our insert and select: treat as new
        return None
    if row.request_hash != rh:
        raise Conflict("this Idempotency-Key was used for a different request")
    body = json.loads(cipher.decrypt(row.response_encrypted, context=_CONTEXT))
    return Replay(row.response_status, body)


async def remember(
    session: AsyncSession, *, scope: str, key: str, status: int, body: Any, cipher: ContactCipher
) -> None:
    """Store the answer for a claimed key (same transaction as the work)."""
    await session.execute(
        update(idempotency_key)
        .where(idempotency_key.c.key_hash == _key_hash(scope, key))
        .values(
            response_status=status,
            response_encrypted=cipher.encrypt(json.dumps(body, default=str), context=_CONTEXT),
        )
    )


async def purge(session: AsyncSession, *, now: datetime) -> int:
    """Delete answers older than the retention window (a scheduled job calls this)."""
    result = await session.execute(
        delete(idempotency_key).where(idempotency_key.c.created_at < now - RETENTION)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
