"""Who is looking: the signed-in staff member (or API key) and what their role lets them see.

Every console page and staff API route asks for a :class:`Viewer` and filters by
:meth:`Viewer.organisations` — the one place the role × organisation rule lives:

- **staff** see and act for one organisation;
- **coordinators** for every organisation in their region, plus the region's unmet demand
  (people in municipalities no organisation serves: ``interest.organisation_id IS NULL``);
- **administrators** for all organisations (national), and manage users, organisations, themes.

Health data (a person's record, contact, group members) needs a second factor: a session opened
by e-mail link alone has ``two_factor`` false and sees only the pages that hold none.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.tables import organisation


class Role(StrEnum):
    """Equal to ``staff_user.role``'s CHECK constraint (tested)."""

    STAFF = "staff"
    COORDINATOR = "coordinator"
    ADMINISTRATOR = "administrator"


@dataclass(frozen=True)
class Viewer:
    """The person (or API key) behind a request, with the scope of their role."""

    user_id: uuid.UUID | None  # None for an organisation's API key
    name: str
    email: str
    role: Role
    organisation_id: uuid.UUID | None
    region_slug: str | None
    #: Signed in with a passkey or the organisation's identity provider (or an API key).
    two_factor: bool
    #: The session's own id (its digest), for "sign out" and "sign out everywhere".
    session_hash: bytes | None = None

    @property
    def national(self) -> bool:
        return self.role is Role.ADMINISTRATOR

    def may_manage_users(self) -> bool:
        return self.role in (Role.COORDINATOR, Role.ADMINISTRATOR)

    async def organisations(self, db: AsyncSession) -> list[uuid.UUID]:
        """The organisations this viewer may read and act for (empty for a coordinator of a
        region without organisations: they still see its unmet demand)."""
        if self.role is Role.STAFF:
            return [self.organisation_id] if self.organisation_id else []
        query = select(organisation.c.id).order_by(organisation.c.name)
        if self.role is Role.COORDINATOR:
            query = query.where(organisation.c.region_slug == self.region_slug)
        return list((await db.scalars(query)).all())

    async def may_see_organisation(self, db: AsyncSession, org_id: uuid.UUID | None) -> bool:
        """``None`` is the unmet demand: a coordinator sees their region's, an administrator
        all of it; staff never (they have an organisation)."""
        if org_id is None:
            return self.role is not Role.STAFF
        return org_id in await self.organisations(db)

    def unmet_regions(self) -> list[str] | None:
        """Regions whose unmet demand this viewer sees: ``None`` means all (national)."""
        if self.role is Role.ADMINISTRATOR:
            return None
        if self.role is Role.COORDINATOR and self.region_slug:
            return [self.region_slug]
        return []
