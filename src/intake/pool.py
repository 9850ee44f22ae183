"""The waiting pool as other packages see it: intake's service functions for matching.

Matching never reads intake's tables itself; it asks for the pool here and reports status
changes back here, so the interest's life cycle has one owner.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, any_, func, literal, select, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from intake.consent import FACILITATOR_SEES_CONTACT
from intake.crypto import ContactCipher
from intake.interests import CONTACT_CONTEXT
from intake.lapse import alive_values
from intake.tables import facilitator, interest, organisation, region


def among(column: Any, ids: Collection[uuid.UUID]) -> ColumnElement[bool]:
    """``column = ANY(:ids)`` with one array parameter.

    ``IN (…)`` sends one parameter per id, and asyncpg refuses more than 32,767 in a statement:
    a national matching run placing more people than that failed to store its plan.
    """
    return column == any_(literal(list(ids), ARRAY(UUID(as_uuid=True))))  # type: ignore[no-any-return]


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
    #: A pause set by staff (both days included; either end may be open).
    paused_from: date | None = None
    paused_until: date | None = None

    def paused_on(self, day: date) -> bool:
        """Whether the facilitator is paused on ``day`` (not to be asked to start a group)."""
        if self.paused_from is None and self.paused_until is None:
            return False
        starts = self.paused_from or date.min
        ends = self.paused_until or date.max
        return starts <= day <= ends


@dataclass(frozen=True, slots=True)
class OrganisationInfo:
    id: uuid.UUID
    name: str
    region_slug: str
    coordinator_email: str | None
    rules: dict[str, Any]
    #: Where people's replies to messages go (Reply-To, the calendar ORGANIZER).
    contact_email: str | None = None


_WAITING_COLUMNS = (
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
)


def _waiting(r: Row[Any, *tuple[Any, ...]]) -> WaitingInterest:
    return WaitingInterest(
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


async def waiting_pool(session: AsyncSession, *, lock: bool = True) -> list[WaitingInterest]:
    """Everyone waiting. With ``lock`` the rows stay locked until the caller's transaction
    ends, so a withdrawal during a matching run waits instead of being overwritten; rows
    already locked by a withdrawal in progress are skipped (they are leaving anyway)."""
    stmt = select(*_WAITING_COLUMNS).where(interest.c.status == "waiting")
    if lock:
        stmt = stmt.with_for_update(skip_locked=True)
    rows = (await session.execute(stmt)).all()
    return [_waiting(r) for r in rows]


async def interests(session: AsyncSession, ids: Collection[uuid.UUID]) -> list[WaitingInterest]:
    """These people's matching profile whatever their status (a group's members, someone a
    staff member picks): what the rule checker needs, no contact data."""
    if not ids:
        return []
    rows = (await session.execute(select(*_WAITING_COLUMNS).where(among(interest.c.id, ids)))).all()
    return [_waiting(r) for r in rows]


async def waiting_in(
    session: AsyncSession,
    organisation_ids: Collection[uuid.UUID],
    *,
    theme: str | None = None,
    language: str | None = None,
    slot: str | None = None,
    digital: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[WaitingInterest], int]:
    """A page of the people waiting with these organisations, longest waiting first, and how
    many match in all (a staff member picking people for a group by hand)."""
    where = [interest.c.status == "waiting", interest.c.organisation_id.in_(list(organisation_ids))]
    if theme:
        where.append(interest.c.themes.contains([theme]))
    if language:
        where.append(interest.c.languages.contains([language]))
    if slot:
        where.append(interest.c.slots.contains([slot]))
    if digital:
        where.append(interest.c.digital_welcome)
    total = await session.scalar(select(func.count()).select_from(interest).where(*where))
    rows = (
        await session.execute(
            select(*_WAITING_COLUMNS)
            .where(*where)
            .order_by(interest.c.waiting_since, interest.c.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return [_waiting(r) for r in rows], int(total or 0)


async def set_status(
    session: AsyncSession,
    ids: Collection[uuid.UUID],
    status: str,
    *,
    now: datetime,
    only_from: Collection[str] = ("waiting", "proposed", "invited", "placed"),
) -> set[uuid.UUID]:
    """Move interests to ``status`` (never out of 'withdrawn'); returns the ids moved.

    ``waiting_since`` is never touched: someone returning to the pool keeps their place. A
    return to 'waiting' (a group that did not start, a "no", a place given up) starts a new
    period before the registration lapses (``intake.lapse``): the person was active.
    """
    if not ids:
        return set()
    alive = alive_values(now) if status == "waiting" else {}
    moved = await session.execute(
        update(interest)
        .where(among(interest.c.id, ids), interest.c.status.in_(list(only_from)))
        .values(status=status, updated_at=now, **alive)
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
            r["paused_from"],
            r["paused_until"],
        )
        for r in rows
    ]


async def organisations(
    session: AsyncSession, ids: Collection[uuid.UUID] | None = None
) -> dict[uuid.UUID, OrganisationInfo]:
    """All organisations, or only those with ``ids``."""
    stmt = select(
        organisation.c.id,
        organisation.c.name,
        organisation.c.region_slug,
        organisation.c.coordinator_email,
        organisation.c.rules,
        organisation.c.contact_email,
    )
    if ids is not None:
        stmt = stmt.where(organisation.c.id.in_(list(ids)))
    rows = (await session.execute(stmt)).all()
    return {
        r.id: OrganisationInfo(
            r.id, r.name, r.region_slug, r.coordinator_email, dict(r.rules), r.contact_email
        )
        for r in rows
    }


# --- The group life cycle (groups) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberProfile:
    """What the life cycle needs to know about a group member (no contact data)."""

    id: uuid.UUID
    status: str
    organisation_id: uuid.UUID | None
    age_band: int
    gender: str | None
    same_gender: bool
    has_contact: bool


@dataclass(frozen=True, slots=True)
class Contact:
    """A decrypted contact channel, only ever held in memory to address a message."""

    kind: str  # 'email' | 'sms'
    value: str = field(repr=False)


async def profiles(
    session: AsyncSession, ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, MemberProfile]:
    """Status, age band, gender wish and whether a contact channel exists, per interest."""
    if not ids:
        return {}
    rows = (
        await session.execute(
            select(
                interest.c.id,
                interest.c.status,
                interest.c.organisation_id,
                interest.c.age_band,
                interest.c.gender,
                interest.c.same_gender,
                interest.c.contact_encrypted.is_not(None).label("has_contact"),
            ).where(among(interest.c.id, ids))
        )
    ).all()
    return {
        r.id: MemberProfile(
            r.id,
            r.status,
            r.organisation_id,
            r.age_band,
            None if r.gender in (None, "unspecified") else r.gender,
            r.same_gender,
            r.has_contact,
        )
        for r in rows
    }


async def contacts(
    session: AsyncSession, ids: Collection[uuid.UUID], cipher: ContactCipher
) -> dict[uuid.UUID, Contact]:
    """Decrypted contact channels of the given interests (those without one are left out).

    Only the life cycle calls this, to address an invitation or offer in the same transaction
    that seals the address again for the outbox.
    """
    if not ids:
        return {}
    rows = (
        await session.execute(
            select(interest.c.id, interest.c.contact_kind, interest.c.contact_encrypted).where(
                among(interest.c.id, ids),
                interest.c.contact_encrypted.is_not(None),
                interest.c.status != "withdrawn",
            )
        )
    ).all()
    return {
        r.id: Contact(r.contact_kind, cipher.decrypt(r.contact_encrypted, context=CONTACT_CONTEXT))
        for r in rows
    }


async def facilitator_contacts(
    session: AsyncSession, ids: Collection[uuid.UUID], cipher: ContactCipher
) -> dict[uuid.UUID, Contact | None]:
    """Contact channels the facilitator of these people's group may see (the roster).

    Only a consent version in :data:`intake.consent.FACILITATOR_SEES_CONTACT` lets the
    facilitator see the address: a person who agreed to other words maps to ``None`` ("contact
    not shared") and their address is not even decrypted. People without a contact channel, or
    withdrawn, are left out. The caller decides who is shown (members who said yes).
    """
    if not ids:
        return {}
    rows = (
        await session.execute(
            select(
                interest.c.id,
                interest.c.contact_kind,
                interest.c.contact_encrypted,
                interest.c.consent_version,
            ).where(
                among(interest.c.id, ids),
                interest.c.contact_encrypted.is_not(None),
                interest.c.status != "withdrawn",
            )
        )
    ).all()
    return {
        r.id: (
            Contact(r.contact_kind, cipher.decrypt(r.contact_encrypted, context=CONTACT_CONTEXT))
            if r.consent_version in FACILITATOR_SEES_CONTACT
            else None
        )
        for r in rows
    }


async def waiting_for_place(
    session: AsyncSession,
    *,
    organisation_ids: Collection[uuid.UUID] | None,
    digital: bool,
    language: str,
    slot: str,
    exclude: Collection[uuid.UUID] = (),
    limit: int = 200,
) -> list[WaitingInterest]:
    """Waiting people who could take a freed place, longest waiting first.

    Only people with a contact channel: a place offer must reach them within the reply window.
    ``organisation_ids=None`` means any organisation (a digital group pooled nationally). Rows
    are locked (``SKIP LOCKED``) until the caller's transaction ends, like :func:`waiting_pool`.
    Theme, age and gender fit are checked by the caller.
    """
    stmt = (
        select(*_WAITING_COLUMNS)
        .where(
            interest.c.status == "waiting",
            interest.c.contact_encrypted.is_not(None),
            interest.c.languages.contains([language]),
            interest.c.slots.contains([slot]),
        )
        .order_by(interest.c.waiting_since, interest.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if organisation_ids is not None:
        stmt = stmt.where(interest.c.organisation_id.in_(list(organisation_ids)))
    if digital:
        stmt = stmt.where(interest.c.digital_welcome)
    if exclude:
        stmt = stmt.where(interest.c.id.not_in(list(exclude)))
    rows = (await session.execute(stmt)).all()
    return [_waiting(r) for r in rows]


async def region_coordinator(session: AsyncSession, region_slug: str) -> str | None:
    """The e-mail of the coordinator who oversees a region's catchments, if any."""
    email: str | None = await session.scalar(
        select(region.c.coordinator_email).where(region.c.slug == region_slug)
    )
    return email


def withdrawn_ids() -> Select[uuid.UUID]:
    """Interests an older version only marked 'withdrawn' (today a withdrawal deletes the row
    at once): the life cycle's tick erases them through the same path (issue 8)."""
    return select(interest.c.id).where(interest.c.status == "withdrawn")
