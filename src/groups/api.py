"""The coordinator's overview over HTTP: an organisation's groups and what happened to them.

Staff keys (intake's API keys, role ``staff``) see only their own organisation's groups; another
organisation's group is 404. Counts and states only: no participant is named. The facilitator's
check-in notes ("Noe vi bør følge opp?") are here too — one group's with its meetings, and the
organisation's notes newest first — because until now they were stored and shown to nobody;
coordinator messages link to ``/api/v1/staff/groups/{id}`` instead of quoting a note.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from groups import close_group
from groups.service import group_belongs_to, group_events, list_groups
from groups.tables import group_meeting, meeting_absence
from intake.api import API_KEY_SECURITY, provide_staff_principal, require_role
from intake.api_common import AUTH, READ, WRITE, Db, Now, Principal, problems
from intake.errors import Conflict, NotFound
from intake.registry import ApiPrincipal
from matching.tables import group_member, start_group


class GroupOverview(BaseModel):
    id: uuid.UUID
    status: str
    theme: str | None
    language: str
    slot: str
    digital: bool
    members: int
    created_at: datetime
    updated_at: datetime


class GroupEvent(BaseModel):
    at: datetime
    actor: str
    what: str
    detail: dict[str, Any]


class MeetingCheckin(BaseModel):
    """One facilitated meeting and the facilitator's check-in after it (if given)."""

    number: int
    starts_at: datetime
    place: str
    status: str
    absences: int  # participants who said "I can't come this time"
    checkin_at: datetime | None
    attended: int | None
    goes_on: bool | None
    follow_up: str | None  # the facilitator's note: "Noe vi bør følge opp?"


class GroupDetail(GroupOverview):
    meetings: list[MeetingCheckin]


class CheckinNote(BaseModel):
    group_id: uuid.UUID
    meeting: int
    checkin_at: datetime
    attended: int | None
    goes_on: bool | None
    follow_up: str


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=500)


class StaffGroupsController(Controller):
    path = "/api/v1/staff/groups"
    tags = ["staff"]
    dependencies = {"principal": provide_staff_principal, "staff": require_role("staff")}
    security = API_KEY_SECURITY

    @get("/", responses=problems(*READ, *AUTH))
    async def groups(
        self,
        db: Db,
        staff: Principal,
        status: Annotated[
            str | None,
            Parameter(pattern="^(proposed|accepted|scheduled|running|self_running|lapsed|closed)$"),
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> list[GroupOverview]:
        found = await list_groups(
            db, organisation_id=staff.organisation_id, status=status, limit=limit
        )
        return [GroupOverview.model_validate(g, from_attributes=True) for g in found]

    @get("/{group_id:uuid}", responses=problems(*READ, *AUTH, 404))
    async def group(self, group_id: uuid.UUID, db: Db, staff: Principal) -> GroupDetail:
        """One group with its meetings and the facilitator's check-ins and notes."""
        await _own(db, staff, group_id)
        members = (
            select(func.count())
            .where(group_member.c.group_id == start_group.c.id, group_member.c.active)
            .scalar_subquery()
        )
        row = (
            await db.execute(
                select(
                    start_group.c.id, start_group.c.status, start_group.c.theme,
                    start_group.c.language, start_group.c.slot, start_group.c.digital,
                    members.label("members"), start_group.c.created_at, start_group.c.updated_at,
                ).where(start_group.c.id == group_id)
            )
        ).one()  # fmt: skip
        overview = GroupOverview.model_validate(dict(row._mapping))
        return GroupDetail(**overview.model_dump(), meetings=await _meetings(db, group_id))

    @get("/{group_id:uuid}/checkins", responses=problems(*READ, *AUTH, 404))
    async def checkins(self, group_id: uuid.UUID, db: Db, staff: Principal) -> list[MeetingCheckin]:
        """A group's meetings with the facilitator's check-ins (notes included)."""
        await _own(db, staff, group_id)
        return await _meetings(db, group_id)

    @get("/checkin-notes", responses=problems(*READ, *AUTH))
    async def notes(
        self,
        db: Db,
        staff: Principal,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> list[CheckinNote]:
        """Every check-in note of the organisation's groups, newest first: what facilitators
        asked the organisation to follow up."""
        rows = await db.execute(
            select(
                group_meeting.c.group_id,
                group_meeting.c.number.label("meeting"),
                group_meeting.c.checkin_at,
                group_meeting.c.attended,
                group_meeting.c.goes_on,
                group_meeting.c.follow_up,
            )
            .join(start_group, start_group.c.id == group_meeting.c.group_id)
            .where(
                start_group.c.organisation_id == staff.organisation_id,
                group_meeting.c.follow_up.is_not(None),
                group_meeting.c.checkin_at.is_not(None),
            )
            .order_by(group_meeting.c.checkin_at.desc())
            .limit(limit)
        )
        return [CheckinNote.model_validate(dict(r._mapping)) for r in rows]

    @get("/{group_id:uuid}/events", responses=problems(*READ, *AUTH, 404))
    async def events(self, group_id: uuid.UUID, db: Db, staff: Principal) -> list[GroupEvent]:
        await _own(db, staff, group_id)
        return [GroupEvent.model_validate(e) for e in await group_events(db, group_id)]

    @post("/{group_id:uuid}/close", status_code=200, responses=problems(*WRITE, *AUTH, 404, 409))
    async def close(
        self,
        group_id: uuid.UUID,
        data: CloseIn,
        db: Db,
        staff: Principal,
        now: Now,
        lifecycle: Any,
    ) -> dict[str, str]:
        """Close a group with a reason, at any point (before it meets, members return to the
        pool with their waiting time; the facilitator is told)."""
        await _own(db, staff, group_id)
        closed = await close_group(
            db, group_id, now=now, actor=f"staff:{staff.key_id}", reason=data.reason,
            lc=lifecycle,
        )  # fmt: skip
        if not closed:
            raise Conflict("this group has already ended")
        return {"status": "closed"}


async def _meetings(db: AsyncSession, group_id: uuid.UUID) -> list[MeetingCheckin]:
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
    return [MeetingCheckin.model_validate(dict(r._mapping)) for r in rows]


async def _own(db: AsyncSession, staff: ApiPrincipal, group_id: uuid.UUID) -> None:
    """Another organisation's group is indistinguishable from none."""
    if not await group_belongs_to(db, group_id, staff.organisation_id):
        raise NotFound("no such group in your organisation")
