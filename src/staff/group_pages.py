"""The groups (``/ansatt/grupper``): every group of the viewer's organisations by state, with
filters, pages and CSV; one group in full (``/ansatt/grupper/{id}``: pseudonymous members and
their answers, meetings with the facilitator's check-ins, start notices, the event history)
with the actions a staff member can take on it (:mod:`staff.group_actions`), and forming a
group by hand (:mod:`staff.group_form`).

The list holds no health data (counts and choices of the group), so any signed-in viewer sees
it; one group's members and notes need the second factor and every view is audited.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get
from sqlalchemy.ext.asyncio import AsyncSession

from staff import group_actions, group_form
from staff.access import Viewer
from staff.csv_export import csv_response
from staff.group_detail import detail_page
from staff.group_queries import (
    ACROSS,
    EXPORT_LIMIT,
    PAGE_SIZE,
    GroupFilters,
    list_groups,
    municipalities,
    state_counts,
)
from staff.group_words import STATE_ORDER, GroupWords
from staff.render import language, render


def _csv(words: GroupWords, rows: list[Any], now: datetime) -> Response[bytes]:
    _ = words.t.gettext
    header = [
        _("Reference"), _("Organisation"), _("State"), _("Theme"), _("Language"), _("Time"),
        _("Online"), _("Members"), _("Facilitator"), _("First meeting"), _("Formed"),
    ]  # fmt: skip
    body = [
        [
            g.reference, g.organisation_name, words.state(g.status), words.theme(g.theme),
            words.language(g.language), words.slot(g.slot), _("yes") if g.digital else _("no"),
            g.members, g.facilitator_name or "",
            g.first_meeting.date().isoformat() if g.first_meeting else "",
            g.created_at.date().isoformat(),
        ]
        for g in rows
    ]  # fmt: skip
    return csv_response(f"grupper-{now.date().isoformat()}.csv", header, body)


@get("/grupper", name="staff-groups")
async def groups_page(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Viewer, now: datetime
) -> Response[Any]:
    filters = GroupFilters.parse(dict(request.query_params))
    words = GroupWords(language(request))
    orgs = await viewer.organisations(db)
    if request.query_params.get("format") == "csv":
        rows, _ = await list_groups(db, orgs, filters, limit=EXPORT_LIMIT, offset=0)
        return _csv(words, rows, now)
    counts = await state_counts(db, orgs)
    rows, total = await list_groups(db, orgs, filters, counts=counts)

    def link(**kw: Any) -> str:
        return "/ansatt/grupper?" + urlencode(filters.query(**kw))

    themes = sorted(
        ((s, n) for s, n in words.themes.items() if s != "pa-tvers"), key=lambda x: x[1]
    )
    return render(
        request,
        "group_list.html",
        viewer=viewer,
        section="groups",
        filters=filters,
        groups=rows,
        total=total,
        pages=max(1, -(-total // PAGE_SIZE)),
        words=words,
        link=link,
        csv_link=link(format="csv", page=""),
        states=[(s.value, words.states[s], counts.get(s.value, 0)) for s in STATE_ORDER],
        themes=[(ACROSS, words.theme(None)), *themes],
        municipalities=await municipalities(db, orgs),
        several=len(orgs) > 1,
    )


@get("/grupper/{group_id:uuid}", name="staff-group")
async def group_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    health_viewer: Viewer,
    group_id: uuid.UUID,
    now: datetime,
) -> Response[Any]:
    return await detail_page(request, db, health_viewer, group_id, now)


ROUTES: list[Any] = [
    groups_page,
    group_page,
    *group_actions.ROUTES,
    *group_form.ROUTES,
]
