"""Referral links (``/ansatt/henvisninger``): a learning-and-mastery service's links for its
courses, their posters, and what became of the people who signed up through each, in counts.

A link is made as ``POST /api/v1/referral-links`` makes it (:func:`intake.referrals.create_link`).
The outcome is aggregate only, and small counts are hidden by the threshold rule of published
figures (:mod:`intake.disclosure`): a course has few participants, and "1 placed" could name
someone. Counts of 1–4 show as "<5", and one more is hidden with a single hidden count so the
hidden one cannot be found by subtraction (shown as "×").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import referrals
from intake.disclosure import protect_parts, too_small
from intake.errors import InvalidInterest
from intake.schemas import ReferralLinkIn
from intake.tables import interest, organisation, referral
from intake.web.i18n import Translator
from staff import audit
from staff.access import Viewer
from staff.csv_export import csv_response
from staff.render import language, render

SECTION = "referrals"
PAGE = 50
COURSE_KINDS = ("KID", "KIB", "Starthjelp", "other")
COUNTS = ("total", "waiting", "placed", "withdrawn")


@dataclass(frozen=True)
class LinkRow:
    id: uuid.UUID
    code: str | None
    organisation: str
    course_kind: str
    course_name: str | None
    ends_on: date | None
    created_at: datetime
    #: Counts by ``COUNTS`` as shown (the threshold rule applied).
    counts: dict[str, str]

    @property
    def valid_until(self) -> date | None:
        return self.ends_on + referrals.LINK_GRACE if self.ends_on else None


#: A count hidden only so that a small one cannot be found by subtraction (it is 5 or more).
COMPLEMENTARY = "×"


def _counts(row: Any) -> dict[str, str]:
    """The outcome as the referrer may see it (erased people live on in two counters): "<5"
    for 1–4 people, "×" for a count hidden with it."""
    parts = {
        "waiting": row.waiting,
        "placed": row.placed + row.erased_placed,
        "withdrawn": row.withdrawn + row.erased_withdrawn,
    }
    exact = {"total": sum(parts.values()), **parts}
    protected = protect_parts(exact["total"], parts)
    return {
        k: str(v) if v is not None else ("<5" if too_small(exact[k]) else COMPLEMENTARY)
        for k, v in protected.items()
    }


def _outcomes(ids: list[uuid.UUID]) -> Any:
    """Referrals with their counts by outcome (one grouped query, no query per link)."""

    def status(*names: str) -> Any:
        return func.count(interest.c.id).filter(interest.c.status.in_(names))

    return (
        select(
            referral.c.id, referral.c.code, organisation.c.name.label("organisation"),
            referral.c.course_kind, referral.c.course_name, referral.c.ends_on,
            referral.c.created_at, referral.c.erased_placed, referral.c.erased_withdrawn,
            status("waiting", "proposed", "invited").label("waiting"),
            status("placed").label("placed"), status("withdrawn").label("withdrawn"),
        )
        .join(organisation, organisation.c.id == referral.c.organisation_id)
        .outerjoin(interest, interest.c.referral_id == referral.c.id)
        .where(referral.c.organisation_id.in_(ids))
        .group_by(referral.c.id, organisation.c.name)
    )  # fmt: skip


def _row(r: Any) -> LinkRow:
    return LinkRow(
        r.id, r.code, r.organisation, r.course_kind, r.course_name, r.ends_on, r.created_at,
        _counts(r),
    )  # fmt: skip


async def _page_of_links(
    db: AsyncSession, ids: list[uuid.UUID], offset: int, limit: int
) -> tuple[list[LinkRow], int]:
    if not ids:
        return [], 0
    total = await db.scalar(
        select(func.count()).select_from(referral).where(referral.c.organisation_id.in_(ids))
    )
    newest_first = (referral.c.created_at.desc(), referral.c.id)
    # The page of links first, then the counts of those links only.
    page = (
        select(referral.c.id)
        .where(referral.c.organisation_id.in_(ids))
        .order_by(*newest_first)
        .offset(offset)
        .limit(limit)
    )
    rows = await db.execute(_outcomes(ids).where(referral.c.id.in_(page)).order_by(*newest_first))
    return [_row(r) for r in rows], total or 0


async def _organisations(db: AsyncSession, ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, str]]:
    if not ids:
        return []
    rows = await db.execute(
        select(organisation.c.id, organisation.c.name)
        .where(organisation.c.id.in_(ids))
        .order_by(organisation.c.name)
    )
    return [(r.id, r.name) for r in rows]


async def _targets(db: AsyncSession) -> list[tuple[str, str]]:
    """Where a referred person may be placed: any organisation (the public list)."""
    rows = await db.execute(
        select(organisation.c.slug, organisation.c.name).order_by(organisation.c.name)
    )
    return [(r.slug, r.name) for r in rows]


def _offset(request: Request[Any, Any, Any]) -> int:
    raw = request.query_params.get("side", "1")
    page = int(raw) if raw.isdigit() and 0 < int(raw) < 10_000 else 1
    return (page - 1) * PAGE


async def _list(
    request: Request[Any, Any, Any],
    viewer: Viewer,
    db: AsyncSession,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response[Any]:
    ids = await viewer.organisations(db)
    offset = _offset(request)
    links, total = await _page_of_links(db, ids, offset, PAGE)
    t = Translator(language(request))
    if request.query_params.get("format") == "csv":
        links, _ = await _page_of_links(db, ids, 0, 100_000)
        return csv_response(
            "henvisninger.csv",
            ["code", "organisation", "course_kind", "course_name", "ends_on", *COUNTS],
            (
                [x.code or "", x.organisation, x.course_kind, x.course_name or "", x.ends_on or "",
                 *(x.counts[k] for k in COUNTS)]
                for x in links
            ),
        )  # fmt: skip
    return render(
        request, "referrals.html", viewer=viewer, section=SECTION, status=status,
        links=links, total=total, page=offset // PAGE + 1, pages=max(1, -(-total // PAGE)),
        orgs=await _organisations(db, ids), targets=await _targets(db),
        course_kinds=COURSE_KINDS, errors=errors or {}, form=form or {},
        ok=t.gettext("The link is made.") if request.query_params.get("ok") == "made" else "",
    )  # fmt: skip


@get("/henvisninger")
async def links_page(request: Request[Any, Any, Any], viewer: Viewer, db: AsyncSession) -> Any:
    return await _list(request, viewer, db)


@get("/henvisninger/{referral_id:uuid}")
async def link_page(
    request: Request[Any, Any, Any], referral_id: uuid.UUID, viewer: Viewer, db: AsyncSession
) -> Response[str]:
    ids = await viewer.organisations(db)
    found = (
        (await db.execute(_outcomes(ids).where(referral.c.id == referral_id))).first()
        if ids
        else None
    )
    if found is None:
        raise NotFoundException()
    t = Translator(language(request))
    made = request.query_params.get("ok") == "made"
    return render(
        request, "referral.html", viewer=viewer, section=SECTION, link=_row(found),
        ok=t.gettext("The link is made.") if made else "",
    )  # fmt: skip


@post("/henvisninger")
async def make_link(
    request: Request[Any, Any, Any], viewer: Viewer, db: AsyncSession, now: datetime, base_url: str
) -> Any:
    form = {k: str(v).strip() for k, v in (await request.form()).items()}
    t = Translator(language(request))
    ids = await viewer.organisations(db)
    errors: dict[str, str] = {}
    owner: uuid.UUID | None = ids[0] if len(ids) == 1 else None
    if len(ids) > 1:
        try:
            owner = uuid.UUID(form.get("organisation", ""))
        except ValueError:
            owner = None
        if owner not in ids:
            owner = None
            errors["organisation"] = t.gettext("Choose the organisation that runs the course.")
    if not ids:
        raise NotFoundException()
    data = None
    try:
        data = ReferralLinkIn(
            course_kind=form.get("course_kind", ""),
            course_name=form.get("course_name") or None,
            ends_on=form.get("ends_on", ""),
            target_organisation=form.get("target_organisation") or None,
        )
    except ValidationError as exc:
        for problem in exc.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "course_kind"
            errors.setdefault(field, _message(t, field))
    if not errors and data is not None and owner is not None:
        try:
            made = await referrals.create_link(db, owner, data, base_url=base_url, today=now.date())
        except InvalidInterest as exc:
            for p in exc.problems:
                errors.setdefault(p.field, _message(t, p.field, p.message))
        else:
            await audit.record(
                db, viewer, "referral.create", now=now, record_kind="referral", record_id=made.id,
                organisation_id=owner, request=request, detail={"course_kind": made.course_kind},
            )  # fmt: skip
            return Redirect(f"/ansatt/henvisninger/{made.id}?ok=made", status_code=303)
    return await _list(request, viewer, db, errors=errors, form=form, status=400)


def _message(t: Translator, field: str, detail: str = "") -> str:
    if field == "ends_on":
        if "too far" in detail:
            return t.gettext("The course must end within three years.")
        if "past" in detail:
            return t.gettext("The link would already have expired: the course ended too long ago.")
        return t.gettext("Give the day the course ends.")
    if field == "target_organisation":
        return t.gettext("Choose an organisation from the list.")
    if field == "course_name":
        return t.gettext("Use at most 200 characters.")
    return t.gettext("Choose the kind of course.")


ROUTES: list[Any] = [links_page, link_page, make_link]
