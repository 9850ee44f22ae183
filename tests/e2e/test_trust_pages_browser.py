"""Trust (issue 8) in real headless Chromium: the pages that now name the data controller pass
axe-core in every language, and a failed CSRF check is a readable page, not JSON."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker

from e2e.support import LANGS, SINGLE_MUNI, Site, axe_violations, choose_municipality
from intake.tables import organisation

pytestmark = pytest.mark.browser

CONTROLLER = "Lillehammer kommune (test)"
PRIVACY_CONTACT = "personvern@lillehammer.test"


async def name_controller(site: Site) -> None:
    async with async_sessionmaker(site.engine).begin() as s:
        await s.execute(
            update(organisation)
            .where(organisation.c.id == site.single.id)
            .values(controller_name=CONTROLLER, privacy_contact=PRIVACY_CONTACT)
        )


async def assert_accessible(page: Any, what: str) -> None:
    violations = await axe_violations(page)
    assert violations == [], f"{what}: {violations}"


@pytest.mark.parametrize("lang", LANGS)
async def test_receipt_status_and_privacy_name_the_controller_accessibly(
    site: Site, page: Any, lang: str
) -> None:
    await name_controller(site)
    await page.goto(f"{site.url}/meld-interesse?lang={lang}")
    await choose_municipality(page, SINGLE_MUNI)
    await page.check("#theme-sorg")
    await page.select_option("#age_band", "33-37")
    await page.check("#slot-tue-evening")
    await page.check("#consent")
    await page.click("button[type=submit]")
    said = await page.text_content("#controller") or ""
    assert CONTROLLER in said and PRIVACY_CONTACT in said
    await assert_accessible(page, f"receipt {lang}")
    code = (await page.text_content("#receipt-code") or "").strip()
    await page.goto(f"{site.url}/status")
    await page.fill("#code", code)
    await page.click("form[action='/status'] button")
    assert CONTROLLER in (await page.text_content("#controller") or "")
    await assert_accessible(page, f"status {lang}")
    await page.goto(f"{site.url}/personvern?lang={lang}")
    listed = await page.text_content("#controllers") or ""
    assert CONTROLLER in listed and site.single.name in listed
    await assert_accessible(page, f"privacy {lang}")


async def test_an_expired_form_is_a_page_in_the_persons_language(site: Site, page: Any) -> None:
    await page.goto(f"{site.url}/status?lang=nn")
    await page.fill("#code", "ABCDE-FGHJK")
    # The CSRF cookie is gone (a new browser session, a cleared cache): the token cannot match.
    await page.context.clear_cookies()
    await page.context.add_cookies([{"name": "lang", "value": "nn", "url": site.url}])
    response_info = page.expect_response(lambda r: r.url.endswith("/status"))
    async with response_info as info:
        await page.click("form[action='/status'] button")
    response = await info.value
    assert response.status == 403
    assert response.headers["content-type"].startswith("text/html")
    assert await page.get_attribute("html", "lang") == "nn"
    assert "Skjemaet hadde gått ut på tid" in (await page.text_content("h1") or "")
    await assert_accessible(page, "expired form nn")
