"""The page behind the "do you still want a group?" message's link: ``/behold/<token>``.

A month (``SAMHJELP_LAPSE_NOTICE_DAYS``) before a waiting registration lapses, people who left a
contact get one message (``groups.lapse``) with a signed link (:mod:`intake.lapse`, the
suggestion links' machinery). The page says on which date the registration will be deleted
and offers two buttons, both POSTs with the CSRF token (GET changes nothing, so a mail scanner
that opens the link does no harm):

* "Yes, keep me on the list": a new sign of life; the page shows the new date. The link then
  stops working (its hash is cleared), as the next period gets a message of its own;
* "No, delete my registration": asks once more, then erases at once through the same
  withdrawal as the status page (the :class:`~intake.progress.Progress` port).

An unknown, forged, used or expired link gets a calm page in the visitor's language. The page
speaks the language the person signed up in unless ``?lang=`` says otherwise. Nothing about
the person is logged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, get, post
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import lapse
from intake.tables import interest
from intake.web.i18n import LANGS, Translator
from intake.web.pages import ProgressPort, page_language, render
from intake.web.privacy import lapse_policy
from intake.web.views import OSLO, long_date


def _secret(request: Request[Any, Any, Any]) -> str:
    return str(request.app.state.services.link_secret)


def _problem(request: Request[Any, Any, Any], problem: lapse.LinkProblem) -> Template:
    lang = page_language(request)
    t = Translator(lang)
    if problem is lapse.LinkProblem.EXPIRED:
        title = t.gettext("This link has expired")
        text = t.gettext(
            "The date in the message has passed. If your registration was deleted, you are "
            "welcome to sign up again. With your receipt code you can check on the status page."
        )
        status = 410
    else:
        title = t.gettext("This link does not work")
        text = t.gettext(
            "The link is incomplete, or it has already been used: after you confirm, the link "
            "stops working. With your receipt code you can see your status and until when your "
            "registration is kept on the status page."
        )
        status = 404
    return render(
        request, "keep_link.html", lang=lang, status=status, title=title, text=text,
        token=None, step="problem",
    )  # fmt: skip


async def _date(
    db: AsyncSession,
    request: Request[Any, Any, Any],
    notice: lapse.Notice,
    lang: str,
    now: datetime,
) -> str | None:
    until = await lapse.keep_until(db, notice.interest_id, lapse_policy(request), now=now)
    return long_date(until.astimezone(OSLO), lang) if until else None


def _language(request: Request[Any, Any, Any], posted: object, notice: lapse.Notice) -> str:
    asked = str(posted or "") or request.query_params.get("lang")
    return asked if asked in LANGS else notice.language


@get("/behold/{token:str}", name="keep-link")
async def keep_link(
    request: Request[Any, Any, Any], db: AsyncSession, now: datetime, token: str
) -> Template:
    found = await lapse.resolve(db, token, lapse_policy(request), now=now, secret=_secret(request))
    if isinstance(found, lapse.LinkProblem):
        return _problem(request, found)
    lang = _language(request, None, found)
    t = Translator(lang)
    waiting = found.status == lapse.LAPSING
    return render(
        request, "keep_link.html", lang=lang, title=t.gettext("Do you still want a group?"),
        text=None, token=token, step="ask" if waiting else "in_group",
        delete_on=await _date(db, request, found, lang, now),
    )  # fmt: skip


@post("/behold/{token:str}", name="keep-link-post")
async def keep_link_post(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    now: datetime,
    progress: ProgressPort,
    token: str,
) -> Template:
    found = await lapse.resolve(db, token, lapse_policy(request), now=now, secret=_secret(request))
    if isinstance(found, lapse.LinkProblem):
        return _problem(request, found)
    form = await request.form()
    lang = _language(request, form.get("lang"), found)
    t = Translator(lang)
    action = form.get("action")
    if action == "withdraw" and form.get("confirm") == "yes":
        await progress.withdraw(db, found.interest_id, now=now)
        return render(
            request, "keep_link.html", lang=lang, title=t.gettext("You have withdrawn"),
            text=None, token=None, step="withdrawn",
        )  # fmt: skip
    if action == "withdraw":
        return render(
            request, "keep_link.html", lang=lang, title=t.gettext("Withdraw your interest?"),
            text=None, token=token, step="confirm_withdraw",
        )  # fmt: skip
    if action != "keep":
        return render(
            request, "keep_link.html", lang=lang, status=400,
            title=t.gettext("Do you still want a group?"), text=None, token=token, step="ask",
            delete_on=await _date(db, request, found, lang, now),
        )  # fmt: skip
    if not await lapse.keep(db, found.interest_id, now=now):
        if await db.scalar(select(interest.c.id).where(interest.c.id == found.interest_id)) is None:
            # Erased by the job a moment ago (the date had come): the link has expired.
            return _problem(request, lapse.LinkProblem.EXPIRED)
        return render(
            request, "keep_link.html", lang=lang, title=t.gettext("Do you still want a group?"),
            text=None, token=None, step="in_group",
        )  # fmt: skip
    return render(
        request, "keep_link.html", lang=lang, title=t.gettext("You stay on the list"),
        text=None, token=None, step="kept", delete_on=await _date(db, request, found, lang, now),
    )  # fmt: skip


KEEP_HANDLERS: list[Any] = [keep_link, keep_link_post]
