"""Staff keep their organisation's igangsettere up to date: add, edit, pause, (de)activate.

The registry row lives with intake (:data:`intake.tables.facilitator`, registered through
:func:`intake.registry.add_facilitator`, which validates themes and languages); the life cycle
reads it through :func:`intake.pool.facilitators`. A pause keeps a facilitator's data and
their groups but stops start notices to them for its days
(:func:`groups.facilitators.eligible`). A facilitator's name and contact are staff data, not
health data; the console still audits every change.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import Label

from intake.reference import LANGUAGES, THEMES
from intake.registry import add_facilitator
from intake.tables import facilitator
from matching.model import ACROSS
from matching.states import OPEN_GROUP_STATES
from matching.tables import start_group

__all__ = [
    "FacilitatorRow",
    "FieldErrors",
    "add",
    "edit",
    "get",
    "listing",
    "set_active",
    "set_pause",
    "validate",
]

#: Fields a staff member edits (and the audit trail names, never their values).
FIELDS = ("name", "email", "phone", "themes", "languages", "digital", "max_concurrent_starts")


@dataclass(frozen=True, slots=True)
class FacilitatorRow:
    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    email: str | None
    phone: str | None
    themes: tuple[str, ...]
    languages: tuple[str, ...]
    max_concurrent_starts: int
    digital: bool
    active: bool
    paused_from: date | None
    paused_until: date | None
    #: Open groups they start now (proposed to them, accepted, scheduled, running).
    load: int = 0

    def paused_on(self, day: date) -> bool:
        if self.paused_from is None and self.paused_until is None:
            return False
        return (self.paused_from or date.min) <= day <= (self.paused_until or date.max)


class FieldErrors(Exception):
    """Form input that cannot be stored: field name → problem key (the console words it)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(", ".join(errors))
        self.errors = errors


def validate(
    *, name: str, email: str | None, phone: str | None, themes: Sequence[str],
    languages: Sequence[str], max_concurrent_starts: int,
) -> None:  # fmt: skip
    """Raises :class:`FieldErrors` naming each field that cannot be stored."""
    errors: dict[str, str] = {}
    if not name.strip() or len(name) > 200:
        errors["name"] = "required"
    if email and ("@" not in email or len(email) > 254 or " " in email.strip()):
        errors["email"] = "email"
    if phone and not phone.replace(" ", "").lstrip("+").isdigit():
        errors["phone"] = "phone"
    if not email and not phone:
        errors.setdefault("email", "contact")
    known = {t.slug for t in THEMES} | {ACROSS}
    if not themes or any(t not in known for t in themes):
        errors["themes"] = "themes"
    if not languages or any(code not in LANGUAGES for code in languages):
        errors["languages"] = "languages"
    if not 1 <= max_concurrent_starts <= 20:
        errors["max_concurrent_starts"] = "starts"
    if errors:
        raise FieldErrors(errors)


def _load_column() -> Label[int]:
    return (
        select(func.count())
        .where(
            start_group.c.facilitator_id == facilitator.c.id,
            start_group.c.status.in_(OPEN_GROUP_STATES),
        )
        .scalar_subquery()
        .label("load")
    )


def _row(r: object) -> FacilitatorRow:
    m = r._mapping  # type: ignore[attr-defined]
    return FacilitatorRow(
        m["id"], m["organisation_id"], m["name"], m["email"], m["phone"], tuple(m["themes"]),
        tuple(m["languages"]), m["max_concurrent_starts"], m["digital"], m["active"],
        m["paused_from"], m["paused_until"], m["load"],
    )  # fmt: skip


async def listing(
    session: AsyncSession,
    organisation_ids: Collection[uuid.UUID],
    *,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[FacilitatorRow], int]:
    """The organisations' facilitators by name, with their load, and how many there are."""
    where = facilitator.c.organisation_id.in_(list(organisation_ids))
    total = await session.scalar(select(func.count()).select_from(facilitator).where(where))
    rows = await session.execute(
        select(facilitator, _load_column())
        .where(where)
        .order_by(facilitator.c.active.desc(), facilitator.c.name, facilitator.c.id)
        .limit(limit)
        .offset(offset)
    )
    return [_row(r) for r in rows.all()], int(total or 0)


async def get(
    session: AsyncSession, facilitator_id: uuid.UUID, organisation_ids: Collection[uuid.UUID]
) -> FacilitatorRow | None:
    """One facilitator of these organisations (another organisation's is None, like none)."""
    row = (
        await session.execute(
            select(facilitator, _load_column()).where(
                facilitator.c.id == facilitator_id,
                facilitator.c.organisation_id.in_(list(organisation_ids)),
            )
        )
    ).first()
    return None if row is None else _row(row)


async def add(
    session: AsyncSession,
    *,
    organisation_id: uuid.UUID,
    name: str,
    email: str | None,
    phone: str | None,
    themes: Sequence[str],
    languages: Sequence[str],
    max_concurrent_starts: int,
    digital: bool,
) -> uuid.UUID:
    validate(
        name=name, email=email, phone=phone, themes=themes, languages=languages,
        max_concurrent_starts=max_concurrent_starts,
    )  # fmt: skip
    return await add_facilitator(
        session, organisation_id=organisation_id, name=name.strip(), email=email or None,
        themes=themes, languages=languages, max_concurrent_starts=max_concurrent_starts,
        digital=digital, phone=phone or None,
    )  # fmt: skip


async def edit(
    session: AsyncSession,
    facilitator_id: uuid.UUID,
    *,
    name: str,
    email: str | None,
    phone: str | None,
    themes: Sequence[str],
    languages: Sequence[str],
    max_concurrent_starts: int,
    digital: bool,
) -> list[str]:
    """Store the edit; returns the names of the fields that changed (for the audit trail)."""
    validate(
        name=name, email=email, phone=phone, themes=themes, languages=languages,
        max_concurrent_starts=max_concurrent_starts,
    )  # fmt: skip
    new = {
        "name": name.strip(),
        "email": email or None,
        "phone": phone or None,
        "themes": list(themes),
        "languages": list(languages),
        "digital": digital,
        "max_concurrent_starts": max_concurrent_starts,
    }
    old = (
        (await session.execute(select(facilitator).where(facilitator.c.id == facilitator_id)))
        .mappings()
        .one()
    )
    changed = [
        k for k in FIELDS if (list(old[k]) if k in ("themes", "languages") else old[k]) != new[k]
    ]
    if changed:
        await session.execute(
            update(facilitator)
            .where(facilitator.c.id == facilitator_id)
            .values({k: new[k] for k in changed})
        )
    return changed


async def set_pause(
    session: AsyncSession,
    facilitator_id: uuid.UUID,
    paused_from: date | None,
    paused_until: date | None,
) -> None:
    """Pause for these days (both included); both None ends the pause."""
    if paused_from and paused_until and paused_from > paused_until:
        raise FieldErrors({"paused_until": "order"})
    await session.execute(
        update(facilitator)
        .where(facilitator.c.id == facilitator_id)
        .values(paused_from=paused_from, paused_until=paused_until)
    )


async def set_active(session: AsyncSession, facilitator_id: uuid.UUID, active: bool) -> None:
    """An inactive facilitator is never asked again; their groups go on."""
    await session.execute(
        update(facilitator).where(facilitator.c.id == facilitator_id).values(active=active)
    )


async def started(session: AsyncSession, facilitator_id: uuid.UUID) -> list[dict[str, object]]:
    """The groups this facilitator was given, newest first (state, theme, when)."""
    rows = await session.execute(
        select(
            start_group.c.id, start_group.c.status, start_group.c.theme, start_group.c.language,
            start_group.c.slot, start_group.c.digital, start_group.c.created_at,
        )
        .where(start_group.c.facilitator_id == facilitator_id)
        .order_by(start_group.c.created_at.desc())
        .limit(200)
    )  # fmt: skip
    return [dict(r._mapping) for r in rows.all()]
