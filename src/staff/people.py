"""The people a staff member may see: the scope rule over ``interest`` and the waiting list's
query (filters, one page, the count), shared by the waiting list, a person's record and today's
work.

One rule, in one place: a person is in scope when their organisation is one of
:meth:`staff.access.Viewer.organisations`, or, for coordinators and administrators, when they
are unmet demand (no organisation) in a region of :meth:`staff.access.Viewer.unmet_regions`.
Everything outside the scope answers exactly like an id that does not exist.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.reference import CROSS_PROBLEM, LANGUAGES, THEMES
from intake.schemas import SLOTS
from intake.tables import catchment, county, interest, municipality, organisation
from staff.access import Viewer

PAGE_SIZE = 50
#: A CSV export holds at most this many rows (a region's whole list; more is a database job).
EXPORT_LIMIT = 20_000
SOURCES = ("self", "staff", "referral")
#: What the list shows by default: those still waiting; "live" is everyone not yet erased.
STATUSES = ("waiting", "proposed", "invited", "placed")
_THEMES = frozenset(t.slug for t in THEMES) | {CROSS_PROBLEM.slug}


async def in_scope(db: AsyncSession, viewer: Viewer) -> ColumnElement[bool]:
    """The WHERE clause of the people this viewer may read and act for."""
    orgs = await viewer.organisations(db)
    parts: list[ColumnElement[bool]] = []
    if orgs:
        parts.append(interest.c.organisation_id.in_(orgs))
    regions = viewer.unmet_regions()
    if regions is None:
        parts.append(interest.c.organisation_id.is_(None))
    elif regions:
        parts.append(
            and_(interest.c.organisation_id.is_(None), interest.c.region_slug.in_(regions))
        )
    return or_(*parts) if parts else false()


@dataclass(frozen=True)
class Filters:
    """The waiting list's GET form, checked: an unknown value is dropped, never an error (a
    bookmarked list survives a theme being renamed)."""

    theme: str = ""
    municipality: str = ""
    language: str = ""
    slot: str = ""
    source: str = ""
    weeks: int = 0  # waited at least this many weeks
    #: One of the viewer's organisations (its id) or "none": the unmet demand. ANDed with the
    #: viewer's scope, so an id from elsewhere simply matches nobody.
    organisation: str = ""
    status: str = "waiting"
    page: int = 1

    @classmethod
    def parse(cls, query: dict[str, str]) -> Filters:
        def pick(name: str, allowed: Any) -> str:
            value = query.get(name, "").strip()
            return value if value in allowed else ""

        def number(name: str, low: int, high: int, default: int) -> int:
            raw = query.get(name, "").strip()
            return min(max(int(raw), low), high) if raw.isdigit() else default

        muni = query.get("municipality", "").strip()
        org = query.get("organisation", "").strip()
        try:
            org = org if org == "none" else str(uuid.UUID(org))
        except ValueError:
            org = ""
        status = query.get("status", "waiting").strip()
        return cls(
            theme=pick("theme", _THEMES),
            municipality=muni if len(muni) == 4 and muni.isdigit() else "",
            language=pick("language", LANGUAGES),
            slot=pick("slot", SLOTS),
            source=pick("source", SOURCES),
            weeks=number("weeks", 0, 520, 0),
            status=status if status in (*STATUSES, "all") else "waiting",
            page=number("page", 1, 100_000, 1),
            organisation=org,
        )

    def query(self, **changes: Any) -> dict[str, str]:
        """The form's values as query parameters (for pagination and the CSV link)."""
        values = {
            "theme": self.theme,
            "municipality": self.municipality,
            "language": self.language,
            "slot": self.slot,
            "source": self.source,
            "weeks": str(self.weeks) if self.weeks else "",
            "status": self.status if self.status != "waiting" else "",
            "organisation": self.organisation,
            "page": str(self.page) if self.page > 1 else "",
        }
        values.update({k: str(v) for k, v in changes.items()})
        return {k: v for k, v in values.items() if v}

    def where(self, now: datetime) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        if self.status == "all":
            conds.append(interest.c.status.in_(STATUSES))
        else:
            conds.append(interest.c.status == self.status)
        if self.theme == CROSS_PROBLEM.slug:
            conds.append(interest.c.cross_problem_welcome)
        elif self.theme:
            conds.append(interest.c.themes.contains([self.theme]))
        if self.municipality:
            conds.append(interest.c.municipality_number == self.municipality)
        if self.language:
            conds.append(interest.c.languages.contains([self.language]))
        if self.slot:
            conds.append(interest.c.slots.contains([self.slot]))
        if self.source:
            conds.append(interest.c.source == self.source)
        if self.weeks:
            conds.append(interest.c.waiting_since <= now - timedelta(weeks=self.weeks))
        if self.organisation == "none":
            conds.append(interest.c.organisation_id.is_(None))
        elif self.organisation:
            conds.append(interest.c.organisation_id == uuid.UUID(self.organisation))
        return conds


@dataclass(frozen=True)
class Person:
    """One row of the list: what staff need to act, nothing that names or reaches the person."""

    id: uuid.UUID
    municipality_number: str
    municipality_name: str
    organisation_id: uuid.UUID | None
    organisation_name: str | None
    region_slug: str
    themes: list[str]
    cross_problem_welcome: bool
    languages: list[str]
    slots: list[str]
    digital_welcome: bool
    status: str
    source: str
    waiting_since: datetime
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        """Pseudonymous: enough to find the person again on the list, never the receipt code."""
        return reference(self.id)

    def waited_days(self, now: datetime) -> int:
        return max(0, (now - self.waiting_since).days)


def reference(interest_id: uuid.UUID) -> str:
    return interest_id.hex[:8]


_COLUMNS = (
    interest.c.id,
    interest.c.municipality_number,
    municipality.c.name.label("municipality_name"),
    interest.c.organisation_id,
    organisation.c.name.label("organisation_name"),
    interest.c.region_slug,
    interest.c.themes,
    interest.c.cross_problem_welcome,
    interest.c.languages,
    interest.c.slots,
    interest.c.digital_welcome,
    interest.c.status,
    interest.c.source,
    interest.c.waiting_since,
)


def _select(*extra: Any, base: Any = interest) -> Any:
    return select(*_COLUMNS, *extra).select_from(
        base.join(municipality, municipality.c.number == interest.c.municipality_number).outerjoin(
            organisation, organisation.c.id == interest.c.organisation_id
        )
    )


_FIELDS = tuple(c.name for c in _COLUMNS)
#: What a person's record shows beyond a list row.
_RECORD = (
    interest.c.age_band,
    interest.c.gender,
    interest.c.same_gender,
    interest.c.contact_kind,
    interest.c.contact_masked,
    interest.c.created_at,
)


def _person(row: Any, extra: tuple[str, ...] = ()) -> Person:
    # Keyed look-ups only: asking a row for its keys() costs more than the query (measured).
    m = row._mapping
    return Person(**{k: m[k] for k in _FIELDS}, extra={k: m[k] for k in extra})


async def waiting_list(
    db: AsyncSession,
    viewer: Viewer,
    filters: Filters,
    *,
    now: datetime,
    limit: int = PAGE_SIZE,
    offset: int | None = None,
) -> tuple[list[Person], int]:
    """One page of the filtered list, longest waiting first, and how many match in all."""
    scope = await in_scope(db, viewer)
    conds = [scope, *filters.where(now)]
    total = await db.scalar(select(func.count()).select_from(interest).where(*conds))
    start = (filters.page - 1) * PAGE_SIZE if offset is None else offset
    # The page is chosen on the narrow (waiting_since, id) index first and only its rows are
    # joined: sorting 20,000 full rows to keep 50 is what made the list slow.
    page = (
        select(interest.c.id, interest.c.waiting_since)
        .where(*conds)
        .order_by(interest.c.waiting_since, interest.c.id)
        .limit(limit)
        .offset(start)
        .subquery("page")
    )
    rows = await db.execute(
        _select(base=interest.join(page, page.c.id == interest.c.id)).order_by(
            page.c.waiting_since, page.c.id
        )
    )
    return [_person(r) for r in rows], int(total or 0)


async def municipalities_in_scope(db: AsyncSession, viewer: Viewer) -> list[tuple[str, str]]:
    """The municipalities the viewer's organisations serve, and those of the regions whose
    unmet demand they see, for the filter (number, name): reference data, not a scan of
    the people."""
    orgs = await viewer.organisations(db)
    served = select(catchment.c.municipality_number).where(catchment.c.organisation_id.in_(orgs))
    regions = viewer.unmet_regions()
    unmet = select(municipality.c.number).join(
        county, county.c.number == municipality.c.county_number
    )
    if regions is not None:
        unmet = unmet.where(county.c.region_slug.in_(regions) if regions else false())
    rows = await db.execute(
        select(municipality.c.number, municipality.c.name)
        .where(or_(municipality.c.number.in_(served), municipality.c.number.in_(unmet)))
        .order_by(municipality.c.name)
    )
    return [(r.number, r.name) for r in rows]


async def find(
    db: AsyncSession, viewer: Viewer, interest_id: uuid.UUID, *, lock: bool = False
) -> Person | None:
    """One person in scope (None: unknown, erased, or not the viewer's — indistinguishable)."""
    stmt = _select(*_RECORD).where(interest.c.id == interest_id, await in_scope(db, viewer))
    if lock:
        stmt = stmt.with_for_update(of=interest)
    row = (await db.execute(stmt)).first()
    return _person(row, tuple(c.name for c in _RECORD)) if row is not None else None


async def organisations_in_scope(db: AsyncSession, viewer: Viewer) -> list[tuple[str, str]]:
    """(id, name) of the viewer's organisations, for the filter of those who have several."""
    orgs = await viewer.organisations(db)
    rows = await db.execute(
        select(organisation.c.id, organisation.c.name)
        .where(organisation.c.id.in_(orgs))
        .order_by(organisation.c.name)
    )
    return [(str(r.id), r.name) for r in rows]
