"""The page behind a suggestion message's link: ``/forslag/<token>`` (issue 13 §2).

It shows the single changes in the person's own choices that would place them (from the latest
matching run, through the :class:`~intake.progress.Suggestions` port, the same words as the
status page), a button to accept each, and a button to stop these messages. Both buttons are
POSTs with the CSRF token; GET changes nothing, so a mail scanner that opens the link does no
harm.

Accepting widens the person's choices (``intake.choices.apply``, actor ``"message"``; only a
change the page offers can be accepted through it), commits, and asks the port to re-check at
once, so the answer can say whether a place was found. The link (``intake.nudges``) carries no
personal data; an unknown, tampered or expired link gets a calm page in the visitor's language.
The page speaks the language the person chose for these messages unless ``?lang=`` says
otherwise. Nothing about the person is logged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, get, post
from litestar.di import Provide
from litestar.params import SkipValidation
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import choices, nudges
from intake.errors import Conflict, InvalidInterest, NotFound
from intake.progress import Locale, Offer, Suggestions, provide_suggestions
from intake.tables import interest
from intake.web import views
from intake.web.i18n import LANGS, Translator
from intake.web.pages import page_language, render

SuggestionsPort = SkipValidation[Suggestions]
_PORT = {"suggestions": Provide(provide_suggestions, sync_to_thread=False)}
#: What a person in a group being formed is told (they are no longer waiting).
_IN_GROUP = ("proposed", "invited", "placed")


def _problem(request: Request[Any, Any, Any], problem: nudges.LinkProblem) -> Template:
    lang = page_language(request)
    t = Translator(lang)
    if problem is nudges.LinkProblem.EXPIRED:
        title = t.gettext("This link has expired")
        text = t.gettext(
            "Links in these messages work for %(days)d days. You keep your place in line. "
            "You can see your status and what could get you into a group on the status page, "
            "with your receipt code.",
            days=nudges.LINK_VALID.days,
        )
        status = 410
    else:
        title = t.gettext("This link does not work")
        text = t.gettext(
            "The link is incomplete, has been replaced by a newer message, or these messages "
            "were stopped. Check that you copied the whole link. With your receipt code you can "
            "see your status on the status page."
        )
        status = 404
    return render(
        request, "suggestion_link.html", lang=lang, status=status, title=title, text=text,
        offers=[], done=None, token=None, expires=None, waiting=False,
    )  # fmt: skip


def _secret(request: Request[Any, Any, Any]) -> str:
    """The link secret the job signed the link with (``Services.link_secret``; every replica
    has the same one)."""
    return str(request.app.state.services.link_secret)


def _locale(lang: str) -> Locale:
    return "nn" if lang == "nn" else "en" if lang == "en" else "nb"


def _language(request: Request[Any, Any, Any], offer: nudges.Offer) -> str:
    asked = request.query_params.get("lang")
    return asked if asked in LANGS else offer.language


async def _page(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    suggestions: Suggestions,
    token: str,
    offer: nudges.Offer,
    lang: str,
    *,
    done: str | None = None,
    status: int = 200,
    stopped: bool = False,
) -> Template:
    t = Translator(lang)
    current = await db.scalar(select(interest.c.status).where(interest.c.id == offer.interest_id))
    waiting = current == "waiting"
    offers: list[Offer] = []
    if waiting and not stopped:
        offers = (await suggestions.offers(db, [offer.interest_id], _locale(lang))).get(
            offer.interest_id, []
        )
    title = (
        t.gettext("These messages are stopped")
        if stopped
        else t.gettext("A small change could get you into a group")
    )
    return render(
        request, "suggestion_link.html", lang=lang, status=status, title=title, text=None,
        offers=[(f"{o.kind}:{o.value or ''}", o) for o in offers], done=done,
        token=None if stopped else token, waiting=waiting, in_group=current in _IN_GROUP,
        expires=views.date_and_time(offer.expires_at, lang),
    )  # fmt: skip


@get("/forslag/{token:str}", name="suggestion-link", dependencies=_PORT)
async def suggestion_link(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    now: datetime,
    suggestions: SuggestionsPort,
    token: str,
) -> Template:
    offer = await nudges.resolve(db, token, now=now, secret=_secret(request))
    if isinstance(offer, nudges.LinkProblem):
        return _problem(request, offer)
    return await _page(request, db, suggestions, token, offer, _language(request, offer))


@post("/forslag/{token:str}", name="suggestion-link-post", dependencies=_PORT)
async def suggestion_answer(
    request: Request[Any, Any, Any],
    db: AsyncSession,
    now: datetime,
    suggestions: SuggestionsPort,
    token: str,
) -> Template:
    offer = await nudges.resolve(db, token, now=now, secret=_secret(request))
    if isinstance(offer, nudges.LinkProblem):
        return _problem(request, offer)
    form = await request.form()
    lang = str(form.get("lang") or "")
    lang = lang if lang in LANGS else offer.language
    t = Translator(lang)
    if form.get("action") == "stop":
        await nudges.stop(db, offer.interest_id, now=now)
        done = t.gettext(
            "Done: we will not send you these messages again. You keep your place in line, "
            "and we still tell you when a group can start."
        )
        return await _page(request, db, suggestions, token, offer, lang, done=done, stopped=True)
    wanted = str(form.get("change") or "")
    current = (await suggestions.offers(db, [offer.interest_id], _locale(lang))).get(
        offer.interest_id, []
    )
    chosen = next((o for o in current if f"{o.kind}:{o.value or ''}" == wanted), None)
    if chosen is None:
        done = t.gettext(
            "This change is no longer offered: things have changed since the message. "
            "See what could help now below."
        )
        return await _page(request, db, suggestions, token, offer, lang, done=done, status=409)
    try:
        await choices.apply(
            db,
            offer.interest_id,
            [choices.ChoiceChange(chosen.kind, chosen.value)],
            now=now,
            actor="message",
        )
    except (Conflict, NotFound, InvalidInterest):
        done = t.gettext("Your choices cannot be changed now: you are no longer waiting.")
        return await _page(request, db, suggestions, token, offer, lang, done=done, status=409)
    await db.commit()
    await suggestions.recheck(now=now)
    placed = await db.scalar(select(interest.c.status).where(interest.c.id == offer.interest_id))
    if placed in _IN_GROUP:
        done = t.gettext(
            "Done: your choices are changed, and a group is being put together with you in it. "
            "We will write to you with the details."
        )
    else:
        done = t.gettext(
            "Done: your choices are changed. We looked for a group at once and keep looking; "
            "you keep your place in line."
        )
    return await _page(request, db, suggestions, token, offer, lang, done=done)


SUGGESTION_HANDLERS: list[Any] = [suggestion_link, suggestion_answer]
