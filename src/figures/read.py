"""Reading the newest release: whole cubes for the open data, one area's figures for the pages.

Everything read here comes from ``stat_cell`` of one release (never from the live tables), so
a page or a download can only show cells that went through disclosure control together.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from figures.catalogue import NATION, SNAPSHOT, TABLES, AreaKind, StatTable, area_key
from figures.refresh import latest_release
from figures.tables import stat_cell
from intake.tables import catchment, county, municipality, organisation, region


@dataclass(frozen=True, slots=True)
class Release:
    id: int
    created_at: datetime
    months: tuple[str, ...]  # every month from the first to the last, 'YYYY-MM'


@dataclass(frozen=True, slots=True)
class Value:
    """A published cell: a number, or suppressed (``value`` None, ``suppressed`` True)."""

    value: int | None
    suppressed: bool = False

    @property
    def shown(self) -> bool:
        return not self.suppressed


ZERO = Value(0)
HIDDEN = Value(None, True)


def expand(
    category: str, value: int | None, suppressed: bool, bundled: Sequence[str] | None
) -> list[tuple[str, Value]]:
    """The cells a stored row stands for: itself, or for a bundle (several suppressed cells
    of one table, period and area in one row, see :mod:`figures.tables`) one suppressed cell
    per category it lists."""
    if bundled is not None:
        return [(c, HIDDEN) for c in bundled]
    return [(category, Value(value, suppressed))]


@dataclass
class Cube:
    """One table for one level: every (period, area, category) with a value (zeros included)."""

    table: StatTable
    periods: list[str]
    areas: list[tuple[str, str]]  # (code, name)
    categories: list[str]
    cells: dict[tuple[str, str, str], Value] = field(default_factory=dict)

    def get(self, period: str, area: str, category: str) -> Value:
        return self.cells.get((period, area, category), ZERO)


def _month_range(first: str | None, last: str | None) -> tuple[str, ...]:
    if not first or not last:
        return ()
    y, m = map(int, first.split("-"))
    out = []
    while f"{y:04d}-{m:02d}" <= last:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return tuple(out)


async def current_release(session: AsyncSession) -> Release | None:
    found = await latest_release(session)
    if found is None:
        return None
    rid, created, last = found
    from figures.tables import stat_release  # the first month is only needed here

    first = await session.scalar(select(stat_release.c.first_month).where(stat_release.c.id == rid))
    return Release(rid, created, _month_range(first, last))


#: Area names per kind, kept a minute: the registry changes rarely, and every page lists them.
_NAMES: dict[str, tuple[float, list[tuple[str, str]]]] = {}
NAMES_TTL_SECONDS = 60.0


async def area_names(
    session: AsyncSession, kind: AreaKind, *, including: Iterable[str] = ()
) -> list[tuple[str, str]]:
    """(code, name) of every area of a kind, in the order a reader expects (by code).

    Cached per process for :data:`NAMES_TTL_SECONDS`; a list that lacks one of ``including``
    (the areas a release has cells for) is read again, so an organisation registered since
    the cache was filled is never left out of a table that has its cells."""
    cached = _NAMES.get(kind)
    if cached is not None and time.monotonic() - cached[0] < NAMES_TTL_SECONDS:
        known = {code for code, _ in cached[1]}
        if all(code in known for code in including):
            return cached[1]
    names = await _read_names(session, kind)
    _NAMES[kind] = (time.monotonic(), names)
    return names


async def _read_names(session: AsyncSession, kind: AreaKind) -> list[tuple[str, str]]:
    if kind == "nation":
        return [(NATION, "Norge")]
    if kind == "region":
        stmt = select(region.c.slug, region.c.name).order_by(region.c.slug)
    elif kind == "county":
        stmt = select(county.c.number, county.c.name).order_by(county.c.number)
    elif kind == "municipality":
        stmt = select(municipality.c.number, municipality.c.name).order_by(municipality.c.number)
    else:
        stmt = select(organisation.c.slug, organisation.c.name).order_by(organisation.c.slug)
    return [(r[0], r[1]) for r in (await session.execute(stmt)).all()]


async def catchment_municipalities(session: AsyncSession, slug: str) -> list[tuple[str, str]]:
    """(number, name) of the municipalities an organisation serves (its catchment), by
    number: what its figures are the sum of."""
    stmt = (
        select(municipality.c.number, municipality.c.name)
        .join(catchment, catchment.c.municipality_number == municipality.c.number)
        .join(organisation, organisation.c.id == catchment.c.organisation_id)
        .where(organisation.c.slug == slug)
        .order_by(municipality.c.number)
    )
    return [(r[0], r[1]) for r in (await session.execute(stmt)).all()]


async def cube(
    session: AsyncSession,
    release: Release,
    table: StatTable,
    level: AreaKind,
    *,
    period_from: str | None = None,
    period_to: str | None = None,
) -> Cube:
    periods = list(release.months) if table.monthly else [SNAPSHOT]
    if table.monthly:
        periods = [
            p
            for p in periods
            if (not period_from or p >= period_from) and (not period_to or p <= period_to)
        ]
    rows = (
        await session.execute(
            select(
                stat_cell.c.period,
                stat_cell.c.area_code,
                stat_cell.c.category,
                stat_cell.c.value,
                stat_cell.c.suppressed,
                stat_cell.c.suppressed_categories,
            ).where(
                stat_cell.c.release_id == release.id,
                stat_cell.c.table_id == table.id,
                stat_cell.c.area_kind == level,
                stat_cell.c.period.in_(periods),
            )
        )
    ).all()
    cells: dict[tuple[str, str, str], Value] = {}
    for r in rows:
        for category, v in expand(r.category, r.value, r.suppressed, r.suppressed_categories):
            cells[(r.period, r.area_code, category)] = v
    categories = sorted({c for _, _, c in cells}) or ["all"]
    names = await area_names(session, level, including={area for _, area, _ in cells})
    result = Cube(table, periods, names, categories)
    result.cells = cells
    return result


@dataclass
class AreaFigures:
    """What the statistics page (and the staff console) shows for one area and month."""

    kind: AreaKind
    code: str
    month: str | None
    #: table id → category → Value, for ``month`` (snapshot tables: now).
    figures: dict[str, dict[str, Value]] = field(default_factory=dict)
    #: Sign-ups per month, oldest first (up to 12 months ending with ``month``).
    series: list[tuple[str, Value]] = field(default_factory=list)
    #: The area's parts (municipalities of a county …): code → table id → Value.
    parts: dict[str, dict[str, Value]] = field(default_factory=dict)


async def area_figures(
    session: AsyncSession,
    kind: AreaKind,
    code: str,
    *,
    month: str | None = None,
    release: Release | None = None,
) -> AreaFigures | None:
    """One area's figures from the newest release (None: nothing published yet).

    ``month`` defaults to the release's last month. Only cells of the release are returned,
    so whoever shows them (the public page, the staff console) shows protected figures.
    """
    release = release or await current_release(session)
    if release is None:
        return None
    month = month if month in release.months else (release.months[-1] if release.months else None)
    result = AreaFigures(kind, code, month)
    months = list(release.months)
    window = months[max(0, months.index(month) - 11) : months.index(month) + 1] if month else []
    own = and_(stat_cell.c.area_kind == kind, stat_cell.c.area_code == code)
    rows = (
        await session.execute(
            select(
                stat_cell.c.table_id,
                stat_cell.c.period,
                stat_cell.c.category,
                stat_cell.c.value,
                stat_cell.c.suppressed,
                stat_cell.c.suppressed_categories,
            ).where(
                stat_cell.c.release_id == release.id,
                own,
                or_(stat_cell.c.period.in_([*window, SNAPSHOT])),
            )
        )
    ).all()
    series: dict[str, Value] = {}
    for r in rows:
        for category, v in expand(r.category, r.value, r.suppressed, r.suppressed_categories):
            if r.table_id == "signups" and category == "all":
                series[r.period] = v
            if r.period in (month, SNAPSHOT):
                result.figures.setdefault(r.table_id, {})[category] = v
    result.series = [(p, series.get(p, ZERO)) for p in window]
    part_rows = (
        await session.execute(
            select(
                stat_cell.c.table_id,
                stat_cell.c.area_code,
                stat_cell.c.value,
                stat_cell.c.suppressed,
            ).where(
                stat_cell.c.release_id == release.id,
                stat_cell.c.parent == area_key(kind, code),
                stat_cell.c.table_id.in_(("signups", "waiting", "unmet")),
                stat_cell.c.category == "all",
                stat_cell.c.period.in_([p for p in (month, SNAPSHOT) if p]),
                stat_cell.c.area_kind != "catchment",
            )
        )
    ).all()
    for part in part_rows:
        result.parts.setdefault(part.area_code, {})[part.table_id] = Value(
            part.value, part.suppressed
        )
    return result


def tables_for(kind: AreaKind) -> list[StatTable]:
    return [t for t in TABLES.values() if kind in t.levels]
