"""The coordinator's overview over HTTP: an organisation's groups and what happened to them.

Staff keys (intake's API keys, role ``staff``) see only their own organisation's groups; another
organisation's group is 404. Counts and states only: no participant is named.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from groups import close_group
from groups.service import group_belongs_to, group_events, list_groups
from intake.api import (
    API_KEY_SECURITY,
    AUTH,
    READ,
    WRITE,
    Db,
    Now,
    Principal,
    problems,
    provide_principal,
    require_role,
)
from intake.errors import Conflict, NotFound
from intake.registry import ApiPrincipal


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


class CloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=500)


class StaffGroupsController(Controller):
    path = "/api/v1/staff/groups"
    tags = ["staff"]
    dependencies = {"principal": provide_principal, "staff": require_role("staff")}
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


async def _own(db: AsyncSession, staff: ApiPrincipal, group_id: uuid.UUID) -> None:
    """Another organisation's group is indistinguishable from none."""
    if not await group_belongs_to(db, group_id, staff.organisation_id):
        raise NotFound("no such group in your organisation")
