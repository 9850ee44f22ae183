"""A group that fills until it meets, as the facilitator sees it in headless Chromium at 375 px:
the start notice's page counts the person who joined after the proposal, and the roster says
how many still have to answer. axe-core finds nothing; the page never scrolls sideways.

The proposal is written straight to the database (four people in Værøy, which no other test
uses) and the fifth person joins through the matching job's own storage step
(``matching.service.store_additions``), so no matching run touches other tests' sign-ups.
Everything made here is deleted afterwards. Screenshots go to ``SAMHJELP_SCREENSHOT_DIR`` if
set, else to a temporary folder.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from e2e.support import Site, axe_violations
from groups import links
from groups.links import Purpose
from groups.tables import action_link, facilitator_offer, group_meeting
from intake.crypto import ContactCipher
from intake.registry import add_facilitator, add_organisation
from intake.tables import facilitator, interest, organisation
from integration.groups.support import sign_up
from matching.fill import Addition
from matching.service import store_additions
from matching.tables import group_event, group_member, match_run, start_group
from notify.tables import outbox

pytestmark = pytest.mark.browser

MUNI = "1857"  # Værøy
SECRET = "e2e-link-secret-" + "x" * 32  # the e2e site's link secret (tests/e2e/conftest.py)
PHONE = {"width": 375, "height": 812}
CIPHER = ContactCipher(bytes(range(32)))


async def _clean(page: Any, what: str) -> None:
    violations = await axe_violations(page)
    assert violations == [], f"{what}: {violations}"
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{what}: scrolls sideways ({width}px)"


def _shots(tmp_path: Path) -> Path:
    where = os.environ.get("SAMHJELP_SCREENSHOT_DIR")
    return Path(where) if where else tmp_path


async def test_the_facilitator_sees_the_group_grow_at_phone_width(
    site: Site, browser: Any, tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    maker = async_sessionmaker(site.engine, expire_on_commit=False)
    async with maker.begin() as s:
        org = await add_organisation(
            s, slug=f"e2e-fill-{uuid.uuid4().hex[:6]}", name="LINK Værøy fill test",
            kind="link", municipalities=(MUNI,),
        )  # fmt: skip
        fac = await add_facilitator(
            s, organisation_id=org.id, name="F", email="fill-fac@example.no",
            themes=["sorg"], languages=["no"],
        )  # fmt: skip
        first = await sign_up(s, CIPHER, now, 4, prefix="fill-p", municipality=MUNI, days_ago=40)
        [late] = await sign_up(s, CIPHER, now, 1, prefix="fill-late", municipality=MUNI)
        gid = uuid.uuid4()
        await s.execute(
            start_group.insert().values(
                id=gid, organisation_id=org.id, theme="sorg", language="no", slot="tue-evening",
                digital=False, facilitator_id=fac, status="proposed", rules={}, places=4,
                created_at=now - timedelta(days=1),
            )
        )  # fmt: skip
        await s.execute(
            group_member.insert(),
            [
                {"group_id": gid, "interest_id": i, "state": "proposed",
                 "joined_at": now - timedelta(days=1)}
                for i in first
            ],
        )  # fmt: skip
        await s.execute(update(interest).where(interest.c.id.in_(first)).values(status="proposed"))
        run_id = uuid.uuid4()
        await s.execute(match_run.insert().values(id=run_id, started_at=now, joined=1))
        await store_additions(s, [Addition(str(gid), str(late))], now=now, run_id=run_id)
        offer = uuid.uuid4()
        await s.execute(
            facilitator_offer.insert().values(
                id=offer, group_id=gid, facilitator_id=fac, status="pending", sent_at=now,
                respond_by=now + timedelta(days=3),
            )
        )  # fmt: skip
        token = await links.issue(
            s, secret=SECRET, purpose=Purpose.OFFER_ACCEPT, object_id=offer, subject_id=fac,
            expires_at=now + timedelta(days=3), now=now,
        )  # fmt: skip
    shots = _shots(tmp_path)
    context = await browser.new_context(bypass_csp=True, viewport=PHONE)
    page = await context.new_page()
    try:
        await page.goto(f"{site.url}/s/{token}?lang=en")
        brief = await page.inner_text("main")
        assert "5 people" in brief
        assert "1 of them joined after the group was proposed" in brief
        await _clean(page, "accept page with a late joiner")
        await page.screenshot(path=str(shots / "fill-facilitator-accept-375.png"), full_page=True)
        async with page.expect_navigation():
            await page.click("main button[type=submit]")
        roster = await page.get_attribute("a#roster-link", "href")
        assert roster is not None
        await page.goto(roster)
        text = await page.inner_text("main")
        assert "5 people have a place in the group and have not answered yet." in text
        await _clean(page, "roster with people still to answer")
        await page.screenshot(path=str(shots / "fill-facilitator-roster-375.png"), full_page=True)
    finally:
        await context.close()
        async with maker.begin() as s:
            people = select(interest.c.id).where(interest.c.organisation_id == org.id)
            meetings = select(group_meeting.c.id).where(group_meeting.c.group_id == gid)
            offers = select(facilitator_offer.c.id).where(facilitator_offer.c.group_id == gid)
            await s.execute(
                delete(action_link).where(
                    or_(
                        action_link.c.object_id == gid,
                        action_link.c.object_id.in_(meetings),
                        action_link.c.object_id.in_(offers),
                        action_link.c.subject_id.in_(people),
                    )
                )
            )
            for table in (facilitator_offer, group_event, group_member, group_meeting):
                await s.execute(delete(table).where(table.c.group_id == gid))
            await s.execute(delete(start_group).where(start_group.c.id == gid))
            await s.execute(delete(match_run).where(match_run.c.id == run_id))
            await s.execute(delete(outbox).where(outbox.c.organisation_id == org.id))
            await s.execute(delete(interest).where(interest.c.organisation_id == org.id))
            await s.execute(delete(facilitator).where(facilitator.c.id == fac))
            await s.execute(delete(organisation).where(organisation.c.id == org.id))
