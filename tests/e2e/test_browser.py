"""The pages in real headless Chromium: full flows per language, axe-core, keyboard, 320 px."""

from __future__ import annotations

import re
from typing import Any

import pytest

from e2e.support import (
    LANGS,
    SHARED_MUNI,
    SINGLE_MUNI,
    Site,
    axe_violations,
    choose_municipality,
    interest_rows,
)
from intake.receipt import code_hash

pytestmark = pytest.mark.browser

STATIC_PAGES = ("/", "/meld-interesse", "/status", "/personvern", "/tilgjengelighet")


async def fill_form(page: Any, muni: str = SINGLE_MUNI) -> None:
    await choose_municipality(page, muni)
    await page.check("#theme-sorg")
    await page.select_option("#age_band", "33-37")
    await page.check("#slot-tue-evening")
    await page.fill("#email", "kari@example.no")
    await page.check("#consent")


async def assert_accessible(page: Any, what: str) -> None:
    violations = await axe_violations(page)
    assert violations == [], f"{what}: {violations}"


@pytest.mark.parametrize("lang", LANGS)
async def test_sign_up_receipt_status_withdraw(site: Site, page: Any, lang: str) -> None:
    await page.goto(f"{site.url}/meld-interesse?lang={lang}")
    await fill_form(page)
    await page.click("button[type=submit]")
    code = (await page.text_content("#receipt-code") or "").strip()
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", code)
    assert code not in page.url
    await assert_accessible(page, f"receipt {lang}")
    await page.click("a[href='/status'] >> nth=0")
    await page.fill("#code", code.lower())
    await page.click("form[action='/status'] button")
    text = await page.text_content("#status-text") or ""
    assert site.single.name in text
    await assert_accessible(page, f"status {lang}")
    await page.click("form[action='/status/trekk'] button")
    await assert_accessible(page, f"withdraw confirmation {lang}")
    await page.click("form[action='/status/trekk'] button")
    assert await page.get_attribute("html", "lang") == lang
    # Withdrawal erases the registration (issue 8): no row with this code remains.
    rows = await interest_rows(site, site.single.id)
    assert not [r for r in rows if r["receipt_hash"] == code_hash(code)]
    await assert_accessible(page, f"withdrawn {lang}")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", STATIC_PAGES)
async def test_pages_have_no_wcag_violations(site: Site, page: Any, lang: str, path: str) -> None:
    await page.goto(f"{site.url}{path}?lang={lang}")
    await assert_accessible(page, f"{path} {lang}")


@pytest.mark.parametrize("lang", LANGS)
async def test_error_flow_is_accessible_and_links_to_fields(
    site: Site, page: Any, lang: str
) -> None:
    await page.goto(f"{site.url}/meld-interesse?lang={lang}")
    await choose_municipality(page, SHARED_MUNI)
    await page.check("#theme-angst")
    await page.click("button[type=submit]")
    summary = page.locator("#error-summary")
    assert await summary.is_visible()
    assert await page.evaluate("document.activeElement.id") == "error-summary"
    links = await summary.locator("a").evaluate_all("els => els.map(e => e.hash)")
    assert links == ["#organisation-1", "#age_band", "#slot-mon-morning", "#consent"]
    assert await page.is_checked("#theme-angst"), "values are kept"
    await assert_accessible(page, f"form with errors {lang}")
    await summary.locator("a").nth(1).click()
    assert await page.evaluate("document.activeElement.id") == "age_band"
    await page.check(f"input[name=organisation][value='{site.shared[1].slug}']")
    await fill_form(page, SHARED_MUNI)
    await page.click("button[type=submit]")
    assert await page.locator("#receipt-code").is_visible()
    assert any(r["status"] == "waiting" for r in await interest_rows(site, site.shared[1].id))


async def test_referral_link_prefills_and_attributes(site: Site, page: Any) -> None:
    await page.goto(f"{site.url}/meld-interesse?ref={site.referral_code}")
    assert site.single.name in (await page.text_content("main") or "")
    await fill_form(page)
    await page.click("button[type=submit]")
    assert await page.locator("#receipt-code").is_visible()
    rows = await interest_rows(site, site.single.id)
    assert any(r["source"] == "referral" and r["referral_id"] for r in rows)
    await page.goto(f"{site.url}/henvisning/{site.referral_code}/plakat")
    assert await page.evaluate("document.querySelector('img.qr').naturalWidth") > 0
    await assert_accessible(page, "poster")


async def tab_to(page: Any, selector: str, limit: int = 250) -> None:
    """Press Tab until the element matching ``selector`` has focus."""
    for _ in range(limit):
        if await page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


async def test_the_whole_sign_up_works_with_the_keyboard_alone(site: Site, page: Any) -> None:
    await page.goto(f"{site.url}/?lang=en")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "ds-skip-link"
    await tab_to(page, "a.ds-button[href='/meld-interesse']")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/meld-interesse")
    await tab_to(page, "#municipality")
    await page.keyboard.type("Lilleham")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("Enter")
    assert await page.input_value("input[name=municipality]") == SINGLE_MUNI
    for box in ("#theme-pa-tvers", "#slot-wed-evening", "#consent"):
        await tab_to(page, box)
        await page.keyboard.press("Space")
    await tab_to(page, "#age_band")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowDown")
    await tab_to(page, "button[type=submit]")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#receipt-code")
    rows = await interest_rows(site, site.single.id)
    assert any(r["cross_problem_welcome"] and r["slots"] == ["wed-evening"] for r in rows)


@pytest.mark.parametrize("path", [*STATIC_PAGES, "/henvisning/{ref}/plakat"])
async def test_pages_fit_a_320_px_screen(site: Site, browser: Any, path: str) -> None:
    context = await browser.new_context(viewport={"width": 320, "height": 640})
    page = await context.new_page()
    await page.goto(site.url + path.format(ref=site.referral_code))
    width = await page.evaluate("document.documentElement.scrollWidth")
    await context.close()
    assert width <= 320, f"{path} scrolls sideways: {width}px"


async def test_no_request_leaves_the_site(site: Site, page: Any) -> None:
    hosts: set[str] = set()
    page.on("request", lambda req: hosts.add(req.url.split("/")[2]))
    for path in STATIC_PAGES:
        await page.goto(f"{site.url}{path}")
    assert hosts == {site.url.split("/")[2]}


async def test_the_axe_harness_does_report_violations(page: Any) -> None:
    """Guards the scans above: a page with known faults must not pass."""
    await page.set_content('<html><body><img src="x.png"><input type="text"></body></html>')
    ids = {v["id"] for v in await axe_violations(page)}
    assert {"image-alt", "label"} <= ids
