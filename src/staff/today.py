"""Today's work (``/ansatt``): what needs a person today, on one page, for the viewer's
organisations — groups waiting for a facilitator, facilitator offers about to run out,
facilitators' follow-up notes, groups that lapsed, messages that could not be delivered, and
the people who have waited longest. Coordinators also see their region's unmet demand, and a
notice when digital demand outgrows digital facilitators' free starts
(:mod:`staff.digital_capacity`).

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
from staff.access import Role, Viewer
from staff.digital_capacity import digital_capacity
from staff.group_queries import GroupRow, newest_in_states
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


def _count(stmt: Any) -> Any:
    """``stmt``'s number of rows, as a column of the page's one counting statement."""
    return select(func.count()).select_from(stmt.subquery()).scalar_subquery()


def _in_state(orgs: list[uuid.UUID], state: GroupState) -> Any:
    return select(start_group.c.id).where(
        start_group.c.organisation_id.in_(orgs), start_group.c.status == state.value
    )


def _offers(orgs: list[uuid.UUID], now: datetime) -> Any:
    return (
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


def _notes(orgs: list[uuid.UUID], now: datetime) -> Any:
    return (
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


def _failed(orgs: list[uuid.UUID]) -> Any:
    return select(outbox.c.id).where(
        outbox.c.status == MessageStatus.FAILED.value, outbox.c.organisation_id.in_(orgs)
    )


def _unmet(viewer: Viewer) -> Any:
    """The region's people no organisation serves (coordinators and administrators)."""
    stmt = select(interest.c.id).where(
        interest.c.organisation_id.is_(None), interest.c.status == "waiting"
    )
    regions = viewer.unmet_regions()
    if regions is not None:
        stmt = stmt.where(interest.c.region_slug.in_(regions))
    return stmt


async def _counts(
    db: AsyncSession, viewer: Viewer, orgs: list[uuid.UUID], now: datetime
) -> dict[str, int | None]:
    """Every part's count in one statement (each an index scan of its own)."""
    parts = {
        "unassigned": _in_state(orgs, GroupState.PROPOSED),
        "offers": _offers(orgs, now),
        "notes": _notes(orgs, now),
        "lapsed": _in_state(orgs, GroupState.LAPSED),
        "failed": _failed(orgs),
    }
    if viewer.unmet_regions() != []:
        parts["unmet"] = _unmet(viewer)
    row = (await db.execute(select(*(_count(q).label(k) for k, q in parts.items())))).one()
    counts: dict[str, int | None] = {k: int(v) for k, v in row._mapping.items()}
    counts.setdefault("unmet", None)  # staff: no unmet demand to see
    return counts


def _group_lines(groups: list[GroupRow], lang: str) -> list[GroupLine]:
    return [
        GroupLine(g.id, g.reference, theme_name(g.theme, lang), g.updated_at, g.facilitator_name)
        for g in groups
    ]


async def _lines(db: AsyncSession, stmt: Any, order: Any, lang: str, detail: str) -> list[Any]:
    rows = await db.execute(stmt.order_by(order).limit(SHOWN))
    return [
        GroupLine(r.id, reference(r.id), theme_name(r.theme, lang), r.at, getattr(r, detail))
        for r in rows
    ]


@get("/", name="staff-today")
async def today_page(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Viewer, now: datetime
) -> Response[str]:
    lang = language(request)
    orgs = await viewer.organisations(db)
    longest, waiting = await waiting_list(db, viewer, Filters(), now=now, limit=SHOWN)
    counts = await _counts(db, viewer, orgs, now)
    states = (GroupState.PROPOSED.value, GroupState.LAPSED.value)
    groups = await newest_in_states(db, orgs, states, SHOWN)
    offers = _offers(orgs, now)
    notes = _notes(orgs, now)
    failed = MessageStatus.FAILED.value
    # Coordinators and administrators: digital demand against digital facilitators' starts.
    digital = None
    if viewer.role is not Role.STAFF:
        digital = await digital_capacity(db, orgs, now=now)
    return render(
        request,
        "today.html",
        viewer=viewer,
        section="today",
        now=now,
        words=Words(lang),
        when=lambda at: date_and_time(at, lang),
        unassigned=Part(counts["unassigned"] or 0, _group_lines(groups[states[0]], lang)),
        offers=Part(
            counts["offers"] or 0,
            await _lines(db, offers, facilitator_offer.c.respond_by, lang, "facilitator"),
        ),
        notes=Part(
            counts["notes"] or 0,
            await _lines(db, notes, group_meeting.c.checkin_at.desc(), lang, "follow_up"),
        ),
        lapsed=Part(counts["lapsed"] or 0, _group_lines(groups[states[1]], lang)),
        failed=Part(
            counts["failed"] or 0,
            await list_messages(db, failed, SHOWN, organisation_ids=orgs),
        ),
        longest=Part(waiting, longest),
        unmet=counts["unmet"],
        digital=digital,
        theme_name=lambda slug: theme_name(slug, lang),
    )  # fmt: skip


ROUTES: list[Any] = [today_page]
