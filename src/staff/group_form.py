"""Forming a group by hand (``/ansatt/grupper/ny``): choose what the group is about (theme,
language, time, online), pick people from the organisation's waiting list who chose it, check
the group against the rules, and form it.

The check is :func:`groups.manual.check` — the matching rule checker — and forming is
:func:`groups.manual.form_group`, which stores the proposal as the matching job does and sends
the start notice. Every broken rule is named in the staff member's language. Works without
JavaScript: the choice of theme etc. is a GET form, the people are checkboxes in a POST form
whose two buttons are "check" and "form the group".
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect
from sqlalchemy.ext.asyncio import AsyncSession

from groups import Lifecycle, manual
from groups.facilitators import eligible
from intake import pool
from intake.reference import LANGUAGES, THEMES
from matching.model import ALL_SLOTS
from staff import audit
from staff.access import Viewer
from staff.group_detail import age_text
from staff.group_queries import ACROSS
from staff.group_words import GroupWords
from staff.people import reference
from staff.render import language, render

_THEMES = {t.slug for t in THEMES} | {ACROSS}
PICK_LIMIT = 100


def _shape_of(
    values: dict[str, str], orgs: list[uuid.UUID]
) -> tuple[manual.Shape | None, dict[str, str]]:
    """The group's shape from the form, or which fields are missing (field → problem key)."""
    errors = {}
    try:
        org = uuid.UUID(values.get("organisation", "")) if values.get("organisation") else orgs[0]
    except (ValueError, IndexError):
        org = None
    if org is None or org not in orgs:
        errors["organisation"] = "organisation"
    theme = values.get("theme", "")
    if theme not in _THEMES:
        errors["theme"] = "theme"
    lang = values.get("language", "")
    if lang not in LANGUAGES:
        errors["language"] = "language"
    slot = values.get("slot", "")
    if slot not in ALL_SLOTS:
        errors["slot"] = "slot"
    if errors or org is None:
        return None, errors
    digital = values.get("digital") == "yes"
    return manual.Shape(org, None if theme == ACROSS else theme, lang, slot, digital), {}


def _field_messages(words: GroupWords) -> dict[str, str]:
    _ = words.t.gettext
    return {
        "organisation": _("Choose the organisation."),
        "theme": _("Choose a theme, or across problems."),
        "language": _("Choose the language the group will talk in."),
        "slot": _("Choose when the group will meet."),
        "person": _("Tick the people who are to be in the group."),
    }


async def _page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    viewer: Viewer,
    values: dict[str, str],
    now: datetime,
    *,
    picked: list[uuid.UUID] | None = None,
    result: list[str] | None = None,
    refusal: list[str] | None = None,
    field_errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    words = GroupWords(language(request))
    orgs = await viewer.organisations(db)
    names = {o.id: o.name for o in (await pool.organisations(db, orgs)).values()}
    shape, problems = _shape_of(values, orgs)
    shown = bool(values.get("theme") or values.get("language") or values.get("slot"))
    messages = _field_messages(words)
    errors = {k: messages[k] for k in (field_errors or (problems if shown else {}))}
    people: list[tuple[uuid.UUID, str, str, datetime, str]] = []
    facilitators: list[pool.FacilitatorInfo] = []
    total = 0
    if shape is not None:
        found, total = await pool.waiting_in(
            db, [shape.organisation_id], theme=shape.theme, language=shape.language,
            slot=shape.slot, digital=shape.digital, limit=PICK_LIMIT,
        )  # fmt: skip
        people = [
            (w.id, reference(w.id), age_text(w.age_band), w.waiting_since,
             ", ".join(words.theme(t) for t in w.themes))
            for w in found
        ]  # fmt: skip
        facilitators = await eligible(db, manual.draft(shape), set(), now=now)
    named = [(t.slug, words.theme(t.slug)) for t in THEMES]
    return render(
        request,
        "group_form.html",
        viewer=viewer,
        section="groups",
        status=status,
        words=words,
        values=values,
        organisations=[(o, names.get(o, str(o))) for o in orgs],
        themes=[(ACROSS, words.theme(None)), *sorted(named, key=lambda x: x[1])],
        group_languages=sorted(((c, words.language(c)) for c in LANGUAGES), key=lambda x: x[1]),
        slots=[(s, words.slot(s)) for s in ALL_SLOTS],
        shape=shape,
        people=people,
        total=total,
        picked={str(p) for p in picked or []},
        facilitators=facilitators,
        result=result,
        refusal=refusal,
        errors=errors,
        now=now,
    )


@get("/grupper/ny", name="staff-group-new")
async def new_group(
    request: Request[Any, Any, Any], db: AsyncSession, health_viewer: Viewer, now: datetime
) -> Response[Any]:
    values = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    return await _page(request, db, health_viewer, values, now)


@post("/grupper/ny", name="staff-group-form")
async def form_group(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    health_viewer: Viewer,
    now: datetime,
    lifecycle: Lifecycle,
) -> Response[Any]:
    """``action=check``: show whether the picked people make a valid group; ``action=create``:
    form it (refused with the broken rules named, nothing stored)."""
    data = await request.form()
    values = {k: str(v) for k, v in data.items() if isinstance(v, str) and k != "person"}
    picked: list[uuid.UUID] = []
    for raw in data.getall("person") if "person" in data else []:
        try:
            picked.append(uuid.UUID(str(raw)))
        except ValueError:
            continue
    picked = list(dict.fromkeys(picked))
    orgs = await health_viewer.organisations(db)
    shape, problems = _shape_of(values, orgs)
    if shape is None or not picked:
        errors = dict(problems)
        if not picked:
            errors["person"] = "person"
        return await _page(
            request, db, health_viewer, values, now, picked=picked, field_errors=errors, status=400
        )
    words = GroupWords(language(request))
    facilitator = None
    if values.get("facilitator"):
        try:
            facilitator = uuid.UUID(values["facilitator"])
        except ValueError:
            facilitator = None
    rules = await manual.organisation_rules(db, shape.organisation_id)
    if values.get("action") != "create":
        fitting = await eligible(db, manual.draft(shape), set(), now=now)
        check_with = facilitator or (fitting[0].id if fitting else None)
        lines = await manual.check(
            db, shape, picked, rules=rules, now=now, facilitator_id=check_with
        )
        result = [words.rule(line) for line in lines]
        if check_with is None:
            result.insert(0, words.refusals["no_facilitator"])
        return await _page(request, db, health_viewer, values, now, picked=picked, result=result)
    try:
        gid = await manual.form_group(
            db, lifecycle, shape, picked, facilitator_id=facilitator, rules=rules, now=now,
            actor=f"staff:{health_viewer.user_id}",
        )  # fmt: skip
    except manual.Refused as refused:
        said = [words.refusals.get(refused.why, refused.why)]
        said += [words.rule(p) for p in refused.problems]
        return await _page(
            request, db, health_viewer, values, now, picked=picked, refusal=said, status=400
        )
    await audit.record(
        db, health_viewer, "group.form", now=now, record_kind="group", record_id=gid,
        organisation_id=shape.organisation_id, request=request,
        detail={"members": len(picked)},
    )  # fmt: skip
    return Redirect(f"/ansatt/grupper/{gid}?ok=formed", status_code=303)


ROUTES: list[Any] = [new_group, form_group]
