"""``/ansatt/logg``: the audit trail for coordinators (their region) and administrators (all).

Filters by user, action, record and dates; 50 rows a page, newest first; the same rows as CSV.
Staff have no access (403): the trail shows what colleagues did. Reading the trail needs the
second factor, like the records it points at.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from sqlalchemy.ext.asyncio import AsyncSession

from intake.web.i18n import Translator
from intake.web.views import OSLO, date_and_time
from staff.access import Role, Viewer
from staff.audit_trail import TrailFilter, read_trail
from staff.csv_export import csv_response
from staff.guard import require_role
from staff.render import language, render

PAGE = 50
#: Query names of the filters (the form's field names).
FIELDS = ("bruker", "handling", "type", "id", "fra", "til")


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


def _filter(
    request: Request[Any, Any, Any], t: Translator
) -> tuple[TrailFilter, dict[str, str], dict[str, str]]:
    form = {k: request.query_params.get(k, "").strip()[:200] for k in FIELDS}
    errors: dict[str, str] = {}
    dates: dict[str, date | None] = {}
    for key in ("fra", "til"):
        try:
            dates[key] = _date(form[key])
        except ValueError:
            dates[key] = None
            errors[key] = t.gettext("Write the date as YYYY-MM-DD, for example 2026-12-01.")
    f = TrailFilter(
        user=form["bruker"],
        action=form["handling"],
        record_kind=form["type"],
        record_id=form["id"],
        since=dates["fra"],
        until=dates["til"],
    )
    return f, form, errors


def _page_number(request: Request[Any, Any, Any]) -> int:
    try:
        return max(1, int(request.query_params.get("side", "1")))
    except ValueError:
        return 1


@get("/logg")
async def audit_page(
    request: Request[Any, Any, Any], db: AsyncSession, health_viewer: Viewer
) -> Response[Any]:
    viewer = health_viewer
    require_role(viewer, Role.COORDINATOR, Role.ADMINISTRATOR)
    lang = language(request)
    t = Translator(lang)
    f, form, errors = _filter(request, t)
    if request.query_params.get("format") == "csv" and not errors:
        rows, _ = await read_trail(db, viewer, f, limit=100_000)
        return csv_response(
            "audit.csv",
            ["at", "user", "action", "record_kind", "record_id", "organisation", "detail"],
            (
                [
                    r.at.astimezone(OSLO).isoformat(timespec="seconds"),
                    r.user_name,
                    r.action,
                    r.record_kind or "",
                    r.record_id or "",
                    r.organisation_name or r.region_slug or "",
                    _detail(r.detail),
                ]
                for r in rows
            ),
        )
    page = _page_number(request)
    rows, more = (
        ([], False)
        if errors
        else await read_trail(db, viewer, f, limit=PAGE, offset=(page - 1) * PAGE)
    )
    query = {k: v for k, v in form.items() if v}
    return render(
        request,
        "audit.html",
        viewer=viewer,
        section="audit",
        status=400 if errors else 200,
        rows=[
            {
                "at": date_and_time(r.at, lang),
                "user": r.user_name,
                "action": r.action,
                "record": f"{r.record_kind or ''} {r.record_id or ''}".strip(),
                "where": r.organisation_name or r.region_slug or "",
                "detail": _detail(r.detail),
            }
            for r in rows
        ],
        form=form,
        errors=errors,
        page=page,
        previous_url=f"/ansatt/logg?{urlencode({**query, 'side': page - 1})}" if page > 1 else "",
        next_url=f"/ansatt/logg?{urlencode({**query, 'side': page + 1})}" if more else "",
        csv_url=f"/ansatt/logg?{urlencode({**query, 'format': 'csv'})}",
    )


def _detail(detail: dict[str, Any] | None) -> str:
    """The detail as short ``key=value`` pairs (it never holds personal data)."""
    if not detail:
        return ""
    return ", ".join(f"{k}={v}" for k, v in sorted(detail.items()))


ROUTES: list[Any] = [audit_page]
