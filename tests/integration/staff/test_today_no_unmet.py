"""Today's work says nothing about unmet demand when there is none: a newcomer's first page read
"0 people wait in your region where no organisation starts groups" in an info box."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock
from intake.crypto import ContactCipher
from integration.staff.person_support import person, sign_in


async def test_no_unmet_demand_no_notice_and_one_person_is_shown(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    await sign_in(client, session, clock.now, "coordinator", region_slug="vestland")
    page = (await client.get("/ansatt?lang=en")).text
    assert "where no organisation starts groups" not in page
    assert "/ansatt/region" not in page.split("<main", 1)[1]  # nor its link

    await person(session, cipher, clock.now, municipality="4647")  # nobody serves Sunnfjord
    page = (await client.get("/ansatt?lang=en")).text
    assert "1 person waits in your region where no organisation starts groups." in page
