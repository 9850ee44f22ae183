"""The region page: a coordinator's organisations and unmet demand; nobody else's region."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock, make_org, register_people
from intake.crypto import ContactCipher
from intake.registry import add_facilitator
from staff_support import make_staff_user, signed_in_cookie


async def sign_in(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, role: str, **scope: Any
) -> None:
    user = await make_staff_user(session, role, **scope)
    client.cookies.update(await signed_in_cookie(session, user, method="email", now=clock.now))


async def region_world(session: AsyncSession, cipher: ContactCipher, clock: FakeClock) -> None:
    vest = await make_org(session, ("4601",), name="Vest Org Region")
    await make_org(session, ("0301",), name="Oslo Org Region")
    await add_facilitator(
        session, organisation_id=vest.id, name="F", email=None, themes=["sorg"],
        max_concurrent_starts=2,
    )  # fmt: skip
    await register_people(session, cipher, clock.now, 3, municipality="4601", days_ago=12)
    # Kinn (4602) and Stryn (4651) have no organisation: unmet demand of Vestland.
    await register_people(session, cipher, clock.now, 2, municipality="4602", themes=["angst"])
    await register_people(
        session, cipher, clock.now, 1, municipality="4602", themes=["sorg"],
        cross_problem_welcome=True, days_ago=40,
    )  # fmt: skip
    await register_people(session, cipher, clock.now, 1, municipality="4651", themes=["stress"])
    await register_people(session, cipher, clock.now, 4, municipality="0301", themes=["angst"])


async def test_a_coordinator_sees_the_region_and_its_unmet_demand(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, cipher: ContactCipher
) -> None:
    await region_world(session, cipher, clock)
    await sign_in(client, session, clock, "coordinator", region_slug="vestland")
    page = await client.get("/ansatt/region")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Vest Org Region" in text and "Oslo Org Region" not in text
    assert "Kinn" in text and "Stryn" in text and "Oslo</th>" not in text
    assert "Angst: 2" in text and "Sorg: 1" in text and "På tvers av problemer: 1" in text
    csv = await client.get("/ansatt/region?format=csv&table=unmet")
    assert csv.status_code == 200
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "municipality_number,municipality,theme,people_waiting"
    assert "4602,Kinn,Angst,2" in lines and "4651,Stryn,Stress,1" in lines
    assert not any(line.startswith("0301") for line in lines)
    orgs = await client.get("/ansatt/region?format=csv&table=organisations")
    [_header, row] = orgs.text.lstrip("\ufeff").splitlines()
    assert row.startswith("Vest Org Region,link,3,12,")
    assert row.endswith(",1,2,0")  # one facilitator, two starts at once, none in progress


async def test_another_region_is_404_and_staff_are_refused(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, cipher: ContactCipher
) -> None:
    await region_world(session, cipher, clock)
    await sign_in(client, session, clock, "coordinator", region_slug="oslo")
    oslo = await client.get("/ansatt/region")
    assert oslo.status_code == 200 and "Oslo Org Region" in oslo.text
    assert "Kinn" not in oslo.text
    foreign = await client.get("/ansatt/region?region=vestland")
    assert foreign.status_code == 404 and "Kinn" not in foreign.text
    csv = await client.get("/ansatt/region?region=vestland&format=csv&table=unmet")
    assert csv.status_code == 404
    client.cookies.clear()
    org = await make_org(session, ("4624",))
    await sign_in(client, session, clock, "staff", organisation_id=org.id)
    refused = await client.get("/ansatt/region")
    assert refused.status_code == 403 and "Kinn" not in refused.text


async def test_an_administrator_chooses_any_region(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, cipher: ContactCipher
) -> None:
    await region_world(session, cipher, clock)
    await sign_in(client, session, clock, "administrator")
    page = await client.get("/ansatt/region?region=vestland")
    assert page.status_code == 200 and "Kinn" in page.text
    assert '<select class="ds-input" id="region" name="region">' in page.text
