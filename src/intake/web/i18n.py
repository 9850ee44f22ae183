"""Languages of the pages: bokmål (default), nynorsk and English, through gettext catalogues.

Message ids are English; ``locale/<lang>/LC_MESSAGES/messages.po`` holds each language (English
too, so a wording change is a catalogue change, not a template edit). The compiled ``.mo`` files are
committed; ``tests/e2e/test_i18n.py`` fails when one is stale or a message is untranslated.

The language comes from, in order: ``?lang=`` (the visible switch), the ``lang`` cookie the switch
sets, then ``Accept-Language``. Nynorsk is often sent as ``nn`` and bokmål as ``nb`` or plain
``no``; both Norwegian forms fall back to bokmål.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from gettext import GNUTranslations, NullTranslations
from pathlib import Path
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

LOCALE_DIR = Path(__file__).parent / "locale"
LANGS = ("nb", "nn", "en")
DEFAULT = "nb"
#: How each language names itself in the switch, and its ``hreflang``/``lang`` value.
NATIVE_NAMES = {"nb": "Bokmål", "nn": "Nynorsk", "en": "English"}
_ALIASES = {"no": "nb", "nb": "nb", "nn": "nn", "en": "en"}


@cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalogue of one language (loaded once per process)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.mo"
    with path.open("rb") as fh:
        return GNUTranslations(fh)


def from_accept_language(header: str | None) -> str | None:
    """The best of our languages in an ``Accept-Language`` header, by q-value."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in _ALIASES and q > 0:
            ranked.append((-q, i, _ALIASES[primary]))
    return min(ranked)[2] if ranked else None


def negotiate(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    """Pick the page language: explicit choice first, then the browser's preference."""
    for choice in (query, cookie):
        if choice in LANGS:
            return choice
    return from_accept_language(accept_language) or DEFAULT


@dataclass(frozen=True, slots=True)
class Translator:
    """gettext functions of one language, for Python code and for templates."""

    lang: str

    def gettext(self, message: str, **variables: Any) -> str:
        text = translations(self.lang).gettext(message)
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, n: int, **variables: Any) -> str:
        variables.setdefault("num", n)
        return translations(self.lang).ngettext(singular, plural, n) % variables

    def template_globals(self) -> dict[str, Callable[..., Any]]:
        """Jinja ``newstyle`` gettext callables: the translated text is trusted, values escaped."""
        t = translations(self.lang)

        @pass_context
        def gettext(ctx: Context, message: str, **variables: Any) -> str:
            text = t.gettext(message)
            # Catalogue text is ours (trusted); the values formatted into it are escaped.
            rv = Markup(text) if ctx.eval_ctx.autoescape else text  # noqa: S704
            return rv % variables

        @pass_context
        def ngettext(ctx: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
            variables.setdefault("num", num)
            text = t.ngettext(singular, plural, num)
            rv = Markup(text) if ctx.eval_ctx.autoescape else text  # noqa: S704
            return rv % variables

        return {"gettext": gettext, "ngettext": ngettext, "_": gettext}


def theme_name(names: Mapping[str, str], lang: str) -> str:
    """A theme's name in the page language (themes carry their own nb/nn/en names)."""
    return names.get(lang) or names["nb"]
