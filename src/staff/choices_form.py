"""The choices a person makes (themes, languages, times, online), as a staff form: used to change
someone's choices on their behalf (:mod:`staff.person`) and, with the rest of the sign-up's
fields, to register someone after a phone call (:mod:`staff.phone`). Values are kept as posted,
so nothing is lost when a field is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from litestar import Request

from intake.reference import CROSS_PROBLEM, THEMES
from intake.web import views
from intake.web.i18n import Translator
from staff.people import Person


async def form_values(
    request: Request[Any, Any, Any],
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """(first value per name, all values per name) of a posted form."""
    body = await request.form()
    multi = {k: [str(v) for v in body.getall(k)] for k in body}
    return {k: v[0] for k, v in multi.items() if v}, multi


@dataclass
class ChoicesForm:
    themes: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=lambda: ["no"])
    availability: list[str] = field(default_factory=list)
    digital_welcome: bool = False
    note: str = ""

    @classmethod
    def of(cls, p: Person) -> ChoicesForm:
        themes = list(p.themes) + ([CROSS_PROBLEM.slug] if p.cross_problem_welcome else [])
        return cls(themes, list(p.languages), list(p.slots), p.digital_welcome)

    @classmethod
    async def from_request(cls, request: Request[Any, Any, Any]) -> ChoicesForm:
        single, multi = await form_values(request)
        return cls(
            themes=multi.get("themes", [])[:25],
            languages=multi.get("languages", [])[:25],
            availability=multi.get("availability", [])[:25],
            digital_welcome=single.get("digital_welcome") == "yes",
            note=single.get("note", "").strip()[:2000],
        )


def form_context(lang: str) -> dict[str, Any]:
    """What the choice fields offer, named in the page language."""
    t = Translator(lang)
    names = views.theme_names(lang)
    common, rest = views.language_choices(lang)
    return {
        "cross": CROSS_PROBLEM,
        "cross_name": names[CROSS_PROBLEM.slug],
        "themes": [(th.slug, names[th.slug]) for th in THEMES],
        "common_languages": common,
        "other_languages": rest,
        "weekdays": views.weekday_names(lang),
        "parts": views.part_names(t),
    }
