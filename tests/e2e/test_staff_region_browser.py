"""A coordinator's region, organisation and referral pages in real Chromium at 375 px; a staff
member of another organisation sees none of it.

The coordinator of Innlandet finds the e2e site's "LINK Lillehammer test" and the unmet demand
of Kongsvinger (people there, no organisation), opens the organisation from the region table
with the keyboard, sends a group rule that breaks the order of sizes and reads the message next
to the field. Every page is scanned with axe-core (WCAG 2.1 A/AA) in bokmål, nynorsk and
English, must not scroll sideways at 375 px, and is photographed at 375 and 1280 px into
/work/notes/shots/. Staff of the Ålesund organisation get the 403 and 404 pages, with none of
it in them. What this test makes is deleted afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from e2e.support import LANGS, Site, axe_violations
from helpers import interest_body
from intake.crypto import ContactCipher
from intake.interests import register
from intake.schemas import InterestIn
from intake.tables import interest, referral
from staff.sessions import COOKIE
from staff.tables import staff_audit, staff_user
from staff_support import make_staff_user, signed_in_cookie

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 812}
SHOTS = Path("/work/notes/shots")
TAKE_SHOTS = SHOTS.is_dir()  # the notes of this project's sessions
UNSERVED = "3401"  # Kongsvinger (Innlandet): no organisation serves it in the tests


async def tab_to(page: Any, selector: str, limit: int = 400) -> None:
    for _ in range(limit):
        if await page.evaluate("(s) => document.activeElement?.matches(s) ?? false", selector):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


async def check(page: Any, name: str) -> None:
    """At 375 px: no sideways scrolling, zero axe violations; screenshots of bokmål."""
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


@pytest.fixture
async def people(site: Site) -> AsyncIterator[None]:
    """Three people waiting in Kongsvinger (unmet demand), two about anxiety."""
    maker = async_sessionmaker(site.engine, expire_on_commit=False)
    cipher = ContactCipher(bytes(range(32)))
    async with maker.begin() as s:
        for themes in (["angst"], ["angst"], ["sorg"]):
            await register(
                s,
                InterestIn.model_validate(interest_body(municipality=UNSERVED, themes=themes)),
                cipher=cipher, source="self", now=datetime.now(UTC) - timedelta(days=30),
            )  # fmt: skip
    try:
        yield
    finally:
        async with maker.begin() as s:
            await s.execute(
                delete(interest).where(
                    interest.c.municipality_number == UNSERVED,
                    interest.c.organisation_id.is_(None),
                )
            )


@pytest.fixture
async def browser_as(site: Site, browser: Any) -> AsyncIterator[Any]:
    """``await browser_as(role, **scope)``: a phone-sized page signed in (passkey session)."""
    maker = async_sessionmaker(site.engine, expire_on_commit=False)
    users: list[uuid.UUID] = []
    contexts: list[Any] = []

    async def open_as(role: str, **scope: Any) -> Any:
        async with maker.begin() as s:
            user = await make_staff_user(s, role, name=f"E2E {role}", **scope)
            cookies = await signed_in_cookie(s, user, now=datetime.now(UTC))
        users.append(user)
        context = await browser.new_context(bypass_csp=True, viewport=PHONE)
        contexts.append(context)
        await context.add_cookies([{"name": COOKIE, "value": cookies[COOKIE], "url": site.url}])
        return await context.new_page()

    try:
        yield open_as
    finally:
        for context in contexts:
            await context.close()
        async with maker.begin() as s:
            await s.execute(delete(staff_audit).where(staff_audit.c.user_id.in_(users)))
            await s.execute(delete(staff_user).where(staff_user.c.id.in_(users)))


async def test_a_coordinator_sees_the_region_and_its_unmet_demand(
    site: Site, people: None, browser_as: Any
) -> None:
    page = await browser_as("coordinator", region_slug="innlandet")
    for lang in LANGS:
        await page.goto(f"{site.url}/ansatt/region?lang={lang}")
        text = await page.text_content("main") or ""
        assert "LINK Lillehammer test" in text
        assert "Kongsvinger" in text
        assert "Ålesund" not in text
        await check(page, f"region-{lang}")
    await page.goto(f"{site.url}/ansatt/region?lang=nb")
    row = page.locator("tr", has=page.locator("th", has_text="Kongsvinger"))
    cells = [c.strip() for c in await row.locator("td").all_text_contents()]
    assert cells[0] == "3" and "Angst: 2" in cells[2] and "Sorg: 1" in cells[2]

    # To the organisation with the keyboard, then a rule that breaks the order of sizes.
    await tab_to(page, f"a[href='/ansatt/organisasjon/{site.single.id}']")
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"{site.url}/ansatt/organisasjon/{site.single.id}")
    for lang in LANGS:
        await page.goto(f"{site.url}/ansatt/organisasjon/{site.single.id}?lang={lang}")
        await check(page, f"organisation-{lang}")
    await page.goto(f"{site.url}/ansatt/organisasjon/{site.single.id}?lang=nb")
    # The catchment's municipality field is the sign-up form's combobox: the region's
    # municipalities only (Gjøvik is in Innlandet, Bergen is not), former names too.
    await page.wait_for_selector("#municipality[role=combobox]")
    await tab_to(page, "#municipality")
    await page.keyboard.type("Gjøv")
    names = page.locator("#municipality-listbox [role=option] .combobox-name")
    assert "Gjøvik" in await names.all_inner_texts()
    await page.fill("#municipality", "")
    await page.keyboard.type("Bergen")
    assert "Bergen" not in await names.all_inner_texts()
    await page.keyboard.press("Escape")
    await tab_to(page, "#min_size")
    await page.keyboard.type("7")
    await tab_to(page, "#max_size")
    await page.keyboard.type("5")
    await tab_to(page, "form[action$='/regler'] button")
    await page.keyboard.press("Enter")
    await page.wait_for_selector("#min_size-error")
    described = await page.get_attribute("#min_size", "aria-describedby") or ""
    assert "min_size-error" in described
    assert await page.get_attribute("#min_size", "aria-invalid") == "true"
    assert await page.input_value("#min_size") == "7"  # nothing lost
    await check(page, "organisation-error-nb")

    async with site.engine.connect() as conn:
        link_id = await conn.scalar(
            select(referral.c.id).where(referral.c.code == site.referral_code)
        )
    for lang in LANGS:
        await page.goto(f"{site.url}/ansatt/henvisninger?lang={lang}")
        await check(page, f"referrals-{lang}")
        await page.goto(f"{site.url}/ansatt/henvisninger/{link_id}?lang={lang}")
        assert site.referral_code in (await page.text_content("main") or "")
        await check(page, f"referral-{lang}")


async def test_staff_of_another_organisation_see_none_of_it(
    site: Site, people: None, browser_as: Any
) -> None:
    page = await browser_as("staff", organisation_id=site.shared[0].id)
    async with site.engine.connect() as conn:
        link_id = await conn.scalar(
            select(referral.c.id).where(referral.c.code == site.referral_code)
        )
    for path, status in (
        ("/ansatt/region", 403),
        ("/ansatt/region?region=innlandet", 403),
        (f"/ansatt/organisasjon/{site.single.id}", 404),
        (f"/ansatt/henvisninger/{link_id}", 404),
    ):
        answer = await page.goto(f"{site.url}{path}")
        assert answer is not None and answer.status == status, path
        body = await page.content()
        assert "LINK Lillehammer test" not in body and "Kongsvinger" not in body, path
        assert site.referral_code not in body, path
    answer = await page.goto(f"{site.url}/ansatt/henvisninger")
    assert answer is not None and answer.status == 200
    assert site.referral_code not in await page.content()
    nav = await page.text_content("nav.console-nav") or ""
    assert "Region" not in nav
    if TAKE_SHOTS:
        await page.goto(f"{site.url}/ansatt/region?lang=nb")
        await page.screenshot(path=str(SHOTS / "staff-region-refused-nb-375.png"), full_page=True)


async def test_an_administrator_chooses_an_organisation_and_a_bad_link_form_is_explained(
    site: Site, browser_as: Any
) -> None:
    page = await browser_as("administrator")
    for lang in LANGS:
        await page.goto(f"{site.url}/ansatt/organisasjon?lang={lang}")
        assert "LINK Lillehammer test" in (await page.text_content("main") or "")
        await check(page, f"organisation-choose-{lang}")
    await page.goto(f"{site.url}/ansatt/henvisninger?lang=nb")
    await tab_to(page, "form[action='/ansatt/henvisninger'] button[type=submit]")
    await page.keyboard.press("Enter")  # no organisation, no end date
    await page.wait_for_selector("#ends_on-error")
    assert await page.get_attribute("#organisation", "aria-invalid") == "true"
    for lang in LANGS:
        # The same refused form in each language (the language cookie follows ?lang=).
        await page.goto(f"{site.url}/ansatt/henvisninger?lang={lang}")
        await tab_to(page, "form[action='/ansatt/henvisninger'] button[type=submit]")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#ends_on-error")
        await check(page, f"referrals-error-{lang}")
