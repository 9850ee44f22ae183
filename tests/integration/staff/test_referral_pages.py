"""Referral links in the console: made like the API makes them, scoped to the viewer's
organisations, outcome in counts with 1-4 hidden as "<5"."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock, make_org, register_people
from intake.crypto import ContactCipher
from intake.tables import interest, referral
from staff.tables import staff_audit
from staff_support import make_staff_user, signed_in_cookie

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def sign_in(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, role: str, **scope: Any
) -> None:
    user = await make_staff_user(session, role, **scope)
    client.cookies.update(await signed_in_cookie(session, user, now=clock.now))


async def make_link(client: httpx.AsyncClient, **form: str) -> httpx.Response:
    shown = await client.get("/ansatt/henvisninger")
    token = CSRF.search(shown.text)
    assert token, shown.status_code
    return await client.post("/ansatt/henvisninger", data={"_csrf_token": token.group(1), **form})


async def test_a_referrer_makes_a_link_and_sees_its_poster_and_outcome(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, cipher: ContactCipher
) -> None:
    lms = await make_org(session, ("4624",), kind="learning_mastery_service", name="LMS Os")
    link_org = await make_org(session, ("4601",), name="LINK Bergen ref")
    await sign_in(client, session, clock, "staff", organisation_id=lms.id)
    bad = await make_link(client, course_kind="KID", ends_on="")
    assert bad.status_code == 400
    assert 'id="ends_on-error"' in bad.text
    assert 'aria-describedby="ends_on-desc ends_on-error"' in bad.text
    past = await make_link(client, course_kind="KID", ends_on="2020-01-01")
    assert past.status_code == 400 and 'id="ends_on-error"' in past.text
    made = await make_link(
        client, course_kind="KID", course_name="KID høst", ends_on="2026-12-15",
        target_organisation=link_org.slug,
    )  # fmt: skip
    assert made.status_code == 303
    rid = uuid.UUID(made.headers["location"].split("/")[-1].split("?")[0])
    row = (await session.execute(select(referral).where(referral.c.id == rid))).one()
    assert (row.organisation_id, row.target_organisation_id, row.course_kind) == (
        lms.id, link_org.id, "KID",
    )  # fmt: skip
    assert row.ends_on == date(2026, 12, 15)
    page = await client.get(made.headers["location"])
    assert page.status_code == 200
    assert f"/henvisning/{row.code}/plakat" in page.text
    assert (await client.get(f"/henvisning/{row.code}/plakat")).status_code == 200
    [action] = await session.scalars(
        select(staff_audit.c.action).where(staff_audit.c.organisation_id == lms.id)
    )
    assert action == "referral.create"

    # 7 signed up: 5 waiting, 2 placed. 2 is hidden, and one more so it cannot be subtracted.
    people = await register_people(session, cipher, clock.now, 7, municipality="4601")
    ids = [i for i, _ in people]
    await session.execute(update(interest).where(interest.c.id.in_(ids)).values(referral_id=rid))
    await session.execute(
        update(interest).where(interest.c.id.in_(ids[:2])).values(status="placed")
    )
    listed = await client.get("/ansatt/henvisninger")
    cells = re.findall(r'<td class="num">([^<]*)</td>', listed.text)
    assert cells == ["7", "×", "&lt;5", "0"], cells
    csv = await client.get("/ansatt/henvisninger?format=csv")
    assert csv.status_code == 200
    assert "KID høst" in csv.text and ",7,×,<5,0" in csv.text


async def test_links_of_another_organisation_are_not_seen(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    mine = await make_org(session, ("4601",), kind="learning_mastery_service")
    theirs = await make_org(session, ("0301",), kind="learning_mastery_service")
    foreign = uuid.uuid4()
    await session.execute(
        referral.insert().values(
            id=foreign, code="FOREIGN1", organisation_id=theirs.id, course_kind="KIB",
            course_name="Secret course", ends_on=date(2026, 12, 1),
        )
    )  # fmt: skip
    await sign_in(client, session, clock, "staff", organisation_id=mine.id)
    listed = await client.get("/ansatt/henvisninger")
    assert listed.status_code == 200
    assert "Secret course" not in listed.text and "FOREIGN1" not in listed.text
    assert (await client.get(f"/ansatt/henvisninger/{foreign}")).status_code == 404
    assert "Secret course" not in (await client.get("/ansatt/henvisninger?format=csv")).text


async def test_a_coordinator_names_the_organisation_of_a_new_link(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    a = await make_org(session, ("4601",), kind="learning_mastery_service")
    await make_org(session, ("4602",))
    outside = await make_org(session, ("0301",))
    await sign_in(client, session, clock, "coordinator", region_slug="vestland")
    unnamed = await make_link(client, course_kind="KIB", ends_on="2026-12-20")
    assert unnamed.status_code == 400 and 'id="organisation-error"' in unnamed.text
    foreign = await make_link(
        client, course_kind="KIB", ends_on="2026-12-20", organisation=str(outside.id)
    )
    assert foreign.status_code == 400
    named = await make_link(client, course_kind="KIB", ends_on="2026-12-20", organisation=str(a.id))
    assert named.status_code == 303
    owners = await session.scalars(
        select(referral.c.organisation_id).where(referral.c.course_kind == "KIB")
    )
    assert a.id in list(owners)
