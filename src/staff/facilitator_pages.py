"""The igangsettere (``/ansatt/igangsettere``): the facilitators of the viewer's organisations
with their load, as a list (pages, CSV without contact) and one by one: add, edit (name,
e-mail, phone, themes, languages, online, how many starts at once), pause for a stretch of days,
deactivate and activate again; and what each has started, by state.

A facilitator's contact is staff data, not health data, so a signed-in viewer without the
second factor may work here; every change is still audited (the fields, never their values).
Another organisation's facilitator is 404, in the page and in every action.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from groups import facilitator_admin as admin
from groups.facilitators import local_day
from intake import pool
from intake.reference import LANGUAGES, THEMES
from matching.model import ACROSS
from staff import audit
from staff.access import Viewer
from staff.csv_export import csv_response
from staff.group_words import STATE_ORDER, GroupWords
from staff.render import language, render

PAGE_SIZE = 50


def _messages(words: GroupWords) -> dict[str, str]:
    _ = words.t.gettext
    return {
        "required": _("Write the facilitator's name."),
        "email": _("Write the e-mail address like name@example.no."),
        "phone": _("Write the phone number with digits only, like 912 34 567."),
        "contact": _("Give an e-mail address or a phone number, so the start notice reaches them."),
        "themes": _("Choose at least one theme (or across problems)."),
        "languages": _("Choose at least one language."),
        "starts": _("Write a number from 1 to 20."),
        "order": _("The last day of the pause must be on or after the first."),
        "date": _("Write the date like 2026-12-24."),
        "organisation": _("Choose the organisation."),
    }


def _choices(words: GroupWords) -> dict[str, Any]:
    themes = sorted(((t.slug, words.theme(t.slug)) for t in THEMES), key=lambda x: x[1])
    return {
        "theme_choices": [(ACROSS, words.theme(None)), *themes],
        "language_choices": [(c, words.language(c)) for c in LANGUAGES],
    }


async def _form(request: Request[Any, Any, Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    data = await request.form()
    single = {k: str(v) for k, v in data.items() if isinstance(v, str)}
    multi = {k: [str(v) for v in data.getall(k)] for k in ("themes", "languages") if k in data}
    return single, multi


def _fields(single: dict[str, str], multi: dict[str, list[str]]) -> dict[str, Any]:
    starts = single.get("max_concurrent_starts", "").strip()
    return {
        "name": single.get("name", "").strip()[:200],
        "email": single.get("email", "").strip()[:254] or None,
        "phone": single.get("phone", "").strip()[:30] or None,
        "themes": multi.get("themes", [])[:30],
        "languages": multi.get("languages", [])[:30],
        "max_concurrent_starts": int(starts) if starts.isdigit() else 0,
        "digital": single.get("digital") == "yes",
    }


async def _own(db: AsyncSession, viewer: Viewer, fid: uuid.UUID) -> admin.FacilitatorRow:
    found = await admin.get(db, fid, await viewer.organisations(db))
    if found is None:
        raise NotFoundException()
    return found


@get("/igangsettere", name="staff-facilitators")
async def facilitators_page(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Viewer, now: datetime
) -> Response[Any]:
    words = GroupWords(language(request))
    orgs = await viewer.organisations(db)
    page = request.query_params.get("page", "1")
    number = max(1, int(page)) if page.isdigit() else 1
    today = local_day(now)
    if request.query_params.get("format") == "csv":
        rows, _ = await admin.listing(db, orgs, limit=5000)
        return _csv(words, rows, today, now)
    rows, total = await admin.listing(db, orgs, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)
    return render(
        request,
        "facilitator_list.html",
        viewer=viewer,
        section="facilitators",
        facilitators=rows,
        total=total,
        page=number,
        pages=max(1, -(-total // PAGE_SIZE)),
        link=lambda **kw: "/ansatt/igangsettere?" + urlencode(kw),
        words=words,
        today=today,
        ok=_ok(words, request.query_params.get("ok", "")),
    )


def _csv(
    words: GroupWords, rows: list[admin.FacilitatorRow], today: date, now: datetime
) -> Response[bytes]:
    _ = words.t.gettext
    header = [
        _("Name"), _("Themes"), _("Languages"), _("Online"), _("Starts at once"),
        _("Open groups now"), _("Active"), _("Paused from"), _("Paused until"),
    ]  # fmt: skip
    body = [
        [
            f.name, ", ".join(words.theme(None if t == ACROSS else t) for t in f.themes),
            ", ".join(words.language(c) for c in f.languages), _("yes") if f.digital else _("no"),
            f.max_concurrent_starts, f.load, _("yes") if f.active else _("no"),
            f.paused_from or "", f.paused_until or "",
        ]
        for f in rows
    ]  # fmt: skip
    return csv_response(f"igangsettere-{now.date().isoformat()}.csv", header, body)


def _ok(words: GroupWords, key: str) -> str | None:
    _ = words.t.gettext
    return {
        "added": _("The facilitator has been added."),
        "saved": _("The changes have been saved."),
        "paused": _("The pause has been saved. They are not asked to start groups meanwhile."),
        "unpaused": _("The pause has been removed."),
        "deactivated": _("The facilitator is deactivated and will not be asked again."),
        "activated": _("The facilitator is active again."),
    }.get(key)


@get("/igangsettere/ny", name="staff-facilitator-new")
async def new_facilitator(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Viewer
) -> Response[Any]:
    return await _new_page(request, db, viewer, {}, {}, {})


async def _new_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    viewer: Viewer,
    values: dict[str, Any],
    errors: dict[str, str],
    single: dict[str, str],
    status: int = 200,
) -> Response[Any]:
    words = GroupWords(language(request))
    orgs = await viewer.organisations(db)
    names = await pool.organisations(db, orgs)
    return render(
        request,
        "facilitator_new.html",
        viewer=viewer,
        section="facilitators",
        status=status,
        words=words,
        values={"themes": [], "languages": ["no"], "max_concurrent_starts": 1, **values},
        organisation=single.get("organisation", ""),
        organisations=[(o, names[o].name) for o in orgs if o in names],
        errors=errors,
        **_choices(words),
    )


@post("/igangsettere/ny", name="staff-facilitator-add")
async def add_facilitator(
    request: Request[Any, Any, Any], db: AsyncSession, viewer: Viewer, now: datetime
) -> Response[Any]:
    single, multi = await _form(request)
    values = _fields(single, multi)
    orgs = await viewer.organisations(db)
    words = GroupWords(language(request))
    messages = _messages(words)
    try:
        org = uuid.UUID(single["organisation"]) if single.get("organisation") else orgs[0]
    except (ValueError, IndexError):
        org = None
    if org is None or org not in orgs:
        return await _new_page(
            request, db, viewer, values, {"organisation": messages["organisation"]}, single, 400
        )
    try:
        fid = await admin.add(db, organisation_id=org, **values)
    except admin.FieldErrors as bad:
        errors = {k: messages[v] for k, v in bad.errors.items()}
        return await _new_page(request, db, viewer, values, errors, single, 400)
    await audit.record(
        db, viewer, "facilitator.add", now=now, record_kind="facilitator", record_id=fid,
        organisation_id=org, request=request,
    )  # fmt: skip
    return Redirect(f"/ansatt/igangsettere/{fid}?ok=added", status_code=303)


def _current(found: admin.FacilitatorRow) -> dict[str, Any]:
    return {
        "name": found.name,
        "email": found.email or "",
        "phone": found.phone or "",
        "themes": list(found.themes),
        "languages": list(found.languages),
        "max_concurrent_starts": found.max_concurrent_starts,
        "digital": found.digital,
    }


async def _detail(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    viewer: Viewer,
    found: admin.FacilitatorRow,
    now: datetime,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    pause: dict[str, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    words = GroupWords(language(request))
    started = await admin.started(db, found.id)
    by_state: Counter[str] = Counter(str(g["status"]) for g in started)
    today = local_day(now)
    return render(
        request,
        "facilitator_detail.html",
        viewer=viewer,
        section="facilitators",
        status=status,
        f=found,
        words=words,
        values=values or _current(found),
        errors=errors or {},
        pause=pause
        or {
            "paused_from": found.paused_from.isoformat() if found.paused_from else "",
            "paused_until": found.paused_until.isoformat() if found.paused_until else "",
        },
        paused_now=found.paused_on(today),
        started=started,
        by_state=[(words.states[s], by_state[s.value]) for s in STATE_ORDER if by_state[s.value]],
        ok=_ok(words, request.query_params.get("ok", "")),
        **_choices(words),
    )


@get("/igangsettere/{facilitator_id:uuid}", name="staff-facilitator")
async def facilitator_page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    viewer: Viewer,
    facilitator_id: uuid.UUID,
    now: datetime,
) -> Response[Any]:
    return await _detail(request, db, viewer, await _own(db, viewer, facilitator_id), now)


@post("/igangsettere/{facilitator_id:uuid}", name="staff-facilitator-edit")
async def edit_facilitator(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    viewer: Viewer,
    facilitator_id: uuid.UUID,
    now: datetime,
) -> Response[Any]:
    found = await _own(db, viewer, facilitator_id)
    single, multi = await _form(request)
    values = _fields(single, multi)
    try:
        changed = await admin.edit(db, facilitator_id, **values)
    except admin.FieldErrors as bad:
        messages = _messages(GroupWords(language(request)))
        errors = {k: messages[v] for k, v in bad.errors.items()}
        return await _detail(
            request, db, viewer, found, now, values=values, errors=errors, status=400
        )
    await audit.record(
        db, viewer, "facilitator.edit", now=now, record_kind="facilitator",
        record_id=facilitator_id, organisation_id=found.organisation_id, request=request,
        detail={"fields": changed},
    )  # fmt: skip
    return Redirect(f"/ansatt/igangsettere/{facilitator_id}?ok=saved", status_code=303)


def _day(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


@post("/igangsettere/{facilitator_id:uuid}/pause", name="staff-facilitator-pause")
async def pause_facilitator(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    viewer: Viewer,
    facilitator_id: uuid.UUID,
    now: datetime,
) -> Response[Any]:
    """Set the pause's days (both included), or end it (``end=yes``, or both dates empty)."""
    found = await _own(db, viewer, facilitator_id)
    single, _ = await _form(request)
    pause = {k: single.get(k, "").strip()[:10] for k in ("paused_from", "paused_until")}
    if single.get("end") == "yes":
        pause = {"paused_from": "", "paused_until": ""}
    messages = _messages(GroupWords(language(request)))
    try:
        start, end = _day(pause["paused_from"]), _day(pause["paused_until"])
    except ValueError:
        bad = [k for k, v in pause.items() if v and not _valid_day(v)]
        errors = {k: messages["date"] for k in bad}
        return await _detail(
            request, db, viewer, found, now, errors=errors, pause=pause, status=400
        )
    try:
        await admin.set_pause(db, facilitator_id, start, end)
    except admin.FieldErrors as bad_order:
        errors = {k: messages[v] for k, v in bad_order.errors.items()}
        return await _detail(
            request, db, viewer, found, now, errors=errors, pause=pause, status=400
        )
    await audit.record(
        db, viewer, "facilitator.pause", now=now, record_kind="facilitator",
        record_id=facilitator_id, organisation_id=found.organisation_id, request=request,
        detail={"from": pause["paused_from"] or None, "until": pause["paused_until"] or None},
    )  # fmt: skip
    ok = "paused" if start or end else "unpaused"
    return Redirect(f"/ansatt/igangsettere/{facilitator_id}?ok={ok}", status_code=303)


def _valid_day(value: str) -> bool:
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


@post("/igangsettere/{facilitator_id:uuid}/aktiv", name="staff-facilitator-active")
async def set_active(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    viewer: Viewer,
    facilitator_id: uuid.UUID,
    now: datetime,
) -> Response[Any]:
    found = await _own(db, viewer, facilitator_id)
    single, _ = await _form(request)
    active = single.get("active") == "yes"
    await admin.set_active(db, facilitator_id, active)
    action = "facilitator.activate" if active else "facilitator.deactivate"
    await audit.record(
        db, viewer, action, now=now, record_kind="facilitator", record_id=facilitator_id,
        organisation_id=found.organisation_id, request=request,
    )  # fmt: skip
    ok = "activated" if active else "deactivated"
    return Redirect(f"/ansatt/igangsettere/{facilitator_id}?ok={ok}", status_code=303)


ROUTES: list[Any] = [
    facilitators_page,
    new_facilitator,
    add_facilitator,
    facilitator_page,
    edit_facilitator,
    pause_facilitator,
    set_active,
]
