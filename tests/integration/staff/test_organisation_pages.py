"""The organisation page: scoped to the viewer's organisations, validated next to the field,
audited; API keys made with an expiry, shown once, revoked."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock, make_org, register_people
from intake.crypto import ContactCipher
from intake.tables import api_key, catchment, interest, organisation
from staff.tables import staff_audit
from staff_support import make_staff_user, signed_in_cookie

CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def sign_in(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, role: str, **scope: Any
) -> uuid.UUID:
    user = await make_staff_user(session, role, **scope)
    client.cookies.update(await signed_in_cookie(session, user, now=clock.now))
    return user


async def post(client: httpx.AsyncClient, page: str, action: str, form: Any) -> httpx.Response:
    shown = await client.get(page)
    token = CSRF.search(shown.text)
    assert token, shown.status_code
    return await client.post(action, data={"_csrf_token": token.group(1), **form})


async def actions(session: AsyncSession, org_id: uuid.UUID) -> list[tuple[str, Any]]:
    rows = await session.execute(
        select(staff_audit.c.action, staff_audit.c.detail)
        .where(staff_audit.c.organisation_id == org_id)
        .order_by(staff_audit.c.id)
    )
    return [(r.action, r.detail) for r in rows]


async def test_staff_go_to_their_organisation_and_get_404_for_another(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    mine = await make_org(session, ("4601",), name="LINK Bergen test")
    other = await make_org(session, ("0301",), name="LINK Oslo test")
    await sign_in(client, session, clock, "staff", organisation_id=mine.id)
    landing = await client.get("/ansatt/organisasjon")
    assert landing.status_code == 303
    assert landing.headers["location"] == f"/ansatt/organisasjon/{mine.id}"
    page = await client.get(landing.headers["location"])
    assert page.status_code == 200
    assert "LINK Bergen test" in page.text
    foreign = await client.get(f"/ansatt/organisasjon/{other.id}")
    assert foreign.status_code == 404
    assert "LINK Oslo test" not in foreign.text
    refused = await post(
        client, f"/ansatt/organisasjon/{mine.id}", f"/ansatt/organisasjon/{other.id}/kontakt",
        {"contact_email": "hijack@example.no"},
    )  # fmt: skip
    assert refused.status_code == 404
    assert (
        await session.scalar(
            select(organisation.c.contact_email).where(organisation.c.id == other.id)
        )
        != "hijack@example.no"
    )


async def test_a_coordinator_chooses_among_the_region_only(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    a = await make_org(session, ("4601",), name="Vest A test")
    b = await make_org(session, ("4602",), name="Vest B test")
    c = await make_org(session, ("0301",), name="Oslo C test")
    await sign_in(client, session, clock, "coordinator", region_slug="vestland")
    chooser = await client.get("/ansatt/organisasjon")
    assert chooser.status_code == 200
    assert "Vest A test" in chooser.text and "Vest B test" in chooser.text
    assert "Oslo C test" not in chooser.text
    assert (await client.get(f"/ansatt/organisasjon/{b.id}")).status_code == 200
    assert (await client.get(f"/ansatt/organisasjon/{c.id}")).status_code == 404
    assert a.id != b.id


async def test_contact_is_validated_next_to_the_field_and_audited(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    await sign_in(client, session, clock, "staff", organisation_id=org.id)
    page = f"/ansatt/organisasjon/{org.id}"
    bad = await post(client, page, f"{page}/kontakt", {"contact_email": "not an address"})
    assert bad.status_code == 400
    assert 'id="contact_email-error"' in bad.text
    assert 'aria-describedby="contact_email-desc contact_email-error"' in bad.text
    assert 'value="not an address"' in bad.text  # nothing lost
    good = await post(
        client, page, f"{page}/kontakt",
        {"contact_email": "post@link.example.no", "controller_name": "Bergen kommune"},
    )  # fmt: skip
    assert good.status_code == 303
    row = (await session.execute(select(organisation).where(organisation.c.id == org.id))).one()
    assert (row.contact_email, row.controller_name) == ("post@link.example.no", "Bergen kommune")
    [(action, detail)] = await actions(session, org.id)
    assert action == "org.edit" and detail["section"] == "contact"
    assert "contact_email" in detail["fields"]
    assert "post@link" not in str(detail)  # field names, never values


async def test_group_rules_show_defaults_refuse_bad_values_and_store_overrides(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    await sign_in(client, session, clock, "staff", organisation_id=org.id)
    page = f"/ansatt/organisasjon/{org.id}"
    shown = await client.get(page)
    assert "Standard: 4." in shown.text and 'placeholder="8"' in shown.text
    too_big = await post(client, page, f"{page}/regler", {"min_size": "9", "max_size": "8"})
    assert too_big.status_code == 400
    assert 'id="min_size-error"' in too_big.text
    out_of_range = await post(client, page, f"{page}/regler", {"max_age_span": "99"})
    assert out_of_range.status_code == 400
    assert 'id="max_age_span-error"' in out_of_range.text
    ok = await post(
        client, page, f"{page}/regler",
        {"min_size": "5", "target_size": "6", "max_size": "", "facilitated_meetings": "2",
         "pool_digital_across_catchments": "no"},
    )  # fmt: skip
    assert ok.status_code == 303
    rules = await session.scalar(select(organisation.c.rules).where(organisation.c.id == org.id))
    # target_size 6 is the default: not stored, so a new default would reach this organisation.
    assert rules == {
        "min_size": 5,
        "facilitated_meetings": 2,
        "pool_digital_across_catchments": False,
    }
    assert [a for a, _ in await actions(session, org.id)] == ["org.edit"]


async def test_catchment_add_and_remove_within_the_region(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock, cipher: ContactCipher
) -> None:
    org = await make_org(session, ("4601",))
    # Two people wait in Bjørnafjorden, which nobody serves yet: the region's unmet demand.
    people = await register_people(session, cipher, clock.now, 2, municipality="4624")
    unmet = [i for i, _ in people]
    await sign_in(client, session, clock, "staff", organisation_id=org.id)
    page = f"/ansatt/organisasjon/{org.id}"
    outside = await post(client, page, f"{page}/kommuner", {"municipality": "0301"})
    assert outside.status_code == 400 and 'id="municipality-error"' in outside.text
    added = await post(client, page, f"{page}/kommuner", {"municipality": "4624"})
    assert added.status_code == 303
    assert "ok=adopted&n=2" in added.headers["location"]
    adopted = await session.scalars(
        select(interest.c.organisation_id).where(interest.c.id.in_(unmet))
    )
    assert set(adopted) == {org.id}  # they now wait with the organisation that serves them
    shown = await client.get(added.headers["location"])
    assert "2 personer som allerede venter der, venter nå hos dere" in shown.text
    removed = await post(client, page, f"{page}/kommuner/4601/fjern", {})
    assert removed.status_code == 303
    served = await session.scalars(
        select(catchment.c.municipality_number).where(catchment.c.organisation_id == org.id)
    )
    assert list(served) == ["4624"]
    details = [d for _, d in await actions(session, org.id)]
    assert [d["fields"] for d in details] == [["add:4624"], ["remove:4601"]]
    assert details[0]["moved"] == 2


async def test_themes_offered(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    await sign_in(client, session, clock, "staff", organisation_id=org.id)
    page = f"/ansatt/organisasjon/{org.id}"
    none = await post(client, page, f"{page}/temaer", {})
    assert none.status_code == 400 and "themes-error" in none.text
    some = await post(client, page, f"{page}/temaer", {"themes": ["sorg", "angst"]})
    assert some.status_code == 303
    themes = await session.scalar(select(organisation.c.themes).where(organisation.c.id == org.id))
    assert themes == ["angst", "sorg"]


async def test_api_keys_made_with_an_expiry_shown_once_and_revoked(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    other = await make_org(session, ("0301",))
    user = await sign_in(client, session, clock, "staff", organisation_id=org.id)
    page = f"/ansatt/organisasjon/{org.id}"
    missing = await post(client, page, f"{page}/nokler", {"role": "staff", "days": "90"})
    assert missing.status_code == 400 and 'id="label-error"' in missing.text
    made = await post(
        client, page, f"{page}/nokler", {"label": "Fagsystem", "role": "staff", "days": "30"}
    )
    assert made.status_code == 201
    secret = re.search(r"shk_[0-9a-f]{12}_[A-Za-z0-9_-]+", made.text)
    assert secret
    key = (await session.execute(select(api_key).where(api_key.c.organisation_id == org.id))).one()
    assert key.expires_at == clock.now + timedelta(days=30)
    bearer = {"Authorization": f"Bearer {secret.group(0)}"}
    assert (await client.get("/api/v1/staff/interests", headers=bearer)).status_code == 200
    again = await client.get(page)
    assert secret.group(0) not in again.text  # shown once
    assert "Fagsystem" in again.text
    clock.advance(days=31)
    expired = await client.get("/api/v1/staff/interests", headers=bearer)
    assert expired.status_code == 401
    client.cookies.update(await signed_in_cookie(session, user, now=clock.now))  # a month on
    foreign_key = await post(
        client, page, f"/ansatt/organisasjon/{other.id}/nokler/{key.id}/trekk-tilbake", {}
    )
    assert foreign_key.status_code == 404
    revoked = await post(client, page, f"{page}/nokler/{key.id}/trekk-tilbake", {})
    assert revoked.status_code == 303
    assert await session.scalar(select(api_key.c.revoked_at).where(api_key.c.id == key.id))
    assert [a for a, _ in await actions(session, org.id)] == ["key.create", "key.revoke"]


async def test_making_a_key_needs_the_second_factor(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    user = await make_staff_user(session, "staff", organisation_id=org.id)
    client.cookies.update(await signed_in_cookie(session, user, method="email", now=clock.now))
    page = f"/ansatt/organisasjon/{org.id}"
    refused = await post(
        client, page, f"{page}/nokler", {"label": "x", "role": "staff", "days": "30"}
    )
    assert refused.status_code == 303
    assert refused.headers["location"].startswith("/ansatt/to-faktor")
    assert (
        await session.scalar(select(api_key.c.id).where(api_key.c.organisation_id == org.id))
        is None
    )
