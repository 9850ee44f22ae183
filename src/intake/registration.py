"""The one-trip registration: the per-process area cache and the single statement that re-checks
it, stores the interest and claims the Idempotency-Key.

Its own module because it is the hot path's machinery (a cache with its own invalidation and a
hand-written SQL statement), separate from the plain validate-then-insert rules in
:mod:`intake.interests` that it reuses. Like them it never commits: the caller owns the
transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from intake import receipt
from intake.crypto import ContactCipher
from intake.errors import Conflict, FieldProblem, InvalidInterest
from intake.interests import (
    _PLACEMENT,
    Area,
    Serving,
    _registered,
    _row,
    check_choices,
    decide,
)
from intake.schemas import InterestIn, Registered
from intake.tables import catchment, county, municipality, organisation, region


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

    async def area(self, session: AsyncSession, municipality: str) -> Area | None:
        if self._areas is None:
            await self._load(session)
        assert self._areas is not None
        return self._areas.get(municipality)

    async def refresh(self, session: AsyncSession, municipality: str) -> Area | None:
        """Re-read one municipality (one small query, as before the cache): used when the
        cached area was refused by the statement or led to a refusal, so a stale entry costs
        one query and an invalid request no more than it did without the cache."""
        rows = (await session.execute(_PLACEMENT, {"municipality": municipality})).all()
        if self._areas is None:
            await self._load(session)
        assert self._areas is not None
        if not rows:
            self._areas.pop(municipality, None)
            return None
        fresh = Area(
            rows[0].region_slug,
            rows[0].region_name,
            tuple(Serving(r.id, r.slug, r.name) for r in rows if r.id is not None),
        )
        self._areas[municipality] = fresh
        return fresh

    async def _load(self, session: AsyncSession) -> None:
        rows = (await session.execute(_ALL_AREAS)).all()
        regions: dict[str, tuple[str, str]] = {}
        serving: dict[str, list[Serving]] = {}
        for r in rows:
            regions[r.number] = (r.region_slug, r.region_name)
            found = serving.setdefault(r.number, [])
            if r.id is not None:
                found.append(Serving(r.id, r.slug, r.name))
        self._areas = {
            number: Area(slug, name, tuple(serving[number]))
            for number, (slug, name) in regions.items()
        }


AREAS = AreaCache()
_ALL_AREAS = (
    select(
        municipality.c.number,
        county.c.region_slug,
        region.c.name.label("region_name"),
        organisation.c.id,
        organisation.c.slug,
        organisation.c.name,
    )
    .select_from(municipality)
    .join(county, county.c.number == municipality.c.county_number)
    .join(region, region.c.slug == county.c.region_slug)
    .outerjoin(catchment, catchment.c.municipality_number == municipality.c.number)
    .outerjoin(organisation, organisation.c.id == catchment.c.organisation_id)
    .order_by(municipality.c.number, organisation.c.name)
)

#: The whole registration in one statement: re-check the cached area in this snapshot, insert
#: the interest only if it still holds, and claim the Idempotency-Key (when one is given) only
#: if the interest went in. ``ON CONFLICT DO NOTHING`` on the key waits for a concurrent
#: transaction holding the same key and then yields nothing, as the two-statement version did.
_ONE_TRIP = text(
    """
WITH area AS (
  SELECT c.region_slug, r.name AS region_name,
         coalesce(array_agg(o.id::text || '|' || o.slug || '|' || o.name)
                  FILTER (WHERE o.id IS NOT NULL), '{}') AS serving
  FROM municipality m
  JOIN county c ON c.number = m.county_number
  JOIN region r ON r.slug = c.region_slug
  LEFT JOIN catchment ca ON ca.municipality_number = m.number
  LEFT JOIN organisation o ON o.id = ca.organisation_id
  WHERE m.number = CAST(:municipality_number AS varchar)
  GROUP BY c.region_slug, r.name
), still AS (
  SELECT 1 FROM area
  WHERE region_slug = CAST(:region_slug AS varchar)
    AND region_name = CAST(:region_name AS text)
    AND serving @> CAST(:serving AS text[]) AND serving <@ CAST(:serving AS text[])
), ins AS (
  INSERT INTO interest (id, receipt_hash, municipality_number, organisation_id, region_slug,
    themes, cross_problem_welcome, age_band, gender, same_gender, languages, slots,
    digital_welcome, contact_kind, contact_encrypted, contact_masked, contact_lookup,
    consent_version, consented_at, source, referral_id, status, waiting_since, created_at,
    updated_at)
  SELECT CAST(:id AS uuid), CAST(:receipt_hash AS bytea), CAST(:municipality_number AS varchar),
    CAST(:organisation_id AS uuid), CAST(:region_slug AS varchar), CAST(:themes AS text[]),
    CAST(:cross_problem_welcome AS boolean), CAST(:age_band AS smallint),
    CAST(:gender AS varchar), CAST(:same_gender AS boolean), CAST(:languages AS text[]),
    CAST(:slots AS text[]), CAST(:digital_welcome AS boolean), CAST(:contact_kind AS varchar),
    CAST(:contact_encrypted AS bytea), CAST(:contact_masked AS text),
    CAST(:contact_lookup AS bytea), CAST(:consent_version AS varchar),
    CAST(:consented_at AS timestamptz), CAST(:source AS varchar), CAST(:referral_id AS uuid),
    CAST(:status AS varchar), CAST(:waiting_since AS timestamptz),
    CAST(:created_at AS timestamptz), CAST(:updated_at AS timestamptz)
  FROM still
  RETURNING id
), claim AS (
  INSERT INTO idempotency_key (key_hash, request_hash, response_status, response_encrypted)
  SELECT CAST(:key_hash AS bytea), CAST(:request_hash AS bytea),
    CAST(:response_status AS smallint), CAST(:response_encrypted AS bytea)
  FROM ins WHERE CAST(:key_hash AS bytea) IS NOT NULL
  ON CONFLICT DO NOTHING
  RETURNING key_hash
)
SELECT (SELECT count(*) FROM ins) AS inserted, (SELECT count(*) FROM claim) AS claimed
"""
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the one-trip registration did: ``claimed`` is False when the Idempotency-Key was
    already taken (the caller rolls back and replays the first answer)."""

    registered: Registered
    answer: Any
    claimed: bool


async def register_in_one_trip(
    session: AsyncSession,
    data: InterestIn,
    *,
    cipher: ContactCipher,
    source: str,
    now: datetime,
    answer: Callable[[Registered], Any],
    claim: Callable[[Any], dict[str, Any]] | None,
    preferred_org: uuid.UUID | None = None,
    referral_id: uuid.UUID | None = None,
) -> Outcome:
    """Validate, place and store one interest — and claim its Idempotency-Key — in one round
    trip to the database, inside the caller's transaction.

    ``answer`` turns the receipt into the response body (it is stored, encrypted, with the
    key); ``claim`` turns that body into the key row's parameters (None: no key was sent).
    Raises :class:`InvalidInterest` with every problem, having stored nothing.
    """
    checked = False  # whether ``area`` was read in this transaction rather than cached
    area = await AREAS.area(session, data.municipality)
    while True:
        problems: list[FieldProblem] = []
        check_choices(data, problems)
        if area is None and not checked:
            area, checked = await AREAS.refresh(session, data.municipality), True
            continue
        if area is None:
            problems.append(FieldProblem("municipality", "unknown municipality number", "unknown"))
            raise InvalidInterest(problems)
        placement = decide(area, data, preferred_org, problems)
        if placement is None and not checked:
            # The refusal may rest on a stale entry: decide again on this transaction's data.
            area, checked = await AREAS.refresh(session, data.municipality), True
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
        params.update(claim(body) if claim else _NO_CLAIM)
        params.update(region_name=area.region_name, serving=area.fingerprint())
        row = (await session.execute(_ONE_TRIP, params)).one()
        if row.inserted:
            return Outcome(done, body, claimed=claim is None or bool(row.claimed))
        if checked:
            # The registry changed between the re-read and the insert (rare): nothing was
            # stored, so the client may simply send the same request again.
            raise Conflict("the registry changed during this registration; send it again")
        area, checked = await AREAS.refresh(session, data.municipality), True


_NO_CLAIM: dict[str, Any] = dict(
    key_hash=None, request_hash=None, response_status=None, response_encrypted=None
)
