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
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup, escape
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

import intake.web
from groups import Lifecycle, links, meeting_form, page_texts, roster
from groups.brief import GroupBrief, group_brief, page_lang, when_text
from groups.checkins import record_checkin, record_followup
from groups.facilitators import OfferAnswer, answer_offer
from groups.links import Link, LinkProblem, Purpose
from groups.meetings import propose_first_meeting
from groups.members import Answer, answer
from groups.tables import facilitator_offer, group_meeting
from intake.web.i18n import LANGS, NATIVE_NAMES, Translator, negotiate
from intake.web.routes import static_url
from matching.service import record_event
from matching.tables import start_group

_env = Environment(
    # The group pages' own templates, then the participant pages' layout and macros.
    loader=ChoiceLoader(
        [
            FileSystemLoader(Path(__file__).parent / "templates"),
            FileSystemLoader(Path(intake.web.__file__).parent / "templates"),
        ]
    ),
    autoescape=select_autoescape(["html"], default=True),
    extensions=["jinja2.ext.i18n"],
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
_env.globals.update(
    static=static_url, anchor=lambda name: meeting_form.ANCHORS.get(str(name), str(name))
)

NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}

_ANSWERS = (
    Purpose.INVITE_ACCEPT,
    Purpose.INVITE_DECLINE,
    Purpose.PLACE_ACCEPT,
    Purpose.PLACE_DECLINE,
)
_REPORTS = (Purpose.CHECKIN, Purpose.FOLLOWUP, Purpose.REVIEW)


def _render(
    request: Request[Any, Any, Any],
    name: str,
    *,
    lang: str,
    status: int = 200,
    switch: bool = True,
    **context: Any,
) -> Response[str]:
    """A page in ``lang`` in the shared layout; ``switch`` shows the language switch (GET
    pages only: the switch reloads the page, and a used link would then say "used")."""
    t = Translator(lang)
    html = _env.get_template(name).render(
        lang=lang,
        languages=list(NATIVE_NAMES.items()) if switch else [],
        **t.template_globals(),
        **context,
    )
    cookies = []
    if request.query_params.get("lang") in LANGS:
        cookies.append(
            Cookie(key="lang", value=lang, max_age=365 * 86400, httponly=True, samesite="lax")
        )
    return Response(
        html,
        status_code=status,
        media_type="text/html",
        headers={**NO_STORE, "Content-Language": lang},
        cookies=cookies,
    )


def _problem(request: Request[Any, Any, Any], problem: LinkProblem) -> Response[str]:
    lang = negotiate(
        request.query_params.get("lang"),
        request.cookies.get("lang"),
        request.headers.get("accept-language"),
    )
    status, title, message = page_texts.problems(Translator(lang))[problem]
    return _render(request, "link_problem.html", lang=lang, status=status, title=title,
                   message=message, switch=request.method == "GET")  # fmt: skip


def _gone(request: Request[Any, Any, Any], lang: str) -> Response[str]:
    t = Translator(lang)
    return _render(
        request,
        "link_problem.html",
        lang=lang,
        status=410,
        switch=request.method == "GET",
        title=t.gettext("The question no longer applies"),
        message=t.gettext(
            "This question no longer applies – for example because the group was cancelled, "
            "someone else answered, or the answer is already registered. You do not need to do "
            "anything."
        ),
    )


def _lifecycle(request: Request[Any, Any, Any]) -> Lifecycle:
    """The one life cycle the composition root built (with the deployment's windows); a
    default-built one here is how ``SAMHJELP_FACILITATED_MEETINGS`` used to get lost."""
    lc: Lifecycle = request.app.state.services.lifecycle
    return lc


def _csrf(request: Request[Any, Any, Any]) -> str:
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""


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


async def _brief(
    db: AsyncSession, lc: Lifecycle, gid: uuid.UUID | None, lang: str
) -> GroupBrief | None:
    if gid is None:
        return None
    try:
        return await group_brief(db, gid, lang=lang, config=lc.config)
    except LookupError:
        return None


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
                                  now=now, lang=lang)  # fmt: skip
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


#: Stands in for a URL in a translated sentence until it becomes a link (never user input).
_URL_SLOT = "\x00url\x00"


def _with_link(sentence: str, url: str, text: str) -> Markup:
    """The sentence with its URL as a short link: a bare token URL wraps badly on a phone."""
    anchor = Markup('<a class="ds-link" href="{}">{}</a>').format(url, text)
    return escape(sentence).replace(_URL_SLOT, anchor)


def _done(
    request: Request[Any, Any, Any],
    lang: str,
    title: str,
    paragraphs: list[str],
    *,
    roster_url: str | None = None,
    form: meeting_form.MeetingForm | None = None,
) -> Response[str]:
    return _render(request, "link_done.html", lang=lang, switch=False, title=title,
                   paragraphs=paragraphs, roster_url=roster_url, form=form,
                   csrf=_csrf(request))  # fmt: skip


async def _answer_offer(
    db: AsyncSession,
    lc: Lifecycle,
    link: Link,
    gid: uuid.UUID | None,
    request: Request[Any, Any, Any],
    lang: str,
    *,
    now: datetime,
) -> Response[str]:
    t = Translator(lang)
    accept = link.purpose is Purpose.OFFER_ACCEPT
    outcome, form_url = await answer_offer(
        db, lc, link.object_id, link.subject_id, accept=accept, now=now
    )
    if outcome is OfferAnswer.GONE:
        return _gone(request, lang)
    if outcome is OfferAnswer.DECLINED:
        return _done(request, lang, t.gettext("Thank you for answering"), [t.gettext(
            "We have registered that you cannot start this group. We will ask someone else."
        )])  # fmt: skip
    brief = await _brief(db, lc, gid, lang)
    if gid is None or brief is None or form_url is None:
        return _gone(request, lang)
    roster_url = await roster.issue_link(db, lc, gid, link.subject_id,
                                         meetings=brief.facilitated_meetings, now=now)  # fmt: skip
    form = meeting_form.build(action=form_url, slot=brief.slot,
                              meetings=brief.facilitated_meetings, now=now, lang=lang)  # fmt: skip
    days = lc.config.meeting_form_valid.days
    return _done(
        request,
        lang,
        t.gettext("Thank you for starting the group!"),
        [
            _with_link(
                t.gettext(
                    "Choose the time and place of the first meeting below. If you want to do it "
                    "later, use this link (it works for %(days)d days): %(url)s",
                    days=days,
                    url=_URL_SLOT,
                ),
                form_url,
                t.gettext("Choose the first meeting"),
            )
        ],
        roster_url=roster_url,
        form=form,
    )


async def _plan(
    db: AsyncSession,
    lc: Lifecycle,
    link: Link,
    form: Any,
    request: Request[Any, Any, Any],
    lang: str,
    *,
    now: datetime,
) -> Response[str]:
    """The meeting form posted: on the slot, or another time the facilitator confirmed."""
    t = Translator(lang)
    gid = link.object_id
    brief = await _brief(db, lc, gid, lang)
    if brief is None:
        return _gone(request, lang)
    values = meeting_form.values_of(form)
    choice, errors = meeting_form.parse(values, slot=brief.slot, now=now, t=t)
    if choice is None:
        shown = meeting_form.build(action="", slot=brief.slot, meetings=brief.facilitated_meetings,
                                   now=now, lang=lang, values=values, errors=errors)  # fmt: skip
        return _render(request, "meeting_form.html", lang=lang, status=400, form=shown,
                       csrf=_csrf(request))  # fmt: skip
    if not await propose_first_meeting(
        db, lc, gid, link.subject_id, starts_at=choice.starts_at, place=choice.place, now=now
    ):
        return _gone(request, lang)
    if choice.off_slot:
        # The facilitator confirmed a time off the slot: recorded for the invitation's wording
        # (groups.brief.on_slot gives the same answer from the time itself).
        await db.execute(
            update(group_meeting).where(group_meeting.c.group_id == gid).values(off_slot=True)
        )
        actor = f"facilitator:{link.subject_id}"
        await record_event(
            db, gid, now=now, actor=actor, what="meeting_off_slot_confirmed",
            detail={"slot": brief.slot},
        )  # fmt: skip
    roster_url = await roster.issue_link(db, lc, gid, link.subject_id,
                                         meetings=brief.facilitated_meetings, now=now)  # fmt: skip
    text = [
        t.gettext(
            "The first meeting is %(when)s, %(place)s.",
            when=when_text(choice.starts_at, lang),
            place=choice.place,
        ),
        t.ngettext(
            "You take part in the first meeting. The participants get an invitation with a "
            "calendar file. You get a reminder the day before and a short question afterwards.",
            "You take part in the first %(num)d meetings, one a week. The participants get an "
            "invitation with a calendar file. You get a reminder the day before each meeting "
            "and a short question afterwards.",
            brief.facilitated_meetings,
        ),
    ]
    if choice.off_slot:
        text.append(
            t.gettext(
                "The time differs from what the participants chose (%(slot)s). The invitation "
                "says so, and anyone who declines keeps their place in the queue.",
                slot=brief.slot_text,
            )
        )
    return _done(request, lang, t.gettext("The invitations are sent"), text, roster_url=roster_url)


async def _roster(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    lc: Lifecycle,
    link: Link,
    lang: str,
    *,
    now: datetime,
) -> Response[str]:
    gid = link.object_id
    if not await roster.can_view(db, gid, link.subject_id):
        return _gone(request, lang)
    entries = await roster.load_roster(db, gid, lc.cipher)
    await roster.record_view(db, gid, link.subject_id, entries, now=now)
    return _render(request, "roster.html", lang=lang, entries=entries,
                   brief=await _brief(db, lc, gid, lang))  # fmt: skip


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


async def _report(
    db: AsyncSession,
    lc: Lifecycle,
    link: Link,
    form: Any,
    request: Request[Any, Any, Any],
    lang: str,
    *,
    now: datetime,
) -> Response[str]:
    t = Translator(lang)
    goes_on = str(form.get("goes_on", "yes")) != "no"
    if link.purpose is Purpose.CHECKIN:
        raw = str(form.get("attended", "")).strip()
        follow_up = str(form.get("follow_up", ""))
        if not raw.isdigit() or int(raw) > 99:
            title, intro = page_texts.report(t, link.purpose)
            return _render(request, "link_report.html", lang=lang, status=400, title=title,
                           intro=intro, ask_attended=True, csrf=_csrf(request),
                           errors={"attended": t.gettext("Write the number as digits (0–99).")},
                           attended=raw[:3], follow_up=follow_up[:1000])  # fmt: skip
        ok = await record_checkin(
            db,
            lc,
            link.object_id,
            link.subject_id,
            attended=int(raw),
            goes_on=goes_on,
            follow_up=follow_up,
            now=now,
        )
    else:
        kind = "followup" if link.purpose is Purpose.FOLLOWUP else "review"
        ok = await record_followup(
            db, link.object_id, link.subject_id, kind=kind, goes_on=goes_on, now=now, lc=lc
        )
    if not ok:
        return _gone(request, lang)
    return _done(request, lang, t.gettext("Thank you!"), [t.gettext("Your answer is registered.")])


#: Registered by ``samhjelp.app.create_app``.
ROUTES = [show_link, use_link]
