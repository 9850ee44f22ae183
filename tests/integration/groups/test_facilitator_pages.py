"""The facilitator's pages over HTTP: the accept page's brief, the meeting form on the group's
slot (another time only when confirmed), the configured number of facilitated meetings, and
the roster of participants who said yes (each view an event; erased people gone).

The start notice is made here directly (a pending offer and its signed link) so these tests
depend on the pages, not on the e-mail's wording.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from groups import Lifecycle, answer, links
from groups.brief import OSLO, on_slot
from groups.erasure import forget
from groups.tables import group_meeting
from helpers import make_org_with_facilitator
from intake.crypto import ContactCipher
from intake.tables import interest
from integration.groups.support import CSRF, pending_start_notice, sign_up
from matching.job import run_matching
from matching.tables import group_event, group_member, start_group
from samhjelp.app import Services, create_app

Maker = async_sessionmaker[AsyncSession]
RADIO = re.compile(r'name="when" value="(\d{4}-\d\d-\d\dT\d\d:\d\d)"')
ROSTER = re.compile(r'id="roster-link" href="http://testserver(/s/[A-Za-z0-9_-]{28})"')
FORM = re.compile(r'form method="post" action="http://testserver(/s/[A-Za-z0-9_-]{28})"')


@dataclasses.dataclass
class Offered:
    group_id: uuid.UUID
    facilitator_id: uuid.UUID
    people: list[uuid.UUID]
    accept: str
    slot: str


async def _offered(maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any,
                   lc: Lifecycle) -> Offered:  # fmt: skip
    """Six people (sorg, Norwegian, Tuesday/Thursday evening) in Bergen, a group proposed and
    a start notice pending with its accept link."""
    _, fac = await make_org_with_facilitator(session)
    people = await sign_up(session, cipher, clock.now, 6)
    await session.commit()
    assert (await run_matching(maker, now=clock.now)).groups == 1
    group = (await session.execute(select(start_group))).mappings().one()
    accept = await pending_start_notice(session, lc, group["id"], fac, clock.now)
    await session.commit()
    return Offered(group["id"], fac, people, accept, group["slot"])


async def _post(client: httpx.AsyncClient, path: str, page: str, **form: str) -> httpx.Response:
    found = CSRF.search(page)
    assert found is not None
    return await client.post(path, data={"_csrf_token": found.group(1), **form})


async def _accept(client: httpx.AsyncClient, offered: Offered) -> httpx.Response:
    page = await client.get(offered.accept)
    assert page.status_code == 200
    done = await _post(client, offered.accept, page.text)
    assert done.status_code == 200, done.text
    return done


async def test_the_accept_page_says_what_the_facilitator_is_asked_to_start(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:  # fmt: skip
    offered = await _offered(maker, session, cipher, clock, lc)
    assert offered.slot in ("tue-evening", "thu-evening")
    day = {"tue-evening": ("tirsdag", "tysdag", "Tuesday"),
           "thu-evening": ("torsdag", "torsdag", "Thursday")}[offered.slot]  # fmt: skip
    # Default: the group's language (Norwegian) → bokmål; the deadline is 3 days out.
    nb = await app_client.get(offered.accept)
    assert nb.status_code == 200 and '<html lang="nb"' in nb.text
    for fact in ("Sorg", "6 personer", "Norsk", f"{day[0]} kveld (17:00–22:00)", "Bergen",
                 "Fysisk", "26.11.2026 kl. 10:00", "de første 3 møtene"):  # fmt: skip
        assert fact in nb.text, fact
    assert 'href="/static/ds' in nb.text and "ds-card" in nb.text  # the shared layout
    nn = await app_client.get(offered.accept, params={"lang": "nn"})
    assert '<html lang="nn"' in nn.text and "6 personar" in nn.text and day[1] in nn.text
    # The choice is remembered (cookie), as on the participant pages.
    en = await app_client.get(offered.accept, params={"lang": "en"})
    assert "6 people" in en.text and f"{day[2]} evening (17:00–22:00)" in en.text
    assert "Norwegian" in en.text and "In person" in en.text and "Answer by" in en.text
    again = await app_client.get(offered.accept)
    assert '<html lang="en"' in again.text


async def test_the_meeting_form_offers_the_next_four_dates_on_the_slot(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:  # fmt: skip
    offered = await _offered(maker, session, cipher, clock, lc)
    done = await _accept(app_client, offered)
    dates = RADIO.findall(done.text)
    assert len(dates) == 4
    starts = [(await _local(d)) for d in dates]
    assert all(on_slot(offered.slot, s) for s in starts)
    assert all(s.hour == 18 and s.minute == 0 for s in starts)
    assert starts[0] >= clock.now + timedelta(hours=48)
    assert [b - a for a, b in itertools.pairwise(starts)] == [timedelta(days=7)] * 3
    assert f'value="{dates[0]}" id="when-1" checked' in done.text
    assert "de første 3 møtene" in done.text
    assert ROSTER.search(done.text), "the accept confirmation links to the roster"
    # The "do it later" form address is a link, not a bare token URL that wraps on a phone.
    assert re.search(r'<a class="ds-link" href="http://testserver/s/[A-Za-z0-9_-]{28}">', done.text)
    assert not re.search(r"\): http://testserver/s/", done.text)
    form_url = FORM.search(done.text)
    assert form_url is not None
    # The facilitator picks the second date: meetings 1..3 on the slot, not off it.
    page = await app_client.get(form_url.group(1))
    assert page.status_code == 200 and RADIO.findall(page.text) == dates
    planned = await _post(app_client, form_url.group(1), page.text, when=dates[1],
                          place="LINK, rom 2")  # fmt: skip
    assert planned.status_code == 200, planned.text
    rows = (await session.execute(
        select(group_meeting).order_by(group_meeting.c.number))).mappings().all()  # fmt: skip
    assert [r["number"] for r in rows] == [1, 2, 3]
    assert rows[0]["starts_at"] == starts[1] and not any(r["off_slot"] for r in rows)


async def _local(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value).replace(tzinfo=OSLO)


async def test_another_time_needs_an_explicit_confirmation_and_is_recorded(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:  # fmt: skip
    offered = await _offered(maker, session, cipher, clock, lc)
    done = await _accept(app_client, offered)
    form_url = FORM.search(done.text)
    assert form_url is not None
    path = form_url.group(1)
    # Friday 4 December 2026, 10:00: neither the group's weekday nor its part of day.
    page = await app_client.get(path)
    refused = await _post(app_client, path, page.text, when="other", date="2026-12-04",
                          time="10:00", place="Biblioteket")  # fmt: skip
    assert refused.status_code == 400
    assert 'id="confirm_other_time-error"' in refused.text
    assert 'aria-invalid="true"' in refused.text and "ds-error-summary" in refused.text
    assert 'value="Biblioteket"' in refused.text and 'value="2026-12-04"' in refused.text
    assert (await session.execute(select(group_meeting.c.id))).first() is None
    # Missing place and a past date: errors next to their fields, nothing planned.
    bad = await _post(app_client, path, refused.text, when="other", date="2026-11-20",
                      time="18:00", place="")  # fmt: skip
    assert bad.status_code == 400
    assert 'id="date-error"' in bad.text and 'id="place-error"' in bad.text
    # Confirmed: planned, flagged off the slot, and the event says so.
    ok = await _post(app_client, path, bad.text, when="other", date="2026-12-04", time="10:00",
                     place="Biblioteket", confirm_other_time="yes")  # fmt: skip
    assert ok.status_code == 200, ok.text
    assert "er et annet enn deltakerne valgte" in ok.text
    flags = (await session.execute(select(group_meeting.c.off_slot))).scalars().all()
    assert flags and all(flags)
    whats = (await session.execute(select(group_event.c.what))).scalars().all()
    assert "meeting_off_slot_confirmed" in whats


@pytest.fixture
async def two_meetings_client(
    services: Services,
) -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    """The app with SAMHJELP_FACILITATED_MEETINGS=2 (the deployment's setting)."""
    settings = services.settings.model_copy(update={"facilitated_meetings": 2})
    configured = dataclasses.replace(services, settings=settings)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(configured)), base_url="http://testserver"
    ) as c:
        yield configured, c


async def test_the_configured_number_of_facilitated_meetings_is_shown_and_planned(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any,
    two_meetings_client: tuple[Services, httpx.AsyncClient],
) -> None:  # fmt: skip
    services, client = two_meetings_client
    offered = await _offered(maker, session, cipher, clock, services.lifecycle)
    page = await client.get(offered.accept)
    assert "de første 2 møtene" in page.text
    done = await _accept(client, offered)
    assert "de første 2 møtene" in done.text
    form_url = FORM.search(done.text)
    assert form_url is not None
    dates = RADIO.findall(done.text)
    planned = await _post(client, form_url.group(1), done.text, when=dates[0], place="Rom 1")
    assert planned.status_code == 200 and "de første 2 møtene" in planned.text
    numbers = (await session.execute(select(group_meeting.c.number))).scalars().all()
    assert sorted(numbers) == [1, 2]


async def test_the_roster_shows_how_to_reach_those_who_said_yes(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:  # fmt: skip
    offered = await _offered(maker, session, cipher, clock, lc)
    done = await _accept(app_client, offered)
    roster = ROSTER.search(done.text)
    assert roster is not None
    path = roster.group(1)
    # Before anyone has answered: nobody listed, and viewing is recorded.
    empty = await app_client.get(path)
    assert empty.status_code == 200 and "Ingen har sagt ja ennå" in empty.text
    form_url = FORM.search(done.text)
    assert form_url is not None
    dates = RADIO.findall(done.text)
    assert (await _post(app_client, form_url.group(1), done.text, when=dates[0],
                        place="Rom 1")).status_code == 200  # fmt: skip
    p = offered.people
    # p0, p1, p2 say yes; p3 says no; p4, p5 have not answered. p2 has no contact left.
    for iid, yes in ((p[0], True), (p[1], True), (p[2], True), (p[3], False)):
        await answer(session, lc, offered.group_id, iid, accept=yes, now=clock.now)
    await session.execute(
        update(interest)
        .where(interest.c.id == p[2])
        .values(contact_kind=None, contact_encrypted=None, contact_masked=None)
    )
    await session.commit()
    page = await app_client.get(path)
    assert page.status_code == 200
    emails = set(re.findall(r"mailto:(p\d@example\.no)", page.text))
    assert emails == {"p0@example.no", "p1@example.no"}
    assert "Deltaker 1" in page.text and "Deltaker 3" in page.text
    assert "Deltaker 4" not in page.text
    assert "Ingen kontaktinformasjon" in page.text
    for absent in ("p3@", "p4@", "p5@"):
        assert absent not in page.text
    # Viewed again (a POST shows it too): the link is not used up; each view is an event.
    assert (await app_client.get(path, params={"lang": "en"})).status_code == 200
    views = (
        (await session.execute(select(group_event).where(group_event.c.what == "roster_viewed")))
        .mappings()
        .all()
    )
    assert len(views) == 3
    assert views[-1]["actor"] == f"facilitator:{offered.facilitator_id}"
    assert views[-1]["detail"] == {"shown": 3, "without_contact": 1, "not_shared": 0}
    assert all("@" not in str(v["detail"]) for v in views)
    # Withdrawal erases a person: they leave the roster. Erasing everyone empties it.
    await forget(session, [p[0]], outcome="withdrawn", now=clock.now)
    await session.commit()
    after = await app_client.get(path)
    assert "p0@example.no" not in after.text and "p1@example.no" in after.text
    left = (await session.execute(select(group_member.c.interest_id))).scalars().all()
    await forget(session, left, outcome="withdrawn", now=clock.now)
    await session.commit()
    erased = await app_client.get(path)
    assert "@example.no" not in erased.text


async def test_the_roster_shows_contact_only_where_the_consent_text_promised_it(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:  # fmt: skip
    """2026-12-v2 told people the facilitator never sees their contact; 2026-12-v3 says the
    facilitator of a group they said yes to does. The roster keeps each person's promise."""
    offered = await _offered(maker, session, cipher, clock, lc)
    done = await _accept(app_client, offered)
    roster = ROSTER.search(done.text)
    assert roster is not None
    form_url = FORM.search(done.text)
    assert form_url is not None
    dates = RADIO.findall(done.text)
    assert (await _post(app_client, form_url.group(1), done.text, when=dates[0],
                        place="Rom 1")).status_code == 200  # fmt: skip
    p = offered.people
    for iid in p[:3]:
        await answer(session, lc, offered.group_id, iid, accept=True, now=clock.now)
    # p0 agreed to v3 (contact shown), p1 to v2 (contact given, not shared), p2 (v3) gave none.
    for iid, version in ((p[0], "2026-12-v3"), (p[1], "2026-12-v2"), (p[2], "2026-12-v3")):
        await session.execute(
            update(interest).where(interest.c.id == iid).values(consent_version=version)
        )
    await session.execute(
        update(interest)
        .where(interest.c.id == p[2])
        .values(contact_kind=None, contact_encrypted=None, contact_masked=None)
    )
    await session.commit()
    texts = {
        "nb": ("Kontakt ikke delt", "Ingen kontaktinformasjon"),
        "nn": ("Kontakt ikkje delt", "Ingen kontaktinformasjon"),
        "en": ("Contact not shared", "No contact details"),
    }
    for lang, (not_shared, none_given) in texts.items():
        page = await app_client.get(roster.group(1), params={"lang": lang})
        assert page.status_code == 200
        assert set(re.findall(r"mailto:(p\d@example\.no)", page.text)) == {"p0@example.no"}
        assert "p1@example.no" not in page.text
        listed = page.text.split('<ul class="ds-list roster">', 1)[1].split("</ul>", 1)[0]
        items = re.findall(r"<li>(.*?)</li>", listed, re.S)
        # Members who joined at the same moment are listed in id order: match by content.
        kinds = sorted(
            "shown" if "mailto:p0@example.no" in li
            else "not shared" if not_shared in li and none_given not in li
            else "none" if none_given in li and not_shared not in li
            else li
            for li in items
        )  # fmt: skip
        assert kinds == ["none", "not shared", "shown"]
    last = (
        await session.execute(
            select(group_event.c.detail)
            .where(group_event.c.what == "roster_viewed")
            .order_by(group_event.c.id.desc())
            .limit(1)
        )
    ).scalar_one()
    assert last == {"shown": 3, "without_contact": 1, "not_shared": 1}


async def test_roster_links_expire_and_forged_ones_are_refused(
    maker: Maker, session: AsyncSession, cipher: ContactCipher, clock: Any, lc: Lifecycle,
    app_client: httpx.AsyncClient,
) -> None:  # fmt: skip
    offered = await _offered(maker, session, cipher, clock, lc)
    done = await _accept(app_client, offered)
    roster = ROSTER.search(done.text)
    assert roster is not None
    path = roster.group(1)
    forged = path[:-1] + ("A" if path[-1] != "A" else "B")
    r = await app_client.get(forged)
    assert r.status_code == 400 and "Lenken virker ikke" in r.text
    # Another facilitator's roster is not this one's: a roster link names its facilitator.
    row = (await session.execute(select(links.action_link).where(
        links.action_link.c.purpose == "roster"))).mappings().one()  # fmt: skip
    assert row["subject_id"] == offered.facilitator_id and row["object_id"] == offered.group_id
    clock.now = row["expires_at"] + timedelta(seconds=1)
    r = await app_client.get(path)
    assert r.status_code == 410 and "for gammel" in r.text
    r = await app_client.get(path, params={"lang": "en"})
    assert r.status_code == 410 and "too old" in r.text
    views = (await session.execute(
        select(group_event.c.id).where(group_event.c.what == "roster_viewed"))).all()  # fmt: skip
    assert views == []
