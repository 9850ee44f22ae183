"""Staff users: add (CLI: the first administrator), invite by e-mail, list, disable, enable.

Who may create whom is one pure rule, :func:`may_create`: an administrator anyone; a
coordinator staff of the organisations in their region and coordinators of that region;
staff nobody. Only an administrator makes administrators. Disabling a user ends their open
sessions in the same transaction (a disabled user's cookie is refused by
:func:`staff.sessions.viewer_for` as well, so both stop at once).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from intake.crypto import ContactCipher
from intake.tables import organisation, region
from staff import links, sessions
from staff.access import Role, Viewer
from staff.tables import staff_user

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserError(ValueError):
    """A user that cannot be made as asked; ``field`` names the form field at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def normalise_email(value: str) -> str:
    """Work addresses are matched exactly, lower-cased (``staff_user.email`` is lower)."""
    email = value.strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise UserError("email", "not an e-mail address")
    return email


@dataclass(frozen=True)
class StaffUser:
    id: uuid.UUID
    name: str
    email: str
    role: Role
    organisation_id: uuid.UUID | None
    organisation_name: str | None
    region_slug: str | None
    #: The organisation's region for staff, the user's own for a coordinator.
    scope_region: str | None
    region_name: str | None
    created_at: datetime
    last_sign_in_at: datetime | None
    disabled_at: datetime | None

    @property
    def scope_name(self) -> str:
        return self.organisation_name or self.region_name or ""


def may_create(
    viewer: Viewer, role: Role, *, organisation_region: str | None, region_slug: str | None
) -> bool:
    """Whether ``viewer`` may create (invite) a user of ``role`` for an organisation in
    ``organisation_region`` or for the region ``region_slug``."""
    if viewer.role is Role.ADMINISTRATOR:
        return True
    if viewer.role is not Role.COORDINATOR or viewer.region_slug is None:
        return False
    if role is Role.STAFF:
        return organisation_region == viewer.region_slug
    if role is Role.COORDINATOR:
        return region_slug == viewer.region_slug
    return False


def may_manage(viewer: Viewer, user: StaffUser) -> bool:
    """Whether ``viewer`` may disable or enable ``user`` (never themselves: no lock-out)."""
    if user.id == viewer.user_id:
        return False
    if viewer.role is Role.ADMINISTRATOR:
        return True
    if viewer.role is Role.COORDINATOR and user.role is not Role.ADMINISTRATOR:
        return user.scope_region == viewer.region_slug
    return False


def _select() -> Select[tuple[object, ...]]:
    scope_region = func.coalesce(organisation.c.region_slug, staff_user.c.region_slug)
    return (
        select(
            staff_user.c.id,
            staff_user.c.name,
            staff_user.c.email,
            staff_user.c.role,
            staff_user.c.organisation_id,
            organisation.c.name.label("organisation_name"),
            staff_user.c.region_slug,
            scope_region.label("scope_region"),
            region.c.name.label("region_name"),
            staff_user.c.created_at,
            staff_user.c.last_sign_in_at,
            staff_user.c.disabled_at,
        )
        .select_from(staff_user)
        .outerjoin(organisation, organisation.c.id == staff_user.c.organisation_id)
        .outerjoin(region, region.c.slug == staff_user.c.region_slug)
    )


def _user(row: object) -> StaffUser:
    data = dict(row._mapping)  # type: ignore[attr-defined]
    data["role"] = Role(data["role"])
    return StaffUser(**data)


def _scoped(query: Select[tuple[object, ...]], viewer: Viewer) -> Select[tuple[object, ...]]:
    if viewer.role is Role.ADMINISTRATOR:
        return query
    if viewer.role is Role.COORDINATOR:
        return query.where(
            or_(
                organisation.c.region_slug == viewer.region_slug,
                staff_user.c.region_slug == viewer.region_slug,
            )
        )
    return query.where(staff_user.c.id == viewer.user_id)


async def list_users(
    db: AsyncSession, viewer: Viewer | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[list[StaffUser], int]:
    """The users ``viewer`` may see (all without a viewer: the CLI), by name; and how many."""
    query = _select()
    if viewer is not None:
        query = _scoped(query, viewer)
    total = await db.scalar(select(func.count()).select_from(query.subquery()))
    rows = await db.execute(
        query.order_by(staff_user.c.name, staff_user.c.email).limit(limit).offset(offset)
    )
    return [_user(r) for r in rows], int(total or 0)


async def get_user(
    db: AsyncSession, user_id: uuid.UUID, viewer: Viewer | None = None
) -> StaffUser | None:
    """One user, or None when unknown or outside ``viewer``'s scope (the same answer)."""
    query = _select().where(staff_user.c.id == user_id)
    if viewer is not None:
        query = _scoped(query, viewer)
    row = (await db.execute(query)).one_or_none()
    return None if row is None else _user(row)


async def user_by_email(db: AsyncSession, email: str) -> StaffUser | None:
    try:
        address = normalise_email(email)
    except UserError:
        return None
    row = (await db.execute(_select().where(staff_user.c.email == address))).one_or_none()
    return None if row is None else _user(row)


async def organisation_by_slug(db: AsyncSession, slug: str) -> tuple[uuid.UUID, str, str] | None:
    """(id, name, region) of an organisation."""
    row = (
        await db.execute(
            select(organisation.c.id, organisation.c.name, organisation.c.region_slug).where(
                organisation.c.slug == slug
            )
        )
    ).one_or_none()
    return None if row is None else (row.id, row.name, row.region_slug)


async def add_user(
    db: AsyncSession,
    *,
    name: str,
    email: str,
    role: Role,
    organisation_id: uuid.UUID | None = None,
    region_slug: str | None = None,
    invited_by: uuid.UUID | None = None,
    now: datetime,
) -> uuid.UUID:
    """A new user; the role decides which of organisation/region it needs (and allows)."""
    name = " ".join(name.split())
    if not name or len(name) > 200:
        raise UserError("name", "a name is needed")
    address = normalise_email(email)
    if role is Role.STAFF and organisation_id is None:
        raise UserError("organisation", "staff belong to an organisation")
    if role is Role.COORDINATOR and not region_slug:
        raise UserError("region", "a coordinator belongs to a region")
    if role is not Role.STAFF:
        organisation_id = None
    if role is not Role.COORDINATOR:
        region_slug = None
    known = select(region.c.slug).where(region.c.slug == region_slug)
    if region_slug and not await db.scalar(known):
        raise UserError("region", "no such region")
    if await db.scalar(select(staff_user.c.id).where(staff_user.c.email == address)):
        raise UserError("email", "there is already a user with this e-mail address")
    user_id = uuid.uuid4()
    await db.execute(
        staff_user.insert().values(
            id=user_id,
            name=name,
            email=address,
            role=role.value,
            organisation_id=organisation_id,
            region_slug=region_slug,
            invited_by=invited_by,
            created_at=now,
        )
    )
    return user_id


async def invite(
    db: AsyncSession,
    cipher: ContactCipher,
    user_id: uuid.UUID,
    *,
    base_url: str,
    lang: str,
    now: datetime,
) -> None:
    """E-mail ``user_id`` a one-time link (purpose ``invite``, 7 days) that signs them in and
    takes them to add a passkey."""
    user = await get_user(db, user_id)
    if user is None:
        raise UserError("email", "no such user")
    token = await links.issue(db, user_id, purpose="invite", now=now, ttl=links.INVITE_TTL)
    await links.mail_link(
        db,
        cipher,
        user_id=user_id,
        email=user.email,
        template="staff_invitation",
        lang=lang,
        context={
            "accept_url": links.link_url(base_url, token, lang=lang),
            "respond_by": now + links.INVITE_TTL,
            "org_name": user.scope_name or "Samhjelp",
        },
        now=now,
    )


async def set_disabled(
    db: AsyncSession, user_id: uuid.UUID, *, disabled: bool, now: datetime
) -> bool:
    """Disable (ending every session at once) or enable again; False when nothing changed."""
    column = staff_user.c.disabled_at
    condition = column.is_(None) if disabled else column.isnot(None)
    result = await db.execute(
        update(staff_user)
        .where(staff_user.c.id == user_id, condition)
        .values(disabled_at=now if disabled else None)
    )
    if disabled:
        await sessions.revoke_all(db, user_id, now=now)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def disable_user(db: AsyncSession, user_id: uuid.UUID, *, now: datetime) -> bool:
    return await set_disabled(db, user_id, disabled=True, now=now)
