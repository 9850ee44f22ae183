"""Registrations that lapse, in real Chromium at 375 px and in bokmål: the "do you still want a
group?" link page (keep, and the withdrawal's confirm step) and the status page with "Kept
until" and its "Keep me on the list" button. axe-core (WCAG 2.1 A/AA) finds nothing on any of
them; screenshots (lapse-*.png) go to ``SAMHJELP_SCREENSHOT_DIR`` or a temporary folder."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from e2e.support import LINK_SECRET, SINGLE_MUNI, Site, axe_violations, screenshot_dir
from groups import Lifecycle
from groups.lapse import run_lapse
from helpers import interest_body
from intake.crypto import ContactCipher
from intake.interests import register
from intake.lapse import LapsePolicy
from intake.receipt import code_hash
from intake.schemas import InterestIn
from intake.tables import interest
from notify.tables import outbox

pytestmark = pytest.mark.browser
SHOTS = screenshot_dir("lapse-screenshots")
TOKEN = re.compile(r"/behold/([A-Za-z0-9_-]{28})")
CIPHER = ContactCipher(bytes(range(32)))


@pytest.fixture
async def phone(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(bypass_csp=True, viewport={"width": 375, "height": 800})
    pg = await context.new_page()
    yield pg
    await context.close()


async def check(page: Any, name: str) -> None:
    assert await page.get_attribute("html", "lang") == "nb", name
    assert await axe_violations(page) == [], name
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{name}: scrolls sideways ({width} px)"
    await page.screenshot(path=str(SHOTS / f"lapse-{name}.png"), full_page=True)


async def test_link_page_keeps_and_status_page_shows_and_keeps(site: Site, phone: Any) -> None:
    page = phone
    maker = async_sessionmaker(site.engine, expire_on_commit=False)
    now = datetime.now(UTC)
    ids: list[uuid.UUID] = []
    codes: list[str] = []
    async with maker.begin() as s:
        for n in range(2):
            body = interest_body(
                municipality=SINGLE_MUNI, contact={"email": f"lapse-browser{n}@example.no"}
            )
            done = await register(s, InterestIn.model_validate(body), cipher=CIPHER,
                                  source="self", now=now - timedelta(days=340))  # fmt: skip
            iid = await s.scalar(
                select(interest.c.id).where(interest.c.receipt_hash == code_hash(done.receipt_code))
            )
            assert iid is not None
            ids.append(iid)
            codes.append(done.receipt_code)
    lc = Lifecycle(cipher=CIPHER, link_secret=LINK_SECRET, base_url=site.url)
    sent: list[uuid.UUID] = []
    try:
        assert (await run_lapse(maker, lc, LapsePolicy(), now=now)).notices == 2
        async with maker() as s:
            # By id: the withdrawal below scrubs the message's recipient, so the clean-up
            # could not find it by person (left behind, it broke later tests' outbox counts).
            refs = [f"interest:{i}" for i in ids]
            sent = list(
                await s.scalars(select(outbox.c.id).where(outbox.c.recipient_ref.in_(refs)))
            )
            bodies = [
                await s.scalar(
                    select(outbox.c.body_text).where(outbox.c.recipient_ref == f"interest:{i}")
                )
                for i in ids
            ]
        tokens = [TOKEN.findall(b or "")[0] for b in bodies]

        # The message's link: the date it will be deleted, and the button to stay.
        await page.goto(f"{site.url}/behold/{tokens[0]}")
        assert "blir slettet" in (await page.text_content("#delete-on") or "")
        await check(page, "link-375")
        await page.click("#keep")
        assert "Vi tar vare på påmeldingen din til" in (await page.text_content("#kept") or "")
        await check(page, "link-kept-375")

        # The other person would rather withdraw: the confirm step, then nothing is left.
        await page.goto(f"{site.url}/behold/{tokens[1]}")
        await page.click("#withdraw")
        assert await page.is_visible("#confirm-withdraw")
        await check(page, "link-confirm-withdraw-375")
        await page.click("#confirm-withdraw")
        assert await page.is_visible("#withdrawn")
        await check(page, "link-withdrawn-375")
        async with maker() as s:
            assert await s.scalar(select(interest.c.id).where(interest.c.id == ids[1])) is None

        # The status page: "Kept until" and the keep button (code typed, as a person would).
        await page.goto(f"{site.url}/status?lang=nb")
        await page.fill("#code", codes[0])
        await page.click("main button[type=submit]")
        assert "Tas vare på til" in (await page.text_content("#keep-until") or "")
        assert await page.is_visible("#keep")
        await check(page, "status-375")
        await page.click("#keep")
        assert "Vi tar vare på påmeldingen din til" in (await page.text_content("#kept") or "")
        await check(page, "status-kept-375")
        async with maker() as s:
            alive = await s.scalar(select(interest.c.alive_at).where(interest.c.id == ids[0]))
        assert alive is not None and alive > now
    finally:
        async with maker.begin() as s:
            refs = [f"interest:{i}" for i in ids]
            await s.execute(
                delete(outbox).where(or_(outbox.c.recipient_ref.in_(refs), outbox.c.id.in_(sent)))
            )
            await s.execute(delete(interest).where(interest.c.id.in_(ids)))
