"""The console's notice when digital demand outgrows digital facilitators' free starts
(issue 13 §2): figures, only for coordinators and administrators, scoped to their region."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock, make_org
from intake.crypto import ContactCipher
from intake.registry import add_facilitator
from intake.tables import facilitator
from integration.staff.person_support import person, sign_in
from matching.tables import waiting_note

NOTICE = 'id="digital-capacity"'


async def digital_waiters(
    session: AsyncSession, cipher: ContactCipher, now: datetime, muni: str, n: int,
    *, theme: str = "sorg", kind: str = "no_facilitator", digital: bool = True,
) -> list[uuid.UUID]:  # fmt: skip
    """``n`` people whose latest note says: a digital group, but no facilitator can start it."""
    ids = []
    for _ in range(n):
        iid = await person(session, cipher, now, municipality=muni, digital_welcome=True,
                           themes=[theme])  # fmt: skip
        await session.execute(
            waiting_note.insert().values(
                interest_id=iid,
                reason={"kind": kind, "organisation": "x", "theme": theme, "others": n,
                        "needed": 4, "cross_problem_welcome": False, "digital": digital},
                suggestion=None, suggestions=[], updated_at=now,
            )
        )  # fmt: skip
        ids.append(iid)
    return ids


async def world(session: AsyncSession, cipher: ContactCipher, now: datetime) -> dict[str, Any]:
    """Vestland: 8 wait for a digital group (2 groups' worth), one digital facilitator with one
    free start. Oslo: 4 wait, no digital facilitator at all."""
    vest = await make_org(session, ("4601",), name="Vest Digital")
    oslo = await make_org(session, ("0301",), name="Oslo Digital")
    fac = await add_facilitator(session, organisation_id=vest.id, name="D", email=None,
                                themes=["sorg"], digital=True, max_concurrent_starts=1)  # fmt: skip
    await add_facilitator(session, organisation_id=oslo.id, name="L", email=None,
                          themes=["sorg"], digital=False, max_concurrent_starts=3)  # fmt: skip
    await digital_waiters(session, cipher, now, "4601", 8)
    await digital_waiters(session, cipher, now, "4601", 3, kind="too_few")  # not this demand
    await digital_waiters(session, cipher, now, "0301", 4, theme="angst")
    # Two in Vestland are offered to welcome a digital group (one now, one only "soon").
    for soon in (False, True):
        iid = await person(session, cipher, now, municipality="4601")
        await session.execute(
            waiting_note.insert().values(
                interest_id=iid,
                reason={"kind": "too_few", "organisation": "x", "theme": "sorg", "others": 2,
                        "needed": 4, "cross_problem_welcome": False},
                suggestion={"kind": "welcome_digital", "value": None, "soon": soon},
                suggestions=[], updated_at=now,
            )
        )  # fmt: skip
    return {"vest": vest.id, "oslo": oslo.id, "fac": fac}


async def test_coordinator_sees_figures_for_their_region_only(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    await world(session, cipher, clock.now)
    await sign_in(client, session, clock.now, "coordinator", region_slug="vestland")
    page = (await client.get("/ansatt?lang=en")).text
    assert NOTICE in page
    assert "no digital facilitator can start: 8</li>" in page
    assert "Groups they could make: up to 2</li>" in page
    assert "Digital facilitators: 1</li>" in page and "Their free starts: 1</li>" in page
    assert "who would then wait for one too: 1</li>" in page
    assert "mark them as digital" in page and 'href="/ansatt/igangsettere"' in page
    assert "Waiting by theme:" in page and "(8)" in page  # passkey: second factor
    region = (await client.get("/ansatt/region?region=vestland&lang=en")).text
    assert NOTICE in region and "no digital facilitator can start: 8</li>" in region


async def test_oslo_coordinator_and_administrator_see_their_scope(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    await world(session, cipher, clock.now)
    await sign_in(client, session, clock.now, "coordinator", region_slug="oslo", method="email")
    page = (await client.get("/ansatt?lang=en")).text
    assert "no digital facilitator can start: 4</li>" in page
    assert "Digital facilitators: 0</li>" in page and "Their free starts: 0</li>" in page
    assert "Waiting by theme:" not in page  # no second factor: counts only
    client.cookies.clear()
    await sign_in(client, session, clock.now, "administrator")
    page = (await client.get("/ansatt?lang=en")).text
    assert "no digital facilitator can start: 12</li>" in page and "up to 3</li>" in page


async def test_staff_never_see_it(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    ids = await world(session, cipher, clock.now)
    await sign_in(client, session, clock.now, organisation_id=ids["vest"])
    page = await client.get("/ansatt?lang=en")
    assert page.status_code == 200 and NOTICE not in page.text


async def test_no_notice_when_capacity_suffices(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    ids = await world(session, cipher, clock.now)
    await session.execute(
        update(facilitator).where(facilitator.c.id == ids["fac"]).values(max_concurrent_starts=2)
    )
    await sign_in(client, session, clock.now, "coordinator", region_slug="vestland")
    assert NOTICE not in (await client.get("/ansatt?lang=en")).text
    # Paused today, the facilitator gives no capacity: the notice is back.
    await session.execute(
        update(facilitator)
        .where(facilitator.c.id == ids["fac"])
        .values(paused_from=clock.now.date(), paused_until=None)
    )
    page = (await client.get("/ansatt?lang=en")).text
    assert NOTICE in page and "Their free starts: 0</li>" in page
