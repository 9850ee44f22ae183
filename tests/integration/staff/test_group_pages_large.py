"""The groups and facilitator pages with 20,000 waiting people and 400 groups in one
organisation show the right groups, counts and pages. How fast they answer is measured by
``bench/staff_pages.py`` (a benchmark, not a test)."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock, make_org_with_facilitator
from intake.crypto import ContactCipher
from integration.staff.person_support import person, sign_in
from matching.tables import start_group

pytestmark = pytest.mark.slow
PEOPLE = 20_000
GROUPS = 400


async def test_group_and_facilitator_pages_with_20000_waiting(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    org, fid = await make_org_with_facilitator(session, ("4601",), max_concurrent_starts=500)
    model = await person(session, cipher, clock.now, contact={"email": "a@example.no"})
    await session.execute(
        text(
            """
            INSERT INTO interest (id, receipt_hash, municipality_number, organisation_id,
              region_slug, themes, cross_problem_welcome, age_band, gender, same_gender,
              languages, slots, digital_welcome, contact_kind, contact_encrypted,
              contact_masked, consent_version, consented_at, source, status, waiting_since,
              created_at, updated_at)
            SELECT gen_random_uuid(), sha256(('g' || g)::bytea), municipality_number,
              organisation_id, region_slug,
              CASE WHEN g % 3 = 0 THEN ARRAY['angst'] ELSE themes END,
              cross_problem_welcome, age_band, gender, same_gender, languages, slots,
              digital_welcome, contact_kind, contact_encrypted, contact_masked,
              consent_version, consented_at, source, 'waiting',
              waiting_since - make_interval(mins => g), created_at, updated_at
            FROM interest, generate_series(1, :n) AS g WHERE id = :model
            """
        ),
        {"n": PEOPLE - 1, "model": model},
    )
    # 400 proposed groups of five, made of the longest-waiting people.
    await session.execute(
        text(
            """
            WITH g AS (
              INSERT INTO start_group (id, organisation_id, theme, language, slot, digital,
                facilitator_id, status, rules, places, created_at, updated_at)
              SELECT gen_random_uuid(), :org, 'sorg', 'no', 'tue-evening', false, :fid,
                'proposed', '{}'::jsonb, 5, now() - make_interval(mins => k), now()
              FROM generate_series(1, :groups) AS k
              RETURNING id),
            numbered AS (SELECT id, row_number() OVER (ORDER BY id) AS n FROM g),
            people AS (
              SELECT id, row_number() OVER (ORDER BY waiting_since, id) AS n FROM interest
              WHERE organisation_id = :org AND 'sorg' = ANY(themes)
              ORDER BY waiting_since, id LIMIT :groups * 5)
            INSERT INTO group_member (group_id, interest_id, state, joined_at)
            SELECT numbered.id, people.id, 'proposed', now()
            FROM people JOIN numbered ON numbered.n = (people.n - 1) / 5 + 1
            """
        ),
        {"org": org.id, "fid": fid, "groups": GROUPS},
    )
    await session.execute(text("ANALYZE interest"))
    await session.execute(text("ANALYZE start_group"))
    await session.execute(text("ANALYZE group_member"))
    gid = await session.scalar(select(start_group.c.id).limit(1))
    await sign_in(client, session, clock.now, organisation_id=org.id)
    newest_first = (
        await session.scalars(
            select(start_group.c.id).order_by(
                start_group.c.created_at.desc(), start_group.c.id.desc()
            )
        )
    ).all()

    def shown(html: str) -> list[str]:
        return re.findall(r'href="/ansatt/grupper/([0-9a-f-]{36})"', html)

    def heading(html: str) -> str:
        found = re.search(r'id="list-heading">([^<]*)<', html)
        assert found is not None
        return found.group(1)

    whole = await client.get("/ansatt/grupper")
    assert whole.status_code == 200
    assert "400" in heading(whole.text) and "(400)" in whole.text  # total and count per state
    assert shown(whole.text) == [str(g) for g in newest_first[:50]]
    fifth = await client.get("/ansatt/grupper?state=proposed&page=5")
    assert fifth.status_code == 200 and "400" in heading(fifth.text)
    assert shown(fifth.text) == [str(g) for g in newest_first[200:250]]
    beyond = await client.get("/ansatt/grupper?state=proposed&page=9")
    assert beyond.status_code == 200 and shown(beyond.text) == []
    running = await client.get("/ansatt/grupper?state=running")
    assert running.status_code == 200 and shown(running.text) == []
    assert "0" in heading(running.text)
    near = await client.get("/ansatt/grupper?theme=sorg&municipality=4601")
    assert near.status_code == 200 and "400" in heading(near.text)
    assert len(shown(near.text)) == 50
    elsewhere = await client.get("/ansatt/grupper?theme=sorg&municipality=4602")
    assert elsewhere.status_code == 200 and shown(elsewhere.text) == []

    facilitators = await client.get("/ansatt/igangsettere")
    assert facilitators.status_code == 200 and "400 / 500" in facilitators.text
    for path in (
        f"/ansatt/grupper/{gid}",
        "/ansatt/grupper/ny?theme=sorg&language=no&slot=tue-evening",
        f"/ansatt/igangsettere/{fid}",
    ):
        assert (await client.get(path)).status_code == 200, path
