"""The registry: organisations, their catchments, facilitators (igangsettere) and API keys."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake import receipt
from intake.errors import FieldProblem, InvalidInterest, NotFound
from intake.registration import AREAS
from intake.tables import (
    ORGANISATION_KINDS,
    api_key,
    catchment,
    county,
    facilitator,
    interest,
    municipality,
    organisation,
)

ROLES = ("referrer", "staff")
#: The facilitator "theme" meaning they start groups across problems (på tvers).
ACROSS = "across"


@dataclass(frozen=True, slots=True)
class Organisation:
    """A LINK, a contact point (kontaktpunkt), a learning-and-mastery or municipal service."""

    id: uuid.UUID
    slug: str
    name: str
    kind: str
    region_slug: str
    contact_email: str | None
    municipalities: tuple[str, ...]
    #: The legal data controller (behandlingsansvarlig), e.g. "Oslo kommune"; None: national.
    controller_name: str | None = None
    #: E-mail or phone of whom to ask about privacy; None: ``contact_email``, then national.
    privacy_contact: str | None = None


@dataclass(frozen=True, slots=True)
class Controller:
    """Who is responsible for a person's data, and how to reach them about privacy."""

    name: str
    contact: str
    #: The organisation this is named for; None for the national fallback.
    organisation: str | None = None


def controller_of(org: Organisation | None, national: Controller) -> Controller:
    """The controller a person of ``org`` deals with: the organisation's own where the registry
    names one, else the national operator; the contact falls back to the organisation's address
    before the national one, since that is where people already write."""
    if org is None:
        return national
    return Controller(
        name=org.controller_name or national.name,
        contact=org.privacy_contact or org.contact_email or national.contact,
        organisation=org.name,
    )


async def controller_for_receipt(
    session: AsyncSession, code: str, national: Controller
) -> Controller:
    """The controller of the organisation a receipt code's sign-up is placed with (national if
    unplaced, or if the code finds nothing)."""
    try:
        digest = receipt.code_hash(code)
    except receipt.InvalidReceiptCode:
        return national
    row = (
        await session.execute(
            select(
                organisation.c.name,
                organisation.c.contact_email,
                organisation.c.controller_name,
                organisation.c.privacy_contact,
            )
            .join(interest, interest.c.organisation_id == organisation.c.id)
            .where(interest.c.receipt_hash == digest)
        )
    ).first()
    if row is None:
        return national
    return Controller(
        name=row.controller_name or national.name,
        contact=row.privacy_contact or row.contact_email or national.contact,
        organisation=row.name,
    )


@dataclass(frozen=True, slots=True)
class ApiPrincipal:
    """Who is calling with an API key: always scoped to one organisation."""

    key_id: uuid.UUID
    organisation_id: uuid.UUID
    role: str


def slugify(name: str) -> str:
    from intake.reference import fold

    return re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")


async def add_organisation(
    session: AsyncSession,
    *,
    name: str,
    kind: str,
    municipalities: Sequence[str],
    region_slug: str | None = None,
    contact_email: str | None = None,
    coordinator_email: str | None = None,
    slug: str | None = None,
    rules: dict[str, Any] | None = None,
    controller_name: str | None = None,
    privacy_contact: str | None = None,
) -> Organisation:
    """Create or update an organisation (matched by slug) and set its catchment.

    The region defaults to that of the first municipality's county, since a catchment is one
    or several neighbouring municipalities.
    """
    problems: list[FieldProblem] = []
    if kind not in ORGANISATION_KINDS:
        problems.append(FieldProblem("kind", f"must be one of {', '.join(ORGANISATION_KINDS)}"))
    found = dict(
        (
            await session.execute(
                select(municipality.c.number, county.c.region_slug)
                .join(county, county.c.number == municipality.c.county_number)
                .where(municipality.c.number.in_(list(municipalities)))
            )
        ).all()
    )
    unknown = [m for m in municipalities if m not in found]
    if unknown:
        problems.append(FieldProblem("municipalities", f"unknown: {', '.join(unknown)}"))
    if problems:
        raise InvalidInterest(problems)
    region_slug = region_slug or (found[municipalities[0]] if municipalities else None)
    if region_slug is None:
        raise InvalidInterest([FieldProblem("region", "give a region or a municipality")])
    values = {
        "slug": slug or slugify(name),
        "name": name,
        "kind": kind,
        "region_slug": region_slug,
        "contact_email": contact_email,
        "coordinator_email": coordinator_email,
        "rules": rules or {},
        "controller_name": controller_name,
        "privacy_contact": privacy_contact,
    }
    stmt = insert(organisation).values(id=uuid.uuid4(), **values)
    org_id = (
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["slug"], set_={k: stmt.excluded[k] for k in values}
            ).returning(organisation.c.id)
        )
    ).scalar_one()
    await session.execute(delete(catchment).where(catchment.c.organisation_id == org_id))
    if municipalities:
        await session.execute(
            insert(catchment).values(
                [{"organisation_id": org_id, "municipality_number": m} for m in municipalities]
            )
        )
    # This process's placement cache drops its copy now; other processes find out from the
    # registration statement's re-check (registration.AreaCache), so neither ever places wrongly.
    AREAS.invalidate()
    return Organisation(
        org_id,
        str(values["slug"]),
        name,
        kind,
        region_slug,
        contact_email,
        tuple(municipalities),
        controller_name,
        privacy_contact,
    )


async def list_organisations(
    session: AsyncSession, *, municipality_number: str | None = None
) -> list[Organisation]:
    """Organisations, optionally only those whose catchment includes a municipality."""
    munis = func.coalesce(
        func.array_agg(catchment.c.municipality_number).filter(
            catchment.c.municipality_number.is_not(None)
        ),
        [],
    )
    stmt = (
        select(organisation, munis.label("munis"))
        .outerjoin(catchment, catchment.c.organisation_id == organisation.c.id)
        .group_by(organisation.c.id)
        .order_by(organisation.c.name)
    )
    if municipality_number is not None:
        served = select(catchment.c.organisation_id).where(
            catchment.c.municipality_number == municipality_number
        )
        stmt = stmt.where(organisation.c.id.in_(served))
    rows = (await session.execute(stmt)).mappings().all()
    return [
        Organisation(
            r["id"],
            r["slug"],
            r["name"],
            r["kind"],
            r["region_slug"],
            r["contact_email"],
            tuple(sorted(r["munis"])),
            r["controller_name"],
            r["privacy_contact"],
        )
        for r in rows
    ]


async def organisation_by_ref(session: AsyncSession, ref: str) -> Organisation:
    """Find an organisation by id or slug."""
    for org in await list_organisations(session):
        if str(org.id) == ref or org.slug == ref:
            return org
    raise NotFound(f"no organisation {ref!r}")


async def add_facilitator(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    name: str,
    email: str | None,
    themes: Sequence[str],
    languages: Sequence[str] = ("no",),
    max_concurrent_starts: int = 1,
    digital: bool = False,
    phone: str | None = None,
) -> uuid.UUID:
    """Register an igangsetter with the themes and languages they start groups for.

    Themes are theme slugs or ``across`` (they start cross-problem groups).
    """
    from intake.reference import LANGUAGES, THEMES

    known = {t.slug for t in THEMES} | {ACROSS}
    problems = [FieldProblem("themes", f"unknown theme {t!r}") for t in themes if t not in known]
    problems += [
        FieldProblem("languages", f"unsupported language {code!r}")
        for code in languages
        if code not in LANGUAGES
    ]
    if not themes:
        problems.append(FieldProblem("themes", "give at least one theme (or 'across')"))
    if max_concurrent_starts < 1:
        problems.append(FieldProblem("max_concurrent_starts", "must be at least 1"))
    if problems:
        raise InvalidInterest(problems)
    fid = uuid.uuid4()
    await session.execute(
        insert(facilitator).values(
            id=fid,
            organisation_id=organisation_id,
            name=name,
            email=email,
            phone=phone,
            themes=list(themes),
            languages=list(languages),
            max_concurrent_starts=max_concurrent_starts,
            digital=digital,
        )
    )
    return fid


# --- API keys -----------------------------------------------------------------------------
# Format "shk_<prefix>_<secret>": the prefix finds the row, only SHA-256(secret) is stored.
# The secret has 256 bits of entropy, so a plain hash (no slow KDF) is the right tool.


def _hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


#: ``last_used_at`` is written at most this often, so an API call does not write a row each time.
LAST_USED_GRAIN = timedelta(hours=1)


async def create_api_key(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    role: str,
    label: str | None = None,
    expires_at: datetime | None = None,
) -> str:
    """Create a key and return it in clear text: the only time it is ever shown. A key with
    ``expires_at`` is refused from then on (None: until revoked)."""
    if role not in ROLES:
        raise InvalidInterest([FieldProblem("role", f"must be one of {', '.join(ROLES)}")])
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    await session.execute(
        insert(api_key).values(
            id=uuid.uuid4(),
            organisation_id=organisation_id,
            role=role,
            prefix=prefix,
            secret_hash=_hash_secret(secret),
            label=label,
            expires_at=expires_at,
        )
    )
    return f"shk_{prefix}_{secret}"


async def authenticate(
    session: AsyncSession, presented: str, *, now: datetime | None = None
) -> ApiPrincipal | None:
    """The principal for a presented key, or None if unknown, malformed, revoked or expired
    (at ``now``, the service clock; the database's clock without it)."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != "shk":
        return None
    at: Any = now if now is not None else func.now()
    row = (
        await session.execute(
            select(
                api_key.c.id,
                api_key.c.organisation_id,
                api_key.c.role,
                api_key.c.secret_hash,
                api_key.c.last_used_at,
            ).where(
                api_key.c.prefix == parts[1],
                api_key.c.revoked_at.is_(None),
                or_(api_key.c.expires_at.is_(None), api_key.c.expires_at > at),
            )
        )
    ).first()
    if row is None or not hmac.compare_digest(row.secret_hash, _hash_secret(parts[2])):
        return None
    if now is not None and (row.last_used_at is None or row.last_used_at < now - LAST_USED_GRAIN):
        await session.execute(
            update(api_key).where(api_key.c.id == row.id).values(last_used_at=now)
        )
    return ApiPrincipal(row.id, row.organisation_id, row.role)
