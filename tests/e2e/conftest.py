"""End-to-end fixtures: a real HTTP server on a free port and a real headless Chromium.

The server runs as a task on the test session's event loop (the engine's asyncpg connections
belong to that loop) with a normal committing sessionmaker, so what the browser does is really
stored. Rows it creates are confined to organisations made here with unique slugs, in
municipalities the rolled-back tests do not use (Lillehammer, Ålesund), and deleted afterwards.

Browser tests need /usr/bin/chromium and node_modules/axe-core. Locally they skip with the
reason; under ``CI=true`` a missing part fails the run instead.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
import uvicorn
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from e2e.support import (
    AXE,
    CHROMIUM,
    CHROMIUM_ARGS,
    LINK_SECRET,
    SHARED_MUNI,
    SINGLE_MUNI,
    Site,
    free_port,
)
from helpers import make_org
from intake.crypto import ContactCipher
from intake.referrals import create_link
from intake.schemas import ReferralLinkIn
from intake.tables import interest, organisation, referral
from samhjelp.app import Services, create_app
from samhjelp.settings import Settings


@pytest.fixture(scope="module")
async def site(
    engine: AsyncEngine, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Site]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with maker.begin() as s:
        single = await make_org(s, (SINGLE_MUNI,), name="LINK Lillehammer test")
        shared = (
            await make_org(s, (SHARED_MUNI,), name="Ålesund frivilligsentral test"),
            await make_org(
                s, (SHARED_MUNI,), kind="contact_point", name="Ålesund frisklivssentral test"
            ),
        )
        link = await create_link(
            s,
            single.id,
            ReferralLinkIn(
                course_kind="KID", ends_on=date(2026, 12, 1), target_organisation=single.slug
            ),
            base_url=url,
        )
    orgs = [single.id, *(o.id for o in shared)]
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("e2e"),
        public_base_url=url,
        post_rate_per_minute=10_000,
        scheduler_enabled=False,
        link_secret=LINK_SECRET,
    )
    services = Services(
        settings=settings, engine=engine, sessionmaker=maker, cipher=ContactCipher(bytes(range(32)))
    )
    config = uvicorn.Config(
        create_app(services), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # uvicorn offers no start event; poll its flag
        if server.started:
            break
        await asyncio.sleep(0.02)
    try:
        yield Site(url, engine, single, shared, link.code)
    finally:
        server.should_exit = True
        await task
        async with maker.begin() as s:
            await s.execute(delete(interest).where(interest.c.organisation_id.in_(orgs)))
            await s.execute(delete(referral).where(referral.c.organisation_id.in_(orgs)))
            await s.execute(delete(organisation).where(organisation.c.id.in_(orgs)))


def _require_browser() -> None:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install -y chromium)")
    if not AXE.exists():
        missing.append(f"{AXE} (npm ci)")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        missing.append("the playwright Python package")
    if missing:
        reason = "browser tests need " + ", ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    _require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A fresh context per test; CSP bypassed only so axe-core can be injected."""
    context = await browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    pg = await context.new_page()
    yield pg
    await context.close()
