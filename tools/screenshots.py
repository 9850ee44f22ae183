"""Screenshots of every participant page, desktop and phone, into docs/screenshots/.

Against a running server with demo data (see docs/pages.md):

    .venv/bin/python tools/screenshots.py --base http://127.0.0.1:8124

The sign-up, receipt, status and withdrawal pages are reached the way a person would: by filling
the form in Chromium. The poster needs a referral link; without ``--ref`` one is created for
LINK Bergen in the database named by ``DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import date
from pathlib import Path
from typing import Any

from playwright.async_api import Page, async_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 812}}


async def make_referral() -> str:
    """A referral link for the demo's LINK Bergen (the tool's only write)."""
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from intake.referrals import create_link
    from intake.registry import organisation_by_ref
    from intake.schemas import ReferralLinkIn
    from samhjelp.settings import Settings

    settings = Settings()
    assert settings.database_url, "set DATABASE_URL or pass --ref"
    engine = create_async_engine(settings.database_url)
    async with async_sessionmaker(engine).begin() as s:
        org = await organisation_by_ref(s, "link-bergen")
        link = await create_link(
            s, org.id, ReferralLinkIn(course_kind="KID", ends_on=date(2026, 12, 15)),
            base_url=settings.public_base_url,
        )  # fmt: skip
    await engine.dispose()
    return link.code


async def shoot(page: Page, name: str, kind: str) -> None:
    await page.screenshot(path=str(OUT / f"{name}-{kind}.png"), full_page=True)


async def fill(page: Page) -> None:
    # The municipality field is a combobox (static/combobox.js): type, then pick the option.
    await page.fill("#municipality", "Bergen")
    await page.click("#municipality-listbox [data-value='4601']")
    await page.check("#theme-sorg")
    await page.select_option("#age_band", "33-37")
    await page.check("#slot-tue-evening")
    await page.check("#slot-thu-evening")
    await page.fill("#email", "kari@example.no")
    await page.check("#consent")


async def run(base: str, ref: str, kind: str, browser: Any) -> None:
    context = await browser.new_context(viewport=VIEWPORTS[kind], locale="nb-NO")
    page = await context.new_page()
    for name, path in [
        ("home", "/?lang=nb"),
        ("home-en", "/?lang=en"),
        ("privacy", "/personvern?lang=nb"),
        ("accessibility", "/tilgjengelighet"),
        ("poster", f"/henvisning/{ref}/plakat"),
        ("status", "/status"),
        ("signup", "/meld-interesse"),
    ]:
        await page.goto(base + path)
        await shoot(page, name, kind)
    await page.check("#theme-angst")
    await page.click("button[type=submit]")
    await shoot(page, "signup-errors", kind)
    await page.goto(f"{base}/meld-interesse?ref={ref}&lang=nn")
    await shoot(page, "signup-referral-nn", kind)
    await fill(page)
    await page.click("button[type=submit]")
    await shoot(page, "receipt-nn", kind)
    code = (await page.text_content("#receipt-code") or "").strip()
    await page.goto(base + "/status?lang=nb")
    await page.fill("#code", code)
    await page.click("form[action='/status'] button")
    await shoot(page, "status-result", kind)
    await page.click("form[action='/status/trekk'] button")
    await shoot(page, "withdraw-confirm", kind)
    await page.click("form[action='/status/trekk'] button")
    await shoot(page, "withdrawn", kind)
    await context.close()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", default="http://127.0.0.1:8124")
    ap.add_argument("--ref", help="a referral link code for the poster (else one is created)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    ref = args.ref or await make_referral()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for kind in VIEWPORTS:
            await run(args.base, ref, kind, browser)
        await browser.close()
    print(f"screenshots in {OUT}")


if __name__ == "__main__":
    asyncio.run(main())
