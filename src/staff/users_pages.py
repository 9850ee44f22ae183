"""``/ansatt/brukere``: the users a coordinator (their region) or an administrator (all) manage.

The list (with its CSV), the invitation form and disable/enable. Managing who gets in needs
the second factor, like health data: otherwise one intercepted e-mail link of a coordinator
would be enough to invite oneself. Every change is in the audit trail (``user.invite``,
``user.disable``, ``user.enable``). A user outside the viewer's scope answers 404, like an
unknown id.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.crypto import ContactCipher
from intake.tables import organisation, region
from intake.web.i18n import Translator
from intake.web.views import date_and_time
from staff import audit
from staff.access import Role, Viewer
from staff.csv_export import csv_response
from staff.guard import require_role
from staff.links import deliver_soon
from staff.render import language, render, role_label
from staff.users import (
    UserError,
    add_user,
    get_user,
    invite,
    list_users,
    may_create,
    may_manage,
    normalise_email,
    set_disabled,
)

PAGE = 50


def _page_number(request: Request[Any, Any, Any]) -> int:
    try:
        return max(1, int(request.query_params.get("side", "1")))
    except ValueError:
        return 1


def _confirmation(t: Translator, key: str) -> str:
    return {
        "invited": t.gettext("The invitation is on its way."),
        "disabled": t.gettext("The user is disabled and signed out everywhere."),
        "enabled": t.gettext("The user may sign in again."),
    }.get(key, "")


@get("/brukere")
async def users_page(
    request: Request[Any, Any, Any], db: AsyncSession, health_viewer: Viewer
) -> Response[Any]:
    viewer = health_viewer
    require_role(viewer, Role.COORDINATOR, Role.ADMINISTRATOR)
    lang = language(request)
    t = Translator(lang)
    if request.query_params.get("format") == "csv":
        users, _ = await list_users(db, viewer, limit=100_000)
        return csv_response(
            "users.csv",
            ["name", "email", "role", "organisation_or_region", "last_sign_in", "disabled"],
            (
                [
                    u.name,
                    u.email,
                    u.role.value,
                    u.scope_name,
                    u.last_sign_in_at.isoformat() if u.last_sign_in_at else "",
                    u.disabled_at.isoformat() if u.disabled_at else "",
                ]
                for u in users
            ),
        )
    page = _page_number(request)
    users, total = await list_users(db, viewer, limit=PAGE, offset=(page - 1) * PAGE)
    return render(
        request,
        "users.html",
        viewer=viewer,
        section="users",
        rows=[
            {
                "user": u,
                "role": role_label(t, u.role),
                "last": date_and_time(u.last_sign_in_at, lang) if u.last_sign_in_at else "",
                "manage": may_manage(viewer, u),
            }
            for u in users
        ],
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE)),
        ok=_confirmation(t, request.query_params.get("ok", "")),
    )


async def _choices(db: AsyncSession, viewer: Viewer) -> dict[str, Any]:
    """The organisations and regions this viewer may invite for."""
    orgs = select(organisation.c.slug, organisation.c.name, organisation.c.region_slug)
    regions = select(region.c.slug, region.c.name)
    if viewer.role is Role.COORDINATOR:
        orgs = orgs.where(organisation.c.region_slug == viewer.region_slug)
        regions = regions.where(region.c.slug == viewer.region_slug)
    return {
        "organisations": (await db.execute(orgs.order_by(organisation.c.name))).all(),
        "regions": (await db.execute(regions.order_by(region.c.name))).all(),
        "roles": [r for r in Role if r is not Role.ADMINISTRATOR or viewer.national],
    }


def _invite_form(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    choices: dict[str, Any],
    *,
    form: dict[str, str],
    errors: dict[str, str],
) -> Response[Any]:
    t = Translator(language(request))
    return render(
        request,
        "users_invite.html",
        viewer=viewer,
        section="users",
        status=400 if errors else 200,
        form=form,
        errors=errors,
        role_names={r.value: role_label(t, r) for r in Role},
        **choices,
    )


_EMPTY = {"name": "", "email": "", "role": "staff", "organisation": "", "region": ""}


@get("/brukere/ny")
async def invite_page(
    request: Request[Any, Any, Any], db: AsyncSession, health_viewer: Viewer
) -> Response[Any]:
    require_role(health_viewer, Role.COORDINATOR, Role.ADMINISTRATOR)
    choices = await _choices(db, health_viewer)
    return _invite_form(request, health_viewer, choices, form=dict(_EMPTY), errors={})


@post("/brukere/ny", status_code=303)
async def invite_user(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    now: datetime,
    cipher: ContactCipher,
    base_url: str,
    health_viewer: Viewer,
) -> Response[Any]:
    viewer = health_viewer
    require_role(viewer, Role.COORDINATOR, Role.ADMINISTRATOR)
    data = await request.form()
    form = {k: str(data.get(k, "")).strip() for k in _EMPTY}
    t = Translator(language(request))
    choices = await _choices(db, viewer)
    errors: dict[str, str] = {}
    if not form["name"]:
        errors["name"] = t.gettext("Write the person's name.")
    try:
        normalise_email(form["email"])
    except UserError:
        errors["email"] = t.gettext("Write a work e-mail address, like name@example.no.")
    role = Role(form["role"]) if form["role"] in Role._value2member_map_ else None
    if role is None or role not in choices["roles"]:
        errors["role"] = t.gettext("Choose a role.")
    orgs = {o.slug: o for o in choices["organisations"]}
    regions = {r.slug for r in choices["regions"]}
    org = orgs.get(form["organisation"])
    if role is Role.STAFF and org is None:
        errors["organisation"] = t.gettext("Choose the organisation this person works for.")
    if role is Role.COORDINATOR and form["region"] not in regions:
        errors["region"] = t.gettext("Choose the region this person coordinates.")
    if role is not None and not errors:
        allowed = may_create(
            viewer,
            role,
            organisation_region=org.region_slug if org else None,
            region_slug=form["region"] or None,
        )
        if not allowed:
            raise PermissionDeniedException("your role may not invite this user")
        org_id = await db.scalar(
            select(organisation.c.id).where(organisation.c.slug == form["organisation"])
        )
        try:
            user_id = await add_user(
                db,
                name=form["name"],
                email=form["email"],
                role=role,
                organisation_id=org_id if role is Role.STAFF else None,
                region_slug=form["region"] if role is Role.COORDINATOR else None,
                invited_by=viewer.user_id,
                now=now,
            )
        except UserError as exc:
            errors[exc.field] = {
                "name": t.gettext("Write the person's name."),
                "email": t.gettext("Write a work e-mail address that has no user yet."),
            }.get(exc.field, t.gettext("Check this field."))
        else:
            await invite(db, cipher, user_id, base_url=base_url, lang=language(request), now=now)
            await audit.record(
                db,
                viewer,
                "user.invite",
                now=now,
                request=request,
                record_kind="staff_user",
                record_id=user_id,
                organisation_id=org_id if role is Role.STAFF else None,
                region_slug=(org.region_slug if org else form["region"]) or None,
                detail={"role": role.value},
            )
            return Redirect(
                "/ansatt/brukere?ok=invited", status_code=303, background=deliver_soon(request)
            )
    return _invite_form(request, viewer, choices, form=form, errors=errors)


async def _set_disabled(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    viewer: Viewer,
    user_id: uuid.UUID,
    *,
    disabled: bool,
    now: datetime,
) -> Response[Any]:
    require_role(viewer, Role.COORDINATOR, Role.ADMINISTRATOR)
    user = await get_user(db, user_id, viewer)
    if user is None:
        raise NotFoundException()
    if not may_manage(viewer, user):
        raise PermissionDeniedException("your role may not manage this user")
    if await set_disabled(db, user_id, disabled=disabled, now=now):
        await audit.record(
            db,
            viewer,
            "user.disable" if disabled else "user.enable",
            now=now,
            request=request,
            record_kind="staff_user",
            record_id=user_id,
            organisation_id=user.organisation_id,
            region_slug=user.scope_region,
        )
    ok = "disabled" if disabled else "enabled"
    return Redirect(f"/ansatt/brukere?ok={ok}", status_code=303)


@post("/brukere/{user_id:uuid}/deaktiver", status_code=303)
async def disable(
    request: Request[Any, Any, Any],
    user_id: uuid.UUID,
    db: AsyncSession,
    now: datetime,
    health_viewer: Viewer,
) -> Response[Any]:
    return await _set_disabled(request, db, health_viewer, user_id, disabled=True, now=now)


@post("/brukere/{user_id:uuid}/aktiver", status_code=303)
async def enable(
    request: Request[Any, Any, Any],
    user_id: uuid.UUID,
    db: AsyncSession,
    now: datetime,
    health_viewer: Viewer,
) -> Response[Any]:
    return await _set_disabled(request, db, health_viewer, user_id, disabled=False, now=now)


ROUTES: list[Any] = [users_page, invite_page, invite_user, disable, enable]
