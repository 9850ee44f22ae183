"""The audit trail page: a coordinator reads their region's rows, an administrator all, staff
none; filters, pages and CSV; rows older than two years are deleted by the retention job."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock, make_org
from samhjelp import jobs
from samhjelp.services import Services
from staff import audit, sessions
from staff.access import Role, Viewer
from staff.audit_trail import RETENTION
from staff.tables import staff_audit, staff_session, staff_sign_in
from staff_support import make_staff_user, signed_in_cookie


def _actor(name: str, role: Role = Role.STAFF) -> Viewer:
    return Viewer(
        user_id=uuid.uuid4(),
        name=name,
        email="x@example.no",
        role=role,
        organisation_id=None,
        region_slug=None,
        two_factor=True,
    )


async def _trail(session: AsyncSession, clock: FakeClock) -> dict[str, uuid.UUID]:
    bergen = await make_org(session, ("4601",), name="LINK Bergen trail")
    oslo = await make_org(session, ("0301",), name="LINK Oslo trail")
    west_id = uuid.uuid4()
    await audit.record(
        session, _actor("Berit Bergen"), "interest.contact", now=clock.now,
        record_kind="interest", record_id=west_id, organisation_id=bergen.id,
    )  # fmt: skip
    await audit.record(
        session, _actor("Olav Oslo"), "interest.view", now=clock.now,
        record_kind="interest", record_id=uuid.uuid4(), organisation_id=oslo.id,
    )  # fmt: skip
    await audit.record(
        session, _actor("Vera Vest", Role.COORDINATOR), "sign_in", now=clock.now,
        region_slug="vestland",
    )  # fmt: skip
    return {"bergen": bergen.id, "oslo": oslo.id, "record": west_id}


async def test_the_trail_is_scoped_by_role(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    w = await _trail(session, clock)
    west = await make_staff_user(session, "coordinator", region_slug="vestland")
    page = await client.get("/ansatt/logg", cookies=await signed_in_cookie(session, west))
    assert page.status_code == 200
    assert "Berit Bergen" in page.text and "Vera Vest" in page.text
    assert "Olav Oslo" not in page.text

    admin = await make_staff_user(session, "administrator")
    everything = await client.get("/ansatt/logg", cookies=await signed_in_cookie(session, admin))
    for name in ("Berit Bergen", "Olav Oslo", "Vera Vest"):
        assert name in everything.text

    staff = await make_staff_user(session, "staff", organisation_id=w["bergen"])
    refused = await client.get("/ansatt/logg", cookies=await signed_in_cookie(session, staff))
    assert refused.status_code == 403
    assert "Berit Bergen" not in refused.text


async def test_filters_pages_and_csv(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    w = await _trail(session, clock)
    admin = await make_staff_user(session, "administrator")
    cookies = await signed_in_cookie(session, admin)
    by_record = await client.get(
        "/ansatt/logg", params={"type": "interest", "id": str(w["record"])}, cookies=cookies
    )
    assert "Berit Bergen" in by_record.text and "Olav Oslo" not in by_record.text
    by_action = await client.get("/ansatt/logg", params={"handling": "interest."}, cookies=cookies)
    assert "Berit Bergen" in by_action.text and "Olav Oslo" in by_action.text
    assert "Vera Vest" not in by_action.text
    by_user = await client.get("/ansatt/logg", params={"bruker": "olav"}, cookies=cookies)
    assert "Olav Oslo" in by_user.text and "Berit Bergen" not in by_user.text
    today = clock.now.date()
    later = await client.get(
        "/ansatt/logg", params={"fra": str(today + timedelta(days=1))}, cookies=cookies
    )
    assert "Berit Bergen" not in later.text
    same_day = await client.get(
        "/ansatt/logg", params={"fra": str(today), "til": str(today)}, cookies=cookies
    )
    assert "Berit Bergen" in same_day.text
    bad = await client.get("/ansatt/logg", params={"fra": "1.12.2026"}, cookies=cookies)
    assert bad.status_code == 400 and 'id="fra-error"' in bad.text
    csv = await client.get(
        "/ansatt/logg", params={"handling": "interest.", "format": "csv"}, cookies=cookies
    )
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.strip().splitlines()
    assert len(lines) == 3 and "interest.contact" in csv.text and "sign_in" not in csv.text

    actor = _actor("Many Views")
    for _ in range(60):
        await audit.record(session, actor, "interest.view", now=clock.now, record_kind="interest")
    first = await client.get("/ansatt/logg", params={"bruker": "many"}, cookies=cookies)
    assert first.text.count("Many Views") == 50 and "side=2" in first.text
    second = await client.get("/ansatt/logg", params={"bruker": "many", "side": 2}, cookies=cookies)
    assert second.text.count("Many Views") == 10 and "side=3" not in second.text


async def test_sign_in_events_reach_the_coordinators_trail(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",), name="LINK Bergen events")
    staff = await make_staff_user(session, "staff", organisation_id=org.id, name="Siri Signin")
    cookie = await signed_in_cookie(session, staff)
    konto = await client.get("/ansatt/konto", cookies=cookie)
    token = konto.text.split('name="_csrf_token" value="')[1].split('"')[0]
    await client.post("/ansatt/logg-ut", data={"_csrf_token": token}, cookies=cookie)
    client.cookies.clear()
    west = await make_staff_user(session, "coordinator", region_slug="vestland")
    page = await client.get(
        "/ansatt/logg", params={"bruker": "siri"}, cookies=await signed_in_cookie(session, west)
    )
    assert "sign_out" in page.text and "LINK Bergen events" in page.text


async def test_the_retention_job_deletes_rows_older_than_two_years(
    session: AsyncSession, services: Services, clock: FakeClock
) -> None:
    actor = _actor("Old Timer")
    await audit.record(session, actor, "interest.view", now=clock.now - RETENTION - timedelta(1))
    await audit.record(session, actor, "interest.view", now=clock.now - RETENTION + timedelta(1))
    user = await make_staff_user(session, "administrator")
    await sessions.open_session(
        session, user, method="email", now=clock.now - timedelta(days=3), config=services.staff
    )
    kept = await sessions.open_session(
        session, user, method="email", now=clock.now, config=services.staff
    )
    await session.execute(
        staff_sign_in.insert().values(
            token_hash=b"x" * 32, user_id=user, purpose="sign_in",
            created_at=clock.now - timedelta(days=3), expires_at=clock.now - timedelta(days=2),
        )
    )  # fmt: skip
    await session.commit()
    [job] = [j for j in jobs.scheduled_jobs(services) if j.id == "audit_retention"]
    result = await job.run()
    assert result == {"audit_rows": 1, "sign_in_links": 1, "sessions": 1}
    left = await session.scalar(
        select(func.count()).select_from(staff_audit).where(staff_audit.c.user_name == "Old Timer")
    )
    assert left == 1
    assert (
        await session.scalar(
            select(func.count())
            .select_from(staff_session)
            .where(staff_session.c.id_hash == sessions.digest(kept.cookie_value))
        )
        == 1
    )
