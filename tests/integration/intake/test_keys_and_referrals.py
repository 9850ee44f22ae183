"""API keys, staff scoping and after-course referrals."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import interest_body, make_key, make_org
from intake.tables import interest
from samhjelp.app import Services, create_app


async def test_keys_are_required_valid_and_of_the_right_role(
    client: Any, session: AsyncSession
) -> None:
    org = await make_org(session)
    staff = await make_key(session, org, "staff")
    referrer = await make_key(session, org, "referrer")

    none = await client.get("/api/v1/staff/interests")
    assert none.status_code == 401
    assert none.headers["content-type"].startswith("application/problem+json")
    assert none.headers["www-authenticate"] == "Bearer"
    forged = await client.get(
        "/api/v1/staff/interests", headers={"Authorization": "Bearer shk_abc_def"}
    )
    assert forged.status_code == 401
    tampered = {"Authorization": staff["Authorization"][:-2] + "xx"}
    assert (await client.get("/api/v1/staff/interests", headers=tampered)).status_code == 401
    assert (await client.get("/api/v1/staff/interests", headers=referrer)).status_code == 403
    link = {"course_kind": "KID", "ends_on": "2026-12-01"}
    assert (
        await client.post("/api/v1/referral-links", json=link, headers=staff)
    ).status_code == 403
    x_api_key = {"X-API-Key": staff["Authorization"].split()[1]}
    assert (await client.get("/api/v1/staff/interests", headers=x_api_key)).status_code == 200


async def test_staff_register_on_behalf_and_see_only_their_own(
    client: Any, session: AsyncSession
) -> None:
    bergen = await make_org(session, ("4601",))
    oslo = await make_org(session, ("0301",))
    bergen_staff = await make_key(session, bergen, "staff")
    oslo_staff = await make_key(session, oslo, "staff")

    resp = await client.post(
        "/api/v1/staff/interests",
        json=interest_body(contact={"phone": "91234567"}),
        headers=bergen_staff,
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["organisation"] == bergen.name
    await client.post("/api/v1/interests", json=interest_body(municipality="0301"))

    mine = (await client.get("/api/v1/staff/interests", headers=bergen_staff)).json()
    assert len(mine) == 1
    assert mine[0]["source"] == "staff" and mine[0]["contact"] == "+47 *** ** 567"
    assert mine[0]["age_band"] == "33-37"
    theirs = (await client.get("/api/v1/staff/interests", headers=oslo_staff)).json()
    assert len(theirs) == 1 and theirs[0]["id"] != mine[0]["id"]

    own = await client.get(f"/api/v1/staff/interests/{mine[0]['id']}", headers=bergen_staff)
    assert own.status_code == 200
    other = await client.get(f"/api/v1/staff/interests/{mine[0]['id']}", headers=oslo_staff)
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("application/problem+json")


async def test_referral_link_attributes_self_registrations(
    client: Any, session: AsyncSession, clock: Any
) -> None:
    lms = await make_org(session, (), kind="learning_mastery_service")
    link_target = await make_org(session, ("4601",))
    other_lms = await make_org(session, (), kind="learning_mastery_service")
    headers = await make_key(session, lms, "referrer")

    created = await client.post(
        "/api/v1/referral-links",
        json={
            "course_kind": "KIB",
            "course_name": "KIB høst",
            "ends_on": "2026-12-10",
            "target_organisation": link_target.slug,
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    link = created.json()
    assert link["url"] == f"http://testserver/meld-interesse?ref={link['code']}"

    for _ in range(3):
        reg = await client.post(
            "/api/v1/interests", json=interest_body(referral_code=link["code"].lower())
        )
        assert reg.status_code == 201
        assert reg.json()["organisation"] == link_target.name
    codes = [reg.json()["receipt_code"]]
    await client.delete(f"/api/v1/interests/{codes[0]}")
    sources = (await session.execute(select(interest.c.source))).scalars().all()
    # The withdrawn registration is erased (issue 8); the referral still counts it below.
    assert sources == ["referral"] * 2

    outcome = (await client.get(f"/api/v1/referrals/{link['id']}", headers=headers)).json()
    # 3 people, 2 waiting, 1 withdrawn: all below five, so hidden (issue 11); zeros are shown.
    assert outcome == {
        "id": link["id"],
        "course_kind": "KIB",
        "total": None,
        "waiting": None,
        "in_progress": 0,
        "placed": 0,
        "withdrawn": None,
        "lapsed": 0,
        "suppressed": ["total", "waiting", "withdrawn"],
    }
    assert "receipt" not in str(outcome)
    foreign = await make_key(session, other_lms, "referrer")
    assert (await client.get(f"/api/v1/referrals/{link['id']}", headers=foreign)).status_code == 404

    # A participant living outside the link organisation's catchment is placed where they live,
    # and still counts for the referral.
    tromso = await make_org(session, ("5501",))
    moved = await client.post(
        "/api/v1/interests", json=interest_body(municipality="5501", referral_code=link["code"])
    )
    assert moved.json()["organisation"] == tromso.name
    outcome = (await client.get(f"/api/v1/referrals/{link['id']}", headers=headers)).json()
    assert outcome["total"] is None and "total" in outcome["suppressed"]  # 4: still below five

    unknown = await client.post("/api/v1/interests", json=interest_body(referral_code="NOPE2345"))
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "referral_code"
    clock.now = clock.now.replace(year=2027, month=7)  # more than 180 days after the course
    expired = await client.post("/api/v1/interests", json=interest_body(referral_code=link["code"]))
    assert expired.status_code == 422


async def test_referral_batch_is_all_or_nothing(client: Any, session: AsyncSession) -> None:
    lms = await make_org(session, (), kind="learning_mastery_service")
    await make_org(session, ("4601",))
    headers = await make_key(session, lms, "referrer")
    bad = {
        "course_kind": "KID",
        "participants": [
            interest_body(contact={"email": "en@example.no"}),
            interest_body(themes=["finnes-ikke"]),
        ],
    }
    resp = await client.post("/api/v1/referrals", json=bad, headers=headers)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "participants[1].themes[0]"
    assert (await session.execute(select(interest.c.id))).first() is None

    good = {
        "course_kind": "KID",
        "ends_on": str(date(2026, 12, 1)),
        "participants": [interest_body(), interest_body(age_band="48-52")],
    }
    resp = await client.post("/api/v1/referrals", json=good, headers=headers)
    assert resp.status_code == 201
    batch = resp.json()
    assert len(batch["receipt_codes"]) == 2 and len(set(batch["receipt_codes"])) == 2
    status = await client.get(f"/api/v1/interests/{batch['receipt_codes'][1]}")
    assert status.json()["status"] == "waiting"
    outcome = (await client.get(f"/api/v1/referrals/{batch['id']}", headers=headers)).json()
    assert outcome["total"] is None and outcome["waiting"] is None  # 2 people: hidden


async def test_too_many_posts_from_one_client_get_429_with_retry_after(
    services: Services, session: AsyncSession
) -> None:
    await make_org(session)
    services.settings = services.settings.model_copy(update={"post_rate_per_minute": 3})
    transport = httpx.ASGITransport(app=create_app(services))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        statuses = [
            (await c.post("/api/v1/interests", json=interest_body())).status_code for _ in range(5)
        ]
        assert statuses[:3] == [201, 201, 201]
        limited = await c.post("/api/v1/interests", json=interest_body())
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["content-type"].startswith("application/problem+json")
        # Reading one's status is never throttled.
        assert (await c.get("/api/v1/themes")).status_code == 200
    waiting = (await session.execute(select(interest.c.id))).all()
    assert len(waiting) == 3


async def test_health_metrics_and_openapi(client: Any, session: AsyncSession) -> None:
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    await make_org(session)
    await client.post("/api/v1/interests", json=interest_body())
    metrics = (await client.get("/metrics")).text
    assert 'samhjelp_interests{status="waiting"} 1.0' in metrics
    assert "samhjelp_requests_total" in metrics or "litestar_requests_total" in metrics
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/interests" in schema["paths"]
    assert "/api/v1/referral-links" in schema["paths"]
