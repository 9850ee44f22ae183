"""The waiting list pages in real headless Chromium at phone width (375 px).

A staff member registers a person after a phone call and finds them on the waiting list, with
the keyboard only (Tab, typing, Space, Enter); then every page of this part of the console —
today's work, the waiting list, the registration form and its result, a person's record, the
change and withdraw pages — is scanned with axe-core (WCAG 2.1 A/AA) in bokmål, nynorsk and
English, and photographed at 375 and 1280 px into /work/notes/shots/ (when that folder exists).

Runs against the e2e site's "LINK Lillehammer test"; what it makes is deleted afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from e2e.support import LANGS, SINGLE_MUNI, Site, axe_violations
from intake.tables import interest
from staff.people import reference
from staff.sessions import COOKIE
from staff.tables import staff_audit, staff_user
from staff_support import make_staff_user, signed_in_cookie

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
SHOTS = Path("/work/notes/shots")
TAKE_SHOTS = SHOTS.is_dir()  # checked once, outside the event loop


@pytest.fixture
async def staff_page(site: Site, browser: Any) -> AsyncIterator[Any]:
    """A phone-sized browser signed in (with a passkey session) as staff of the site's
    single organisation."""
    maker = async_sessionmaker(site.engine, expire_on_commit=False)
    async with maker.begin() as s:
        user = await make_staff_user(s, "staff", organisation_id=site.single.id, name="Kari E2E")
        cookies = await signed_in_cookie(s, user, now=datetime.now(UTC))
    context = await browser.new_context(bypass_csp=True, viewport=PHONE)
    await context.add_cookies([{"name": COOKIE, "value": cookies[COOKIE], "url": site.url}])
    page = await context.new_page()
    try:
        yield page
    finally:
        await context.close()
        async with maker.begin() as s:
            await s.execute(delete(staff_audit).where(staff_audit.c.user_id == user))
            await s.execute(
                delete(interest).where(
                    interest.c.organisation_id == site.single.id, interest.c.source == "staff"
                )
            )
            await s.execute(delete(staff_user).where(staff_user.c.id == user))


async def tab_to(page: Any, selector: str, limit: int = 400) -> None:
    """Press Tab until ``selector`` has the focus (the way a keyboard user gets there)."""
    for _ in range(limit):
        if await page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


async def check(page: Any, name: str) -> None:
    """No horizontal scrolling of the page at this width, zero axe violations, screenshots."""
    wide = await page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"
    )
    assert not wide, f"{name}: the page scrolls sideways"
    violations = await axe_violations(page)
    assert violations == [], f"{name}: {violations}"
    if TAKE_SHOTS and name.endswith("-nb"):
        await page.screenshot(path=str(SHOTS / f"staff-{name}-375.png"), full_page=True)
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.screenshot(path=str(SHOTS / f"staff-{name}-1280.png"), full_page=True)
        await page.set_viewport_size(PHONE)


async def register_by_keyboard(page: Any, site: Site) -> str:
    """Fill the phone registration with the keyboard; returns the receipt code shown."""
    await page.goto(f"{site.url}/ansatt/venteliste/ny?lang=nb")
    await tab_to(page, "#municipality")
    await page.keyboard.type("Lillehammer")
    await tab_to(page, "#theme-sorg")
    await page.keyboard.press("Space")
    await tab_to(page, "#slot-tue-evening")
    await page.keyboard.press("Space")
    await tab_to(page, "#age_band")
    await page.keyboard.type("43")
    await tab_to(page, "#email")
    await page.keyboard.type("ringte.e2e@example.no")
    await tab_to(page, "#consent")
    await page.keyboard.press("Space")
    await tab_to(page, "button[type=submit]:not([data-size])")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#receipt-code")
    return str(await page.text_content("#receipt-code")).strip()


async def test_register_by_phone_and_find_them_on_the_list_keyboard_only(
    site: Site, staff_page: Any
) -> None:
    page = staff_page
    code = await register_by_keyboard(page, site)
    await check(page, "phone-done-nb")
    async with site.engine.connect() as conn:
        row = (
            await conn.execute(
                select(interest.c.id, interest.c.source, interest.c.municipality_number).where(
                    interest.c.organisation_id == site.single.id, interest.c.source == "staff"
                )
            )
        ).one()
    assert row.municipality_number == SINGLE_MUNI
    assert len(code) >= 10
    ref = reference(row.id)

    await tab_to(page, "a[href='/ansatt/venteliste']:not(.console-nav a)")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{site.url}/ansatt/venteliste")
    await tab_to(page, f"a[href='/ansatt/venteliste/{row.id}']")
    assert await page.evaluate("document.activeElement.textContent.trim()") == ref
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{site.url}/ansatt/venteliste/{row.id}")
    assert "r***@e***.no" in await page.content()
    assert "ringte.e2e@example.no" not in await page.content()
    # "Show contact" with the keyboard: the address, on that response only.
    await tab_to(page, "form[action$='/kontakt'] button")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#contact-clear")
    assert (await page.text_content("#contact-clear") or "").strip() == "ringte.e2e@example.no"


async def test_every_page_has_no_axe_violations_in_each_language(
    site: Site, staff_page: Any
) -> None:
    page = staff_page
    await register_by_keyboard(page, site)
    async with site.engine.connect() as conn:
        pid: uuid.UUID = (
            await conn.execute(
                select(interest.c.id).where(
                    interest.c.organisation_id == site.single.id, interest.c.source == "staff"
                )
            )
        ).scalar_one()
    pages = {
        "today": "/ansatt",
        "waiting": "/ansatt/venteliste",
        "phone-new": "/ansatt/venteliste/ny",
        "person": f"/ansatt/venteliste/{pid}",
        "person-change": f"/ansatt/venteliste/{pid}/endre",
        "person-withdraw": f"/ansatt/venteliste/{pid}/trekk",
    }
    for lang in LANGS:
        for name, path in pages.items():
            response = await page.goto(f"{site.url}{path}?lang={lang}")
            assert response.status == 200, f"{name}-{lang}"
            assert await page.get_attribute("html", "lang") == lang
            await check(page, f"{name}-{lang}")
        # The form's errors, next to the fields.
        await page.goto(f"{site.url}/ansatt/venteliste/ny?lang={lang}")
        await page.click("button[type=submit]:not([data-size])")
        await page.wait_for_selector("#error-summary")
        await check(page, f"phone-errors-{lang}")
