"""The audit trail: every staff action and every view of a person's record or contact.

One row per event (who, when, what, which record, whose organisation), written in the same
transaction as the action, so an action that rolls back leaves no trace claiming it happened,
and a view that succeeded is always recorded. Coordinators read their region's trail and
administrators all of it (:mod:`staff.audit_pages`); rows are deleted after the retention
period in docs/privacy/retention.md.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from staff.access import Viewer
from staff.tables import staff_audit


def client_of(request: Request[Any, Any, Any] | None) -> str | None:
    """The browser's description, not its address: enough to recognise "that was not me"."""
    if request is None:
        return None
    agent = request.headers.get("user-agent", "")
    return agent[:200] or None


async def record(
    db: AsyncSession,
    viewer: Viewer,
    action: str,
    *,
    now: datetime,
    record_kind: str | None = None,
    record_id: uuid.UUID | str | None = None,
    organisation_id: uuid.UUID | None = None,
    region_slug: str | None = None,
    detail: dict[str, Any] | None = None,
    request: Request[Any, Any, Any] | None = None,
) -> None:
    """Append one event. ``detail`` must never hold personal data (no contact, no free text
    from a person): it names fields changed, not their values."""
    await db.execute(
        staff_audit.insert().values(
            at=now,
            user_id=viewer.user_id,
            user_name=viewer.name,
            action=action,
            record_kind=record_kind,
            record_id=None if record_id is None else str(record_id),
            organisation_id=organisation_id,
            region_slug=region_slug,
            detail=detail,
            client=client_of(request),
        )
    )
