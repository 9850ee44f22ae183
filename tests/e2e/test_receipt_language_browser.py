"""Issue 14, "losing things", in real Chromium at a phone's width: switching language on the
receipt (and on the status result) keeps the page and its code, never puts the code in a URL,
and leaves Back and Forward as they were."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from e2e.support import Site, axe_violations
from e2e.test_browser import fill_form

pytestmark = pytest.mark.browser


@pytest.fixture(params=[True, False], ids=["js", "no-js"])
async def phone(browser: Any, request: pytest.FixtureRequest) -> AsyncIterator[tuple[Any, bool]]:
    """A 375 px page, with JavaScript (the switch swaps the page in place) and without (the
    switch is a plain form POST)."""
    js = bool(request.param)
    context = await browser.new_context(
        bypass_csp=True, viewport={"width": 375, "height": 800}, java_script_enabled=js
    )
    pg = await context.new_page()
    yield pg, js
    await context.close()


async def _switch(page: Any, lang: str) -> None:
    await page.click(f".lang-switch button[value={lang}]")
    await page.wait_for_function(f"document.documentElement.lang === '{lang}'")


async def _code(page: Any) -> str:
    return (await page.text_content("#receipt-code") or "").strip()


async def test_switching_language_on_the_receipt_keeps_the_code(
    site: Site, phone: tuple[Any, bool]
) -> None:
    page, js = phone
    await page.goto(f"{site.url}/meld-interesse?lang=nb")
    await fill_form(page)
    await page.click("main button[type=submit]")
    code = await _code(page)
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", code)
    assert await page.get_attribute("html", "lang") == "nb"
    entries = await page.evaluate("history.length")

    await _switch(page, "nn")
    assert await _code(page) == code
    assert "Takk, interessa di er registrert" in (await page.text_content("h1") or "")
    assert code not in page.url and code.replace("-", "") not in page.url
    if js:
        assert await axe_violations(page) == []

    # Again, from the page the switch produced: each step is the same receipt.
    await _switch(page, "en")
    assert await _code(page) == code
    assert "Thank you, your interest is registered" in (await page.text_content("h1") or "")
    assert code not in page.url

    # The language chosen on the receipt is remembered (cookie): a fresh tab opens in English.
    other = await page.context.new_page()
    await other.goto(f"{site.url}/status")
    assert await other.get_attribute("html", "lang") == "en"
    await other.close()

    if js:  # the switch swaps the page in place
        # No history entry that Back could not revisit (no-store): Back goes where it went
        # before the switch, the sign-up form, not to "confirm form resubmission".
        assert await page.evaluate("history.length") == entries
        back = await page.go_back()
        assert back is not None and back.status == 200
        assert await page.locator("#municipality").count() == 1


async def test_switching_language_on_the_status_result_keeps_it(
    site: Site, phone: tuple[Any, bool]
) -> None:
    page, _ = phone
    await page.goto(f"{site.url}/meld-interesse?lang=en")
    await fill_form(page)
    await page.click("main button[type=submit]")
    code = await _code(page)
    await page.goto(f"{site.url}/status?lang=en")
    await page.fill("#code", code)
    await page.click("main form[action='/status'] button")
    assert await page.locator("#status-text").count() == 1

    await _switch(page, "nb")
    assert site.single.name in (await page.text_content("#status-text") or "")
    assert await page.input_value("main input[name=code]") == code
    assert code not in page.url
    # The withdraw question carries the code too; its switch returns to the status, not "/".
    await page.click("main form[action='/status/trekk'] button")
    await _switch(page, "nn")
    assert await page.locator("#status-text").count() == 1
    assert code not in page.url
