"""The console's rendering kit: one template environment over the participant pages' layout,
the console navigation by role, and the headers every console page carries.

Console pages are never cached (``no-store``: they show health data) nor indexed.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.utils.scope.state import ScopeState

import intake.web
from intake.web.forms import anchor, described
from intake.web.i18n import LANGS, NATIVE_NAMES, Translator, negotiate
from intake.web.routes import static_url
from intake.web.views import OSLO
from staff.access import Role, Viewer

env = Environment(
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
env.install_null_translations(newstyle=True)  # type: ignore[attr-defined]
env.globals.update(static=static_url, described=described, anchor=anchor)


def oslo(at: datetime, pattern: str) -> str:
    """A stored moment as the clock in Norway reads it: strftime on the stored UTC value showed
    a meeting at 18:00 as 17:00 (16:00 in summer)."""
    return at.astimezone(OSLO).strftime(pattern)


env.filters["oslo"] = oslo

NO_STORE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow"}


def add_templates(directory: Path) -> None:
    """Let the composition root add another package's templates (a partial a console page
    includes), searched after the console's own and the participant pages'; once per folder."""
    loader = env.loader
    assert isinstance(loader, ChoiceLoader)
    known = {p for fs in loader.loaders if isinstance(fs, FileSystemLoader) for p in fs.searchpath}
    if str(directory) not in known:
        loader.loaders = [*loader.loaders, FileSystemLoader(directory)]


def language(request: Request[Any, Any, Any]) -> str:
    return negotiate(
        request.query_params.get("lang"),
        request.cookies.get("lang"),
        request.headers.get("accept-language"),
    )


def csrf_token(request: Request[Any, Any, Any]) -> str:
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""


def nav(t: Translator, viewer: Viewer | None) -> list[tuple[str, str, str]]:
    """(href, label, section) of the console's sections this viewer may open."""
    if viewer is None:
        return []
    items = [
        ("/ansatt", t.gettext("Today"), "today"),
        ("/ansatt/venteliste", t.gettext("Waiting list"), "waiting"),
        ("/ansatt/grupper", t.gettext("Groups"), "groups"),
        ("/ansatt/igangsettere", t.gettext("Facilitators"), "facilitators"),
        ("/ansatt/organisasjon", t.gettext("Organisation"), "organisation"),
        ("/ansatt/henvisninger", t.gettext("Referral links"), "referrals"),
    ]
    if viewer.role is not Role.STAFF:
        items.append(("/ansatt/region", t.gettext("Region"), "region"))
    items.append(("/ansatt/statistikk", t.gettext("Statistics"), "statistics"))
    if viewer.may_manage_users():
        items.append(("/ansatt/brukere", t.gettext("Users"), "users"))
        items.append(("/ansatt/logg", t.gettext("Audit trail"), "audit"))
    return items


def role_label(t: Translator, role: Role) -> str:
    return {
        Role.STAFF: t.gettext("staff"),
        Role.COORDINATOR: t.gettext("coordinator"),
        Role.ADMINISTRATOR: t.gettext("administrator"),
    }[role]


def render(
    request: Request[Any, Any, Any],
    template: str,
    *,
    viewer: Viewer | None,
    section: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
    cookies: list[Cookie] | None = None,
    **context: Any,
) -> Response[str]:
    """A console page in the viewer's language, in the shared layout with the console's bar."""
    lang = language(request)
    t = Translator(lang)
    html = env.get_template(template).render(
        lang=lang,
        languages=list(NATIVE_NAMES.items()),
        viewer=viewer,
        section=section,
        console_nav=nav(t, viewer),
        role_label=role_label(t, viewer.role) if viewer else "",
        csrf=csrf_token(request),
        **t.template_globals(),
        **context,
    )
    out_cookies = list(cookies or [])
    if request.query_params.get("lang") in LANGS:
        out_cookies.append(
            Cookie(key="lang", value=lang, max_age=365 * 86400, httponly=True, samesite="lax")
        )
    return Response(
        html,
        status_code=status,
        media_type="text/html",
        headers={**NO_STORE, "Content-Language": lang, **(headers or {})},
        cookies=out_cookies,
    )
