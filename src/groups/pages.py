"""The link pages for facilitators and participants: ``/s/<token>`` (no login needed).

GET shows what the link does and asks for a click (or a short form): mail scanners that
follow links must not accept a group on someone's behalf. POST does it, once. A forged link
answers 400, an old or used one 410, each with a kind page rather than an error.

One web stack: the pages extend the participant pages' layout (``intake/web/templates/
base.html`` and its macros, Designsystemet CSS), use the same gettext catalogues
(``intake/web/locale``, nb/nn/en) and get the same security headers (added app-wide). The page
language is ``?lang=`` (remembered in the ``lang`` cookie), the cookie, else the group's
language when it is bokmål, nynorsk or English, else bokmål. Forms carry the site's CSRF token,
so they work whether or not ``/s/`` is exempt from CSRF checks.

The roster link (:attr:`Purpose.ROSTER`) is the one link that is viewed, never used up; each
view is a group event (:mod:`groups.roster`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from groups import Lifecycle, links, meeting_form, page_texts
from groups.brief import page_lang, when_text
from groups.facilitator_pages import _answer_offer, _plan, _report, _roster
from groups.links import Link, LinkProblem, Purpose
from groups.members import Answer, answer
from groups.page_render import _brief, _csrf, _done, _gone, _problem, _render
from groups.tables import facilitator_offer, group_meeting
from intake.web.i18n import LANGS, Translator
from matching.tables import start_group

_ANSWERS = (
    Purpose.INVITE_ACCEPT,
    Purpose.INVITE_DECLINE,
    Purpose.PLACE_ACCEPT,
    Purpose.PLACE_DECLINE,
)
_REPORTS = (Purpose.CHECKIN, Purpose.FOLLOWUP, Purpose.REVIEW)


def _lifecycle(request: Request[Any, Any, Any]) -> Lifecycle:
    """The one life cycle the composition root built (with the deployment's windows); a
    default-built one here is how ``SAMHJELP_FACILITATED_MEETINGS`` used to get lost."""
    lc: Lifecycle = request.app.state.services.lifecycle
    return lc


async def _group_of(db: AsyncSession, link: Link) -> uuid.UUID | None:
    """The group a link is about (offers and meetings point to their group)."""
    if link.purpose in (Purpose.OFFER_ACCEPT, Purpose.OFFER_DECLINE):
        stmt = select(facilitator_offer.c.group_id).where(facilitator_offer.c.id == link.object_id)
    elif link.purpose is Purpose.CHECKIN:
        stmt = select(group_meeting.c.group_id).where(group_meeting.c.id == link.object_id)
    else:
        return link.object_id
    found: uuid.UUID | None = (await db.execute(stmt)).scalar_one_or_none()
    return found


async def _language(
    request: Request[Any, Any, Any], db: AsyncSession, gid: uuid.UUID | None
) -> str:
    """``?lang=``, the ``lang`` cookie, the group's language (if nb/nn/en), else bokmål."""
    for choice in (request.query_params.get("lang"), request.cookies.get("lang")):
        if choice in LANGS:
            return str(choice)
    if gid is None:
        return page_lang(None)
    found = await db.execute(select(start_group.c.language).where(start_group.c.id == gid))
    return page_lang(found.scalar_one_or_none())


async def _slot(db: AsyncSession, gid: uuid.UUID) -> str | None:
    found = await db.execute(select(start_group.c.slot).where(start_group.c.id == gid))
    return found.scalar_one_or_none()


@get("/s/{token:str}", include_in_schema=False)
async def show_link(
    token: str, request: Request[Any, Any, Any], db: AsyncSession, now: datetime
) -> Response[str]:
    """What the link does; nothing changes until the button is pressed (the roster shows)."""
    lc = _lifecycle(request)
    found = await links.resolve(db, token, secret=lc.link_secret, now=now)
    if isinstance(found, LinkProblem):
        return _problem(request, found)
    gid = await _group_of(db, found)
    lang = await _language(request, db, gid)
    csrf = _csrf(request)
    if found.purpose is Purpose.ROSTER:
        return await _roster(request, db, lc, found, lang, now=now)
    if found.purpose is Purpose.MEETING_FORM:
        brief = await _brief(db, lc, gid, lang)
        if brief is None:
            return _gone(request, lang)
        form = meeting_form.build(action="", slot=brief.slot, meetings=brief.facilitated_meetings,
                                  now=now, lang=lang, earliest=brief.meets_from)  # fmt: skip
        return _render(request, "meeting_form.html", lang=lang, form=form, csrf=csrf)
    if found.purpose in _REPORTS:
        title, intro = page_texts.report(Translator(lang), found.purpose)
        return _render(request, "link_report.html", lang=lang, title=title, intro=intro,
                       ask_attended=found.purpose is Purpose.CHECKIN, csrf=csrf, errors={},
                       attended="", follow_up="")  # fmt: skip
    title, paragraphs, button = page_texts.ask(Translator(lang), found.purpose)
    brief = None
    if found.purpose in (Purpose.OFFER_ACCEPT, Purpose.OFFER_DECLINE):
        brief = await _brief(db, lc, gid, lang)
    return _render(request, "link_ask.html", lang=lang, title=title, paragraphs=paragraphs,
                   button=button, csrf=csrf, brief=brief, show_deadline=True)  # fmt: skip


@post("/s/{token:str}", include_in_schema=False, status_code=200)
async def use_link(
    token: str, request: Request[Any, Any, Any], db: AsyncSession, now: datetime
) -> Response[str]:
    """Do what the link says, once. A 4xx answer rolls the request's transaction back."""
    lc = _lifecycle(request)
    found = await links.resolve(db, token, secret=lc.link_secret, now=now, lock=True)
    if isinstance(found, LinkProblem):
        return _problem(request, found)
    gid = await _group_of(db, found)
    lang = await _language(request, db, gid)
    if found.purpose is Purpose.ROSTER:  # viewed, never used up
        return await _roster(request, db, lc, found, lang, now=now)
    form = await request.form()
    response = await _act(db, lc, found, gid, form, request, lang, now=now)
    if (response.status_code or 200) < 400:
        await links.consume(db, found, now=now)
    return response


async def _act(
    db: AsyncSession,
    lc: Lifecycle,
    link: Link,
    gid: uuid.UUID | None,
    form: Any,
    request: Request[Any, Any, Any],
    lang: str,
    *,
    now: datetime,
) -> Response[str]:
    t = Translator(lang)
    p = link.purpose
    if p in (Purpose.OFFER_ACCEPT, Purpose.OFFER_DECLINE):
        return await _answer_offer(db, lc, link, gid, request, lang, now=now)
    if p is Purpose.MEETING_FORM:
        return await _plan(db, lc, link, form, request, lang, now=now)
    if p in _ANSWERS:
        accept = p in (Purpose.INVITE_ACCEPT, Purpose.PLACE_ACCEPT)
        states = (
            ("offered",)
            if p in (Purpose.PLACE_ACCEPT, Purpose.PLACE_DECLINE)
            else ("invited", "informed")
        )
        result = await answer(
            db, lc, link.object_id, link.subject_id, accept=accept, now=now, states=states
        )
        if result is Answer.GONE:
            return _gone(request, lang)
        if result is Answer.DECLINED:
            return _done(request, lang, t.gettext("Thank you for answering"), [t.gettext(
                "We have registered your answer. You are back in the queue with the same "
                "waiting time, and we will tell you when a new group can start."
            )])  # fmt: skip
        return _done(request, lang, t.gettext("Welcome to the group!"),
                     await _welcome(db, link.object_id, t))  # fmt: skip
    return await _report(db, lc, link, form, request, lang, now=now)


async def _welcome(db: AsyncSession, group_id: uuid.UUID, t: Translator) -> list[str]:
    meeting = (
        await db.execute(
            select(group_meeting.c.starts_at, group_meeting.c.place).where(
                group_meeting.c.group_id == group_id,
                group_meeting.c.number == 1,
                group_meeting.c.status == "planned",
            )
        )
    ).first()
    text = [t.gettext("Thank you! We have registered that you are joining.")]
    if meeting is not None:
        text.append(
            t.gettext(
                "The first meeting is %(when)s, %(place)s.",
                when=when_text(meeting.starts_at, t.lang),
                place=meeting.place,
            )
        )
    else:
        text.append(
            t.gettext("You will hear the time and place of the first meeting as soon as it is set.")
        )
    return text


ROUTES = [show_link, use_link]
