"""The staff JSON API answers a console session as it answers an API key, scoped alike (a
coordinator acts for the organisations of their region), and refuses an expired API key."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock, make_key, make_org, register_people
from intake.crypto import ContactCipher
from intake.registry import authenticate, create_api_key
from intake.tables import api_key
from staff.tables import staff_audit
from staff_support import make_staff_user, signed_in_cookie


async def test_a_staff_session_reads_its_organisation_and_not_another(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    bergen = await make_org(session, ("4601",))
    oslo = await make_org(session, ("0301",))
    [(mine, _)] = await register_people(session, cipher, clock.now, 1, municipality="4601")
    [(theirs, _)] = await register_people(session, cipher, clock.now, 1, municipality="0301")
    user = await make_staff_user(session, "staff", organisation_id=bergen.id)
    cookies = await signed_in_cookie(session, user, now=clock.now)

    listed = await client.get("/api/v1/staff/interests", cookies=cookies)
    assert listed.status_code == 200, listed.text
    assert [i["id"] for i in listed.json()] == [str(mine)]
    assert (await client.get(f"/api/v1/staff/interests/{mine}", cookies=cookies)).status_code == 200
    foreign = await client.get(f"/api/v1/staff/interests/{theirs}", cookies=cookies)
    assert foreign.status_code == 404
    other_org = await client.get(
        "/api/v1/staff/interests", params={"organisation": str(oslo.id)}, cookies=cookies
    )
    assert other_org.status_code == 404
    assert str(theirs) not in other_org.text
    groups = await client.get("/api/v1/staff/groups", cookies=cookies)
    assert groups.status_code == 200
    # The one record read is in the audit trail, as a view in the console would be; the
    # refused read of another organisation's person is not (its transaction rolled back).
    viewed = await session.execute(
        select(staff_audit.c.action, staff_audit.c.record_id, staff_audit.c.detail).where(
            staff_audit.c.user_id == user
        )
    )
    assert [tuple(r) for r in viewed] == [("interest.view", str(mine), {"via": "api"})]


async def test_a_coordinator_session_acts_for_each_organisation_of_the_region(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    bergen = await make_org(session, ("4601",))
    kinn = await make_org(session, ("4602",))
    oslo = await make_org(session, ("0301",))
    [(in_kinn, _)] = await register_people(session, cipher, clock.now, 1, municipality="4602")
    coordinator = await make_staff_user(session, "coordinator", region_slug="vestland")
    cookies = await signed_in_cookie(session, coordinator, now=clock.now)

    unnamed = await client.get("/api/v1/staff/interests", cookies=cookies)
    assert unnamed.status_code == 422  # two organisations or more: name one
    assert "organisation" in unnamed.text
    for org, expected in ((bergen, []), (kinn, [str(in_kinn)])):
        found = await client.get(
            "/api/v1/staff/interests", params={"organisation": str(org.id)}, cookies=cookies
        )
        assert found.status_code == 200, found.text
        assert [i["id"] for i in found.json()] == expected
    outside = await client.get(
        "/api/v1/staff/interests", params={"organisation": str(oslo.id)}, cookies=cookies
    )
    assert outside.status_code == 404


async def test_the_api_needs_a_second_factor_and_refuses_another_site(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    user = await make_staff_user(session, "staff", organisation_id=org.id)
    email_only = await signed_in_cookie(session, user, method="email", now=clock.now)
    assert (await client.get("/api/v1/staff/interests", cookies=email_only)).status_code == 403
    nothing = await client.get("/api/v1/staff/interests")
    assert nothing.status_code == 401
    passkey = await signed_in_cookie(session, user, now=clock.now)
    forged = await client.post(
        "/api/v1/staff/groups/00000000-0000-0000-0000-000000000000/close",
        json={"reason": "from elsewhere"},
        headers={"Origin": "https://evil.example"},
        cookies=passkey,
    )
    assert forged.status_code == 403


async def test_an_api_key_still_works_and_is_refused_once_expired(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    headers = await make_key(session, org, "staff")
    assert (await client.get("/api/v1/staff/interests", headers=headers)).status_code == 200
    expiring = await create_api_key(
        session, organisation_id=org.id, role="staff", expires_at=clock.now + timedelta(days=1)
    )
    bearer = {"Authorization": f"Bearer {expiring}"}
    assert (await client.get("/api/v1/staff/interests", headers=bearer)).status_code == 200
    clock.advance(days=1)
    refused = await client.get("/api/v1/staff/interests", headers=bearer)
    assert refused.status_code == 401
    assert "expired" in refused.json()["detail"]
    assert await authenticate(session, expiring, now=clock.now) is None


async def test_last_use_is_recorded_at_most_hourly(session: AsyncSession, clock: FakeClock) -> None:
    org = await make_org(session, ("4601",))
    key = await create_api_key(session, organisation_id=org.id, role="staff")
    assert await authenticate(session, key, now=clock.now) is not None
    prefix = key.split("_")[1]
    used = select(api_key.c.last_used_at).where(api_key.c.prefix == prefix)
    assert await session.scalar(used) == clock.now
    first = clock.now
    clock.advance(minutes=10)
    await authenticate(session, key, now=clock.now)
    assert await session.scalar(used) == first
    clock.advance(hours=1)
    await authenticate(session, key, now=clock.now)
    assert await session.scalar(used) == clock.now
