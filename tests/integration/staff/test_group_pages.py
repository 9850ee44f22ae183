"""The groups pages: scope (another organisation's group is 404 in page and action), the list
with filters and CSV, one group in full (audited), and each action's effect and audit row."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from groups import Lifecycle
from helpers import FakeClock, make_org_with_facilitator
from intake.crypto import ContactCipher
from intake.registry import add_facilitator
from intake.tables import interest
from integration.staff.person_support import csrf, person, sign_in
from matching.job import run_matching
from matching.tables import group_event, group_member, start_group
from notify.tables import outbox
from samhjelp.app import Services
from staff.tables import staff_audit


@pytest.fixture
def maker(conn: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def lc(services: Services) -> Lifecycle:
    return services.lifecycle


@pytest.fixture
async def world(
    session: AsyncSession,
    cipher: ContactCipher,
    clock: FakeClock,
    maker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[dict[str, Any]]:
    """Two organisations, each with a facilitator and one proposed group of five."""
    out: dict[str, Any] = {}
    for key, muni in (("mine", "4601"), ("other", "4602")):
        org, fid = await make_org_with_facilitator(session, (muni,))
        people = [
            await person(session, cipher, clock.now, municipality=muni, days_ago=40 - i)
            for i in range(5)
        ]
        out[key] = {"org": org, "facilitator": fid, "people": people}
    await session.commit()
    assert (await run_matching(maker, now=clock.now)).groups == 2
    for key in ("mine", "other"):
        out[key]["group"] = await session.scalar(
            select(start_group.c.id).where(start_group.c.organisation_id == out[key]["org"].id)
        )
    yield out


async def _actions(session: AsyncSession, record_id: uuid.UUID) -> list[str]:
    rows = await session.execute(
        select(staff_audit.c.action)
        .where(staff_audit.c.record_id == str(record_id))
        .order_by(staff_audit.c.id)
    )
    return list(rows.scalars())


async def _post(
    client: httpx.AsyncClient, gid: uuid.UUID, action: str, data: dict[str, Any]
) -> httpx.Response:
    page = await client.get(f"/ansatt/grupper/{gid}")
    assert page.status_code == 200, page.text[:400]
    return await client.post(
        f"/ansatt/grupper/{gid}/{action}", data={"_csrf_token": csrf(page.text), **data}
    )


async def test_another_organisations_group_is_404_in_page_and_actions(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, world: dict[str, Any]
) -> None:
    await sign_in(client, session, clock.now, organisation_id=world["mine"]["org"].id)
    theirs = world["other"]["group"]
    listing = await client.get("/ansatt/grupper")
    assert listing.status_code == 200
    assert world["mine"]["group"].hex[:8] in listing.text
    assert theirs.hex[:8] not in listing.text
    assert (await client.get(f"/ansatt/grupper/{theirs}")).status_code == 404
    assert (await client.get(f"/ansatt/grupper/{uuid.uuid4()}")).status_code == 404
    token = csrf((await client.get("/ansatt/grupper")).text)
    for action, data in (
        ("avslutt", {"reason": "Test av tilgang", "confirm": "yes"}),
        ("igangsetter", {}),
        ("gjenopne", {}),
        ("legg-til", {"person": str(world["mine"]["people"][0])}),
    ):
        r = await client.post(
            f"/ansatt/grupper/{theirs}/{action}", data={"_csrf_token": token, **data}
        )
        assert r.status_code == 404, action
    status = await session.scalar(select(start_group.c.status).where(start_group.c.id == theirs))
    assert status == "proposed"


async def test_list_filters_and_csv(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, world: dict[str, Any]
) -> None:
    await sign_in(client, session, clock.now, organisation_id=world["mine"]["org"].id)
    ref = world["mine"]["group"].hex[:8]
    assert ref in (await client.get("/ansatt/grupper?state=proposed")).text
    assert ref not in (await client.get("/ansatt/grupper?state=running")).text
    assert ref in (await client.get("/ansatt/grupper?theme=sorg&municipality=4601")).text
    assert ref not in (await client.get("/ansatt/grupper?theme=angst")).text
    assert ref not in (await client.get("/ansatt/grupper?municipality=4602")).text
    exported = await client.get("/ansatt/grupper?format=csv&lang=en")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [ref]
    assert rows[1][7] == "5"


async def test_group_page_shows_members_numbered_without_contact_and_is_audited(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, world: dict[str, Any]
) -> None:
    gid = world["mine"]["group"]
    user = await sign_in(client, session, clock.now, organisation_id=world["mine"]["org"].id)
    page = await client.get(f"/ansatt/grupper/{gid}?lang=en")
    assert page.status_code == 200
    assert "The group was formed" in page.text and "the matching job" in page.text
    assert "In the proposal" in page.text
    for pid in world["mine"]["people"]:
        assert str(pid) not in page.text.split("<form", 1)[0]  # members are numbered only
    assert "@example" not in page.text.split("Start notices", 1)[0]
    row = (
        await session.execute(
            select(staff_audit.c.action, staff_audit.c.user_id).where(
                staff_audit.c.record_id == str(gid)
            )
        )
    ).one()
    assert tuple(row) == ("group.view", user)


async def test_group_page_needs_the_second_factor(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, world: dict[str, Any]
) -> None:
    org = world["mine"]["org"].id
    await sign_in(client, session, clock.now, method="email", organisation_id=org)
    r = await client.get(f"/ansatt/grupper/{world['mine']['group']}")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/ansatt/to-faktor")


async def test_close_needs_reason_and_confirmation_then_returns_members(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, world: dict[str, Any]
) -> None:
    gid = world["mine"]["group"]
    await sign_in(client, session, clock.now, organisation_id=world["mine"]["org"].id)
    bad = await _post(client, gid, "avslutt", {"reason": ""})
    assert bad.status_code == 400
    assert 'id="reason-error"' in bad.text and 'id="confirm-error"' in bad.text
    done = await _post(client, gid, "avslutt", {"reason": "Lokalet forsvant", "confirm": "yes"})
    assert done.status_code == 303, done.text[:400]
    assert done.headers["location"] == f"/ansatt/grupper/{gid}?ok=closed"
    assert await session.scalar(select(start_group.c.status).where(start_group.c.id == gid)) == (
        "closed"
    )
    waiting = await session.scalar(
        select(func.count()).where(
            interest.c.id.in_(world["mine"]["people"]), interest.c.status == "waiting"
        )
    )
    assert waiting == 5
    assert "group.close" in await _actions(session, gid)


async def test_reask_sends_a_new_start_notice_and_audits(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, world: dict[str, Any]
) -> None:
    gid = world["mine"]["group"]
    org = world["mine"]["org"]
    second = await add_facilitator(
        session, organisation_id=org.id, name="Andre", email="andre@example.no", themes=["sorg"]
    )
    await sign_in(client, session, clock.now, organisation_id=org.id)
    before = await session.scalar(select(func.count()).select_from(outbox))
    r = await _post(client, gid, "igangsetter", {"facilitator": str(second)})
    assert r.status_code == 303, r.text[:500]
    notices = (
        await session.execute(select(outbox.c.template).where(outbox.c.template == "start_notice"))
    ).all()
    assert len(notices) >= 1
    assert await session.scalar(select(func.count()).select_from(outbox)) == (before or 0) + 1
    fac = await session.scalar(select(start_group.c.facilitator_id).where(start_group.c.id == gid))
    assert fac == second
    assert "group.facilitator_ask" in await _actions(session, gid)
    events = list(
        (
            await session.execute(
                select(group_event.c.actor).where(
                    group_event.c.group_id == gid, group_event.c.what == "start_notice_sent"
                )
            )
        ).scalars()
    )
    assert any(a.startswith("staff:") for a in events)


async def test_add_a_waiting_person_and_refuse_one_who_breaks_the_age_rule(
    client: httpx.AsyncClient,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: FakeClock,
    world: dict[str, Any],
) -> None:
    gid = world["mine"]["group"]
    fits = await person(session, cipher, clock.now, municipality="4601", days_ago=3)
    old = await person(session, cipher, clock.now, municipality="4601", age_band="78+")
    await sign_in(client, session, clock.now, organisation_id=world["mine"]["org"].id)
    refused = await _post(client, gid, "legg-til", {"person": str(old)})
    assert refused.status_code == 400
    assert "Age span" in refused.text or "Aldersspenn" in refused.text or "age span" in refused.text
    added = await _post(client, gid, "legg-til", {"person": str(fits)})
    assert added.status_code == 303, added.text[:400]
    active = await session.scalar(
        select(func.count()).where(group_member.c.group_id == gid, group_member.c.active)
    )
    assert active == 6
    assert "group.add_member" in await _actions(session, gid)


async def test_form_a_group_by_hand_refuses_three_and_forms_four(
    client: httpx.AsyncClient,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: FakeClock,
    world: dict[str, Any],
) -> None:
    org = world["mine"]["org"]
    await add_facilitator(
        session, organisation_id=org.id, name="Tredje", email="t@example.no", themes=["angst"]
    )
    people = [
        await person(
            session, cipher, clock.now - timedelta(days=30), municipality="4601",
            themes=["angst"], days_ago=30,
        )
        for _ in range(4)
    ]  # fmt: skip
    await sign_in(client, session, clock.now, organisation_id=org.id)
    query = "theme=angst&language=no&slot=tue-evening"
    page = await client.get(f"/ansatt/grupper/ny?{query}&lang=en")
    assert page.status_code == 200
    for p in people:
        assert str(p) in page.text
    token = csrf(page.text)
    shape = {"theme": "angst", "language": "no", "slot": "tue-evening", "_csrf_token": token}
    three = await client.post(
        "/ansatt/grupper/ny?lang=en",
        data={**shape, "action": "create", "person": [str(p) for p in people[:3]]},
    )
    assert three.status_code == 400
    assert "Group size: the group would have 3 people; a group has 4 to 8." in three.text
    checked = await client.post(
        "/ansatt/grupper/ny?lang=en",
        data={**shape, "action": "check", "person": [str(p) for p in people]},
    )
    assert "All group rules hold" in checked.text
    formed = await client.post(
        "/ansatt/grupper/ny", data={**shape, "action": "create", "person": [str(p) for p in people]}
    )
    assert formed.status_code == 303, formed.text[:500]
    gid = uuid.UUID(formed.headers["location"].split("/")[3].split("?")[0])
    members = set(
        (
            await session.execute(
                select(group_member.c.interest_id).where(group_member.c.group_id == gid)
            )
        ).scalars()
    )
    assert members == set(people)
    assert "group.form" in await _actions(session, gid)
    formed_by = (
        await session.execute(
            select(group_event.c.actor).where(
                group_event.c.group_id == gid, group_event.c.what == "formed"
            )
        )
    ).scalar_one()
    assert formed_by.startswith("staff:")
    notice = await session.scalar(
        select(func.count()).where(
            outbox.c.template == "start_notice", outbox.c.organisation_id == org.id
        )
    )
    assert notice == 1  # the job's group gets its notice at the tick; this one at once
