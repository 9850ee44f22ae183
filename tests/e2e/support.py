"""Shared pieces of the end-to-end tests: the seeded site, browser settings, axe-core."""

from __future__ import annotations

import csv
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from intake.registry import Organisation
from intake.tables import interest

ROOT = Path(__file__).resolve().parents[2]


def screenshot_dir(name: str) -> Path:
    """Where a browser test saves its pictures: ``SAMHJELP_SCREENSHOT_DIR`` (set it to
    docs/screenshots to refresh the README's pictures) or a temporary folder, so that a test run
    never changes the checkout."""
    import tempfile

    chosen = os.environ.get("SAMHJELP_SCREENSHOT_DIR")
    folder = Path(chosen) if chosen else Path(tempfile.gettempdir()) / f"samhjelp-{name}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LANGS = ("nb", "nn", "en")
SINGLE_MUNI = "3405"  # Lillehammer: served by one test organisation
SHARED_MUNI = "1508"  # Ålesund: served by two, so the form asks which
#: The shared site's link secret (tests that sign a link the site must accept use it).
LINK_SECRET = "e2e-link-secret-" + "x" * 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Site:
    """The running server and what was seeded for it."""

    url: str
    engine: AsyncEngine
    single: Organisation
    shared: tuple[Organisation, Organisation]
    referral_code: str


async def interest_rows(site: Site, org_id: Any) -> list[dict[str, Any]]:
    async with site.engine.connect() as conn:
        rows = await conn.execute(select(interest).where(interest.c.organisation_id == org_id))
        return [dict(r) for r in rows.mappings()]


def _names() -> dict[str, str]:
    with (ROOT / "db" / "reference" / "kommuner_2024.csv").open(encoding="utf-8") as fh:
        return {r["kommunenummer"]: r["kommunenavn"] for r in csv.DictReader(fh)}


MUNICIPALITY_NAMES = _names()


async def choose_municipality(page: Any, number: str) -> None:
    """Pick a municipality as a person does: type its name in the combobox and click the
    option (combobox.js); without JavaScript, choose it in the plain select."""
    tag = await page.evaluate("document.getElementById('municipality').tagName")
    if tag == "SELECT":
        await page.select_option("#municipality", number)
        return
    await page.fill("#municipality", MUNICIPALITY_NAMES[number])
    await page.click(f"#municipality-listbox [data-value='{number}']")


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on the current page for WCAG 2.1 A and AA rules."""
    await page.add_script_tag(content=AXE.read_text())
    result: dict[str, Any] = await page.evaluate(
        """async () => await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"""
    )
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
    ]
