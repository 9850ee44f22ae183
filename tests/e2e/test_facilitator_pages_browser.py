"""The facilitator's pages in real headless Chromium at phone width (375 px).

For each language (bokmål, nynorsk, English) a keyboard-only pass: the accept page with the
group brief → Enter on "yes" → the confirmation with the meeting form → the place typed and
sent with the keyboard → "invitations sent"; then the meeting form link, its error page and
the roster. Every page is scanned with axe-core for WCAG 2.1 A/AA: zero violations.

The groups are written straight to the database (a proposal with six waiting people in
Røst, which no other test uses) so no matching run touches other tests' sign-ups; everything
made here is deleted afterwards.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from e2e.support import LANGS, Site, axe_violations
from groups import links
from groups.links import Purpose
from groups.tables import action_link, facilitator_offer, group_meeting
from intake.crypto import ContactCipher
from intake.registry import add_facilitator, add_organisation
from intake.tables import facilitator, interest, organisation
from integration.groups.support import sign_up
from matching.tables import group_event, group_member, start_group
from notify.tables import outbox

pytestmark = pytest.mark.browser

MUNI = "1856"  # Røst
SECRET = "e2e-link-secret-" + "x" * 32  # the e2e site's link secret (tests/e2e/conftest.py)
PHONE = {"width": 375, "height": 812}
CIPHER = ContactCipher(bytes(range(32)))
SENT = {
    "nb": "Invitasjonene er sendt",
    "nn": "Invitasjonane er sende",
    "en": "The invitations are sent",
}


@dataclass
class Offered:
    org_id: uuid.UUID
    facilitator_id: uuid.UUID
    group_id: uuid.UUID
    accept: str


async def _offered(site: Site, lang: str, people_count: int = 6) -> Offered:
    """An organisation, its facilitator, six people (or ``people_count``) and a pending start
    notice."""
    now = datetime.now(UTC).replace(microsecond=0)
    maker = async_sessionmaker(site.engine, expire_on_commit=False)
    async with maker.begin() as s:
        org = await add_organisation(
            s, slug=f"e2e-fac-{lang}-{uuid.uuid4().hex[:6]}", name=f"LINK Røst {lang} test",
            kind="link", municipalities=(MUNI,),
        )  # fmt: skip
        fac = await add_facilitator(
            s, organisation_id=org.id, name="F", email=f"fac-{lang}@example.no",
            themes=["sorg"], languages=["no"],
        )  # fmt: skip
        people = await _people(s, now, lang, people_count)
        gid = uuid.uuid4()
        await s.execute(
            start_group.insert().values(
                id=gid, organisation_id=org.id, theme="sorg", language="no", slot="tue-evening",
                digital=False, facilitator_id=fac, status="proposed", rules={},
                places=people_count,
            )
        )  # fmt: skip
        await s.execute(
            group_member.insert(),
            [{"group_id": gid, "interest_id": i, "state": "proposed"} for i in people],
        )
        await s.execute(update(interest).where(interest.c.id.in_(people)).values(status="proposed"))
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
    return Offered(org.id, fac, gid, f"{site.url}/s/{token}")


async def _people(s: AsyncSession, now: datetime, lang: str, n: int) -> list[uuid.UUID]:
    return await sign_up(s, CIPHER, now, n, prefix=f"fac-{lang}-p", municipality=MUNI)


async def _purge(site: Site, offered: Offered) -> None:
    async with async_sessionmaker(site.engine).begin() as s:
        gid = offered.group_id
        people = select(interest.c.id).where(interest.c.organisation_id == offered.org_id)
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
        await s.execute(delete(outbox).where(outbox.c.organisation_id == offered.org_id))
        await s.execute(delete(interest).where(interest.c.organisation_id == offered.org_id))
        await s.execute(delete(facilitator).where(facilitator.c.id == offered.facilitator_id))
        await s.execute(delete(organisation).where(organisation.c.id == offered.org_id))


@pytest.fixture
async def phone(browser: Any) -> AsyncIterator[Any]:
    context = await browser.new_context(bypass_csp=True, viewport=PHONE)
    pg = await context.new_page()
    yield pg
    await context.close()


async def _clean(page: Any, what: str) -> None:
    violations = await axe_violations(page)
    assert violations == [], f"{what}: {violations}"
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{what}: scrolls sideways ({width}px)"


async def _tab_to(page: Any, selector: str, limit: int = 40) -> None:
    """Press Tab until ``selector`` has the focus (keyboard only, no clicks)."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await page.evaluate("s => document.activeElement?.matches(s) ?? false", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


@pytest.mark.parametrize("lang", LANGS)
async def test_accept_and_meeting_form_by_keyboard_with_no_axe_violations(
    site: Site, phone: Any, lang: str
) -> None:
    offered = await _offered(site, lang)
    try:
        page = phone
        await page.goto(f"{offered.accept}?lang={lang}")
        assert await page.get_attribute("html", "lang") == lang
        assert "17:00–22:00" in await page.inner_text("main")
        await _clean(page, f"accept page ({lang})")
        await _tab_to(page, "main button[type=submit]")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert await page.locator("input[name=when]:checked").count() == 1
        roster = await page.get_attribute("a#roster-link", "href")
        form_url = await page.get_attribute("form.signup", "action")
        await _clean(page, f"accept confirmation with the meeting form ({lang})")
        # The meeting form link in the same language, then its error page (no place).
        await page.goto(form_url)
        await _clean(page, f"meeting form ({lang})")
        await _tab_to(page, "button[type=submit]")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert await page.locator("#place-error").count() == 1
        await _clean(page, f"meeting form with errors ({lang})")
        # Keyboard only: the first date stays chosen, the place is typed, Enter sends.
        await _tab_to(page, "#place")
        await page.keyboard.type("Biblioteket, rom 2")
        await _tab_to(page, "button[type=submit]")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert SENT[lang] in await page.inner_text("h1")
        await _clean(page, f"invitations sent ({lang})")
        # Two participants say yes (one without contact left), then the roster.
        async with async_sessionmaker(site.engine).begin() as s:
            ids = (
                await s.execute(
                    select(group_member.c.interest_id)
                    .where(group_member.c.group_id == offered.group_id)
                    .order_by(group_member.c.joined_at, group_member.c.interest_id)
                    .limit(2)
                )
            ).scalars().all()  # fmt: skip
            await s.execute(
                update(group_member)
                .where(group_member.c.interest_id.in_(ids))
                .values(state="confirmed")
            )
            await s.execute(
                update(interest)
                .where(interest.c.id == ids[1])
                .values(contact_kind=None, contact_encrypted=None, contact_masked=None)
            )
        assert roster is not None
        await page.goto(roster)
        text = await page.inner_text("main")
        assert re.search(r"fac-\w+-p\d@example\.no", text)
        await _clean(page, f"roster ({lang})")
    finally:
        await _purge(site, offered)


FILL_NOTE = {"nb": "flere kan bli med", "nn": "fleire kan bli med", "en": "more people can join"}


@pytest.mark.parametrize("lang", LANGS)
async def test_a_group_of_four_is_told_why_it_meets_five_weeks_on(
    site: Site, phone: Any, lang: str, tmp_path: Any
) -> None:
    """Four people: the form after "yes" says why the first dates are five weeks away
    (groups.timing.meets_from), offers only those, and stays clean at phone width."""
    offered = await _offered(site, lang, people_count=4)
    try:
        page = phone
        await page.goto(f"{offered.accept}?lang={lang}")
        await _tab_to(page, "main button[type=submit]")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        note = await page.inner_text("#fill-note")
        assert FILL_NOTE[lang] in note
        first = await page.get_attribute("input[name=when]:checked", "value")
        assert first is not None
        soonest = datetime.now(UTC).date() + timedelta(days=34)
        assert datetime.fromisoformat(first).date() >= soonest
        await _clean(page, f"meeting form of a group of four ({lang})")
        await page.screenshot(path=str(tmp_path / f"fill-note-{lang}.png"), full_page=True)
    finally:
        await _purge(site, offered)
