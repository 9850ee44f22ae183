"""Issue 14, "saying only what is true, clearly", in real headless Chromium: no page scrolls
sideways at 320 px in any language, the crisis note is on the first screen of a phone, a
mistyped address is a page with navigation, and the new pages pass axe-core."""

from __future__ import annotations

from typing import Any

import pytest

from e2e.support import LANGS, Site, axe_violations
from e2e.test_browser import fill_form

pytestmark = pytest.mark.browser

#: A phone's fonts are not narrower than DejaVu Sans: forcing it makes the width test honest on
#: any machine (a narrow default font would hide a long word that overflows on a phone).
WIDE_FONT = '*, *::before, *::after { font-family: "DejaVu Sans", sans-serif !important; }'
PAGES = (
    "/",
    "/meld-interesse",
    "/status",
    "/personvern",
    "/tilgjengelighet",
    "/henvisning/{ref}/plakat",
    "/finnes-ikke",
)


async def scroll_width(page: Any) -> int:
    await page.add_style_tag(content=WIDE_FONT)
    await page.evaluate("document.fonts.ready")
    return int(await page.evaluate("document.scrollingElement.scrollWidth"))


@pytest.mark.parametrize("lang", LANGS)
async def test_no_page_scrolls_sideways_at_320_px(site: Site, browser: Any, lang: str) -> None:
    context = await browser.new_context(
        viewport={"width": 320, "height": 640},
        extra_http_headers={"Accept-Language": lang},
        bypass_csp=True,  # only so the test can force the wide font
    )
    page = await context.new_page()
    try:
        too_wide = {}
        for path in PAGES:
            await page.goto(site.url + path.format(ref=site.referral_code) + f"?lang={lang}")
            if (width := await scroll_width(page)) > 320:
                too_wide[path] = width
        # The states a person reaches: the form with every error, the receipt, the status.
        await page.goto(f"{site.url}/meld-interesse?lang={lang}")
        await page.click("button[type=submit]")
        if (width := await scroll_width(page)) > 320:
            too_wide["sign-up errors"] = width
        await fill_form(page)
        await page.click("button[type=submit]")
        await page.wait_for_selector("#receipt-code")
        if (width := await scroll_width(page)) > 320:
            too_wide["receipt"] = width
        code = (await page.text_content("#receipt-code") or "").strip()
        await page.goto(f"{site.url}/status?lang={lang}")
        await page.fill("#code", code)
        await page.click("form[action='/status'] button")
        await page.wait_for_selector("#status-text")
        if (width := await scroll_width(page)) > 320:
            too_wide["status"] = width
        assert too_wide == {}, f"{lang}: wider than 320 px: {too_wide}"
    finally:
        await context.close()


@pytest.mark.parametrize("lang", LANGS)
async def test_the_crisis_note_is_on_the_first_screen_of_a_phone(
    site: Site, browser: Any, lang: str
) -> None:
    context = await browser.new_context(viewport={"width": 375, "height": 667}, bypass_csp=True)
    page = await context.new_page()
    try:
        await page.goto(f"{site.url}/?lang={lang}")
        await page.add_style_tag(content=WIDE_FONT)
        box = await page.locator("#crisis").bounding_box()
        text = await page.text_content("#crisis") or ""
    finally:
        await context.close()
    assert "116 123" in text and "113" in text
    assert box is not None and box["y"] + box["height"] <= 667, box


async def test_a_mistyped_address_is_a_page_in_nynorsk_with_navigation(
    site: Site, page: Any
) -> None:
    await page.context.set_extra_http_headers({"Accept-Language": "nn-NO,nn;q=0.9"})
    response = await page.goto(f"{site.url}/meld-intresse")
    assert response is not None and response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    assert await page.get_attribute("html", "lang") == "nn"
    assert (await page.text_content("h1") or "").strip() == "Fann ikkje sida"
    footer_links = await page.locator("footer nav a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    assert {"/", "/meld-interesse", "/status"} <= set(footer_links)
    assert await page.locator("main a[href='/']").count() == 1
    violations = await axe_violations(page)
    assert violations == [], violations


@pytest.mark.parametrize("lang", LANGS)
async def test_new_pages_pass_axe(site: Site, page: Any, lang: str) -> None:
    for path in ("/tilgjengelighet", "/henvisning/{ref}/plakat", "/finnes-ikke", "/"):
        await page.goto(site.url + path.format(ref=site.referral_code) + f"?lang={lang}")
        violations = await axe_violations(page)
        assert violations == [], f"{path} {lang}: {violations}"


async def test_the_poster_language_is_chosen_on_the_page(site: Site, page: Any) -> None:
    await page.goto(f"{site.url}/henvisning/{site.referral_code}/plakat?lang=nb")
    await page.click(".poster-lang a[hreflang=en]")
    assert await page.get_attribute("html", "lang") == "en"
    assert "Want to go on sharing" in (await page.text_content("h1") or "")
    assert site.single.name in (await page.text_content("#poster-org") or "")
    url = (await page.text_content("#poster-url") or "").strip()
    assert url.endswith(f"/h/{site.referral_code}") and "://" not in url
    # The printed poster shows neither the language choice nor the page's navigation.
    await page.emulate_media(media="print")
    assert not await page.locator(".poster-lang").is_visible()
