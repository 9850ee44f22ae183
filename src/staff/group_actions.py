"""What a staff member does to one group (POST, audited, then 303 back to the group with a
short confirmation): ask or re-ask a facilitator, close, re-open a lapsed group, add a waiting
person. The work is :mod:`groups.manual` (every change checked by the matching rule checker)
and :func:`groups.close_group`; a refusal re-shows the group (status 400) with the reason,
naming each broken rule, next to the form that was sent. Another organisation's group is 404.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Request, Response, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from groups import Lifecycle, close_group, manual
from intake import pool
from staff import audit
from staff.access import Viewer
from staff.group_detail import detail_page
from staff.group_queries import GroupRow, one_group
from staff.group_words import GroupWords
from staff.render import language


async def _own(db: AsyncSession, viewer: Viewer, group_id: uuid.UUID) -> GroupRow:
    row = await one_group(db, await viewer.organisations(db), group_id)
    if row is None:
        raise NotFoundException()
    return row


async def _in_scope(db: AsyncSession, viewer: Viewer, person: uuid.UUID) -> bool:
    found = (await pool.profiles(db, [person])).get(person)
    return found is not None and found.organisation_id in await viewer.organisations(db)


def _actor(viewer: Viewer) -> str:
    return f"staff:{viewer.user_id}"


def _parse_uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    data = await request.form()
    return {k: str(v) for k, v in data.items() if isinstance(v, str)}


def _back(group_id: uuid.UUID, ok: str) -> Redirect:
    return Redirect(f"/ansatt/grupper/{group_id}?ok={ok}", status_code=303)


async def _refused(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    viewer: Viewer,
    row: GroupRow,
    now: datetime,
    *,
    field: str,
    refusal: manual.Refused,
    action: str,
    form: dict[str, str],
) -> Response[Any]:
    """The group again, with why the action was refused next to its form (and audited)."""
    words = GroupWords(language(request))
    lines = [words.refusals.get(refusal.why, refusal.why)]
    lines += [words.rule(p) for p in refusal.problems]
    await audit.record(
        db, viewer, f"{action}.refused", now=now, record_kind="group", record_id=row.id,
        organisation_id=row.organisation_id, request=request,
        detail={"why": refusal.why, "rules": list(refusal.problems)},
    )  # fmt: skip
    return await detail_page(
        request, db, viewer, row.id, now, errors={field: lines}, form=form, status=400
    )


@post("/grupper/{group_id:uuid}/igangsetter", name="staff-group-ask")
async def ask_facilitator(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    health_viewer: Viewer,
    group_id: uuid.UUID,
    now: datetime,
    lifecycle: Lifecycle,
) -> Response[Any]:
    """Send the start notice to the chosen facilitator (or the best who fits)."""
    row = await _own(db, health_viewer, group_id)
    form = await _form(request)
    chosen = _parse_uuid(form.get("facilitator"))
    try:
        pick = await manual.ask_facilitator(
            db, lifecycle, group_id, chosen, now=now, actor=_actor(health_viewer)
        )
    except manual.Refused as refusal:
        return await _refused(
            request, db, health_viewer, row, now, field="facilitator", refusal=refusal,
            action="group.facilitator_ask", form=form,
        )  # fmt: skip
    await audit.record(
        db, health_viewer, "group.facilitator_ask", now=now, record_kind="group",
        record_id=group_id, organisation_id=row.organisation_id, request=request,
        detail={"facilitator": str(pick.id)},
    )  # fmt: skip
    return _back(group_id, "asked")


@post("/grupper/{group_id:uuid}/avslutt", name="staff-group-close")
async def close(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    health_viewer: Viewer,
    group_id: uuid.UUID,
    now: datetime,
    lifecycle: Lifecycle,
) -> Response[Any]:
    """Close the group with a reason (members who have not met go back to the list)."""
    row = await _own(db, health_viewer, group_id)
    form = await _form(request)
    reason = form.get("reason", "").strip()
    words = GroupWords(language(request))
    if not 3 <= len(reason) <= 500 or form.get("confirm") != "yes":
        _ = words.t.gettext
        errors = {}
        if not 3 <= len(reason) <= 500:
            errors["reason"] = [_("Write why the group is closed (3 to 500 characters).")]
        if form.get("confirm") != "yes":
            errors["confirm"] = [_("Tick the box to confirm that the group is to be closed.")]
        return await detail_page(
            request, db, health_viewer, group_id, now, errors=errors, form=form, status=400
        )
    closed = await close_group(
        db, group_id, now=now, actor=_actor(health_viewer), reason=reason, lc=lifecycle
    )
    if not closed:
        return await _refused(
            request, db, health_viewer, row, now, field="reason",
            refusal=manual.Refused("state"), action="group.close", form=form,
        )  # fmt: skip
    await audit.record(
        db, health_viewer, "group.close", now=now, record_kind="group", record_id=group_id,
        organisation_id=row.organisation_id, request=request,
    )  # fmt: skip
    return _back(group_id, "closed")


@post("/grupper/{group_id:uuid}/gjenopne", name="staff-group-reopen")
async def reopen(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    health_viewer: Viewer,
    group_id: uuid.UUID,
    now: datetime,
    lifecycle: Lifecycle,
) -> Response[Any]:
    """Re-open a lapsed group with those of its members who still wait."""
    row = await _own(db, health_viewer, group_id)
    form = await _form(request)
    try:
        count = await manual.reopen(db, lifecycle, group_id, now=now, actor=_actor(health_viewer))
    except manual.Refused as refusal:
        return await _refused(
            request, db, health_viewer, row, now, field="reopen", refusal=refusal,
            action="group.reopen", form=form,
        )  # fmt: skip
    await audit.record(
        db, health_viewer, "group.reopen", now=now, record_kind="group", record_id=group_id,
        organisation_id=row.organisation_id, request=request, detail={"members": count},
    )  # fmt: skip
    return _back(group_id, "reopened")


@post("/grupper/{group_id:uuid}/legg-til", name="staff-group-add")
async def add_member(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    health_viewer: Viewer,
    group_id: uuid.UUID,
    now: datetime,
    lifecycle: Lifecycle,
) -> Response[Any]:
    """Add a waiting person of the group's organisation to a group that has not met yet."""
    row = await _own(db, health_viewer, group_id)
    form = await _form(request)
    person = _parse_uuid(form.get("person"))
    try:
        if person is None or not await _in_scope(db, health_viewer, person):
            raise manual.Refused("not_waiting")
        state = await manual.add_member(
            db, lifecycle, group_id, person, now=now, actor=_actor(health_viewer)
        )
    except manual.Refused as refusal:
        return await _refused(
            request, db, health_viewer, row, now, field="person", refusal=refusal,
            action="group.add_member", form=form,
        )  # fmt: skip
    await audit.record(
        db, health_viewer, "group.add_member", now=now, record_kind="group",
        record_id=group_id, organisation_id=row.organisation_id, request=request,
        detail={"interest": str(person), "state": str(state)},
    )  # fmt: skip
    return _back(group_id, "offered" if state == "offered" else "added")


ROUTES: list[Any] = [ask_facilitator, close, reopen, add_member]
