"""The municipality field on a phone: a combobox that sends only what the person picked.

Each case of issue 14 ("Choosing the wrong place") in Chromium at 375 px: typing never selects,
æ/ø/å are letters of their own, an edit after a pick clears it, former names and counties are
shown, the order is Norwegian, the keyboard suffices, axe finds nothing, a browser that ignores
``option.hidden`` changes nothing, and without JavaScript the plain select works.
"""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from e2e.support import ROOT, SINGLE_MUNI, Site, axe_violations
from intake.places import Place, match, places, sort_key
from intake.tables import interest

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 800}
HATTFJELLDAL = "1826"  # "Aarborte - Hattfjelldal"
#: Makes option.hidden a no-op, as in browsers that ignore it on <option> (Safari on iOS).
IGNORE_OPTION_HIDDEN = """
Object.defineProperty(HTMLOptionElement.prototype, 'hidden', {
  configurable: true, get() { return false; }, set(v) {}
});
"""


def everything() -> list[Place]:
    with (ROOT / "db" / "reference" / "kommuner_2024.csv").open(encoding="utf-8") as fh:
        return places(
            (r["kommunenummer"], r["kommunenavn"], r["fylkesnavn"]) for r in csv.DictReader(fh)
        )


async def hattfjelldal_sign_ups(site: Site) -> int:
    async with site.engine.connect() as conn:
        query = select(func.count()).where(interest.c.municipality_number == HATTFJELLDAL)
        return int((await conn.execute(query)).scalar_one())


@pytest.fixture
async def phone(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(bypass_csp=True, viewport=PHONE)
    page = await context.new_page()
    yield page
    await context.close()


async def open_form(page: Any, site: Site) -> None:
    await page.goto(f"{site.url}/meld-interesse?lang=nb")
    await page.wait_for_selector("#municipality[role=combobox]")


async def offered(page: Any) -> list[str]:
    return list(
        await page.locator("#municipality-listbox [role=option] .combobox-name").all_inner_texts()
    )


async def submitted(page: Any) -> str:
    """What the form would send as ``municipality`` right now."""
    return str(
        await page.evaluate(
            "new FormData(document.querySelector('form.signup')).getAll('municipality').join(',')"
        )
    )


async def type_in(page: Any, text: str) -> None:
    await page.fill("#municipality", "")
    await page.type("#municipality", text)


async def fill_rest(page: Any) -> None:
    await page.check("#theme-sorg")
    await page.select_option("#age_band", "33-37")
    await page.check("#slot-tue-evening")
    await page.check("#consent")


@pytest.mark.parametrize(
    ("typed", "first"), [("Bø", "Bø"), ("Hå", "Hå"), ("Ås", "Ås"), ("aal", "Ål")]
)
async def test_typing_offers_the_exact_name_first_and_selects_nothing(
    site: Site, phone: Any, typed: str, first: str
) -> None:
    await open_form(phone, site)
    await type_in(phone, typed)
    names = await offered(phone)
    assert names[0] == first
    assert "Bodø" not in names and "Hægebostad" not in names
    assert await submitted(phone) == "", "typing alone must not choose a municipality"
    assert await phone.get_attribute("#municipality", "aria-expanded") == "true"
    await phone.click("#municipality-listbox [role=option] >> nth=0")
    assert await phone.input_value("#municipality") == first
    assert await submitted(phone) != ""
    assert await phone.get_attribute("#municipality", "aria-expanded") == "false"


async def _pick_hattfjelldal_then_type_aal(page: Any, site: Site) -> None:
    await open_form(page, site)
    await type_in(page, "Hattfj")
    await page.click(f"#municipality-listbox [data-value='{HATTFJELLDAL}']")
    assert await submitted(page) == HATTFJELLDAL
    await type_in(page, "aal")
    assert await submitted(page) == "", "an edit after a pick must clear the pick"


async def _submit_expecting_a_municipality_error(page: Any, site: Site) -> None:
    await fill_rest(page)
    await page.click("button[type=submit]")
    await page.wait_for_selector("#error-summary")
    assert await page.locator("#municipality-error").is_visible()
    assert await page.locator("#receipt-code").count() == 0
    # The form comes back with nothing chosen, not with Hattfjelldal.
    assert await submitted(page) == ""
    assert await page.input_value("#municipality") == ""
    assert await hattfjelldal_sign_ups(site) == 0


async def test_a_search_after_a_pick_clears_it_and_submitting_asks_again(
    site: Site, phone: Any
) -> None:
    await _pick_hattfjelldal_then_type_aal(phone, site)
    await _submit_expecting_a_municipality_error(phone, site)


async def test_a_browser_that_ignores_option_hidden_never_submits_an_unchosen_value(
    site: Site, phone: Any
) -> None:
    await phone.add_init_script(IGNORE_OPTION_HIDDEN)
    await _pick_hattfjelldal_then_type_aal(phone, site)
    await type_in(phone, "zzz")
    assert await offered(phone) == []
    assert await submitted(phone) == ""
    await _submit_expecting_a_municipality_error(phone, site)


async def test_former_names_lead_to_today_s_municipality(site: Site, phone: Any) -> None:
    await open_form(phone, site)
    await type_in(phone, "Fræna")
    options = phone.locator("#municipality-listbox [role=option]")
    assert (await offered(phone))[0] == "Hustadvika"
    meta = await options.nth(0).locator(".combobox-meta").inner_text()
    assert "Møre og Romsdal" in meta and "Fræna" in meta
    await options.nth(0).click()
    assert await submitted(phone) == "1579"


async def test_homonyms_show_their_county(site: Site, phone: Any) -> None:
    await open_form(phone, site)
    await type_in(phone, "Herøy")
    assert sorted(await offered(phone)) == ["Herøy (Møre og Romsdal)", "Herøy (Nordland)"]
    await type_in(phone, "Våler")
    assert sorted(await offered(phone)) == ["Våler (Innlandet)", "Våler (Østfold)"]
    counties = await phone.locator("#municipality-listbox .combobox-meta").all_inner_texts()
    assert sorted(counties) == ["Innlandet", "Østfold"]


@pytest.mark.parametrize(
    "query", ["dal", "øy", "berg", "aal", "tromso", "Bø", "sand", "e", "Våler (Østfold)"]
)
async def test_the_combobox_offers_what_the_api_finds_in_the_same_order(
    site: Site, phone: Any, query: str
) -> None:
    """combobox.js mirrors intake.places (which the API uses): same matches, same order,
    ties in Norwegian order (a–z, then æ, ø, å)."""
    await open_form(phone, site)
    await type_in(phone, query)
    assert await offered(phone) == [p.label for p in match(query, everything())]
    if query == "dal":
        names = await offered(phone)
        contains = [n for n in names if "dal" in n.lower() and not n.lower().startswith("dal")]
        assert contains == sorted(contains, key=sort_key) and contains[-1] == "Årdal"


async def test_the_keyboard_alone_chooses_and_escape_closes(site: Site, phone: Any) -> None:
    await open_form(phone, site)
    await phone.focus("#municipality")
    await phone.keyboard.type("Lilleh")
    await phone.keyboard.press("Escape")
    assert await phone.get_attribute("#municipality", "aria-expanded") == "false"
    await phone.keyboard.press("ArrowDown")
    assert await phone.get_attribute("#municipality", "aria-expanded") == "true"
    active = await phone.get_attribute("#municipality", "aria-activedescendant")
    assert active and await phone.get_attribute(f"#{active}", "aria-selected") == "true"
    await phone.keyboard.press("Enter")
    assert await phone.input_value("#municipality") == "Lillehammer"
    assert await submitted(phone) == SINGLE_MUNI
    await phone.keyboard.press("Backspace")  # an edit undoes the pick
    assert await submitted(phone) == ""
    status = await phone.locator("[data-municipality] [role=status]").count()
    assert status == 1


async def test_the_count_is_announced(site: Site, phone: Any) -> None:
    await open_form(phone, site)
    await type_in(phone, "Herøy")
    status = phone.locator("[data-municipality] [role=status]")
    await phone.wait_for_function(
        "document.querySelector('[data-municipality] [role=status]').textContent !== ''"
    )
    assert "2" in await status.inner_text()


async def test_the_combobox_has_no_axe_violations(site: Site, phone: Any) -> None:
    await open_form(phone, site)
    assert await axe_violations(phone) == []
    await type_in(phone, "Her")
    await phone.keyboard.press("ArrowDown")
    assert await axe_violations(phone) == [], "open list"
    await phone.keyboard.press("Enter")
    await phone.click("button[type=submit]")
    await phone.wait_for_selector("#error-summary")
    assert await axe_violations(phone) == [], "with errors"
    # The pick survives the error round.
    assert await phone.input_value("#municipality") in (
        "Herøy (Møre og Romsdal)",
        "Herøy (Nordland)",
    )
    assert await submitted(phone) in ("1515", "1818")


async def test_without_javascript_the_select_works_and_is_in_norwegian_order(
    site: Site, browser: Any
) -> None:
    context = await browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = await context.new_page()
    try:
        await page.goto(f"{site.url}/meld-interesse?lang=nb")
        assert await page.locator("select#municipality").count() == 1
        labels = await page.locator(
            "select#municipality optgroup[label=Innlandet] option"
        ).all_inner_texts()
        assert labels[-4:] == ["Øyer", "Øystre Slidre", "Åmot", "Åsnes"]
        assert labels == sorted(labels, key=sort_key)
        counties = await page.locator("select#municipality optgroup").evaluate_all(
            "gs => gs.map(g => g.label)"
        )
        assert counties == sorted(counties, key=sort_key)
        all_labels = await page.locator("select#municipality option").all_inner_texts()
        assert {"Herøy (Nordland)", "Herøy (Møre og Romsdal)", "Våler (Østfold)"} <= set(all_labels)
        await page.select_option("#municipality", SINGLE_MUNI)
        await fill_rest(page)
        await page.click("button[type=submit]")
        await page.wait_for_selector("#receipt-code")
    finally:
        await context.close()


async def test_the_open_list_fits_a_320_px_screen(site: Site, browser: Any) -> None:
    context = await browser.new_context(viewport={"width": 320, "height": 700})
    page = await context.new_page()
    try:
        await open_form(page, site)
        await type_in(page, "a")  # long multilingual names such as "Guovdageaidnu - Kautokeino"
        assert await page.evaluate("document.documentElement.scrollWidth") <= 320
    finally:
        await context.close()
