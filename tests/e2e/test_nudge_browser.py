"""Issue 13 §2 in real Chromium at 375 px: sign up with the suggestion-messages box ticked, get
the monthly message, open its link, accept the change, stop the messages; an expired or
tampered link. axe-core (WCAG 2.1 A/AA) finds nothing on any of these pages; screenshots
(nudge-*.png) go to ``SAMHJELP_SCREENSHOT_DIR`` (docs/screenshots to refresh the README's) or
a temporary folder."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from e2e.support import (
    LINK_SECRET,
    SINGLE_MUNI,
    Site,
    axe_violations,
    choose_municipality,
    screenshot_dir,
)
from groups import Lifecycle
from helpers import interest_body
from intake import nudges
from intake.crypto import ContactCipher
from intake.interests import register
from intake.receipt import code_hash
from intake.schemas import InterestIn
from intake.tables import interest
from matching.tables import match_run, waiting_note
from notify.tables import outbox
from samhjelp.nudges import run_nudges

pytestmark = pytest.mark.browser
SHOTS = screenshot_dir("nudge-screenshots")
TOKEN = re.compile(r"/forslag/([A-Za-z0-9_-]{28})")
REASON = {"kind": "too_few", "organisation": "x", "theme": "sorg", "others": 2, "needed": 4,
          "cross_problem_welcome": False}  # fmt: skip


@pytest.fixture
async def phone(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(bypass_csp=True, viewport={"width": 375, "height": 800})
    pg = await context.new_page()
    yield pg
    await context.close()


async def check(page: Any, name: str) -> None:
    assert await axe_violations(page) == [], name
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{name}: scrolls sideways ({width} px)"
    await page.screenshot(path=str(SHOTS / f"nudge-{name}.png"), full_page=True)


async def test_sign_up_opt_in_message_link_accept_and_stop(site: Site, phone: Any) -> None:
    page = phone
    await page.goto(f"{site.url}/meld-interesse?lang=en")
    # Ticked without a contact: the message sits next to the box, nothing is stored.
    await choose_municipality(page, SINGLE_MUNI)
    await page.check("#theme-sorg")
    await page.select_option("#age_band", "33-37")
    await page.check("#slot-mon-evening")
    await page.check("#suggestion_messages")
    await page.check("#consent")
    await page.click("main button[type=submit]")
    assert await page.is_visible("#suggestion_messages-error")
    assert await page.get_attribute("#suggestion_messages", "aria-invalid") == "true"
    await check(page, "signup-error-375")
    box = page.locator("#suggestion_messages").locator("xpath=..")
    await box.screenshot(path=str(SHOTS / "nudge-signup-box-375.png"))
    await page.fill("#email", "nudge-browser@example.no")
    await page.click("main button[type=submit]")
    code = (await page.text_content("#receipt-code") or "").strip()
    assert re.fullmatch(r"[0-9A-Z]{5}-[0-9A-Z]{5}", code)

    maker = async_sessionmaker(site.engine, expire_on_commit=False)
    async with maker.begin() as s:
        iid = await s.scalar(
            select(interest.c.id).where(
                interest.c.organisation_id == site.single.id,
                interest.c.suggestion_messages.is_(True),
            )
        )
        assert iid is not None
        assert (
            await s.scalar(select(interest.c.suggestion_language).where(interest.c.id == iid))
            == "en"
        )
        # The latest matching run's note (as matching.notes writes it): one more time places.
        change = {"kind": "add_slot", "value": "tue-evening", "soon": False}
        await s.execute(waiting_note.insert().values(
            interest_id=iid, reason=REASON, suggestion=change, suggestions=[change],
            updated_at=datetime.now(UTC),
        ))  # fmt: skip
    lc = Lifecycle(
        cipher=ContactCipher(bytes(range(32))), link_secret=LINK_SECRET, base_url=site.url
    )
    try:
        assert (await run_nudges(maker, lc, now=datetime.now(UTC))).sent == 1
        async with maker() as s:
            body = await s.scalar(select(outbox.c.body_text).where(
                outbox.c.recipient_ref == f"interest:{iid}",
                outbox.c.template == "suggestion_offer",
            ))  # fmt: skip
        assert body is not None
        [token] = TOKEN.findall(body)

        await page.goto(f"{site.url}/forslag/{token}")
        assert await page.get_attribute("html", "lang") == "en"
        assert await page.locator("#suggestions li").count() == 1
        await check(page, "link-375")
        await page.click("#suggestions button")
        assert "your choices are changed" in (await page.text_content("#done") or "")
        await check(page, "link-accepted-375")
        async with maker() as s:
            slots = await s.scalar(select(interest.c.slots).where(interest.c.id == iid))
        assert slots == ["mon-evening", "tue-evening"]

        await page.click("#stop")
        assert "not send you these messages again" in (await page.text_content("#done") or "")
        await check(page, "link-stopped-375")

        await page.goto(f"{site.url}/forslag/{token[:-2]}xy?lang=nb")
        assert await page.is_visible("#link-problem")
        await check(page, "link-unknown-375")
    finally:
        # Committed on the shared site: remove the person, their note and the runs the accepted
        # change started, or tests that count match runs or waiting people see them.
        async with maker.begin() as s:
            await s.execute(delete(outbox).where(outbox.c.recipient_ref == f"interest:{iid}"))
            await s.execute(delete(waiting_note).where(waiting_note.c.interest_id == iid))
            await s.execute(delete(interest).where(interest.c.id == iid))
            await s.execute(delete(match_run))


async def test_an_expired_link_page(site: Site, phone: Any) -> None:
    """A link 15 days after its message: a calm page in the language asked for, nothing else."""
    maker = async_sessionmaker(site.engine, expire_on_commit=False)
    nonce = nudges.new_token()
    sent_at = datetime.now(UTC) - timedelta(days=15)
    async with maker.begin() as s:
        body = interest_body(
            municipality=SINGLE_MUNI, contact={"email": "expired@example.no"},
            suggestion_messages=True, suggestion_language="nn",
        )  # fmt: skip
        done = await register(s, InterestIn.model_validate(body),
                              cipher=ContactCipher(bytes(range(32))), source="self",
                              now=datetime.now(UTC) - timedelta(days=40))  # fmt: skip
        iid = await s.scalar(
            update(interest)
            .where(interest.c.receipt_hash == code_hash(done.receipt_code))
            .values(suggestion_link_hash=nudges.token_hash(nonce), suggestion_sent_at=sent_at)
            .returning(interest.c.id)
        )  # fmt: skip
    assert iid is not None
    token = nudges.signed(LINK_SECRET, iid, sent_at, nonce)
    try:
        await phone.goto(f"{site.url}/forslag/{token}?lang=nn")
        assert await phone.is_visible("#link-problem")
        assert await phone.get_attribute("html", "lang") == "nn"
        assert await phone.locator("form[action^='/forslag/']").count() == 0
        await check(phone, "link-expired-375")
    finally:
        async with maker.begin() as s:
            await s.execute(
                delete(interest).where(interest.c.suggestion_link_hash == nudges.token_hash(nonce))
            )
