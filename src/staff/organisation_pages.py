"""The organisation page (``/ansatt/organisasjon``): contact and reply-to address, data
controller, catchment, group rules, themes offered and API keys.

Staff edit their own organisation; coordinators and administrators choose one of theirs. An
organisation outside the viewer's scope answers 404, like an unknown id. Every change is
audited (``org.edit`` naming the section and fields, ``key.create``, ``key.revoke``); an API key
is shown once, on the page that answers its creation, and never stored in clear. Making or
revoking a key needs the second factor: a key reads people's records through the API.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from groups.config import Lifecycle
from intake.tables import organisation
from intake.web.i18n import Translator
from intake.web.views import municipalities_by_county
from staff import audit, org_settings
from staff.access import Viewer
from staff.org_settings import _
from staff.render import language, render

SECTION = "organisation"
OK = {  # English msgids, marked for extraction; translated where shown
    "contact": _("The contact details are saved."),
    "catchment": _("The catchment is saved."),
    "rules": _("The group rules are saved."),
    "themes": _("The themes offered are saved."),
    "revoked": _("The key is revoked: programs using it are refused from now on."),
}


async def scoped_organisation(db: AsyncSession, viewer: Viewer, org_id: uuid.UUID) -> RowMapping:
    """The organisation if the viewer may act for it; 404 otherwise (as for an unknown id)."""
    if org_id not in await viewer.organisations(db):
        raise NotFoundException()
    row = (await db.execute(select(organisation).where(organisation.c.id == org_id))).mappings()
    found = row.first()
    if found is None:
        raise NotFoundException()
    return found


async def _form(request: Request[Any, Any, Any]) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items()}


def _t(request: Request[Any, Any, Any]) -> Translator:
    return Translator(language(request))


async def _page(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    db: AsyncSession,
    org: RowMapping,
    lifecycle: Lifecycle,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    status: int = 200,
    secret: str | None = None,
) -> Response[str]:
    t = _t(request)
    lang = language(request)
    defaults = org_settings.rule_defaults(
        lifecycle.config.facilitated_meetings, lifecycle.config.fill_wait.days
    )
    current = dict(org["rules"] or {})
    served = await org_settings.catchment_of(db, org["id"])
    region = await org_settings.org_region_municipalities(db, org["region_slug"])
    offered = org["themes"]
    rules = [
        {
            "spec": spec,
            "label": t.gettext(spec.label),
            "hint": t.gettext(spec.hint),
            "default": defaults[spec.key],
            "value": (form or {}).get(spec.key, current.get(spec.key, "")),
        }
        for spec in org_settings.RULES
    ]
    ok_key = request.query_params.get("ok", "")
    ok = t.gettext(OK[ok_key]) if ok_key in OK else ""
    moved = request.query_params.get("n", "")
    if ok_key == "adopted" and moved.isdigit():
        ok = t.ngettext(
            "The catchment is saved. %(num)d person already waiting there now waits with you.",
            "The catchment is saved. %(num)d people already waiting there now wait with you.",
            int(moved),
        )
    return render(
        request,
        "organisation.html",
        viewer=viewer,
        section=SECTION,
        status=status,
        org=org,
        orgs=await _choices(db, viewer),
        errors=errors or {},
        form=form or {},
        served=served,
        addable=await _addable(db, region, served),
        rules=rules,
        themes=[
            (slug, name, offered is None or slug in offered)
            for slug, name in org_settings.theme_choices(lang)
        ],
        keys=await org_settings.keys_of(db, org["id"]),
        key_roles=org_settings.KEY_ROLES,
        key_days=org_settings.KEY_DAYS,
        secret=secret,
        ok=ok,
    )


async def _addable(
    db: AsyncSession, region: list[tuple[str, str]], served: list[tuple[str, str]]
) -> list[tuple[str, list[Any]]]:
    """The region's municipalities not yet served, by county, as the sign-up form's select
    offers them (so the same combobox works on them, and former names find them)."""
    wanted = {number for number, _name in region} - {number for number, _name in served}
    grouped = [
        (county, [p for p in places if p.number in wanted])
        for county, places in await municipalities_by_county(db)
    ]
    return [(county, places) for county, places in grouped if places]


async def _choices(db: AsyncSession, viewer: Viewer) -> list[tuple[uuid.UUID, str]]:
    ids = await viewer.organisations(db)
    if not ids:
        return []
    rows = await db.execute(
        select(organisation.c.id, organisation.c.name)
        .where(organisation.c.id.in_(ids))
        .order_by(organisation.c.name)
    )
    return [(r.id, r.name) for r in rows]


def _back(org_id: uuid.UUID, ok: str, anchor: str) -> Redirect:
    return Redirect(f"/ansatt/organisasjon/{org_id}?ok={ok}#{anchor}", status_code=303)


@get("/organisasjon")
async def choose(request: Request[Any, Any, Any], viewer: Viewer, db: AsyncSession) -> Any:
    """Straight to the viewer's organisation when they have one; else the choice."""
    orgs = await _choices(db, viewer)
    if len(orgs) == 1:
        return Redirect(f"/ansatt/organisasjon/{orgs[0][0]}", status_code=303)
    return render(request, "organisation_choose.html", viewer=viewer, section=SECTION, orgs=orgs)


@get("/organisasjon/{org_id:uuid}")
async def show(
    request: Request[Any, Any, Any],
    org_id: uuid.UUID,
    viewer: Viewer,
    db: AsyncSession,
    lifecycle: Lifecycle,
) -> Response[str]:
    org = await scoped_organisation(db, viewer, org_id)
    return await _page(request, viewer, db, org, lifecycle)


@post("/organisasjon/{org_id:uuid}/kontakt")
async def save_contact(
    request: Request[Any, Any, Any],
    org_id: uuid.UUID,
    viewer: Viewer,
    db: AsyncSession,
    now: datetime,
    lifecycle: Lifecycle,
) -> Any:
    org = await scoped_organisation(db, viewer, org_id)
    form = await _form(request)
    values, errors = org_settings.parse_contact(form, _t(request).gettext)
    if errors:
        return await _page(
            request, viewer, db, org, lifecycle, errors=errors, form=form, status=400
        )
    changed = sorted(k for k, v in values.items() if org[k] != v)
    await org_settings.update_organisation(db, org_id, **values)
    await _audit(db, viewer, request, now, org, "contact", changed)
    return _back(org_id, "contact", "contact")


@post("/organisasjon/{org_id:uuid}/kommuner")
async def add_municipality(
    request: Request[Any, Any, Any],
    org_id: uuid.UUID,
    viewer: Viewer,
    db: AsyncSession,
    now: datetime,
    lifecycle: Lifecycle,
) -> Any:
    org = await scoped_organisation(db, viewer, org_id)
    form = await _form(request)
    number = form.get("municipality", "")
    errors, moved = await org_settings.add_municipality(
        db, org_id, org["region_slug"], number, _t(request).gettext
    )
    if errors:
        return await _page(
            request, viewer, db, org, lifecycle, errors=errors, form=form, status=400
        )
    await _audit(db, viewer, request, now, org, "catchment", ["add:" + number], moved=moved)
    if moved:
        return Redirect(
            f"/ansatt/organisasjon/{org_id}?ok=adopted&n={moved}#catchment", status_code=303
        )
    return _back(org_id, "catchment", "catchment")


@post("/organisasjon/{org_id:uuid}/kommuner/{number:str}/fjern")
async def remove_municipality(
    request: Request[Any, Any, Any],
    org_id: uuid.UUID,
    number: str,
    viewer: Viewer,
    db: AsyncSession,
    now: datetime,
) -> Any:
    org = await scoped_organisation(db, viewer, org_id)
    if not await org_settings.remove_municipality(db, org_id, number):
        raise NotFoundException()
    await _audit(db, viewer, request, now, org, "catchment", ["remove:" + number])
    return _back(org_id, "catchment", "catchment")


@post("/organisasjon/{org_id:uuid}/regler")
async def save_rules(
    request: Request[Any, Any, Any],
    org_id: uuid.UUID,
    viewer: Viewer,
    db: AsyncSession,
    now: datetime,
    lifecycle: Lifecycle,
) -> Any:
    org = await scoped_organisation(db, viewer, org_id)
    form = await _form(request)
    defaults = org_settings.rule_defaults(
        lifecycle.config.facilitated_meetings, lifecycle.config.fill_wait.days
    )
    current = dict(org["rules"] or {})
    rules, errors = org_settings.parse_rules(form, current, defaults, _t(request).gettext)
    if errors:
        return await _page(
            request, viewer, db, org, lifecycle, errors=errors, form=form, status=400
        )
    changed = sorted(k for k in set(rules) | set(current) if rules.get(k) != current.get(k))
    await org_settings.update_organisation(db, org_id, rules=rules)
    await _audit(db, viewer, request, now, org, "rules", changed)
    return _back(org_id, "rules", "rules")


@post("/organisasjon/{org_id:uuid}/temaer")
async def save_themes(
    request: Request[Any, Any, Any],
    org_id: uuid.UUID,
    viewer: Viewer,
    db: AsyncSession,
    now: datetime,
    lifecycle: Lifecycle,
) -> Any:
    org = await scoped_organisation(db, viewer, org_id)
    chosen = [str(v) for v in (await request.form()).getall("themes", [])]
    themes, errors = org_settings.parse_themes(chosen, _t(request).gettext)
    if errors:
        return await _page(request, viewer, db, org, lifecycle, errors=errors, status=400)
    await org_settings.update_organisation(db, org_id, themes=themes)
    await _audit(db, viewer, request, now, org, "themes", ["themes"])
    return _back(org_id, "themes", "themes")


@post("/organisasjon/{org_id:uuid}/nokler")
async def create_key(
    request: Request[Any, Any, Any],
    org_id: uuid.UUID,
    health_viewer: Viewer,
    db: AsyncSession,
    now: datetime,
    lifecycle: Lifecycle,
) -> Response[str]:
    viewer = health_viewer
    org = await scoped_organisation(db, viewer, org_id)
    form = await _form(request)
    values, errors = org_settings.parse_key(form, _t(request).gettext)
    if errors:
        return await _page(
            request, viewer, db, org, lifecycle, errors=errors, form=form, status=400
        )
    secret, key_id = await org_settings.create_key(db, org_id, now=now, **values)
    await audit.record(
        db, viewer, "key.create", now=now, record_kind="api_key", record_id=key_id,
        organisation_id=org_id, region_slug=org["region_slug"], request=request,
        detail={"role": values["role"], "days": values["days"]},
    )  # fmt: skip
    # The secret is on this page only: not in a redirect's address, never stored in clear.
    return await _page(request, viewer, db, org, lifecycle, secret=secret, status=201)


@post("/organisasjon/{org_id:uuid}/nokler/{key_id:uuid}/trekk-tilbake")
async def revoke_key(
    request: Request[Any, Any, Any],
    org_id: uuid.UUID,
    key_id: uuid.UUID,
    health_viewer: Viewer,
    db: AsyncSession,
    now: datetime,
) -> Any:
    org = await scoped_organisation(db, health_viewer, org_id)
    if not await org_settings.revoke_key(db, org_id, key_id, now):
        raise NotFoundException()
    await audit.record(
        db, health_viewer, "key.revoke", now=now, record_kind="api_key", record_id=key_id,
        organisation_id=org_id, region_slug=org["region_slug"], request=request,
    )  # fmt: skip
    return _back(org_id, "revoked", "keys")


async def _audit(
    db: AsyncSession,
    viewer: Viewer,
    request: Request[Any, Any, Any],
    now: datetime,
    org: RowMapping,
    section: str,
    fields: list[str],
    **counts: int,
) -> None:
    await audit.record(
        db, viewer, "org.edit", now=now, record_kind="organisation", record_id=org["id"],
        organisation_id=org["id"], region_slug=org["region_slug"], request=request,
        detail={"section": section, "fields": fields, **counts},
    )  # fmt: skip


ROUTES: list[Any] = [
    choose,
    show,
    save_contact,
    add_municipality,
    remove_municipality,
    save_rules,
    save_themes,
    create_key,
    revoke_key,
]
