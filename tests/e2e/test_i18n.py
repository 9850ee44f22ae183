"""The gettext catalogues: complete, compiled, and the only source of words on the pages."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from intake.web.i18n import LANGS, LOCALE_DIR, from_accept_language, negotiate

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "src" / "intake" / "web"


def extracted_ids() -> set[str]:
    method_map = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    ids = set()
    for _, _, message, _, _ in extract_from_dir(
        str(WEB), method_map, options, keywords={"_": None, "gettext": None, "ngettext": (1, 2)}
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


@pytest.mark.parametrize("lang", LANGS)
def test_mo_files_are_compiled_from_the_current_po(lang: str) -> None:
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    fresh = io.BytesIO()
    write_mo(fresh, catalog)
    committed = (po.with_suffix(".mo")).read_bytes()
    assert fresh.getvalue() == committed, f"run: pybabel compile -d {LOCALE_DIR.relative_to(ROOT)}"


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_on_the_pages_is_translated(lang: str) -> None:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    translated = {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalog
        if m.id
        and m.string
        and "fuzzy" not in m.flags
        and all(m.string if isinstance(m.string, tuple) else [m.string])
    }
    ids = extracted_ids()
    assert len(ids) > 150, "extraction found too little: is the template pattern right?"
    missing = ids - translated
    assert not missing, f"untranslated in {lang}: {sorted(missing)[:5]}"


@pytest.mark.parametrize("template", sorted((WEB / "templates").glob("*.html")))
def test_templates_hold_no_words_outside_gettext(template: Path) -> None:
    text = template.read_text()
    text = re.sub(r"\{#.*?#\}", "", text, flags=re.S)
    text = re.sub(r"\{%-? *trans.*?endtrans *-?%\}", "", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", text, flags=re.S)
    text = re.sub(r"<!doctype html>|<[^>]*>", " ", text, flags=re.S)
    words = re.findall(r"[A-Za-zÆØÅæøå]{2,}", text)
    assert not words, f"hard-coded text in {template.name}: {words[:10]}"


def test_negotiation_prefers_the_switch_then_the_cookie_then_the_browser() -> None:
    assert negotiate("en", "nn", "nb") == "en"
    assert negotiate(None, "nn", "en") == "nn"
    assert negotiate("xx", None, "en-US,en;q=0.5") == "en"
    assert negotiate(None, None, None) == "nb"
    assert from_accept_language("de, nn;q=0.4, en;q=0.7") == "en"
    assert from_accept_language("no") == "nb"
    assert from_accept_language("nn;q=0") is None
