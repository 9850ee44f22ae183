"""The gettext catalogues: complete, compiled, and the only source of words on the pages."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from intake.web.i18n import LANGS, LOCALE_DIR, from_accept_language, negotiate

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "src" / "intake" / "web"
#: The group link pages share the catalogues (one web stack).
GROUPS = ROOT / "src" / "groups"
GROUP_MODULES = ("pages.py", "page_texts.py", "brief.py", "meeting_form.py")
#: The staff console (/ansatt): all of src/staff, and the console's figures page in samhjelp.
STAFF = ROOT / "src" / "staff"
SAMHJELP = ROOT / "src" / "samhjelp"
SAMHJELP_MODULES = ("console_figures.py",)


def extracted_ids() -> set[str]:
    method_map = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    groups_map = [*((f"{m}", "python") for m in GROUP_MODULES), method_map[0]]
    samhjelp_map = [(m, "python") for m in SAMHJELP_MODULES]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2)}
    ids = set()
    scopes = (
        (WEB, method_map),
        (GROUPS, groups_map),
        (STAFF, method_map),
        (SAMHJELP, samhjelp_map),
    )
    for root, mapping in scopes:
        for _, _, message, _, _ in extract_from_dir(str(root), mapping, options, keywords=keywords):
            ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_group_pages_messages_are_extracted() -> None:
    """The facilitator pages' words are in the catalogues' scope (babel.cfg covers them)."""
    ids = extracted_ids()
    assert {"Start a new group?", "The participants", "Another time"} <= ids


def test_staff_console_messages_are_extracted() -> None:
    """The console's words (templates and Python under src/staff) are in the catalogues' scope."""
    ids = extracted_ids()
    assert {"Waiting list", "Today", "Sign in for staff"} <= ids


Messages = dict[tuple[str | None, str | tuple[str, ...]], str | tuple[str, ...]]


def _key(value: str | list[str] | tuple[str, ...]) -> str | tuple[str, ...]:
    return value if isinstance(value, str) else tuple(value)


def compiled_messages(catalog: Catalog) -> Messages:
    """What ``pybabel compile`` puts in a .mo: translated, non-fuzzy entries; an empty plural
    form falls back to the English id, as gettext would show it."""
    out: Messages = {}
    for m in catalog:
        if not m.id or not m.string or m.fuzzy:
            continue
        if m.pluralizable:
            ids, strings = tuple(m.id), tuple(m.string)
            out[(m.context, ids)] = tuple(s or ids[min(i, 1)] for i, s in enumerate(strings))
        else:
            out[(m.context, m.id)] = m.string
    return out


def mo_messages(catalog: Catalog) -> Messages:
    """The entries of a compiled catalogue, header (tool name, dates) left out."""
    return {(m.context, _key(m.id)): _key(m.string) for m in catalog if m.id}


@pytest.mark.parametrize("lang", LANGS)
def test_mo_files_hold_the_messages_of_the_current_po(lang: str) -> None:
    """Compares messages and plural rule, never bytes: a newer Babel writes other headers."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        source = read_po(fh, locale=lang)
    with po.with_suffix(".mo").open("rb") as fh:
        compiled = read_mo(fh)
    hint = f"run: pybabel compile -d {LOCALE_DIR.relative_to(ROOT)}"
    expected, actual = compiled_messages(source), mo_messages(compiled)
    stale = sorted(str(k[1]) for k in expected.keys() ^ actual.keys())
    assert not stale, f"{hint} (ids differ: {stale[:3]})"
    changed = sorted(str(k[1]) for k in expected if expected[k] != actual[k])
    assert not changed, f"{hint} (translations differ: {changed[:3]})"
    assert compiled.plural_forms == source.plural_forms, hint


def test_the_catalogue_check_notices_a_change_not_compiled() -> None:
    """The check above must fail when a .po changes without a recompile (and only then)."""
    po = LOCALE_DIR / "nn" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        source = read_po(fh, locale="nn")
    fresh = io.BytesIO()
    write_mo(fresh, source)
    fresh.seek(0)
    assert mo_messages(read_mo(fresh)) == compiled_messages(source)
    edited = next(m for m in source if m.id and not m.pluralizable and m.string)
    edited.string += " (endra)"
    assert mo_messages(read_mo(io.BytesIO(fresh.getvalue()))) != compiled_messages(source)


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


@pytest.mark.parametrize(
    "template",
    sorted((WEB / "templates").glob("*.html")) + sorted((GROUPS / "templates").glob("*.html")),
    ids=lambda p: f"{p.parent.parent.name}/{p.name}",
)
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
