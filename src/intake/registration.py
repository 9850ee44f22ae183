"""The one-trip registration: the per-process area cache and the single statement that re-checks
it, claims the Idempotency-Key and stores the interest.

Its own module because it is the hot path's machinery (a cache with its own invalidation and a
hand-written SQL statement sent on the bare asyncpg connection), separate from the plain
validate-then-insert rules in :mod:`intake.interests` that it reuses.

The statement is its own transaction: on a pooled engine it runs with no BEGIN or COMMIT around
it (PostgreSQL makes a single statement atomic), so a registration costs one round trip to the
database. Bound to a connection already inside a transaction (tests, a caller's unit of work),
it runs in a savepoint of that transaction instead and commits nothing.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.exc import MissingGreenlet
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection, QueuePool
from sqlalchemy.util.concurrency import greenlet_spawn

from intake import idempotency, receipt
from intake.crypto import ContactCipher
from intake.errors import Conflict, FieldProblem, InvalidInterest
from intake.interests import Area, Serving, _registered, _row, check_choices, decide
from intake.schemas import InterestIn, Registered

#: The rows of :class:`Area`: a municipality, its region and each serving organisation.
_AREAS_SQL = """
SELECT m.number, c.region_slug, r.name AS region_name, o.id, o.slug, o.name
FROM municipality m
JOIN county c ON c.number = m.county_number
JOIN region r ON r.slug = c.region_slug
LEFT JOIN catchment ca ON ca.municipality_number = m.number
LEFT JOIN organisation o ON o.id = ca.organisation_id
{where}
ORDER BY m.number, o.name
"""
_ALL_AREAS = _AREAS_SQL.format(where="")
_ONE_AREA = _AREAS_SQL.format(where="WHERE m.number = $1::varchar")


def _areas(rows: list[asyncpg.Record]) -> dict[str, Area]:
    regions: dict[str, tuple[str, str]] = {}
    serving: dict[str, list[Serving]] = {}
    for r in rows:
        regions[r["number"]] = (r["region_slug"], r["region_name"])
        found = serving.setdefault(r["number"], [])
        if r["id"] is not None:
            found.append(Serving(r["id"], r["slug"], r["name"]))
    return {
        number: Area(slug, name, tuple(serving[number])) for number, (slug, name) in regions.items()
    }


class AreaCache:
    """Every municipality's region and serving organisations, read once per process.

    The registry changes a few times a year; a registration happens many times a second. The
    cache is never trusted blindly: the one-trip statement re-reads the chosen municipality's
    area in the same snapshot as the insert and stores nothing if it differs, and the caller
    then reloads and decides again (see :func:`register_in_one_trip`). So a change made by
    another process (or a rolled-back test) costs one reload, never a wrong placement.
    :meth:`invalidate` lets this process drop it at once after its own registry changes.
    """

    def __init__(self) -> None:
        self._areas: dict[str, Area] | None = None

    @property
    def loaded(self) -> bool:
        return self._areas is not None

    def invalidate(self) -> None:
        self._areas = None

    async def area(self, db: Trips, municipality: str) -> Area | None:
        if self._areas is None:
            self._areas = _areas(await db.fetch(_ALL_AREAS))
        return self._areas.get(municipality)

    async def refresh(self, db: Trips, municipality: str) -> Area | None:
        """Re-read one municipality (one small query, as before the cache): used when the
        cached area was refused by the statement or led to a refusal, so a stale entry costs
        one query and an invalid request no more than it did without the cache."""
        fresh = _areas(await db.fetch(_ONE_AREA, municipality)).get(municipality)
        if self._areas is None:
            self._areas = _areas(await db.fetch(_ALL_AREAS))
        if fresh is None:
            self._areas.pop(municipality, None)
        else:
            self._areas[municipality] = fresh
        return fresh


AREAS = AreaCache()

#: The interest row's columns in parameter order ($1 …), with their SQL types.
_INTEREST = (
    ("id", "uuid"),
    ("receipt_hash", "bytea"),
    ("municipality_number", "varchar"),
    ("organisation_id", "uuid"),
    ("region_slug", "varchar"),
    ("themes", "text[]"),
    ("cross_problem_welcome", "boolean"),
    ("age_band", "smallint"),
    ("gender", "varchar"),
    ("same_gender", "boolean"),
    ("languages", "text[]"),
    ("slots", "text[]"),
    ("digital_welcome", "boolean"),
    ("contact_kind", "varchar"),
    ("contact_encrypted", "bytea"),
    ("contact_masked", "text"),
    ("contact_lookup", "bytea"),
    ("consent_version", "varchar"),
    ("consented_at", "timestamptz"),
    ("source", "varchar"),
    ("referral_id", "uuid"),
    ("status", "varchar"),
    ("waiting_since", "timestamptz"),
    ("created_at", "timestamptz"),
    ("updated_at", "timestamptz"),
    ("suggestion_messages", "boolean"),
    ("suggestion_language", "varchar"),
)
#: Then the Idempotency-Key row (all NULL when no key was sent) and the cached area to re-check.
_CLAIM = ("key_hash", "request_hash", "response_status", "response_encrypted")
_CHECK = ("region_name", "serving")
_PARAMS = tuple(name for name, _ in _INTEREST) + _CLAIM + _CHECK
_N = {name: f"${i}" for i, name in enumerate(_PARAMS, start=1)}

#: The whole registration in one statement: re-check the cached area in this snapshot, claim
#: the Idempotency-Key (when one is given) only if the area still holds, and insert the
#: interest only if the key was claimed or none was sent. ``ON CONFLICT DO NOTHING`` on the key
#: waits for a concurrent statement holding the same key and then yields nothing, so racing
#: retries store one interest. ``placed`` tells a stale cache (0) from a taken key (1).
_ONE_TRIP = f"""
WITH area AS (
  SELECT c.region_slug, r.name AS region_name,
         coalesce(array_agg(o.id::text || '|' || o.slug || '|' || o.name)
                  FILTER (WHERE o.id IS NOT NULL), '{{}}') AS serving
  FROM municipality m
  JOIN county c ON c.number = m.county_number
  JOIN region r ON r.slug = c.region_slug
  LEFT JOIN catchment ca ON ca.municipality_number = m.number
  LEFT JOIN organisation o ON o.id = ca.organisation_id
  WHERE m.number = {_N["municipality_number"]}::varchar
  GROUP BY c.region_slug, r.name
), still AS (
  SELECT 1 FROM area
  WHERE region_slug = {_N["region_slug"]}::varchar
    AND region_name = {_N["region_name"]}::text
    AND serving @> {_N["serving"]}::text[] AND serving <@ {_N["serving"]}::text[]
), claim AS (
  INSERT INTO idempotency_key (key_hash, request_hash, response_status, response_encrypted)
  SELECT {_N["key_hash"]}::bytea, {_N["request_hash"]}::bytea,
    {_N["response_status"]}::smallint, {_N["response_encrypted"]}::bytea
  FROM still WHERE {_N["key_hash"]}::bytea IS NOT NULL
  ON CONFLICT DO NOTHING
  RETURNING key_hash
), ins AS (
  INSERT INTO interest ({", ".join(name for name, _ in _INTEREST)})
  SELECT {", ".join(f"{_N[name]}::{kind}" for name, kind in _INTEREST)}
  FROM still
  WHERE {_N["key_hash"]}::bytea IS NULL OR EXISTS (SELECT 1 FROM claim)
  RETURNING id
)
SELECT (SELECT count(*) FROM still) AS placed, (SELECT count(*) FROM ins) AS inserted
"""  # noqa: S608 - column names and $n from the constants above; every value is bound
_FIRST_ANSWER = (
    "SELECT request_hash, response_status, response_encrypted FROM idempotency_key"
    " WHERE key_hash = $1::bytea"
)


_CONNECTION_LOST = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, OSError, TimeoutError)


async def _checkout(engine: AsyncEngine) -> PoolProxiedConnection:
    """A pooled connection; an idle one without a greenlet (issue 12).

    SQLAlchemy's async pool runs its synchronous code in a new greenlet per call (~35 µs each
    way) in case it must wait for I/O. Taking an idle connection needs none: the pool only
    pops it off its queue. When it would have to wait (connect, reconnect an invalidated
    connection, wait for a free one), SQLAlchemy raises ``MissingGreenlet`` before any I/O,
    having put its bookkeeping back, and the usual async checkout does it. (A reconnect
    attempt leaves asyncpg's ``connect()`` coroutine unstarted; its "never awaited" warning
    says nothing about the service, so it is silenced here.)
    """
    pool = engine.sync_engine.pool
    if isinstance(pool, QueuePool) and pool.checkedin() > 0:
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "coroutine .* was never awaited", RuntimeWarning)
                return engine.sync_engine.raw_connection()
        except MissingGreenlet:
            pass
    return await engine.raw_connection()


async def _checkin(
    engine: AsyncEngine, pooled: PoolProxiedConnection, driver: asyncpg.Connection
) -> None:
    """Give the connection back; without a greenlet when that is a plain put on the pool's
    queue: no transaction to roll back (this path opens none) and room in the queue (a full
    pool closes the connection instead, which is I/O)."""
    pool = engine.sync_engine.pool
    idle = isinstance(pool, QueuePool) and pool.checkedin() < pool.size()
    if idle and not driver.is_in_transaction():
        pooled.close()
    else:
        await greenlet_spawn(pooled.close)


@asynccontextmanager
async def hot_connection(bind: AsyncEngine | AsyncConnection) -> AsyncIterator[asyncpg.Connection]:
    """The bare asyncpg connection for the one-trip statement.

    From a pooled engine: a pooled connection with no transaction opened (SQLAlchemy starts
    its transactions lazily and this path never asks it to), so each statement commits by
    itself. From a connection (a test's rolled-back transaction): a savepoint of that
    transaction, so a failed statement leaves the caller's transaction usable.
    """
    if isinstance(bind, AsyncEngine):
        # The pool's connection itself, without SQLAlchemy's Connection around it (whose
        # construction, reset and close cost ~0.08 ms a request, issue 12). Nothing here opens
        # a transaction, so giving it back resets nothing.
        pooled = await _checkout(bind)
        driver: asyncpg.Connection = pooled.driver_connection
        try:
            yield driver
        except BaseException as exc:
            # SQLAlchemy never saw this error: tell its pool not to hand out a connection
            # that died (a database restart) to the next request (invalidating gives it back).
            if driver.is_closed() or isinstance(exc, _CONNECTION_LOST):
                await greenlet_spawn(pooled.invalidate)
                raise
            await _checkin(bind, pooled, driver)
            raise
        await _checkin(bind, pooled, driver)
        return
    async with bind.begin_nested():
        raw = await bind.get_raw_connection()
        yield raw.driver_connection


class Trips(Protocol):
    """Where the registration's queries go (:func:`intake.group_commit.hot_trips`): the
    one-trip statement with its values in :data:`_PARAMS` order, and the rare other queries."""

    async def one_trip(self, args: Sequence[Any]) -> Any: ...

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]: ...

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the one-trip registration did. ``replayed`` is set when the Idempotency-Key was
    already taken: nothing was stored and it holds the first answer to send instead."""

    registered: Registered | None
    answer: Any
    replayed: idempotency.Replay | None = None


async def register_in_one_trip(
    db: Trips,
    data: InterestIn,
    *,
    cipher: ContactCipher,
    source: str,
    now: datetime,
    answer: Callable[[Registered], Any],
    key: idempotency.KeyClaim | None,
    preferred_org: uuid.UUID | None = None,
    referral_id: uuid.UUID | None = None,
) -> Outcome:
    """Validate, place and store one interest — and claim its Idempotency-Key — in one round
    trip to the database.

    ``answer`` turns the receipt into the response body (it is stored, encrypted, with the
    key); ``key`` is the claim to make (None: no key was sent). Raises
    :class:`InvalidInterest` with every problem, having stored nothing.
    """
    checked = False  # whether ``area`` was read just now rather than cached
    area = await AREAS.area(db, data.municipality)
    while True:
        problems: list[FieldProblem] = []
        check_choices(data, problems)
        if area is None and not checked:
            area, checked = await AREAS.refresh(db, data.municipality), True
            continue
        if area is None:
            problems.append(FieldProblem("municipality", "unknown municipality number", "unknown"))
            raise InvalidInterest(problems)
        placement = decide(area, data, preferred_org, problems)
        if placement is None and not checked:
            # The refusal may rest on a stale entry: decide again on fresh data.
            area, checked = await AREAS.refresh(db, data.municipality), True
            continue
        if problems or placement is None:
            raise InvalidInterest(problems)
        code = receipt.new_code()
        done = _registered(placement, code, now)
        body = answer(done)
        params = _row(
            data,
            placement,
            code=code,
            cipher=cipher,
            source=source,
            now=now,
            referral_id=referral_id,
        )
        params.update(key.row(body, cipher) if key else _NO_CLAIM)
        params.update(region_name=area.region_name, serving=area.fingerprint())
        row = await db.one_trip(tuple(params[name] for name in _PARAMS))
        if row["inserted"]:
            return Outcome(done, body)
        if row["placed"] and key is not None:
            return Outcome(None, None, replayed=await _first_answer(db, key, cipher))
        if checked:
            # The registry changed between the re-read and the insert (rare): nothing was
            # stored, so the client may simply send the same request again.
            raise Conflict("the registry changed during this registration; send it again")
        area, checked = await AREAS.refresh(db, data.municipality), True


async def _first_answer(
    db: Trips, key: idempotency.KeyClaim, cipher: ContactCipher
) -> idempotency.Replay:
    first = await db.fetchrow(_FIRST_ANSWER, key.key_hash)
    if first is None:
        # Claimed by a request that has since been purged (a day later): nothing to replay.
        raise Conflict("this Idempotency-Key was just used; send the request again")
    return key.replay(
        request_hash=first["request_hash"],
        status=first["response_status"],
        sealed=first["response_encrypted"],
        cipher=cipher,
    )


_NO_CLAIM: dict[str, Any] = dict.fromkeys(_CLAIM)
