"""Idempotency-Key support: a retried POST returns the first answer and stores nothing twice.

The key row, holding the answer, is inserted in the same transaction as the work, after it. A
concurrent retry with the same key blocks on the unique index until the first transaction ends,
then replays its answer and discards its own work — so two racing requests can never both
register. Answers are kept encrypted for 24 hours.

Keys are scoped: to the API key's id where the caller has one, so two clients choosing the
same key never meet; anonymous callers share one scope, so there the key itself is the secret
and must be unguessable: :data:`KEY_PATTERN` asks for at least 128 bits (a UUID, or 22+
base64url characters), and a replay also needs the very same body.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.crypto import ContactCipher
from intake.errors import Conflict
from intake.tables import idempotency_key

RETENTION = timedelta(hours=24)
#: 22–128 characters of base64url (22 × 6 bits ≥ 128 bits); a canonical UUID (36 characters,
#: hex and hyphens) and 32+ hex digits both fit.
KEY_PATTERN = r"^[A-Za-z0-9_-]{22,128}$"
KEY_RULE = (
    "A random value of at least 128 bits, unique per operation: a UUID (e.g. uuid4) or 22–128 "
    "base64url characters from a secure random source (e.g. 32 hex digits). Shorter or "
    "low-variety keys are refused with 422. A retry with the same key and the same body within "
    "24 hours gets the first answer (header Idempotent-Replayed: true); the same key with "
    "another body is 409. Keys are scoped to the API key where there is one."
)
_MIN_DISTINCT = 8
_KEY_RE = re.compile(KEY_PATTERN)


def acceptable_key(key: str) -> bool:
    """Well-formed and not obviously made by hand ("aaaa…", "0000…", "1212…")."""
    return bool(_KEY_RE.match(key)) and len(set(key.replace("-", ""))) >= _MIN_DISTINCT


_CONTEXT = b"idempotency.response"
#: The sealed answer's JSON (msgspec: a tenth of ``json.dumps``; anything not JSON as its str).
_json = msgspec.json.Encoder(enc_hook=str).encode
_CLAIM = insert(idempotency_key).on_conflict_do_nothing().returning(idempotency_key.c.key_hash)


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: Any


def _key_hash(scope: str, key: str) -> bytes:
    return hashlib.sha256(f"{scope}\x00{key}".encode()).digest()


@dataclass(frozen=True, slots=True)
class KeyClaim:
    """One request's Idempotency-Key, scoped and hashed, with the hash of its body: what a
    statement needs to claim the key for this request, and to check a replay against."""

    key_hash: bytes
    request_hash: bytes

    @classmethod
    def of(cls, *, scope: str, key: str, request_body: bytes) -> KeyClaim:
        return cls(_key_hash(scope, key), hashlib.sha256(request_body).digest())

    def row(self, body: Any, cipher: ContactCipher, status: int = 201) -> dict[str, Any]:
        """The key row for this answer (the answer sealed), for a statement that inserts it
        with ``ON CONFLICT DO NOTHING`` in the same transaction as the work."""
        return {
            "key_hash": self.key_hash,
            "request_hash": self.request_hash,
            "response_status": status,
            "response_encrypted": cipher.encrypt(_json(body).decode(), context=_CONTEXT),
        }

    def replay(
        self, *, request_hash: bytes, status: int, sealed: bytes, cipher: ContactCipher
    ) -> Replay:
        """The first answer stored under this key (409 if it was for another body)."""
        if request_hash != self.request_hash:
            raise Conflict("this Idempotency-Key was used for a different request")
        return Replay(status, json.loads(cipher.decrypt(sealed, context=_CONTEXT)))


def claim_params(
    *, scope: str, key: str, request_body: bytes, status: int, body: Any, cipher: ContactCipher
) -> dict[str, Any]:
    """The key row for this answer (see :meth:`KeyClaim.row`)."""
    claim = KeyClaim.of(scope=scope, key=key, request_body=request_body)
    return claim.row(body, cipher, status)


async def first_answer(
    session: AsyncSession, *, scope: str, key: str, request_body: bytes, cipher: ContactCipher
) -> Replay:
    """The answer stored under a key another request claimed first (409 for another body)."""
    claim = KeyClaim.of(scope=scope, key=key, request_body=request_body)
    row = (
        await session.execute(
            select(idempotency_key).where(idempotency_key.c.key_hash == claim.key_hash)
        )
    ).one()
    return claim.replay(
        request_hash=row.request_hash,
        status=row.response_status,
        sealed=row.response_encrypted,
        cipher=cipher,
    )


async def record(
    session: AsyncSession,
    *,
    scope: str,
    key: str,
    request_body: bytes,
    status: int,
    body: Any,
    cipher: ContactCipher,
) -> Replay | None:
    """Store this request's answer under ``key`` — or, if the key is taken, return the first
    answer (the caller must then roll back its own work and send that answer instead).

    Called after the work, in the same transaction, so a first request costs one extra
    statement. A concurrent request with the same key blocks on the unique index until the
    first transaction ends; if it committed, its answer is replayed, if it rolled back, this
    insert goes through.
    """
    params = claim_params(
        scope=scope, key=key, request_body=request_body, status=status, body=body, cipher=cipher
    )
    inserted = (await session.execute(_CLAIM, params)).first()
    if inserted is not None:
        return None
    return await first_answer(
        session, scope=scope, key=key, request_body=request_body, cipher=cipher
    )


async def purge(session: AsyncSession, *, now: datetime) -> int:
    """Delete answers older than the retention window (a scheduled job calls this)."""
    result = await session.execute(
        delete(idempotency_key).where(idempotency_key.c.created_at < now - RETENTION)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
