"""Open data: every published table at a stable URL, as JSON-stat 2.0 and as CSV.

``/api/v1/statistics`` lists the tables; ``/api/v1/statistics/tables/{table}`` is one table
as JSON-stat 2.0 and ``/api/v1/statistics/csv/{table}`` the same cells as CSV, each for one
level of area (``?level=county``) and optionally a range of months. No key is needed: every
figure has been through disclosure control (:mod:`figures.disclosure`) before it was stored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get
from litestar.params import Parameter, QueryParameter, SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

from figures.catalogue import TABLES, AreaKind, StatTable
from figures.jsonstat import STATUS_TEXT, to_csv, to_jsonstat
from figures.read import cube, current_release
from intake.api_common import READ, problems
from intake.errors import FieldProblem, InvalidInterest, NotFound

Db = SkipValidation[AsyncSession]
Level = Literal["nation", "region", "county", "municipality", "catchment"]
_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
From = Annotated[
    str | None,
    QueryParameter(name="from", pattern=_MONTH, description="first month of sign-up, YYYY-MM"),
]
To = Annotated[
    str | None,
    QueryParameter(name="to", pattern=_MONTH, description="last month of sign-up, YYYY-MM"),
]
#: Figures change once per refresh; a shared cache may keep them a few minutes.
CACHE = {"Cache-Control": "public, max-age=300"}
TABLE_PATH = Parameter(
    description="table id, e.g. signups or waiting-by-theme (see /api/v1/statistics)",
    pattern=r"^[a-z-]{1,40}$",
)


def _table(table: str, level: str | None) -> tuple[StatTable, AreaKind]:
    found = TABLES.get(table)
    if found is None:
        raise NotFound("no such table; see /api/v1/statistics")
    chosen = level or found.levels[0]
    if chosen not in found.levels:
        raise InvalidInterest(
            [
                FieldProblem(
                    "level", "this table has the levels " + ", ".join(found.levels), "out_of_range"
                )
            ]
        )
    return found, chosen


class StatisticsController(Controller):
    """The public figures: no authentication, cached briefly."""

    path = "/api/v1/statistics"
    tags = ["statistics"]

    @get("/", responses=problems(400))
    async def tables(self, db: Db, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """The tables of the newest release, with their URLs, levels and units."""
        release = await current_release(db)
        base = str(request.base_url).rstrip("/") + self.path + "/tables/"
        return Response(
            {
                "release": None
                if release is None
                else {
                    "updated": release.created_at.isoformat(),
                    "months": [release.months[0], release.months[-1]] if release.months else [],
                },
                "suppression": STATUS_TEXT,
                "tables": [
                    {
                        "id": t.id,
                        "title": t.title,
                        "unit": t.unit,
                        "levels": list(t.levels),
                        "dimension": t.dimension,
                        "monthly": t.monthly,
                        "protected": t.protected,
                        "jsonstat": base + t.id,
                        "csv": base.replace("/tables/", "/csv/") + t.id,
                    }
                    for t in TABLES.values()
                ],
            },
            headers=CACHE,
        )

    @get("/tables/{table:str}", responses=problems(*READ, 404))
    async def jsonstat(
        self,
        db: Db,
        request: Request[Any, Any, Any],
        table: Annotated[str, TABLE_PATH],
        level: Level | None = None,
        period_from: From = None,
        period_to: To = None,
    ) -> Response[Any]:
        """One table as a JSON-stat 2.0 dataset (``value`` null and ``status`` ":" where a cell
        is suppressed). ``level`` defaults to the table's top level; ``from``/``to`` limit the
        months of sign-up. ``/api/v1/statistics/csv/{table}`` is the same cube as CSV."""
        t, lv = _table(table, level)
        release = await current_release(db)
        if release is None:
            raise NotFound("nothing is published yet: the statistics job has not run")
        data = await cube(db, release, t, lv, period_from=period_from, period_to=period_to)
        body = to_jsonstat(data, level=lv, updated=release.created_at, href=str(request.url))
        return Response(body, headers=CACHE)

    @get(
        "/csv/{table:str}",
        media_type="text/csv; charset=utf-8",
        responses=problems(*READ, 404),
    )
    async def csv(
        self,
        db: Db,
        table: Annotated[str, TABLE_PATH],
        level: Level | None = None,
        period_from: From = None,
        period_to: To = None,
    ) -> Response[str]:
        """The same cells as CSV: one row per period, area and category; ``status`` is
        "suppressed" where ``value`` is empty."""
        t, lv = _table(table, level)
        release = await current_release(db)
        if release is None:
            raise NotFound("nothing is published yet: the statistics job has not run")
        data = await cube(db, release, t, lv, period_from=period_from, period_to=period_to)
        return Response(
            to_csv(data, level=lv, updated=release.created_at),
            media_type="text/csv; charset=utf-8",
            headers={**CACHE, "Content-Disposition": f'inline; filename="{t.id}-{lv}.csv"'},
        )
