"""The console's statistics page (``/ansatt/statistikk``, issue 11): the published figures of
an area the viewer may choose, and the operational figures of the viewer's own organisations.

The published figures come from :func:`figures.read.area_figures` — the cells of the newest
release, protected exactly as on the public page — and are shown with the public page's own
partial (``_area_figures.html``), so the console can never show a figure less protected than
``/statistikk`` does. Which areas one may choose follows the role:

- **administrators**: the nation, every region, county and municipality;
- **coordinators**: their region, its counties and municipalities, and its organisations'
  catchments (groups and time to placement);
- **staff**: their organisation's catchment and the municipalities it serves. The figures are
  public anyway, and "how many wait where we work" is a question staff ask; the page is not a
  way to see another organisation's operations.

Any other area answers 404, like an unknown one (the chooser offers only one's own).

The operational figures are the organisations' own work, not published statistics, and are
shown unsuppressed (they count no one's health data and name no participant): waiting now and
the longest wait, start notices no facilitator has answered yet and how long they have waited,
and each facilitator's open groups against how many they take at once, paused or not. They
reuse the region page's per-organisation query and the facilitator list's; only the
outstanding start notices are read here. Administrators see them for the chosen area's region
(all organisations for the nation), coordinators for their region, staff for their
organisation.

This module is in the composition root because it joins two packages of the same layer
(``staff`` and ``figures``), which must not import each other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any

from litestar import Request, Response, Router, get
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

import figures
from figures.catalogue import NATION, AreaKind, area_key, parse_area
from figures.pages import OSLO
from figures.read import area_figures, area_names, current_release
from figures.views import AreaView, area_view
from groups import facilitator_admin
from groups.common import reference, theme_name
from groups.facilitators import local_day
from groups.tables import facilitator_offer
from intake.tables import catchment, county, facilitator, municipality, organisation
from intake.web.i18n import Translator
from intake.web.views import date_and_time
from matching.tables import start_group
from staff.access import Role, Viewer
from staff.config import StaffConfig
from staff.csv_export import csv_response
from staff.guard import EXCEPTION_HANDLERS, viewer_providers
from staff.region_pages import OrgLine
from staff.region_pages import organisations as region_organisations
from staff.render import add_templates, language, render

SECTION = "statistics"
#: The public page's templates: the console includes its ``_area_figures.html``.
FIGURES_TEMPLATES = Path(figures.__file__).parent / "templates"
#: Start notices and facilitators listed on the page (the full lists are on their own pages).
SHOWN = 50
#: The area one level down, whose figures an area's "where people wait" chart ranks.
CHILD: dict[str, AreaKind] = {"nation": "region", "region": "county", "county": "municipality"}

Choices = list[tuple[str, list[tuple[str, str]]]]


async def _rows(db: AsyncSession, stmt: Any) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in (await db.execute(stmt)).all()]


async def area_choices(db: AsyncSession, viewer: Viewer, t: Translator) -> Choices:
    """The areas this viewer may choose, grouped for the chooser: (label, [(key, name)])."""
    if viewer.role is Role.ADMINISTRATOR:
        groups: Choices = [
            (t.gettext("Norway"), [(area_key("nation", NATION), t.gettext("Norway"))])
        ]
        for kind, label in (
            ("region", t.gettext("Regions")),
            ("county", t.gettext("Counties")),
            ("municipality", t.gettext("Municipalities")),
        ):
            names = await area_names(db, kind)  # type: ignore[arg-type]
            groups.append((label, [(area_key(kind, code), name) for code, name in names]))
        return groups
    if viewer.role is Role.COORDINATOR:
        slug = viewer.region_slug or ""
        own = await _rows(
            db,
            select(organisation.c.slug, organisation.c.name)
            .where(organisation.c.region_slug == slug)
            .order_by(organisation.c.name),
        )
        regions = dict(await area_names(db, "region"))
        counties = await _rows(
            db,
            select(county.c.number, county.c.name)
            .where(county.c.region_slug == slug)
            .order_by(county.c.number),
        )
        places = await _rows(
            db,
            select(municipality.c.number, municipality.c.name)
            .join(county, county.c.number == municipality.c.county_number)
            .where(county.c.region_slug == slug)
            .order_by(municipality.c.number),
        )
        region_row = [(area_key("region", slug), regions[slug])] if slug in regions else []
        groups = [
            (t.gettext("Region"), region_row),
            (t.gettext("Counties"), [(area_key("county", c), n) for c, n in counties]),
            (t.gettext("Municipalities"), [(area_key("municipality", c), n) for c, n in places]),
        ]
        label = t.gettext("Organisations (the municipalities they serve)")
        groups.append((label, [(area_key("catchment", code), name) for code, name in own]))
        return groups
    own = await _rows(db, select(organisation.c.slug, organisation.c.name)
                      .where(organisation.c.id == viewer.organisation_id))  # fmt: skip
    served = await _rows(
        db,
        select(municipality.c.number, municipality.c.name)
        .join(catchment, catchment.c.municipality_number == municipality.c.number)
        .where(catchment.c.organisation_id == viewer.organisation_id)
        .order_by(municipality.c.number),
    )
    return [
        (t.gettext("Your organisation (the municipalities it serves)"),
         [(area_key("catchment", code), name) for code, name in own]),
        (t.gettext("Municipalities your organisation serves"),
         [(area_key("municipality", code), name) for code, name in served]),
    ]  # fmt: skip


@dataclass(frozen=True)
class OfferLine:
    """A start notice no facilitator has answered yet."""

    group_id: uuid.UUID
    ref: str
    theme: str
    organisation: str
    facilitator: str
    waited_days: int
    respond_by: str


@dataclass
class Operations:
    organisations: list[OrgLine]
    offers: list[OfferLine]
    #: organisation id → (start notices outstanding, days the oldest has waited).
    outstanding: dict[uuid.UUID, tuple[int, int]] = field(default_factory=dict)
    facilitators: list[facilitator_admin.FacilitatorRow] = field(default_factory=list)
    facilitators_total: int = 0

    @property
    def waiting(self) -> int:
        return sum(o.waiting for o in self.organisations)

    @property
    def longest_days(self) -> int | None:
        return max((o.longest_days for o in self.organisations if o.longest_days is not None),
                   default=None)  # fmt: skip

    @property
    def offers_total(self) -> int:
        return sum(count for count, _ in self.outstanding.values())

    def name(self, org_id: uuid.UUID) -> str:
        return next((o.name for o in self.organisations if o.id == org_id), "")


async def _region_of(db: AsyncSession, kind: AreaKind, code: str) -> str | None:
    """The region an area lies in (None for the nation)."""
    if kind == "region":
        return code
    if kind == "county":
        return await db.scalar(select(county.c.region_slug).where(county.c.number == code))
    if kind == "municipality":
        return await db.scalar(
            select(county.c.region_slug)
            .join(municipality, municipality.c.county_number == county.c.number)
            .where(municipality.c.number == code)
        )
    if kind == "catchment":
        return await db.scalar(
            select(organisation.c.region_slug).where(organisation.c.slug == code)
        )
    return None


async def operations(
    db: AsyncSession, viewer: Viewer, kind: AreaKind, code: str, now: datetime, lang: str
) -> Operations:
    """The operational figures of the viewer's organisations (for an administrator: those in
    the chosen area's region, or all of them for the nation)."""
    allowed = set(await viewer.organisations(db))
    region_filter: ColumnElement[bool] = organisation.c.id.in_(allowed)
    if viewer.role is Role.ADMINISTRATOR and kind != "nation":
        region_filter = organisation.c.region_slug == await _region_of(db, kind, code)
    slugs = (await db.scalars(
        select(organisation.c.region_slug).where(region_filter).distinct()
        .order_by(organisation.c.region_slug)
    )).all()  # fmt: skip
    lines = [
        line
        for slug in slugs
        for line in await region_organisations(db, slug, now)
        if line.id in allowed
    ]
    ids = [line.id for line in lines]
    result = Operations(lines, [])
    if not ids:
        return result
    pending = (
        select(
            start_group.c.id, start_group.c.theme, start_group.c.organisation_id,
            facilitator.c.name.label("facilitator"), facilitator_offer.c.sent_at,
            facilitator_offer.c.respond_by,
        )
        .join(start_group, start_group.c.id == facilitator_offer.c.group_id)
        .join(facilitator, facilitator.c.id == facilitator_offer.c.facilitator_id)
        .where(start_group.c.organisation_id.in_(ids), facilitator_offer.c.status == "pending")
    )  # fmt: skip
    listed = pending.subquery()
    counts = await db.execute(
        select(listed.c.organisation_id, func.count(), func.min(listed.c.sent_at)).group_by(
            listed.c.organisation_id
        )
    )
    for org_id, count, oldest in counts:
        result.outstanding[org_id] = (count, (now - oldest).days)
    names = {line.id: line.name for line in lines}
    rows = await db.execute(pending.order_by(facilitator_offer.c.sent_at).limit(SHOWN))
    result.offers = [
        OfferLine(r.id, reference(r.id), theme_name(r.theme, lang), names[r.organisation_id],
                  r.facilitator, (now - r.sent_at).days, date_and_time(r.respond_by, lang))
        for r in rows
    ]  # fmt: skip
    result.facilitators, result.facilitators_total = await facilitator_admin.listing(
        db, ids, limit=SHOWN
    )
    return result


def operations_csv(ops: Operations, table: str, today: date) -> Response[bytes]:
    """One operational table as CSV, exactly what the page lists (no contact data)."""
    if table == "organisations":
        return csv_response(
            "statistikk-organisations.csv",
            ["organisation", "waiting", "longest_wait_days", "start_notices_not_answered",
             "oldest_not_answered_days", "facilitators", "starts_in_progress", "starts_at_once"],
            ([o.name, o.waiting, "" if o.longest_days is None else o.longest_days,
              *ops.outstanding.get(o.id, (0, "")), o.facilitators, o.busy, o.capacity]
             for o in ops.organisations),
        )  # fmt: skip
    if table == "offers":
        return csv_response(
            "statistikk-start-notices.csv",
            ["group", "theme", "organisation", "facilitator", "waited_days", "answer_due"],
            ([f.ref, f.theme, f.organisation, f.facilitator, f.waited_days, f.respond_by]
             for f in ops.offers),
        )  # fmt: skip
    if table == "facilitators":
        return csv_response(
            "statistikk-facilitators.csv",
            ["facilitator", "organisation", "open_groups", "starts_at_once", "active", "paused"],
            ([f.name, ops.name(f.organisation_id), f.load, f.max_concurrent_starts,
              "yes" if f.active else "no", "yes" if f.paused_on(today) else "no"]
             for f in ops.facilitators),
        )  # fmt: skip
    raise NotFoundException()


@get("/statistikk", name="staff-statistics")
async def console_figures_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    viewer: Viewer,
    now: datetime,
    area: Annotated[str | None, Parameter(max_length=100)] = None,
    month: Annotated[str | None, Parameter(max_length=7)] = None,
) -> Response[Any]:
    lang = language(request)
    t = Translator(lang)
    choices = await area_choices(db, viewer, t)
    names = {key: name for _, group in choices for key, name in group}
    if area is None:
        first = next((group[0][0] for _, group in choices if group), None)
        if first is None:  # an organisation without a catchment: nothing of its own to show
            raise NotFoundException()
        area = first
    chosen = parse_area(area)
    if chosen is None or area_key(*chosen) not in names:
        raise NotFoundException()  # another region's area looks like an unknown one
    kind, code = chosen
    ops = await operations(db, viewer, kind, code, now, lang)
    if request.query_params.get("format") == "csv":
        return operations_csv(ops, request.query_params.get("table", ""), local_day(now))
    release = await current_release(db)
    found = await area_figures(db, kind, code, month=month, release=release)
    view: AreaView | None = None
    if found is not None:
        child = CHILD.get(kind)
        part_names = dict(await area_names(db, child)) if child else {}
        view = area_view(found, name=names[area_key(kind, code)], part_names=part_names, t=t)
    return render(
        request, "console_figures.html", viewer=viewer, section=SECTION,
        choices=choices, chosen=area_key(kind, code), area_name=names[area_key(kind, code)],
        months=list(reversed(release.months)) if release else [], view=view,
        updated=release.created_at.astimezone(OSLO).strftime("%Y-%m-%d %H:%M") if release else None,
        ops=ops, today=local_day(now),
    )  # fmt: skip


def console_figures_router(config: StaffConfig) -> Router:
    """The page under ``/ansatt`` with the console's own viewer dependencies and sign-in
    redirects (those of :func:`staff.routes.console_router`), and the public page's templates
    on the console's loader."""
    add_templates(FIGURES_TEMPLATES)
    return Router(
        path="/ansatt",
        route_handlers=[console_figures_page],
        dependencies={name: Provide(fn) for name, fn in viewer_providers(config).items()},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        include_in_schema=False,
    )
