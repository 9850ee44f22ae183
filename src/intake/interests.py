"""Registering and reading interest (the heart of intake).

The one-trip hot path (area cache, single statement) is in :mod:`intake.registration`.

Withdrawal erases the registration: see :mod:`intake.erasure` (and :func:`intake.progress.withdraw`,
which also lets the person's group know).

Functions take the caller's session and never commit: the HTTP request or the CLI command owns
the transaction, so a failed registration leaves nothing behind.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import receipt
from intake.consent import TEXTS as CONSENT_TEXTS
from intake.crypto import ContactCipher
from intake.errors import FieldProblem, InvalidInterest, NotFound
from intake.reference import LANGUAGES, THEMES
from intake.schemas import (
    InterestIn,
    InterestStatus,
    Registered,
    StaffInterest,
    age_band_label,
    age_band_start,
)
from intake.tables import catchment, county, interest, municipality, organisation, region

CONTACT_CONTEXT = b"interest.contact"
THEME_SLUGS = frozenset(t.slug for t in THEMES)
_INSERT_INTEREST = interest.insert()
#: One round trip: the municipality's region and every organisation serving it.
_PLACEMENT = (
    select(
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
    .where(municipality.c.number == bindparam("municipality"))
    .order_by(organisation.c.name)
)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where an interest lands: the catchment organisation (or none: unmet demand) and region."""

    organisation_id: uuid.UUID | None
    organisation_name: str | None
    region_slug: str
    region_name: str


def mask_contact(kind: str, value: str) -> str:
    """Enough to recognise one's own address, too little to use it: ``k***@e***.no``."""
    if kind == "email":
        local, _, domain = value.partition("@")
        host, _, tld = domain.rpartition(".")
        return f"{local[:1]}***@{host[:1]}***.{tld}"
    return f"{value[:3]} *** ** {value[-3:]}"


async def _place(
    session: AsyncSession,
    data: InterestIn,
    *,
    forced_org: uuid.UUID | None,
    preferred_org: uuid.UUID | None = None,
    problems: list[FieldProblem],
    field_prefix: str,
) -> Placement | None:
    rows = (await session.execute(_PLACEMENT, {"municipality": data.municipality})).all()
    if not rows:
        problems.append(
            FieldProblem(f"{field_prefix}municipality", "unknown municipality number", "unknown")
        )
        return None
    if forced_org is not None:
        # Staff register for their own organisation, wherever the person lives.
        name = (
            await session.execute(
                select(organisation.c.name).where(organisation.c.id == forced_org)
            )
        ).scalar_one()
        return Placement(forced_org, name, rows[0].region_slug, rows[0].region_name)
    area = Area(
        rows[0].region_slug,
        rows[0].region_name,
        tuple(Serving(r.id, r.slug, r.name) for r in rows if r.id is not None),
    )
    return decide(area, data, preferred_org, problems, field_prefix)


@dataclass(frozen=True, slots=True)
class Serving:
    """An organisation whose catchment holds a municipality."""

    id: uuid.UUID
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Area:
    """What placement needs to know about one municipality."""

    region_slug: str
    region_name: str
    serving: tuple[Serving, ...]

    def fingerprint(self) -> list[str]:
        """The serving organisations as the one-trip statement re-reads them (see
        :data:`intake.registration._ONE_TRIP`): a decision is stored only where these still hold."""
        return [f"{o.id}|{o.slug}|{o.name}" for o in self.serving]


def decide(
    area: Area,
    data: InterestIn,
    preferred_org: uuid.UUID | None,
    problems: list[FieldProblem],
    field_prefix: str = "",
) -> Placement | None:
    """Pure: the catchment organisation for this person, or a problem (several, or not the
    chosen one)."""
    serving = list(area.serving)
    if data.organisation is not None:
        match = [o for o in serving if data.organisation in (str(o.id), o.slug)]
        if not match:
            problems.append(
                FieldProblem(
                    f"{field_prefix}organisation",
                    "this organisation does not serve the chosen municipality",
                    "not_serving",
                )
            )
            return None
        serving = match
    elif preferred_org is not None and any(o.id == preferred_org for o in serving):
        # A referral link's organisation, when it serves where the person lives.
        serving = [o for o in serving if o.id == preferred_org]
    if len(serving) > 1:
        choices = ", ".join(f"{o.slug} ({o.name})" for o in sorted(serving, key=_by_name))
        problems.append(
            FieldProblem(
                f"{field_prefix}organisation",
                f"several organisations serve this municipality; choose one of: {choices}",
                "choose",
            )
        )
        return None
    if serving:
        return Placement(serving[0].id, serving[0].name, area.region_slug, area.region_name)
    return Placement(None, None, area.region_slug, area.region_name)


def _by_name(o: Serving) -> str:
    return o.name


def check_choices(data: InterestIn, problems: list[FieldProblem], field_prefix: str = "") -> None:
    """Problems with choices checked against reference data: themes, languages, consent.

    The theme table is seeded from :data:`intake.reference.THEMES` at every start, so the
    constant is the truth and no query is needed on the hot path.
    """
    for i, slug in enumerate(data.themes):
        if slug not in THEME_SLUGS:
            problems.append(FieldProblem(f"{field_prefix}themes[{i}]", f"unknown theme {slug!r}"))
    for i, code in enumerate(data.languages):
        if code not in LANGUAGES:
            problems.append(
                FieldProblem(f"{field_prefix}languages[{i}]", f"unsupported language {code!r}")
            )
    if data.consent.text_version not in CONSENT_TEXTS:
        problems.append(
            FieldProblem(f"{field_prefix}consent.text_version", "unknown consent text version")
        )


async def prepare(
    session: AsyncSession,
    data: InterestIn,
    *,
    forced_org: uuid.UUID | None = None,
    preferred_org: uuid.UUID | None = None,
    field_prefix: str = "",
) -> tuple[Placement | None, list[FieldProblem]]:
    """Validate one interest against the database; collects every problem, stores nothing."""
    problems: list[FieldProblem] = []
    check_choices(data, problems, field_prefix)
    placement = await _place(
        session,
        data,
        forced_org=forced_org,
        preferred_org=preferred_org,
        problems=problems,
        field_prefix=field_prefix,
    )
    return placement, problems


def _row(
    data: InterestIn,
    placement: Placement,
    *,
    code: str,
    cipher: ContactCipher,
    source: str,
    now: datetime,
    referral_id: uuid.UUID | None,
) -> dict[str, Any]:
    """The interest row's values: contact encrypted, masked and digested for look-up."""
    contact = data.contact
    return dict(
        id=uuid.uuid4(),
        receipt_hash=receipt.code_hash(code),
        municipality_number=data.municipality,
        organisation_id=placement.organisation_id,
        region_slug=placement.region_slug,
        themes=data.themes,
        cross_problem_welcome=data.cross_problem_welcome,
        age_band=age_band_start(data.age_band),
        gender=data.gender,
        same_gender=data.same_gender,
        languages=data.languages,
        slots=data.availability,
        digital_welcome=data.digital_welcome,
        contact_kind=contact.kind if contact else None,
        contact_encrypted=(
            cipher.encrypt(contact.value, context=CONTACT_CONTEXT) if contact else None
        ),
        contact_masked=mask_contact(contact.kind, contact.value) if contact else None,
        contact_lookup=cipher.lookup_digest(contact.kind, contact.value) if contact else None,
        suggestion_messages=data.suggestion_messages and contact is not None,
        # The language of any message to the person: the suggestions they opted in to, and
        # the one "do you still want a group?" before the registration lapses (intake.lapse).
        suggestion_language=data.suggestion_language if contact else None,
        consent_version=data.consent.text_version,
        consented_at=now,
        source=source,
        referral_id=referral_id,
        status="waiting",
        waiting_since=now,
        created_at=now,
        updated_at=now,
    )


def _registered(placement: Placement, code: str, now: datetime) -> Registered:
    served = placement.organisation_id is not None
    return Registered(
        receipt_code=code,
        status="waiting",
        organisation=placement.organisation_name,
        served=served,
        region=placement.region_slug,
        message=(
            f"Registered with {placement.organisation_name}."
            if served
            else (
                "No organisation serves this municipality yet. Your interest is recorded as "
                f"demand in the region {placement.region_name}, and you keep your place in "
                "line if one starts."
            )
        ),
        waiting_since=now,
    )


async def insert_interest(
    session: AsyncSession,
    data: InterestIn,
    placement: Placement,
    *,
    cipher: ContactCipher,
    source: str,
    now: datetime,
    referral_id: uuid.UUID | None = None,
) -> Registered:
    """Store a validated interest and return its receipt (the only time the code is shown)."""
    code = receipt.new_code()
    # Parameters rather than .values(): the statement compiles once and is cached (hot path).
    await session.execute(
        _INSERT_INTEREST,
        _row(
            data,
            placement,
            code=code,
            cipher=cipher,
            source=source,
            now=now,
            referral_id=referral_id,
        ),
    )
    return _registered(placement, code, now)


async def register(
    session: AsyncSession,
    data: InterestIn,
    *,
    cipher: ContactCipher,
    source: str,
    now: datetime,
    forced_org: uuid.UUID | None = None,
    preferred_org: uuid.UUID | None = None,
    referral_id: uuid.UUID | None = None,
) -> Registered:
    """Validate and store one interest, or raise :class:`InvalidInterest` with every problem."""
    placement, problems = await prepare(
        session, data, forced_org=forced_org, preferred_org=preferred_org
    )
    if problems or placement is None:
        raise InvalidInterest(problems)
    return await insert_interest(
        session, data, placement, cipher=cipher, source=source, now=now, referral_id=referral_id
    )


def _by_code(code: str) -> bytes:
    try:
        return receipt.code_hash(code)
    except receipt.InvalidReceiptCode:
        raise NotFound("no interest with this receipt code") from None


async def status(session: AsyncSession, code: str) -> InterestStatus:
    """What the person sees for their receipt code; contact data only masked."""
    row = (
        (
            await session.execute(
                select(interest, organisation.c.name.label("org_name"))
                .outerjoin(organisation, organisation.c.id == interest.c.organisation_id)
                .where(interest.c.receipt_hash == _by_code(code))
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("no interest with this receipt code")
    others = 0
    if row["status"] == "waiting":
        # Same catchment (or same region's unmet demand), same first theme — or, for someone
        # who only wants a cross-problem group, others who welcome one. A count, nothing more.
        same_place = (
            interest.c.organisation_id == row["organisation_id"]
            if row["organisation_id"] is not None
            else (interest.c.organisation_id.is_(None))
            & (interest.c.region_slug == row["region_slug"])
        )
        same_theme = (
            interest.c.themes.contains([row["themes"][0]])
            if row["themes"]
            else interest.c.cross_problem_welcome
        )
        others = (
            await session.execute(
                select(func.count())
                .select_from(interest)
                .where(
                    same_place,
                    same_theme,
                    interest.c.status == "waiting",
                    interest.c.id != row["id"],
                )
            )
        ).scalar_one()
    return InterestStatus(
        receipt_code=receipt.normalise(code),
        status=row["status"],
        organisation=row["org_name"],
        served=row["organisation_id"] is not None,
        themes=list(row["themes"]),
        cross_problem_welcome=row["cross_problem_welcome"],
        waiting_since=row["waiting_since"],
        others_waiting_same_theme=others,
        contact=row["contact_masked"],
        id=row["id"],
    )


async def id_for_code(session: AsyncSession, code: str, *, lock: bool = False) -> uuid.UUID:
    """The interest behind a receipt code; a withdrawn (erased) code is as unknown as one never
    issued. With ``lock`` the row stays locked until the transaction ends, so a withdrawal and
    a matching run (which skips locked rows) cannot interleave."""
    stmt = select(interest.c.id).where(interest.c.receipt_hash == _by_code(code))
    if lock:
        stmt = stmt.with_for_update()
    found = (await session.execute(stmt)).scalar_one_or_none()
    if found is None:
        raise NotFound("no interest with this receipt code")
    return uuid.UUID(str(found))


def _staff_view(row: RowMapping) -> StaffInterest:
    return StaffInterest(
        id=row["id"],
        status=row["status"],
        municipality=row["municipality_number"],
        themes=list(row["themes"]),
        cross_problem_welcome=row["cross_problem_welcome"],
        age_band=age_band_label(row["age_band"]),
        gender=row["gender"],
        languages=list(row["languages"]),
        availability=list(row["slots"]),
        digital_welcome=row["digital_welcome"],
        contact=row["contact_masked"],
        source=row["source"],
        waiting_since=row["waiting_since"],
    )


async def list_for_organisation(
    session: AsyncSession,
    organisation_id: uuid.UUID,
    *,
    status_filter: str | None = "waiting",
    limit: int = 100,
    offset: int = 0,
) -> list[StaffInterest]:
    """An organisation's interests, longest waiting first (staff see masked contact only)."""
    stmt = select(interest).where(interest.c.organisation_id == organisation_id)
    if status_filter:
        stmt = stmt.where(interest.c.status == status_filter)
    stmt = stmt.order_by(interest.c.waiting_since, interest.c.id).limit(limit).offset(offset)
    rows = (await session.execute(stmt)).mappings().all()
    return [_staff_view(r) for r in rows]


async def get_for_organisation(
    session: AsyncSession, organisation_id: uuid.UUID, interest_id: uuid.UUID
) -> StaffInterest:
    """One interest; another organisation's interest is indistinguishable from none."""
    row = (
        (
            await session.execute(
                select(interest).where(
                    interest.c.id == interest_id, interest.c.organisation_id == organisation_id
                )
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("no such interest in your organisation")
    return _staff_view(row)
