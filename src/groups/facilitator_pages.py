"""The facilitators' link pages: answering a group offer, the first-meeting form, the roster,
and the check-in / follow-up / review reports.

Its own module because these handlers build and check the facilitator's forms
(:mod:`groups.meeting_form`, :mod:`groups.roster`), while :mod:`groups.pages` only routes a
link to its handler and answers participants.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Request, Response
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from groups import Lifecycle, meeting_form, page_texts, roster
from groups.brief import when_text
from groups.checkins import record_checkin, record_followup
from groups.facilitators import OfferAnswer, answer_offer
from groups.links import Link, Purpose
from groups.meetings import propose_first_meeting
from groups.page_render import _URL_SLOT, _brief, _csrf, _done, _gone, _render, _with_link
from groups.tables import group_meeting
from intake.web.i18n import Translator
from matching.service import record_event


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
                              meetings=brief.facilitated_meetings, now=now, lang=lang,
                              earliest=brief.meets_from)  # fmt: skip
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
    choice, errors = meeting_form.parse(values, slot=brief.slot, now=now, t=t,
                                        earliest=brief.meets_from)  # fmt: skip
    if choice is None:
        shown = meeting_form.build(action="", slot=brief.slot, meetings=brief.facilitated_meetings,
                                   now=now, lang=lang, values=values, errors=errors,
                                   earliest=brief.meets_from)  # fmt: skip
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
                   awaiting=await roster.awaiting_answer(db, gid),
                   brief=await _brief(db, lc, gid, lang))  # fmt: skip


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
