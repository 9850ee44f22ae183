"""Registering a person after a phone call: the sign-up's rules, source = staff, the viewer's
own organisation only, the consent read out, the receipt code shown once (and sent on request)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock, make_org
from intake.consent import CURRENT_VERSION, TEXTS
from intake.receipt import code_hash
from intake.tables import interest
from integration.staff.person_support import audit_rows, csrf, post_form, sign_in
from notify.tables import outbox

NEW = "/ansatt/venteliste/ny"


def answers(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "municipality": "4601",
        "themes": ["sorg"],
        "age_band": "43-47",
        "languages": ["no"],
        "availability": ["tue-evening"],
        "email": "ringte@example.no",
        "consent": "yes",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def code_in(html: str) -> str:
    m = re.search(r'id="receipt-code">([A-Z0-9-]+)<', html)
    assert m, html[:2000]
    return m.group(1)


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(interest)) or 0)


async def test_register_by_phone_stores_source_staff_and_the_organisation(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    user = await sign_in(client, session, clock.now, organisation_id=org.id)
    form = await client.get(NEW + "?lang=en")
    assert form.status_code == 200
    assert TEXTS[CURRENT_VERSION]["en"] in form.text
    assert "I read the consent text to the person and they agreed" in form.text
    assert 'value="4601"' in form.text and 'value="4602"' not in form.text

    done = await client.post(NEW, data={"_csrf_token": csrf(form.text), **answers()})
    assert done.status_code == 200, done.text[:1000]
    code = code_in(done.text)
    row = (
        (await session.execute(select(interest).where(interest.c.receipt_hash == code_hash(code))))
        .mappings()
        .one()
    )
    assert row["source"] == "staff"
    assert row["organisation_id"] == org.id
    assert row["consent_version"] == CURRENT_VERSION
    assert row["contact_masked"] == "r***@e***.no"
    assert await audit_rows(session, row["id"]) == [("interest.register", user)]

    # Offer to send the code: the code must match the stored hash.
    wrong = await client.post(
        NEW + "/send",
        data={"_csrf_token": csrf(done.text), "interest": str(row["id"]), "code": "ABCDE-FGHJK"},
    )
    assert wrong.status_code == 404
    sent = await client.post(
        NEW + "/send",
        data={"_csrf_token": csrf(done.text), "interest": str(row["id"]), "code": code},
    )
    assert sent.status_code == 303
    queued = await session.scalar(
        select(func.count())
        .select_from(outbox)
        .where(
            outbox.c.template == "receipt_code", outbox.c.recipient_ref == f"interest:{row['id']}"
        )
    )
    assert queued == 1


async def test_errors_sit_next_to_the_fields_and_nothing_is_lost(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    await sign_in(client, session, clock.now, organisation_id=org.id)
    before = await count(session)
    r = await post_form(
        client, NEW, NEW, answers(consent=None, availability=None, email="not-an-address")
    )
    assert r.status_code == 400
    for name in ("consent", "availability", "email"):
        assert f'id="{name}-error"' in r.text, name
    assert 'aria-describedby="consent-text consent-error" aria-invalid="true"' in r.text
    assert 'value="not-an-address"' in r.text
    assert 'value="sorg" id="theme-sorg" checked' in r.text
    assert await count(session) == before


async def test_staff_may_not_register_in_another_organisations_municipality(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    await make_org(session, ("4602",))
    await sign_in(client, session, clock.now, organisation_id=org.id)
    before = await count(session)
    for muni in ("4602", "4647"):  # another organisation's; nobody's (unmet demand)
        r = await post_form(client, NEW, NEW, answers(municipality=muni))
        assert r.status_code == 400
        assert 'id="municipality-error"' in r.text
    assert await count(session) == before


async def test_a_coordinator_registers_unmet_demand_in_their_region_only(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    await sign_in(client, session, clock.now, "coordinator", region_slug="vestland")
    done = await post_form(client, NEW, NEW, answers(municipality="4647", email=None))
    assert done.status_code == 200, done.text[:1000]
    row = (
        await session.execute(
            select(interest.c.organisation_id, interest.c.region_slug, interest.c.source).where(
                interest.c.receipt_hash == code_hash(code_in(done.text))
            )
        )
    ).one()
    assert tuple(row) == (None, "vestland", "staff")
    assert "Send the code" not in done.text  # no contact given: nothing to send to
    elsewhere = await post_form(client, NEW, NEW, answers(municipality="0301"))  # Oslo
    assert elsewhere.status_code == 400
    assert 'id="municipality-error"' in elsewhere.text
