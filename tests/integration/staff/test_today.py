"""Today's work: each part counts and lists only the viewer's organisations' groups, notes,
messages and people; coordinators see their region's unmet demand; notes need the 2nd factor."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from groups.common import reference as group_ref
from groups.tables import facilitator_offer, group_meeting
from helpers import FakeClock, make_org_with_facilitator
from intake.crypto import ContactCipher
from integration.staff.person_support import person, sign_in
from matching.tables import start_group
from notify.tables import outbox
from staff.people import reference


async def group(session: AsyncSession, org_id: uuid.UUID, status: str, at: datetime) -> uuid.UUID:
    gid = uuid.uuid4()
    await session.execute(
        start_group.insert().values(
            id=gid, organisation_id=org_id, theme="sorg", language="no", slot="tue-evening",
            digital=False, status=status, rules={}, created_at=at, updated_at=at,
        )
    )  # fmt: skip
    return gid


async def one_of_everything(
    session: AsyncSession, cipher: ContactCipher, now: datetime, muni: str, note: str
) -> dict[str, uuid.UUID]:
    org, fac = await make_org_with_facilitator(session, (muni,))
    proposed = await group(session, org.id, "proposed", now - timedelta(days=2))
    await session.execute(
        facilitator_offer.insert().values(
            id=uuid.uuid4(), group_id=proposed, facilitator_id=fac, status="pending",
            sent_at=now - timedelta(days=2), respond_by=now + timedelta(hours=5),
        )
    )  # fmt: skip
    lapsed = await group(session, org.id, "lapsed", now - timedelta(days=3))
    running = await group(session, org.id, "running", now - timedelta(days=20))
    await session.execute(
        group_meeting.insert().values(
            id=uuid.uuid4(), group_id=running, number=1, starts_at=now - timedelta(days=8),
            place="Biblioteket", status="held", checkin_at=now - timedelta(days=7),
            attended=5, goes_on=True, follow_up=note,
        )
    )  # fmt: skip
    await session.execute(
        outbox.insert().values(
            id=uuid.uuid4(), channel="email", template="invitation", lang="nb", status="failed",
            organisation_id=org.id, attempts=5, next_attempt_at=now, created_at=now,
            failed_at=now, last_error="550",
        )
    )  # fmt: skip
    waiting = await person(session, cipher, now, municipality=muni, days_ago=90)
    return {"org": org.id, "proposed": proposed, "lapsed": lapsed, "running": running,
            "person": waiting}  # fmt: skip


async def test_today_shows_each_part_of_the_viewers_organisation_only(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    mine = await one_of_everything(session, cipher, clock.now, "4601", "Ring Per om rommet")
    theirs = await one_of_everything(session, cipher, clock.now, "4602", "Annen LINK sitt")
    await sign_in(client, session, clock.now, organisation_id=mine["org"])
    page = await client.get("/ansatt?lang=en")
    assert page.status_code == 200, page.text[:500]
    text = page.text
    for key in ("proposed", "lapsed", "running"):
        assert group_ref(mine[key]) in text, key
        assert group_ref(theirs[key]) not in text, key
    assert reference(mine["person"]) in text and reference(theirs["person"]) not in text
    assert "Ring Per om rommet" in text and "Annen LINK sitt" not in text
    assert "answer due" in text  # the offer running out within a day
    assert "invitation" in text  # the failed message, by template
    assert text.count("invitation") == 1
    assert 'href="/ansatt/grupper?state=proposed"' in text
    assert 'href="/ansatt/venteliste"' in text
    assert "wait in your region" not in text  # staff have no unmet demand


async def test_notes_need_the_second_factor_and_coordinators_see_unmet_demand(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    mine = await one_of_everything(session, cipher, clock.now, "4601", "Ring Per om rommet")
    await person(session, cipher, clock.now, municipality="4647")  # nobody serves Sunnfjord
    await sign_in(client, session, clock.now, method="email", organisation_id=mine["org"])
    page = (await client.get("/ansatt?lang=en")).text
    assert group_ref(mine["running"]) in page and "Ring Per om rommet" not in page
    line = next(x for x in page.splitlines() if reference(mine["person"]) in x)
    assert "Grief" not in line  # nor a person's themes

    client.cookies.clear()
    await sign_in(client, session, clock.now, "coordinator", region_slug="vestland")
    page = (await client.get("/ansatt?lang=en")).text
    assert "1 person waits in your region where no organisation starts groups." in page
    assert "Ring Per om rommet" in page  # the region's organisations' notes
