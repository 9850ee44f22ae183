"""The console's statistics page in real Chromium at 375 px: zero axe-core violations in
bokmål, nynorsk and English, no sideways scrolling, the area chooser without JavaScript, a small
cell hidden as on the public page; screenshots into /work/notes/shots/. What this test makes
(people, a facilitator with a start notice, the release, the staff users) is deleted after."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker

from e2e.support import LANGS, SINGLE_MUNI, Site, axe_violations
from figures.refresh import refresh_release
from figures.tables import stat_release
from groups.tables import facilitator_offer
from helpers import register_people
from intake.crypto import ContactCipher
from intake.registry import add_facilitator
from intake.tables import facilitator, interest
from matching.tables import start_group
from staff.sessions import COOKIE
from staff.tables import staff_audit, staff_user
from staff_support import make_staff_user, signed_in_cookie

pytestmark = pytest.mark.browser

SHOTS = Path("/work/notes/shots")
TAKE_SHOTS = SHOTS.is_dir()
PHONE = {"width": 375, "height": 812}
RARE = "trafikkskadde"  # a theme no other test registers in Lillehammer: its 2 people stay hidden


@pytest.fixture
async def published(site: Site) -> AsyncIterator[None]:
    """Seven people about anxiety and two injured in traffic in Lillehammer, a facilitator of
    its organisation with a start notice unanswered for four days, and a release."""
    maker = async_sessionmaker(site.engine, expire_on_commit=False)
    now = datetime.now(UTC)
    cipher = ContactCipher(bytes(range(32)))
    people: list[uuid.UUID] = []
    async with maker.begin() as s:
        for n, theme in ((7, "angst"), (2, RARE)):
            made = await register_people(
                s, cipher, now, n, days_ago=20, municipality=SINGLE_MUNI, themes=[theme]
            )
            people += [iid for iid, _ in made]
        fid = await add_facilitator(
            s, organisation_id=site.single.id, name="Frida Figurtest", email=None,
            themes=["angst"], max_concurrent_starts=2,
        )  # fmt: skip
        gid = uuid.uuid4()
        await s.execute(
            start_group.insert().values(
                id=gid, organisation_id=site.single.id, theme="angst", language="no",
                slot="tue-evening", digital=False, status="proposed", rules={},
                created_at=now - timedelta(days=4), updated_at=now - timedelta(days=4),
            )
        )  # fmt: skip
        await s.execute(
            facilitator_offer.insert().values(
                id=uuid.uuid4(), group_id=gid, facilitator_id=fid, status="pending",
                sent_at=now - timedelta(days=4), respond_by=now + timedelta(days=1),
            )
        )  # fmt: skip
        await refresh_release(s, now=now)
    try:
        yield
    finally:
        async with maker.begin() as s:
            await s.execute(delete(stat_release))
            await s.execute(delete(start_group).where(start_group.c.id == gid))
            await s.execute(delete(facilitator).where(facilitator.c.id == fid))
            await s.execute(delete(interest).where(interest.c.id.in_(people)))


@pytest.fixture
async def browser_as(site: Site, browser: Any) -> AsyncIterator[Any]:
    """``await browser_as(role, javascript=…, **scope)``: a signed-in phone-sized page."""
    maker = async_sessionmaker(site.engine, expire_on_commit=False)
    users: list[uuid.UUID] = []
    contexts: list[Any] = []

    async def open_as(role: str, *, javascript: bool = True, **scope: Any) -> Any:
        async with maker.begin() as s:
            user = await make_staff_user(s, role, name=f"E2E {role}", **scope)
            cookies = await signed_in_cookie(s, user, method="email", now=datetime.now(UTC))
        users.append(user)
        context = await browser.new_context(
            bypass_csp=True, viewport=PHONE, java_script_enabled=javascript
        )
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


async def test_the_console_statistics_page_is_accessible_at_phone_width(
    site: Site, published: None, browser_as: Any
) -> None:
    page = await browser_as("coordinator", region_slug="innlandet")
    for lang in LANGS:
        await page.goto(f"{site.url}/ansatt/statistikk?area=county:34&lang={lang}")
        assert await page.locator("svg[role=img] title").count() >= 2
        main = await page.text_content("main") or ""
        assert "LINK Lillehammer test" in main and "Frida Figurtest" in main
        wide = await page.evaluate(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"
        )
        assert not wide, f"{lang}: the page scrolls sideways"
        violations = await axe_violations(page)
        assert violations == [], f"{lang}: {violations}"
        if TAKE_SHOTS:
            await page.screenshot(
                path=str(SHOTS / f"staff-statistics-{lang}-375.png"), full_page=True
            )
    if TAKE_SHOTS:
        await page.set_viewport_size({"width": 1280, "height": 900})
        await page.screenshot(path=str(SHOTS / "staff-statistics-en-1280.png"), full_page=True)


async def test_choosing_an_area_works_without_javascript_and_hides_small_cells(
    site: Site, published: None, browser_as: Any
) -> None:
    page = await browser_as("coordinator", javascript=False, region_slug="innlandet")
    await page.goto(f"{site.url}/ansatt/statistikk?lang=en")
    assert "Innlandet" in (await page.locator("h1").inner_text())
    await page.select_option("#area", f"municipality:{SINGLE_MUNI}")
    await page.click("form.figures-choose button[type=submit]")
    assert "municipality" in page.url
    assert "Lillehammer" in (await page.locator("h1").inner_text())
    rare = page.locator(
        "table.figures-table:not(.figures-outcomes) tr", has_text="Injured in traffic"
    )
    assert "hidden" in (await rare.inner_text())  # 2 people: never a number
    assert "2" not in (await rare.inner_text())
    if TAKE_SHOTS:
        await page.screenshot(
            path=str(SHOTS / "staff-statistics-municipality-en-375-nojs.png"), full_page=True
        )
