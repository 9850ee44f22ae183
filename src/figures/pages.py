"""The public statistics page, ``/statistikk``: choose an area and a month, see the figures.

Rendered on the server in the participant pages' layout (``base.html`` through a ChoiceLoader,
as the group link pages do) and the shared catalogues, so it works without JavaScript and in
bokmål, nynorsk and English. Its few extra rules come from its own small stylesheet.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response, get
from litestar.datastructures import Cookie
from litestar.params import Parameter, SkipValidation
from sqlalchemy.ext.asyncio import AsyncSession

import intake.web
from figures.catalogue import NATION, area_key, parse_area
from figures.read import area_figures, area_names, catchment_municipalities, current_release
from figures.views import area_view
from intake.web.i18n import LANGS, NATIVE_NAMES, Translator, negotiate
from intake.web.routes import static_url

Db = SkipValidation[AsyncSession]
OSLO = ZoneInfo("Europe/Oslo")
TEMPLATES = Path(__file__).parent / "templates"
_CSS = (TEMPLATES / "statistikk.css").read_text(encoding="utf-8")
#: The stylesheet's URL changes with its content (the same in every replica), so it can be
#: cached for a day.
CSS_URL = "/statistikk/statistikk.css?v=" + hashlib.sha256(_CSS.encode()).hexdigest()[:10]

env = Environment(
    loader=ChoiceLoader(
        [
            FileSystemLoader(TEMPLATES),
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
env.globals.update(static=static_url)


async def _choices(db: Db, t: Translator) -> list[tuple[str, list[tuple[str, str]]]]:
    """The area chooser's groups: (group label, [(area key, name)])."""
    out: list[tuple[str, list[tuple[str, str]]]] = [
        (t.gettext("Norway"), [(area_key("nation", NATION), t.gettext("Norway"))])
    ]
    for kind, label in (
        ("region", t.gettext("Regions")),
        ("county", t.gettext("Counties")),
        ("municipality", t.gettext("Municipalities")),
        ("catchment", t.gettext("Organisations (the municipalities they serve)")),
    ):
        names = await area_names(db, kind)  # type: ignore[arg-type]
        out.append((label, [(area_key(kind, code), name) for code, name in names]))
    return out


@get("/statistikk", include_in_schema=False)
async def statistics_page(
    request: Request[Any, Any, Any],
    db: Db,
    area: Annotated[str | None, Parameter(max_length=100)] = None,
    month: Annotated[str | None, Parameter(max_length=7)] = None,
) -> Response[str]:
    lang = negotiate(
        request.query_params.get("lang"),
        request.cookies.get("lang"),
        request.headers.get("accept-language"),
    )
    t = Translator(lang)
    chosen = parse_area(area or "") or ("nation", NATION)
    choices = await _choices(db, t)
    names = {key: name for _, group in choices for key, name in group}
    if area_key(*chosen) not in names:
        chosen = ("nation", NATION)
    release = await current_release(db)
    figures = await area_figures(db, chosen[0], chosen[1], month=month, release=release)
    view = None
    if figures is not None:
        child = {"nation": "region", "region": "county", "county": "municipality"}.get(chosen[0])
        part_names = dict(await area_names(db, child)) if child else {}  # type: ignore[arg-type]
        view = area_view(figures, name=names[area_key(*chosen)], part_names=part_names, t=t)
    # An organisation's figures are the sums of its municipalities': name them (with links).
    members = await catchment_municipalities(db, chosen[1]) if chosen[0] == "catchment" else []
    html = env.get_template("statistics.html").render(
        lang=lang,
        languages=list(NATIVE_NAMES.items()),
        **t.template_globals(),
        choices=choices,
        chosen=area_key(*chosen),
        members=members,
        area_name=names[area_key(*chosen)],
        months=list(reversed(release.months)) if release else [],
        view=view,
        # Readers are in Norway: the time of the release in Norwegian time, not UTC.
        updated=release.created_at.astimezone(OSLO).strftime("%Y-%m-%d %H:%M") if release else None,
        css=CSS_URL,
    )
    cookies = []
    if request.query_params.get("lang") in LANGS:
        cookies.append(
            Cookie(key="lang", value=lang, max_age=365 * 86400, httponly=True, samesite="lax")
        )
    return Response(
        html,
        media_type="text/html",
        headers={
            "Content-Language": lang,
            "Cache-Control": "private, max-age=300",
            "Vary": "Accept-Language, Cookie",
        },
        cookies=cookies,
    )


@get("/statistikk/statistikk.css", include_in_schema=False)
async def statistics_css() -> Response[str]:
    return Response(_CSS, media_type="text/css", headers={"Cache-Control": "public, max-age=86400"})


ROUTES = [statistics_page, statistics_css]
