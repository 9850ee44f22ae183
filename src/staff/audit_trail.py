"""Reading the audit trail (scoped, filtered, a page at a time) and forgetting old rows.

A coordinator reads the rows about their region: rows whose organisation is in it, or that
name it (``region_slug``: a coordinator's own sign-ins, invitations of coordinators, the
region's unmet demand). An administrator reads all. Rows older than :data:`RETENTION` are
deleted by the scheduled ``audit_retention`` job (docs/privacy/retention.md), with sign-in
links and sessions a day after they stopped working.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, delete, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from intake.tables import organisation
from staff.access import Role, Viewer
from staff.tables import staff_audit, staff_session, staff_sign_in

#: How long the trail is kept: two years, long enough to answer a person's question "who has
#: looked at my registration?" (GDPR art. 15) and to look into an incident afterwards (Normen
#: asks for access logs to be kept and reviewed), and no longer.
RETENTION = timedelta(days=730)
#: Used or expired sign-in links and ended sessions are deleted this long after they end.
SIGN_IN_GRACE = timedelta(days=1)
OSLO = ZoneInfo("Europe/Oslo")


@dataclass(frozen=True)
class TrailFilter:
    """What the trail page filters by; empty fields do not filter."""

    user: str = ""  # part of the name, or the user's id
    action: str = ""  # exact, or a prefix ending in '.' ('interest.')
    record_kind: str = ""
    record_id: str = ""
    since: date | None = None
    until: date | None = None  # inclusive: the whole day, Oslo time


def _scope(viewer: Viewer) -> ColumnElement[bool] | None:
    if viewer.role is Role.ADMINISTRATOR:
        return None
    if viewer.role is Role.COORDINATOR and viewer.region_slug:
        in_region = select(organisation.c.id).where(
            organisation.c.region_slug == viewer.region_slug
        )
        return or_(
            staff_audit.c.organisation_id.in_(in_region.scalar_subquery()),
            staff_audit.c.region_slug == viewer.region_slug,
        )
    return false()


def _conditions(viewer: Viewer, f: TrailFilter) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    scope = _scope(viewer)
    if scope is not None:
        out.append(scope)
    if f.user:
        try:
            out.append(staff_audit.c.user_id == uuid.UUID(f.user))
        except ValueError:
            out.append(staff_audit.c.user_name.ilike("%" + _like(f.user) + "%", escape="\\"))
    if f.action:
        if f.action.endswith("."):
            out.append(staff_audit.c.action.startswith(f.action, autoescape=True))
        else:
            out.append(staff_audit.c.action == f.action)
    if f.record_kind:
        out.append(staff_audit.c.record_kind == f.record_kind)
    if f.record_id:
        out.append(staff_audit.c.record_id == f.record_id)
    if f.since:
        out.append(staff_audit.c.at >= datetime.combine(f.since, time(), OSLO))
    if f.until:
        end = datetime.combine(f.until + timedelta(days=1), time(), OSLO)
        out.append(staff_audit.c.at < end)
    return out


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _query(viewer: Viewer, f: TrailFilter) -> Select[Any]:
    return (
        select(
            staff_audit.c.id,
            staff_audit.c.at,
            staff_audit.c.user_id,
            staff_audit.c.user_name,
            staff_audit.c.action,
            staff_audit.c.record_kind,
            staff_audit.c.record_id,
            staff_audit.c.organisation_id,
            staff_audit.c.region_slug,
            staff_audit.c.detail,
            staff_audit.c.client,
            organisation.c.name.label("organisation_name"),
        )
        .select_from(
            staff_audit.outerjoin(organisation, organisation.c.id == staff_audit.c.organisation_id)
        )
        .where(and_(True, *_conditions(viewer, f)))
    )


async def read_trail(
    db: AsyncSession, viewer: Viewer, f: TrailFilter, *, limit: int = 50, offset: int = 0
) -> tuple[list[Any], bool]:
    """Newest first; and whether there is a next page (one row more is read to know, which
    spares a count over a table that only grows)."""
    rows = (
        await db.execute(
            _query(viewer, f)
            .order_by(staff_audit.c.at.desc(), staff_audit.c.id.desc())
            .limit(limit + 1)
            .offset(offset)
        )
    ).all()
    return list(rows[:limit]), len(rows) > limit


async def prune(db: AsyncSession, *, now: datetime, keep: timedelta = RETENTION) -> int:
    """Delete the rows older than ``keep``; how many went."""
    result = await db.execute(delete(staff_audit).where(staff_audit.c.at < now - keep))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def prune_sign_in(db: AsyncSession, *, now: datetime) -> tuple[int, int]:
    """Forget one-time links and sessions a day after they stopped working (the trail keeps
    that someone signed in; these rows would only say it again)."""
    cutoff = now - SIGN_IN_GRACE
    links = await db.execute(delete(staff_sign_in).where(staff_sign_in.c.expires_at < cutoff))
    ended = await db.execute(
        delete(staff_session).where(
            or_(staff_session.c.expires_at < cutoff, staff_session.c.revoked_at < cutoff)
        )
    )
    return int(links.rowcount or 0), int(ended.rowcount or 0)  # type: ignore[attr-defined]


async def run_retention(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime
) -> dict[str, int]:
    """The scheduled job: one transaction; safe in any number of replicas (a DELETE by date
    run twice deletes nothing the second time)."""
    async with sessionmaker.begin() as session:
        audit_rows = await prune(session, now=now)
        links, ended = await prune_sign_in(session, now=now)
    return {"audit_rows": audit_rows, "sign_in_links": links, "sessions": ended}
