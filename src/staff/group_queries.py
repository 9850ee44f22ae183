"""Reading groups for the console: the scoped, paginated list and one group in full.

Every query is filtered by the organisations the viewer may see; a group of another
organisation is read as no group at all. The list is one statement (counts and the pending
start notice are correlated subqueries on indexed keys), 50 a page.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from groups.model import OfferState
from groups.tables import facilitator_offer, group_meeting, meeting_absence
from intake.tables import catchment, facilitator, interest, municipality, organisation
from matching.states import GroupState
from matching.tables import group_member, start_group

PAGE_SIZE = 50
_STATES = frozenset(s.value for s in GroupState)
EXPORT_LIMIT = 5000
ACROSS = "across"  # the theme filter's value for groups across problems


@dataclass(frozen=True)
class GroupFilters:
    state: str = ""
    theme: str = ""
    municipality: str = ""
    page: int = 1

    @classmethod
    def parse(cls, query: dict[str, str]) -> GroupFilters:
        state = query.get("state", "")
        page = query.get("page", "1")
        return cls(
            state=state if state in _STATES else "",
            theme=query.get("theme", "")[:60],
            municipality=query.get("municipality", "")[:4],
            page=max(1, min(int(page), 10_000)) if page.isdigit() else 1,
        )

    def query(self, **changes: Any) -> dict[str, str]:
        values = {
            "state": self.state,
            "theme": self.theme,
            "municipality": self.municipality,
            "page": str(self.page),
        } | {k: str(v) for k, v in changes.items()}
        return {k: v for k, v in values.items() if v and not (k == "page" and v == "1")}

    def where(self, orgs: Sequence[uuid.UUID]) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = [start_group.c.organisation_id.in_(list(orgs))]
        if self.state:
            conds.append(start_group.c.status == self.state)
        if self.theme == ACROSS:
            conds.append(start_group.c.theme.is_(None))
        elif self.theme:
            conds.append(start_group.c.theme == self.theme)
        if self.municipality:
            conds.append(
                exists(
                    select(group_member.c.interest_id)
                    .join(interest, interest.c.id == group_member.c.interest_id)
                    .where(
                        group_member.c.group_id == start_group.c.id,
                        interest.c.municipality_number == self.municipality,
                    )
                )
            )
        return conds


@dataclass(frozen=True)
class GroupRow:
    id: uuid.UUID
    organisation_id: uuid.UUID
    organisation_name: str
    theme: str | None
    language: str
    slot: str
    digital: bool
    status: str
    members: int
    places: int | None
    facilitator_id: uuid.UUID | None
    facilitator_name: str | None
    offer_pending: bool
    first_meeting: datetime | None
    created_at: datetime
    updated_at: datetime
    closed_reason: str | None = None
    rules: dict[str, Any] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        return self.id.hex[:8]


def _select() -> Any:
    members = (
        select(func.count())
        .where(group_member.c.group_id == start_group.c.id, group_member.c.active)
        .scalar_subquery()
    )
    pending = exists(
        select(facilitator_offer.c.id).where(
            facilitator_offer.c.group_id == start_group.c.id,
            facilitator_offer.c.status == OfferState.PENDING,
        )
    )
    first = (
        select(func.min(group_meeting.c.starts_at))
        .where(group_meeting.c.group_id == start_group.c.id, group_meeting.c.status != "cancelled")
        .scalar_subquery()
    )
    return (
        select(
            start_group.c.id, start_group.c.organisation_id,
            organisation.c.name.label("organisation_name"), start_group.c.theme,
            start_group.c.language, start_group.c.slot, start_group.c.digital,
            start_group.c.status, members.label("members"), start_group.c.places,
            start_group.c.facilitator_id, facilitator.c.name.label("facilitator_name"),
            pending.label("offer_pending"), first.label("first_meeting"),
            start_group.c.created_at, start_group.c.updated_at, start_group.c.closed_reason,
            start_group.c.rules,
        )
        .join(organisation, organisation.c.id == start_group.c.organisation_id)
        .outerjoin(facilitator, facilitator.c.id == start_group.c.facilitator_id)
    )  # fmt: skip


def _row(r: Any) -> GroupRow:
    return GroupRow(**{**r._mapping, "rules": dict(r.rules or {})})


async def list_groups(
    db: AsyncSession,
    orgs: Sequence[uuid.UUID],
    filters: GroupFilters,
    *,
    limit: int = PAGE_SIZE,
    offset: int | None = None,
    counts: dict[str, int] | None = None,
) -> tuple[list[GroupRow], int]:
    """One page, newest first, and how many groups match.

    The page's ids are chosen first (an index scan on the organisation and creation time that
    stops after the page), so the per-group subqueries run for the shown rows only. Given the
    :func:`state_counts` of ``orgs``, a list filtered by state alone takes its total from them
    instead of counting again.
    """
    conds = filters.where(orgs)
    if counts is not None and not filters.theme and not filters.municipality:
        total = counts.get(filters.state, 0) if filters.state else sum(counts.values())
    else:
        total = int(
            await db.scalar(select(func.count()).select_from(start_group).where(*conds)) or 0
        )
    start = (filters.page - 1) * PAGE_SIZE if offset is None else offset
    if start >= total:
        return [], total
    order = (start_group.c.created_at.desc(), start_group.c.id.desc())
    page = select(start_group.c.id).where(*conds).order_by(*order).limit(limit).offset(start)
    rows = await db.execute(_select().where(start_group.c.id.in_(page)).order_by(*order))
    return [_row(r) for r in rows], total


async def newest_in_states(
    db: AsyncSession, orgs: Sequence[uuid.UUID], states: Sequence[str], limit: int
) -> dict[str, list[GroupRow]]:
    """The newest ``limit`` groups in each of ``states``, in the groups page's order, in one
    statement (today's work shows two states; the window keeps their pages apart)."""
    order = (start_group.c.created_at.desc(), start_group.c.id.desc())
    ranked = (
        select(
            start_group.c.id,
            func.row_number().over(partition_by=start_group.c.status, order_by=order).label("n"),
        )
        .where(start_group.c.organisation_id.in_(list(orgs)), start_group.c.status.in_(states))
        .subquery()
    )
    ids = select(ranked.c.id).where(ranked.c.n <= limit)
    rows = await db.execute(_select().where(start_group.c.id.in_(ids)).order_by(*order))
    newest: dict[str, list[GroupRow]] = {state: [] for state in states}
    for r in rows:
        group = _row(r)
        newest[group.status].append(group)
    return newest


async def state_counts(db: AsyncSession, orgs: Sequence[uuid.UUID]) -> dict[str, int]:
    """How many groups the organisations have in each state (an index-only scan)."""
    rows = await db.execute(
        select(start_group.c.status, func.count())
        .where(start_group.c.organisation_id.in_(list(orgs)))
        .group_by(start_group.c.status)
    )
    return {status: n for status, n in rows.all()}


async def municipalities(db: AsyncSession, orgs: Sequence[uuid.UUID]) -> list[tuple[str, str]]:
    """The municipalities the organisations serve (number, name), for the filter."""
    rows = await db.execute(
        select(municipality.c.number, municipality.c.name)
        .join(catchment, catchment.c.municipality_number == municipality.c.number)
        .where(catchment.c.organisation_id.in_(list(orgs)))
        .distinct()
        .order_by(municipality.c.name)
    )
    return [(r.number, r.name) for r in rows]


async def one_group(
    db: AsyncSession, orgs: Sequence[uuid.UUID], group_id: uuid.UUID
) -> GroupRow | None:
    """The group if it belongs to one of ``orgs`` (another organisation's: None, like none)."""
    row = (
        await db.execute(
            _select().where(
                start_group.c.id == group_id, start_group.c.organisation_id.in_(list(orgs))
            )
        )
    ).first()
    return None if row is None else _row(row)


async def members(db: AsyncSession, group_id: uuid.UUID) -> list[dict[str, Any]]:
    """Everyone who has had a place, numbered in the order they joined: no names, no contact."""
    rows = await db.execute(
        select(
            group_member.c.interest_id, group_member.c.active, group_member.c.state,
            group_member.c.joined_at, group_member.c.respond_by, group_member.c.answered_at,
            interest.c.age_band, interest.c.waiting_since,
            municipality.c.name.label("municipality_name"),
        )
        .join(interest, interest.c.id == group_member.c.interest_id)
        .join(municipality, municipality.c.number == interest.c.municipality_number)
        .where(group_member.c.group_id == group_id)
        .order_by(group_member.c.joined_at, group_member.c.interest_id)
    )  # fmt: skip
    return [{"number": i, **r._mapping} for i, r in enumerate(rows, start=1)]


async def meetings(db: AsyncSession, group_id: uuid.UUID) -> list[dict[str, Any]]:
    """The facilitated meetings with each check-in (attendance, goes on, the note)."""
    absences = (
        select(func.count())
        .where(meeting_absence.c.meeting_id == group_meeting.c.id)
        .scalar_subquery()
    )
    rows = await db.execute(
        select(
            group_meeting.c.number, group_meeting.c.starts_at, group_meeting.c.place,
            group_meeting.c.status, absences.label("absences"), group_meeting.c.checkin_at,
            group_meeting.c.attended, group_meeting.c.goes_on, group_meeting.c.follow_up,
        )
        .where(group_meeting.c.group_id == group_id)
        .order_by(group_meeting.c.number)
    )  # fmt: skip
    return [dict(r._mapping) for r in rows]


async def offers(db: AsyncSession, group_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every start notice for the group, newest first, with the facilitator's name."""
    rows = await db.execute(
        select(
            facilitator_offer.c.status, facilitator_offer.c.sent_at,
            facilitator_offer.c.respond_by, facilitator_offer.c.answered_at,
            facilitator.c.name.label("facilitator_name"),
        )
        .join(facilitator, facilitator.c.id == facilitator_offer.c.facilitator_id)
        .where(facilitator_offer.c.group_id == group_id)
        .order_by(facilitator_offer.c.sent_at.desc())
    )  # fmt: skip
    return [dict(r._mapping) for r in rows]
