"""Today's work (``/ansatt``): what needs a person today, on one page, for the viewer's
organisations — groups waiting for a facilitator, facilitator offers about to run out,
facilitators' follow-up notes, groups that lapsed, messages that could not be delivered, and
the people who have waited longest. Coordinators also see their region's unmet demand.

Each part is a count and the first few, with a link to the full list (the groups pages of
:mod:`staff.group_pages`, the waiting list of :mod:`staff.waiting`). Check-in notes are
facilitators' words about a group, and a person's themes say something about their health, so
both are shown only to a viewer with the second factor; others see counts and links.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from litestar import Request, Response, get
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from groups.common import reference, theme_name
from groups.tables import facilitator_offer, group_meeting
from intake.tables import facilitator, interest
from intake.web.views import date_and_time
from matching.states import GroupState
from matching.tables import start_group
from notify.model import MessageStatus
from notify.outbox import list_messages
from notify.tables import outbox
from staff.access import Viewer
from staff.group_queries import GroupFilters, list_groups
from staff.people import Filters, waiting_list
from staff.render import language, render
from staff.waiting import Words

SHOWN = 5
#: An offer "runs out" when its answer is due within this long.
OFFER_SOON = timedelta(hours=24)
#: Notes older than this are no longer today's work.
RECENT = timedelta(days=30)


@dataclass(frozen=True)
class Part:
    """One short list: how many in all, the first few, where the full list is."""

    count: int
    items: list[Any]


@dataclass(frozen=True)
class GroupLine:
    id: uuid.UUID
    ref: str
    theme: str
    at: datetime
    detail: str | None = None


async def _count(db: AsyncSession, stmt: Any) -> int:
    return int(await db.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


async def _groups(db: AsyncSession, orgs: list[uuid.UUID], state: GroupState, lang: str) -> Part:
    """The groups page's own query (:func:`staff.group_queries.list_groups`), first page only."""
    rows, total = await list_groups(db, orgs, GroupFilters(state=state.value), limit=SHOWN)
    items = [
        GroupLine(g.id, g.reference, theme_name(g.theme, lang), g.updated_at, g.facilitator_name)
        for g in rows
    ]
    return Part(total, items)


async def _offers(db: AsyncSession, orgs: list[uuid.UUID], now: datetime, lang: str) -> Part:
    stmt = (
        select(
            start_group.c.id, start_group.c.theme, facilitator_offer.c.respond_by.label("at"),
            facilitator.c.name.label("facilitator"),
        )
        .join(start_group, start_group.c.id == facilitator_offer.c.group_id)
        .join(facilitator, facilitator.c.id == facilitator_offer.c.facilitator_id)
        .where(
            start_group.c.organisation_id.in_(orgs), facilitator_offer.c.status == "pending",
            facilitator_offer.c.respond_by <= now + OFFER_SOON,
        )
    )  # fmt: skip
    rows = await db.execute(stmt.order_by(facilitator_offer.c.respond_by).limit(SHOWN))
    items = [
        GroupLine(r.id, reference(r.id), theme_name(r.theme, lang), r.at, r.facilitator)
        for r in rows
    ]
    return Part(await _count(db, stmt), items)


async def _notes(db: AsyncSession, orgs: list[uuid.UUID], now: datetime, lang: str) -> Part:
    stmt = (
        select(
            start_group.c.id, start_group.c.theme, group_meeting.c.checkin_at.label("at"),
            group_meeting.c.follow_up,
        )
        .join(start_group, start_group.c.id == group_meeting.c.group_id)
        .where(
            start_group.c.organisation_id.in_(orgs), group_meeting.c.follow_up.is_not(None),
            group_meeting.c.checkin_at >= now - RECENT,
        )
    )  # fmt: skip
    rows = await db.execute(stmt.order_by(group_meeting.c.checkin_at.desc()).limit(SHOWN))
    items = [
        GroupLine(r.id, reference(r.id), theme_name(r.theme, lang), r.at, r.follow_up) for r in rows
    ]
    return Part(await _count(db, stmt), items)


async def _failed(db: AsyncSession, orgs: list[uuid.UUID]) -> Part:
    failed = MessageStatus.FAILED.value
    items = await list_messages(db, failed, SHOWN, organisation_ids=orgs)
    count = await db.scalar(
        select(func.count())
        .select_from(outbox)
        .where(outbox.c.status == failed, outbox.c.organisation_id.in_(orgs))
    )
    return Part(int(count or 0), items)


async def _unmet(db: AsyncSession, viewer: Viewer) -> int | None:
    """The region's people no organisation serves (coordinators and administrators)."""
    regions = viewer.unmet_regions()
    if regions == []:
        return None
    stmt = select(func.count()).where(
        interest.c.organisation_id.is_(None), interest.c.status == "waiting"
    )
    if regions is not None:
        stmt = stmt.where(interest.c.region_slug.in_(regions))
    return int(await db.scalar(stmt) or 0)


@get("/", name="staff-today")
async def today_page(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Viewer, now: datetime
) -> Response[str]:
    lang = language(request)
    orgs = await viewer.organisations(db)
    longest, waiting = await waiting_list(db, viewer, Filters(), now=now, limit=SHOWN)
    return render(
        request,
        "today.html",
        viewer=viewer,
        section="today",
        now=now,
        words=Words(lang),
        when=lambda at: date_and_time(at, lang),
        unassigned=await _groups(db, orgs, GroupState.PROPOSED, lang),
        offers=await _offers(db, orgs, now, lang),
        notes=await _notes(db, orgs, now, lang),
        lapsed=await _groups(db, orgs, GroupState.LAPSED, lang),
        failed=await _failed(db, orgs),
        longest=Part(waiting, longest),
        unmet=await _unmet(db, viewer),
    )  # fmt: skip


ROUTES: list[Any] = [today_page]
