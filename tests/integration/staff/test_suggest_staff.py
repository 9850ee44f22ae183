"""Staff see a waiting person's suggestions on their record and accept one after a phone call:
the change is the participant's own (intake.choices), audited, scoped to the viewer's
organisations, and re-checked at once."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from helpers import FakeClock, make_org_with_facilitator, register_people
from intake.crypto import ContactCipher
from intake.tables import interest
from integration.staff.person_support import audit_rows, post_form, sign_in
from matching.job import run_matching
from staff.tables import staff_audit

DAY = timedelta(days=1)


async def _near_miss(
    conn: AsyncConnection, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> tuple[uuid.UUID, uuid.UUID]:
    """'me' (Tuesdays) is one added Wednesday evening away from a group. Matching has run."""
    org, _ = await make_org_with_facilitator(session)
    await register_people(
        session, cipher, clock.now, 3, days_ago=40, step=DAY, availability=["wed-evening"]
    )
    [(me, _code)] = await register_people(
        session, cipher, clock.now, 1, days_ago=40, availability=["tue-evening"]
    )
    await session.commit()
    maker = async_sessionmaker(bind=conn, join_transaction_mode="create_savepoint")
    assert (await run_matching(maker, now=clock.now)).groups == 0
    return org.id, me


def _offers(html: str) -> list[tuple[str, dict[str, str]]]:
    out = []
    for li in re.findall(r'<li class="suggestion">(.*?)</li>', html, re.S):
        text = re.search(r'id="offer-\d+">([^<]+)<', li)
        assert text
        fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', li))
        out.append((text.group(1), fields))
    return out


async def test_staff_see_the_suggestions_and_accept_one_audited(
    conn: AsyncConnection,
    client: httpx.AsyncClient,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: FakeClock,
) -> None:
    org_id, me = await _near_miss(conn, session, cipher, clock)
    await sign_in(client, session, clock.now, organisation_id=org_id)
    page = await client.get(f"/ansatt/venteliste/{me}?lang=en")
    assert page.status_code == 200
    offers = _offers(page.text)
    assert [(f["kind"], f.get("value")) for _, f in offers] == [("add_slot", "wed-evening")]
    assert offers[0][0].startswith("If you could also meet on Wednesday evening")
    assert f'action="/ansatt/venteliste/{me}/forslag"' in page.text

    done = await post_form(
        client,
        f"/ansatt/venteliste/{me}",
        f"/ansatt/venteliste/{me}/forslag",
        {"kind": "add_slot", "value": "wed-evening"},
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/ansatt/venteliste/{me}?ok=accepted"
    row = (await session.execute(select(interest).where(interest.c.id == me))).mappings().one()
    assert row["slots"] == ["tue-evening", "wed-evening"] and row["status"] == "proposed"
    changes = (
        (
            await session.execute(
                select(staff_audit.c.detail).where(
                    staff_audit.c.record_id == str(me), staff_audit.c.action == "interest.change"
                )
            )
        )
        .scalars()
        .all()
    )
    assert changes == [{"fields": ["slots"], "via": "suggestion"}]  # names fields, not values
    after = await client.get(f"/ansatt/venteliste/{me}?ok=accepted&lang=en")
    assert "matching has looked for a group for them again" in after.text
    assert _offers(after.text) == []  # in a group now: nothing left to suggest


async def test_a_bad_or_late_suggestion_changes_nothing(
    conn: AsyncConnection,
    client: httpx.AsyncClient,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: FakeClock,
) -> None:
    org_id, me = await _near_miss(conn, session, cipher, clock)
    await sign_in(client, session, clock.now, organisation_id=org_id)
    page, action = f"/ansatt/venteliste/{me}", f"/ansatt/venteliste/{me}/forslag"
    before = (await session.execute(select(interest).where(interest.c.id == me))).mappings().one()
    bad = await post_form(client, page, action, {"kind": "add_slot", "value": "tue-night"})
    assert bad.status_code == 400 and 'id="person-error"' in bad.text
    await session.execute(interest.update().where(interest.c.id == me).values(status="proposed"))
    await session.commit()
    late = await post_form(client, page, action, {"kind": "welcome_digital"})
    assert late.status_code == 400 and 'id="person-error"' in late.text
    row = (await session.execute(select(interest).where(interest.c.id == me))).mappings().one()
    assert {k: row[k] for k in ("slots", "digital_welcome")} == {
        "slots": before["slots"],
        "digital_welcome": before["digital_welcome"],
    }
    assert [a for a, _ in await audit_rows(session, me) if a == "interest.change"] == []


async def test_another_organisations_person_cannot_be_changed(
    conn: AsyncConnection,
    client: httpx.AsyncClient,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: FakeClock,
) -> None:
    _, theirs = await _near_miss(conn, session, cipher, clock)
    mine, _ = await make_org_with_facilitator(session, ("4602",))
    [(own, _code)] = await register_people(session, cipher, clock.now, 1, municipality="4602")
    await session.commit()
    await sign_in(client, session, clock.now, organisation_id=mine.id)
    r = await post_form(
        client,
        f"/ansatt/venteliste/{own}",
        f"/ansatt/venteliste/{theirs}/forslag",
        {"kind": "add_slot", "value": "wed-evening"},
    )
    assert r.status_code == 404
    slots = await session.scalar(select(interest.c.slots).where(interest.c.id == theirs))
    assert slots == ["tue-evening"]
    assert await audit_rows(session, theirs) == []
