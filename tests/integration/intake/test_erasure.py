"""Withdrawal erases the person (issue 8): afterwards no table holds anything that links back
to them, the receipt code is unknown, and only anonymous tallies remain."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from helpers import interest_body, make_key, make_org
from intake.receipt import code_hash
from intake.tables import interest, interest_tally, metadata, referral


async def person_traces(session: AsyncSession, needles: dict[str, str]) -> dict[str, list[str]]:
    """Every table (information_schema) whose rows, as text, contain one of ``needles``
    (values already in the form PostgreSQL prints them: uuid text, ``\\x`` hex for bytea)."""
    tables = (
        await session.execute(
            text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        )
    ).scalars()
    found: dict[str, list[str]] = {}
    for table in tables:
        for what, needle in needles.items():
            hits = await session.scalar(
                text(f'SELECT count(*) FROM "{table}" t WHERE t::text ILIKE :n'),
                {"n": f"%{needle}%"},
            )
            if hits:
                found.setdefault(what, []).append(table)
    return found


async def needles_of(session: AsyncSession, interest_id: uuid.UUID) -> dict[str, str]:
    row = (
        await session.execute(
            select(interest.c.receipt_hash, interest.c.contact_encrypted).where(
                interest.c.id == interest_id
            )
        )
    ).one()
    assert row.contact_encrypted is not None
    return {
        "interest id": str(interest_id),
        "interest id (hex)": interest_id.hex,
        "receipt hash": row.receipt_hash.hex(),
        "contact ciphertext": row.contact_encrypted.hex(),
    }


async def tallies(
    session: AsyncSession, organisation_id: uuid.UUID
) -> dict[tuple[str, str, str], int]:
    """The organisation's cells (tests that commit, like the browser tests, leave others)."""
    rows = await session.execute(
        select(
            interest_tally.c.dimension,
            interest_tally.c.value,
            interest_tally.c.outcome,
            interest_tally.c.count,
        ).where(interest_tally.c.organisation_id == organisation_id)
    )
    return {(r.dimension, r.value, r.outcome): r.count for r in rows}


async def _id(session: AsyncSession, code: str) -> uuid.UUID:
    found = await session.scalar(
        select(interest.c.id).where(interest.c.receipt_hash == code_hash(code))
    )
    assert found is not None
    return found


async def test_withdrawal_over_the_api_erases_everything_and_leaves_tallies(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    org = await make_org(session, ("4601",))
    stays = await client.post("/api/v1/interests", json=interest_body(themes=["angst"]))
    assert stays.status_code == 201
    resp = await client.post(
        "/api/v1/interests",
        json=interest_body(
            themes=["sorg", "angst"],
            cross_problem_welcome=True,
            languages=["no", "en"],
            contact={"email": "slett.meg@example.no"},
        ),
    )
    assert resp.status_code == 201, resp.text
    code = resp.json()["receipt_code"]
    iid = await _id(session, code)
    needles = await needles_of(session, iid)
    assert (await person_traces(session, needles)).get("interest id") == ["interest"]

    assert (await client.delete(f"/api/v1/interests/{code}")).status_code == 204

    assert await person_traces(session, needles) == {}
    left = (
        (
            await session.execute(
                select(interest.c.themes).where(interest.c.organisation_id == org.id)
            )
        )
        .scalars()
        .all()
    )
    assert left == [["angst"]]  # only the other person
    # The code now answers exactly like one never issued, for reading and withdrawing.
    gone = await client.get(f"/api/v1/interests/{code}")
    never = await client.get("/api/v1/interests/ABCDE-FGHJK")
    assert gone.status_code == never.status_code == 404
    assert gone.json()["detail"] == never.json()["detail"]
    assert (await client.delete(f"/api/v1/interests/{code}")).status_code == 404

    counts = await tallies(session, org.id)
    assert counts == {
        ("all", "all", "withdrawn"): 1,
        ("theme", "sorg", "withdrawn"): 1,
        ("theme", "angst", "withdrawn"): 1,
        ("theme", "pa-tvers", "withdrawn"): 1,
        ("language", "no", "withdrawn"): 1,
        ("language", "en", "withdrawn"): 1,
        ("slot", "tue-evening", "withdrawn"): 1,
        ("slot", "thu-evening", "withdrawn"): 1,
        ("age_band", "33-37", "withdrawn"): 1,
        ("gender", "female", "withdrawn"): 1,
        ("source", "self", "withdrawn"): 1,
    }
    keys = (
        await session.execute(
            select(
                interest_tally.c.month,
                interest_tally.c.municipality_number,
                interest_tally.c.organisation_id,
            )
            .where(interest_tally.c.organisation_id == org.id)
            .distinct()
        )
    ).all()
    assert len(keys) == 1 and keys[0][1:] == ("4601", org.id)
    assert keys[0][0].day == 1


async def test_tallies_add_up_in_one_statement_per_batch(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Two withdrawals land in the same cells (upsert), and a referral keeps its outcome."""
    lms = await make_org(session, (), kind="learning_mastery_service")
    org = await make_org(session, ("4601",))
    headers = await make_key(session, lms, "referrer")
    link = (
        await client.post(
            "/api/v1/referral-links",
            json={"course_kind": "KID", "ends_on": "2026-12-10"},
            headers=headers,
        )
    ).json()
    codes = []
    for _ in range(2):
        reg = await client.post(
            "/api/v1/interests", json=interest_body(referral_code=link["code"], gender=None)
        )
        codes.append(reg.json()["receipt_code"])
    for code in codes:
        assert (await client.delete(f"/api/v1/interests/{code}")).status_code == 204
    counts = await tallies(session, org.id)
    assert counts[("all", "all", "withdrawn")] == 2
    assert counts[("source", "referral:KID", "withdrawn")] == 2
    assert counts[("gender", "unspecified", "withdrawn")] == 2
    assert not await session.scalar(
        select(func.count()).select_from(interest).where(interest.c.organisation_id == org.id)
    )
    outcome = (await client.get(f"/api/v1/referrals/{link['id']}", headers=headers)).json()
    # Two people: hidden (issue 11); the erased withdrawals still count, as the counter shows.
    assert outcome["total"] is None and outcome["withdrawn"] is None and outcome["waiting"] == 0
    erased = (
        await session.execute(
            select(referral.c.erased_withdrawn).where(referral.c.id == link["id"])
        )
    ).scalar_one()
    assert erased == 2


async def test_withdrawal_on_the_status_page_erases_everything(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    org = await make_org(session, ("4601",))
    page = await client.get("/meld-interesse")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    body: dict[str, Any] = {
        "_csrf_token": token,
        "municipality": "4601",
        "themes": ["sorg"],
        "age_band": "33-37",
        "languages": ["no"],
        "availability": ["tue-evening"],
        "consent": "yes",
        "consent_version": "2026-11-v1",
        "phone": "912 34 567",
    }
    r = await client.post("/meld-interesse", data=body)
    code = re.search(r'id="receipt-code"[^>]*>([^<]+)<', r.text).group(1)  # type: ignore[union-attr]
    needles = await needles_of(session, await _id(session, code))
    r = await client.post(
        "/status/trekk", data={"_csrf_token": token, "code": code, "confirm": "yes"}
    )
    assert r.status_code == 200
    assert await person_traces(session, needles) == {}
    assert (await tallies(session, org.id))[("all", "all", "withdrawn")] == 1
    # The status page now treats the code like any unknown one.
    r = await client.post("/status", data={"_csrf_token": token, "code": code})
    unknown = await client.post("/status", data={"_csrf_token": token, "code": "22222-22222"})
    assert r.status_code == unknown.status_code == 404
    again = await client.post(
        "/status/trekk", data={"_csrf_token": token, "code": code, "confirm": "yes"}
    )
    assert again.status_code == 404


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        d
        for d in compare_metadata(context, metadata)
        if any(
            name in repr(d)
            for name in (
                "interest_tally",
                "erased_withdrawn",
                "erased_placed",
                "erased_lapsed",
                "alive_at",
                "lapse_",
                "ix_interest_alive",
            )
        )
    ]


async def test_migration_matches_tables(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
