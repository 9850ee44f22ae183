"""Anonymous interest through the HTTP API, against PostgreSQL."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import interest_body, make_org
from intake.tables import interest


async def count_interests(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(interest))).scalar_one())


async def test_reference_endpoints(client: Any, session: AsyncSession) -> None:
    org = await make_org(session, ("4601", "4627"), name="LINK Testbyen")
    themes = (await client.get("/api/v1/themes")).json()
    slugs = [t["slug"] for t in themes["themes"]]
    assert "sorg" in slugs and "angst" in slugs and len(slugs) >= 18
    assert themes["cross_problem"]["field"] == "cross_problem_welcome"
    assert themes["themes"][0]["names"]["en"]

    everything = (await client.get("/api/v1/municipalities")).json()
    assert len(everything) == 357
    tromso = (await client.get("/api/v1/municipalities", params={"q": "tromso"})).json()
    assert [m["name"] for m in tromso] == ["Tromsø"]
    kauto = (await client.get("/api/v1/municipalities", params={"q": "Kautok"})).json()
    assert kauto[0]["number"] == "5605" or "Kautokeino" in kauto[0]["name"]
    alesund = (await client.get("/api/v1/municipalities", params={"q": "ales"})).json()
    assert "Ålesund" in [m["name"] for m in alesund]

    orgs = (await client.get("/api/v1/organisations", params={"municipality": "4627"})).json()
    assert [o["slug"] for o in orgs] == [org.slug]
    assert (await client.get("/api/v1/organisations", params={"municipality": "0301"})).json() == []
    bad = await client.get("/api/v1/organisations", params={"municipality": "oslo"})
    assert bad.status_code == 422


async def test_register_status_withdraw(client: Any, session: AsyncSession) -> None:
    org = await make_org(session, ("4601",), name="LINK Bergen test")
    others = [interest_body(themes=["sorg", "angst"]) for _ in range(3)]
    for body in others:
        assert (await client.post("/api/v1/interests", json=body)).status_code == 201
    # One waiting for another theme does not count.
    await client.post("/api/v1/interests", json=interest_body(themes=["angst"]))

    resp = await client.post(
        "/api/v1/interests",
        json=interest_body(contact={"email": "kari.nordmann@example.no"}),
    )
    assert resp.status_code == 201, resp.text
    got = resp.json()
    code = got["receipt_code"]
    assert got["status"] == "waiting" and got["served"] is True
    assert got["organisation"] == org.name

    status = (await client.get(f"/api/v1/interests/{code.lower()}")).json()
    assert status["status"] == "waiting"
    assert status["others_waiting_same_theme"] == 3
    assert status["contact"] == "k***@e***.no"
    assert "kari" not in str(status)

    assert (await client.delete(f"/api/v1/interests/{code}")).status_code == 204
    # Withdrawal erases the registration (issue 8): the code is now unknown, like any other,
    # and withdrawing again finds nothing.
    assert (await client.get(f"/api/v1/interests/{code}")).status_code == 404
    assert await session.scalar(select(func.count()).select_from(interest)) == 4
    assert (await client.delete(f"/api/v1/interests/{code}")).status_code == 404
    assert (await client.get("/api/v1/interests/ABCDE-FGHJK")).status_code == 404
    assert (await client.delete("/api/v1/interests/not-a-code")).status_code == 404


async def test_unserved_municipality_is_recorded_as_regional_demand(
    client: Any, session: AsyncSession
) -> None:
    resp = await client.post("/api/v1/interests", json=interest_body(municipality="5605"))
    assert resp.status_code == 201
    got = resp.json()
    assert got["served"] is False and got["organisation"] is None
    assert got["region"] == "nord"
    assert "No organisation serves" in got["message"]
    row = (await session.execute(select(interest.c.organisation_id, interest.c.region_slug))).one()
    assert row.organisation_id is None and row.region_slug == "nord"


async def test_several_organisations_means_choosing(client: Any, session: AsyncSession) -> None:
    first = await make_org(session, ("0301",))
    await make_org(session, ("0301",), kind="contact_point")
    resp = await client.post("/api/v1/interests", json=interest_body(municipality="0301"))
    assert resp.status_code == 422
    problem = resp.json()
    assert problem["errors"][0]["field"] == "organisation"
    assert first.slug in problem["errors"][0]["message"]
    ok = await client.post(
        "/api/v1/interests", json=interest_body(municipality="0301", organisation=first.slug)
    )
    assert ok.status_code == 201 and ok.json()["organisation"] == first.name
    elsewhere = await make_org(session, ("5001",))
    wrong = await client.post(
        "/api/v1/interests", json=interest_body(municipality="0301", organisation=elsewhere.slug)
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["code"] == "not_serving"


async def test_idempotency_key_replays_and_stores_once(client: Any, session: AsyncSession) -> None:
    await make_org(session)
    headers = {"Idempotency-Key": "4c1b7c2e-2f0d-4a4e-9a53-0d7a4b8f21c6"}
    body = interest_body(contact={"phone": "41234567"})
    first = await client.post("/api/v1/interests", json=body, headers=headers)
    second = await client.post("/api/v1/interests", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert await count_interests(session) == 1
    other = await client.post(
        "/api/v1/interests", json=interest_body(age_band="18-22"), headers=headers
    )
    assert other.status_code == 409
    assert other.headers["content-type"].startswith("application/problem+json")
    assert await count_interests(session) == 1
    fresh = await client.post(
        "/api/v1/interests", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
    )
    assert fresh.json()["receipt_code"] != first.json()["receipt_code"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"themes": ["ukjent-tema"]}, "themes[0]"),
        ({"age_band": "10-14"}, "age_band"),
        ({"municipality": "9999"}, "municipality"),
        ({"municipality": "12"}, "municipality"),
        ({"consent": {"given": False, "text_version": "2026-11-v1"}}, "consent.given"),
        ({"consent": {"given": True, "text_version": "1999"}}, "consent.text_version"),
        ({"contact": {"phone": "123"}}, "contact.phone"),
        ({"contact": {"email": "kari@"}}, "contact.email"),
        ({"languages": ["xx"]}, "languages[0]"),
        ({"availability": ["someday"]}, "availability"),
        ({"name": "Kari"}, "name"),
    ],
)
async def test_bad_fields_get_422_naming_the_field(
    client: Any, session: AsyncSession, change: dict[str, Any], field: str
) -> None:
    await make_org(session)
    body = interest_body()
    if "consent" in change and not change["consent"].get("given", True):
        body.pop("consent")
        body["consent"] = change["consent"]
    else:
        body.update(change)
    resp = await client.post("/api/v1/interests", json=body)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    problem = resp.json()
    assert problem["status"] == 422 and problem["title"]
    assert field in [e["field"] for e in problem["errors"]], problem
    assert await count_interests(session) == 0


async def test_missing_consent_is_named(client: Any, session: AsyncSession) -> None:
    body = interest_body()
    del body["consent"]
    resp = await client.post("/api/v1/interests", json=body)
    assert resp.status_code == 422
    assert "consent" in [e["field"] for e in resp.json()["errors"]]


async def test_every_bad_field_is_reported_at_once(client: Any, session: AsyncSession) -> None:
    resp = await client.post(
        "/api/v1/interests",
        json=interest_body(themes=["nope"], municipality="9999", languages=["zz"]),
    )
    fields = {e["field"] for e in resp.json()["errors"]}
    assert {"themes[0]", "municipality", "languages[0]"} <= fields


async def test_body_over_64_kib_is_413(client: Any, session: AsyncSession) -> None:
    body = interest_body(padding="x" * 70_000)
    resp = await client.post("/api/v1/interests", json=body)
    assert resp.status_code == 413
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert await count_interests(session) == 0


async def test_no_plaintext_contact_anywhere_in_the_database(
    client: Any, session: AsyncSession
) -> None:
    await make_org(session)
    email, phone = "hemmelig.adresse@example.no", "98765432"
    for contact in ({"email": email}, {"phone": phone}):
        resp = await client.post(
            "/api/v1/interests",
            json=interest_body(contact=contact),
            headers={"Idempotency-Key": str(uuid.uuid4())},
        )
        assert resp.status_code == 201
    tables = (
        (await session.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")))
        .scalars()
        .all()
    )
    assert "interest" in tables
    for needle in ("hemmelig", "98765432", "8765432"):
        hexed = needle.encode().hex()
        for table in tables:
            hits = (
                await session.execute(
                    text(
                        f'SELECT count(*) FROM "{table}" t '
                        "WHERE t::text ILIKE :plain OR t::text ILIKE :hexed"
                    ),
                    {"plain": f"%{needle}%", "hexed": f"%{hexed}%"},
                )
            ).scalar_one()
            assert hits == 0, f"{needle!r} found in {table}"
    stored = (await session.execute(select(interest.c.contact_encrypted))).scalars().all()
    assert len(stored) == 2 and all(stored)


async def test_contact_data_never_logged(
    client: Any, session: AsyncSession, caplog: pytest.LogCaptureFixture
) -> None:
    await make_org(session)
    caplog.set_level(logging.DEBUG)
    await client.post(
        "/api/v1/interests", json=interest_body(contact={"email": "logg.sjekk@example.no"})
    )
    await client.post("/api/v1/interests", json=interest_body(contact={"phone": "4712345678"}))
    assert caplog.records, "expected some log output to inspect"
    assert "logg.sjekk" not in caplog.text and "12345678" not in caplog.text
