"""The coordinator's overview over HTTP: an organisation's groups and what happened to them.

Staff keys (intake's API keys, role ``staff``) see only their own organisation's groups; another
organisation's group is 404. Counts and states only: no participant is named.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, get
from litestar.params import Parameter
from pydantic import BaseModel

from intake.api import Db, Principal, provide_principal, require_role
from intake.errors import NotFound
from matching.service import group_events, list_groups


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


class StaffGroupsController(Controller):
    path = "/api/v1/staff/groups"
    tags = ["staff"]
    dependencies = {"principal": provide_principal, "staff": require_role("staff")}

    @get("/")
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

    @get("/{group_id:uuid}/events")
    async def events(self, group_id: uuid.UUID, db: Db, staff: Principal) -> list[GroupEvent]:
        mine = await list_groups(db, organisation_id=staff.organisation_id, limit=10_000)
        if group_id not in {g.id for g in mine}:
            raise NotFound("no such group in your organisation")
        return [GroupEvent.model_validate(e) for e in await group_events(db, group_id)]
