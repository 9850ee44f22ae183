"""The waiting pool as other packages see it: intake's service functions for matching.

Matching never reads intake's tables itself; it asks for the pool here and reports status
changes back here, so the interest's life cycle has one owner.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from intake.tables import facilitator, interest, organisation


@dataclass(frozen=True, slots=True)
class WaitingInterest:
    """One waiting person, with exactly what group forming needs (no contact data)."""

    id: uuid.UUID
    organisation_id: uuid.UUID | None
    region_slug: str
    municipality: str
    themes: tuple[str, ...]
    cross_problem_welcome: bool
    age_band: int
    gender: str | None
    same_gender: bool
    languages: frozenset[str]
    slots: frozenset[str]
    digital_welcome: bool
    waiting_since: datetime


@dataclass(frozen=True, slots=True)
class FacilitatorInfo:
    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    email: str | None
    phone: str | None
    themes: frozenset[str]
    languages: frozenset[str]
    max_concurrent_starts: int
    digital: bool


@dataclass(frozen=True, slots=True)
class OrganisationInfo:
    id: uuid.UUID
    name: str
    region_slug: str
    coordinator_email: str | None
    rules: dict[str, Any]


async def waiting_pool(session: AsyncSession, *, lock: bool = True) -> list[WaitingInterest]:
    """Everyone waiting. With ``lock`` the rows stay locked until the caller's transaction
    ends, so a withdrawal during a matching run waits instead of being overwritten; rows
    already locked by a withdrawal in progress are skipped (they are leaving anyway)."""
    stmt = select(
        interest.c.id,
        interest.c.organisation_id,
        interest.c.region_slug,
        interest.c.municipality_number,
        interest.c.themes,
        interest.c.cross_problem_welcome,
        interest.c.age_band,
        interest.c.gender,
        interest.c.same_gender,
        interest.c.languages,
        interest.c.slots,
        interest.c.digital_welcome,
        interest.c.waiting_since,
    ).where(interest.c.status == "waiting")
    if lock:
        stmt = stmt.with_for_update(skip_locked=True)
    rows = (await session.execute(stmt)).all()
    return [
        WaitingInterest(
            r.id,
            r.organisation_id,
            r.region_slug,
            r.municipality_number,
            tuple(r.themes),
            r.cross_problem_welcome,
            r.age_band,
            None if r.gender in (None, "unspecified") else r.gender,
            r.same_gender,
            frozenset(r.languages),
            frozenset(r.slots),
            r.digital_welcome,
            r.waiting_since,
        )
        for r in rows
    ]


async def set_status(
    session: AsyncSession,
    ids: Collection[uuid.UUID],
    status: str,
    *,
    now: datetime,
    only_from: Collection[str] = ("waiting", "proposed", "invited", "placed"),
) -> set[uuid.UUID]:
    """Move interests to ``status`` (never out of 'withdrawn'); returns the ids moved.

    ``waiting_since`` is never touched: someone returning to the pool keeps their place.
    """
    if not ids:
        return set()
    moved = await session.execute(
        update(interest)
        .where(interest.c.id.in_(list(ids)), interest.c.status.in_(list(only_from)))
        .values(status=status, updated_at=now)
        .returning(interest.c.id)
    )
    return set(moved.scalars())


async def facilitators(session: AsyncSession) -> list[FacilitatorInfo]:
    rows = (await session.execute(select(facilitator).where(facilitator.c.active))).mappings()
    return [
        FacilitatorInfo(
            r["id"],
            r["organisation_id"],
            r["name"],
            r["email"],
            r["phone"],
            frozenset(r["themes"]),
            frozenset(r["languages"]),
            r["max_concurrent_starts"],
            r["digital"],
        )
        for r in rows
    ]


async def organisations(session: AsyncSession) -> dict[uuid.UUID, OrganisationInfo]:
    rows = (
        await session.execute(
            select(
                organisation.c.id,
                organisation.c.name,
                organisation.c.region_slug,
                organisation.c.coordinator_email,
                organisation.c.rules,
            )
        )
    ).all()
    return {
        r.id: OrganisationInfo(r.id, r.name, r.region_slug, r.coordinator_email, dict(r.rules))
        for r in rows
    }
