"""Group functions that act on a proposal after matching stored it: lapse, overview, events.

Matching's output contract is the proposal row (``start_group`` with its members and event
log); everything that happens to a group after it is proposed lives in this package.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from intake import pool
from matching.service import record_event
from matching.states import GroupState, MemberState
from matching.tables import group_event, group_member, start_group


async def lapse_group(
    session: AsyncSession, group_id: uuid.UUID, *, now: datetime, actor: str, why: str
) -> list[uuid.UUID]:
    """End a group before it starts: its active members return to the pool with their
    original waiting time. Returns who went back."""
    members = list(
        (
            await session.execute(
                update(group_member)
                .where(group_member.c.group_id == group_id, group_member.c.active)
                .values(active=False, state=MemberState.RETURNED)
                .returning(group_member.c.interest_id)
            )
        ).scalars()
    )
    await pool.set_status(
        session, members, "waiting", now=now, only_from=("proposed", "invited", "placed")
    )
    await session.execute(
        update(start_group)
        .where(start_group.c.id == group_id)
        .values(status=GroupState.LAPSED, updated_at=now)
    )
    await record_event(session, group_id, now=now, actor=actor, what="lapsed", detail={"why": why})
    return members


@dataclass(frozen=True)
class GroupSummary:
    """One group as the coordinator's overview shows it: no names, counts only."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    theme: str | None
    language: str
    slot: str
    digital: bool
    status: str
    members: int
    created_at: datetime
    updated_at: datetime


async def list_groups(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID | None = None,
    status: str | None = None,
    limit: int = 100,
) -> list[GroupSummary]:
    """Groups, newest first, with how many active members each has."""
    members = (
        select(func.count())
        .where(group_member.c.group_id == start_group.c.id, group_member.c.active)
        .scalar_subquery()
    )
    stmt = select(
        start_group.c.id, start_group.c.organisation_id, start_group.c.theme,
        start_group.c.language, start_group.c.slot, start_group.c.digital, start_group.c.status,
        members.label("members"), start_group.c.created_at, start_group.c.updated_at,
    ).order_by(start_group.c.created_at.desc()).limit(limit)  # fmt: skip
    if organisation_id is not None:
        stmt = stmt.where(start_group.c.organisation_id == organisation_id)
    if status is not None:
        stmt = stmt.where(start_group.c.status == status)
    return [GroupSummary(**r._mapping) for r in (await session.execute(stmt)).all()]


async def group_events(session: AsyncSession, group_id: uuid.UUID) -> list[dict[str, Any]]:
    """A group's recorded state changes (who, what, when), oldest first."""
    rows = await session.execute(
        select(group_event.c.at, group_event.c.actor, group_event.c.what, group_event.c.detail)
        .where(group_event.c.group_id == group_id)
        .order_by(group_event.c.at, group_event.c.id)
    )
    return [dict(r._mapping) for r in rows]


async def group_belongs_to(
    session: AsyncSession, group_id: uuid.UUID, organisation_id: uuid.UUID
) -> bool:
    found = await session.execute(
        select(start_group.c.id).where(
            start_group.c.id == group_id, start_group.c.organisation_id == organisation_id
        )
    )
    return found.first() is not None
