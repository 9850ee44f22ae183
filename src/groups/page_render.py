"""The rendering kit of the link pages: templates, headers, and the pages every link can end
on (done, gone, problem).

Its own module so the participants' and the facilitators' link handlers
(:mod:`groups.pages`, :mod:`groups.facilitator_pages`, :mod:`groups.answers`) share one
template environment and one set of headers without importing each other.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.utils.scope.state import ScopeState
from markupsafe import Markup, escape
from sqlalchemy.ext.asyncio import AsyncSession

import intake.web
from groups import Lifecycle, meeting_form, page_texts
from groups.brief import GroupBrief, group_brief
from groups.links import LinkProblem
from intake.web.i18n import LANGS, NATIVE_NAMES, Translator, negotiate
from intake.web.routes import static_url

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


def _csrf(request: Request[Any, Any, Any]) -> str:
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""


async def _brief(
    db: AsyncSession, lc: Lifecycle, gid: uuid.UUID | None, lang: str
) -> GroupBrief | None:
    if gid is None:
        return None
    try:
        return await group_brief(db, gid, lang=lang, config=lc.config)
    except LookupError:
        return None


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
