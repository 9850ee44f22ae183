"""Issue 13 in real Chromium at a phone's width (375 px): a waiting person enters their receipt
code, sees every change that would place them, opens "change my choices", accepts a suggestion
in one click and sees the effect — a group being put together. axe-core finds nothing on any of
these pages, and the code never enters a URL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker

from e2e.support import Site, axe_violations, screenshot_dir
from helpers import make_org_with_facilitator, purge_organisation, register_people
from intake.crypto import ContactCipher
from matching.job import run_matching
from staff.sessions import COOKIE
from staff.tables import staff_audit, staff_user
from staff_support import make_staff_user, signed_in_cookie

pytestmark = pytest.mark.browser

#: SAMHJELP_SCREENSHOT_DIR=docs/screenshots refreshes the pictures in the docs.
SHOTS = screenshot_dir("choices")
MUNI = "3407"  # Gjøvik: no other end-to-end test signs up there


@dataclass
class NearMiss:
    code: str
    organisation: uuid.UUID
    person: uuid.UUID


@pytest.fixture
async def near_miss(site: Site) -> AsyncIterator[NearMiss]:
    """'me' waits for a grief group on Tuesday evenings; three others who have waited as long
    meet on Wednesday evenings, three English speakers on Tuesdays. Matching has run once."""
    maker = async_sessionmaker(site.engine, expire_on_commit=False)
    now = datetime.now(UTC)
    cipher = ContactCipher(bytes(range(32)))
    async with maker.begin() as s:
        org, _ = await make_org_with_facilitator(
            s, (MUNI,), languages=("no", "en"), max_concurrent_starts=2
        )
        common: dict[str, Any] = {"municipality": MUNI, "days_ago": 40}
        await register_people(
            s, cipher, now, 3, step=timedelta(days=1), availability=["wed-evening"], **common
        )
        await register_people(
            s, cipher, now, 3, languages=["en"], availability=["tue-evening"], **common
        )
        [(me, code)] = await register_people(
            s, cipher, now, 1, availability=["tue-evening"], **common
        )
    try:
        assert (await run_matching(maker, now=now)).groups == 0
        yield NearMiss(code, org.id, me)
    finally:
        await purge_organisation(maker, org.id)


@pytest.fixture
async def phone(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(bypass_csp=True, viewport={"width": 375, "height": 800})
    pg = await context.new_page()
    yield pg
    await context.close()


async def _no_sideways_scroll(page: Any) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def test_accepting_a_suggestion_in_one_click_places_the_person(
    site: Site, near_miss: NearMiss, phone: Any
) -> None:
    page, code = phone, near_miss.code
    await page.goto(f"{site.url}/status?lang=en")
    await page.fill("#code", code)
    await page.click("main button[type=submit]")

    items = page.locator("#suggestion-list li.suggestion")
    assert await items.count() == 2
    first = await page.text_content("#suggestion-1") or ""
    assert first.strip() == "If you could also meet on Wednesday evening, a group could start now."
    assert "English" in (await page.text_content("#suggestion-2") or "")
    assert code not in page.url
    await _no_sideways_scroll(page)
    assert await axe_violations(page) == []
    await page.screenshot(path=str(SHOTS / "status-suggestions-375.png"), full_page=True)

    # The small form: open it, it is labelled and clean too.
    await page.click("#change-choices summary")
    await page.wait_for_selector("#welcome_digital", state="visible")  # after the animation
    assert await page.is_visible("#add_slot")
    assert await axe_violations(page) == []
    await page.screenshot(path=str(SHOTS / "status-change-choices-375.png"), full_page=True)

    # One click on the first suggestion: saved, matching runs, the effect is shown.
    await items.nth(0).get_by_role("button", name="Yes, make this change").click()
    await page.wait_for_selector("#choices-changed")
    assert "A group is being put together for you" in (
        await page.text_content("#status-text") or ""
    )
    assert await page.locator("#suggestion-list").count() == 0
    assert code not in page.url
    await _no_sideways_scroll(page)
    assert await axe_violations(page) == []
    await page.screenshot(path=str(SHOTS / "status-suggestion-accepted-375.png"), full_page=True)


async def test_staff_accept_a_suggestion_on_the_record_after_a_call(
    site: Site, near_miss: NearMiss, browser: Any
) -> None:
    maker = async_sessionmaker(site.engine, expire_on_commit=False)
    async with maker.begin() as s:
        user = await make_staff_user(s, "staff", organisation_id=near_miss.organisation)
        cookies = await signed_in_cookie(s, user, now=datetime.now(UTC))
    context = await browser.new_context(bypass_csp=True, viewport={"width": 375, "height": 800})
    await context.add_cookies([{"name": COOKIE, "value": cookies[COOKIE], "url": site.url}])
    page = await context.new_page()
    try:
        await page.goto(f"{site.url}/ansatt/venteliste/{near_miss.person}?lang=en")
        offers = page.locator("ul.suggestions li.suggestion")
        assert await offers.count() == 2
        main = await page.text_content("main") or ""
        assert main.count("If you could also meet on Wednesday evening") == 1  # said once
        assert await axe_violations(page) == []
        await _no_sideways_scroll(page)
        await page.screenshot(
            path=str(SHOTS / "console-person-suggestions-375.png"), full_page=True
        )
        await offers.nth(1).get_by_role("button", name="They said yes: make this change").click()
        await page.wait_for_selector("[role=status]")
        assert "looked for a group for them again" in (await page.text_content("main") or "")
        assert await page.locator("ul.suggestions").count() == 0  # in a group now
        assert await axe_violations(page) == []
    finally:
        await context.close()
        async with maker.begin() as s:
            await s.execute(delete(staff_audit).where(staff_audit.c.user_id == user))
            await s.execute(delete(staff_user).where(staff_user.c.id == user))
