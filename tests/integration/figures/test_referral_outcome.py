"""The referrer's aggregate outcome follows the statistics' rule: 1–4 people are never shown,
and one more figure is hidden with a lone small one, so the total cannot give it away."""

from __future__ import annotations

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import interest_body, make_key, make_org
from intake.tables import interest


async def test_a_small_count_takes_a_second_figure_with_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    lms = await make_org(session, (), kind="learning_mastery_service")
    await make_org(session, ("4601",))
    headers = await make_key(session, lms, "referrer")
    batch = {
        "course_kind": "KID",
        "ends_on": "2026-12-01",
        "participants": [interest_body() for _ in range(12)],
    }
    created = await client.post("/api/v1/referrals", json=batch, headers=headers)
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    url = f"/api/v1/referrals/{rid}"
    outcome = (await client.get(url, headers=headers)).json()
    assert outcome["total"] == 12 and outcome["waiting"] == 12 and outcome["suppressed"] == []

    # 3 placed, 9 waiting: the 3 is hidden, and so is the 9 (12 − 3 would give it away).
    placed = (
        await session.execute(
            update(interest)
            .where(interest.c.referral_id == rid)
            .values(status="placed")
            .returning(interest.c.id)
        )
    ).all()
    await session.execute(
        update(interest)
        .where(interest.c.id.in_([p.id for p in placed[3:]]))
        .values(status="waiting")
    )
    outcome = (await client.get(url, headers=headers)).json()
    assert outcome["placed"] is None and outcome["waiting"] is None
    assert outcome["total"] == 12 and outcome["in_progress"] == 0 and outcome["withdrawn"] == 0
    assert sorted(outcome["suppressed"]) == ["placed", "waiting"]

    # 6 placed, 6 waiting: nothing small, everything shown.
    await session.execute(
        update(interest)
        .where(interest.c.id.in_([p.id for p in placed[3:6]]))
        .values(status="placed")
    )
    outcome = (await client.get(url, headers=headers)).json()
    assert (outcome["placed"], outcome["waiting"], outcome["suppressed"]) == (6, 6, [])
