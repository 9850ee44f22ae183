"""The coordinator's region (``/ansatt/region``): each organisation's waiting list, longest
wait, groups by state and facilitators' load; and the unmet demand — people in the region's
municipalities that no organisation serves (``interest.organisation_id IS NULL``), counted by
municipality and theme. Counts only: nobody is named, so no second factor is needed.

Coordinators see their region; administrators choose any (``?region=``). Staff get 403. A
region outside the viewer's scope answers 404. Each query is one grouped statement over the
region's organisations (a region has tens of them), so the page does not grow with the number
of people waiting beyond an index scan.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from sqlalchemy import case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.reference import CROSS_PROBLEM
from intake.tables import facilitator, interest, municipality, organisation, region
from intake.web.views import theme_names
from matching.states import GroupState
from matching.tables import start_group
from staff.access import Role, Viewer
from staff.csv_export import csv_response
from staff.digital_capacity import digital_capacity
from staff.guard import require_role
from staff.render import language, render

SECTION = "region"
#: A facilitator is busy with a group from their yes until it runs on its own.
BUSY = (GroupState.ACCEPTED, GroupState.SCHEDULED, GroupState.RUNNING)
STATES = tuple(GroupState)


@dataclass
class OrgLine:
    id: uuid.UUID
    name: str
    kind: str
    waiting: int = 0
    longest_days: int | None = None
    groups: dict[str, int] = field(default_factory=dict)
    facilitators: int = 0
    capacity: int = 0
    busy: int = 0


@dataclass
class UnmetLine:
    number: str
    name: str
    people: int
    longest_days: int
    themes: list[tuple[str, int]]


async def _regions(db: AsyncSession, viewer: Viewer) -> list[tuple[str, str]]:
    stmt = select(region.c.slug, region.c.name).order_by(region.c.name)
    allowed = viewer.unmet_regions()
    if allowed is not None:
        stmt = stmt.where(region.c.slug.in_(allowed))
    return [(r.slug, r.name) for r in await db.execute(stmt)]


async def organisations(db: AsyncSession, slug: str, now: datetime) -> list[OrgLine]:
    """The region's organisations with their waiting, groups and facilitators, in 4 queries."""
    rows = await db.execute(
        select(organisation.c.id, organisation.c.name, organisation.c.kind)
        .where(organisation.c.region_slug == slug)
        .order_by(organisation.c.name)
    )
    lines = {r.id: OrgLine(r.id, r.name, r.kind) for r in rows}
    if not lines:
        return []
    ids = list(lines)
    waiting = await db.execute(
        select(interest.c.organisation_id, func.count(), func.min(interest.c.waiting_since))
        .where(interest.c.organisation_id.in_(ids), interest.c.status == "waiting")
        .group_by(interest.c.organisation_id)
    )
    for org_id, count, since in waiting:
        lines[org_id].waiting = count
        lines[org_id].longest_days = (now - since).days
    groups = await db.execute(
        select(start_group.c.organisation_id, start_group.c.status, func.count())
        .where(start_group.c.organisation_id.in_(ids))
        .group_by(start_group.c.organisation_id, start_group.c.status)
    )
    for org_id, status, count in groups:
        lines[org_id].groups[status] = count
    staff = await db.execute(
        select(
            facilitator.c.organisation_id,
            func.count(),
            func.coalesce(func.sum(facilitator.c.max_concurrent_starts), 0),
        )
        .where(facilitator.c.organisation_id.in_(ids), facilitator.c.active)
        .group_by(facilitator.c.organisation_id)
    )
    for org_id, count, capacity in staff:
        lines[org_id].facilitators, lines[org_id].capacity = count, int(capacity)
    busy = await db.execute(
        select(facilitator.c.organisation_id, func.count())
        .select_from(
            start_group.join(facilitator, facilitator.c.id == start_group.c.facilitator_id)
        )
        .where(facilitator.c.organisation_id.in_(ids), start_group.c.status.in_(BUSY))
        .group_by(facilitator.c.organisation_id)
    )
    for org_id, count in busy:
        lines[org_id].busy = count
    return list(lines.values())


async def unmet_demand(db: AsyncSession, slug: str, now: datetime, lang: str) -> list[UnmetLine]:
    """People waiting in the region's municipalities no organisation serves, by municipality
    and theme (a person counts once per theme chosen; "across problems" is a theme here)."""
    unmet = (
        interest.c.organisation_id.is_(None),
        interest.c.region_slug == slug,
        interest.c.status == "waiting",
    )
    per_place = await db.execute(
        select(
            interest.c.municipality_number, municipality.c.name, func.count(),
            func.min(interest.c.waiting_since),
        )
        .join(municipality, municipality.c.number == interest.c.municipality_number)
        .where(*unmet)
        .group_by(interest.c.municipality_number, municipality.c.name)
        .order_by(func.count().desc(), municipality.c.name)
    )  # fmt: skip
    lines = {
        number: UnmetLine(number, name, count, (now - since).days, [])
        for number, name, count, since in per_place
    }
    if not lines:
        return []
    chosen = case(
        (
            interest.c.cross_problem_welcome,
            func.array_append(interest.c.themes, literal(CROSS_PROBLEM.slug)),
        ),
        else_=interest.c.themes,
    )
    themes = func.unnest(chosen).table_valued("theme").render_derived()
    per_theme = await db.execute(
        select(interest.c.municipality_number, themes.c.theme, func.count())
        .select_from(interest.join(themes, literal(True)))
        .where(*unmet)
        .group_by(interest.c.municipality_number, themes.c.theme)
        .order_by(interest.c.municipality_number, func.count().desc(), themes.c.theme)
    )
    names = theme_names(lang)
    for number, theme, count in per_theme:
        lines[number].themes.append((names.get(theme, theme), count))
    return list(lines.values())


@get("/region")
async def region_page(
    request: Request[Any, Any, Any], viewer: Viewer, db: AsyncSession, now: datetime
) -> Response[Any]:
    require_role(viewer, Role.COORDINATOR, Role.ADMINISTRATOR)
    regions = await _regions(db, viewer)
    wanted = request.query_params.get("region") or (viewer.region_slug or "")
    if not wanted and regions:
        wanted = regions[0][0]
    if wanted not in dict(regions):
        raise NotFoundException()
    lang = language(request)
    orgs = await organisations(db, wanted, now)
    unmet = await unmet_demand(db, wanted, now, lang)
    table = request.query_params.get("format") == "csv" and request.query_params.get("table")
    if table == "organisations":
        return csv_response(
            f"region-{wanted}-organisations.csv",
            ["organisation", "kind", "waiting", "longest_wait_days", *STATES,
             "facilitators", "starts_at_once", "starts_in_progress"],
            ([o.name, o.kind, o.waiting, o.longest_days if o.longest_days is not None else "",
              *(o.groups.get(s, 0) for s in STATES), o.facilitators, o.capacity, o.busy]
             for o in orgs),
        )  # fmt: skip
    if table == "unmet":
        return csv_response(
            f"region-{wanted}-unmet-demand.csv",
            ["municipality_number", "municipality", "theme", "people_waiting"],
            ([u.number, u.name, theme, count] for u in unmet for theme, count in u.themes),
        )
    org_ids = list(
        await db.scalars(select(organisation.c.id).where(organisation.c.region_slug == wanted))
    )
    names = theme_names(lang)
    return render(
        request, "region.html", viewer=viewer, section=SECTION,
        regions=regions, chosen=wanted, region_name=dict(regions)[wanted],
        orgs=orgs, unmet=unmet, states=STATES,
        unmet_total=sum(u.people for u in unmet),
        digital=await digital_capacity(db, org_ids, now=now),
        theme_name=lambda slug: names.get(slug or CROSS_PROBLEM.slug, slug),
    )  # fmt: skip


ROUTES: list[Any] = [region_page]
