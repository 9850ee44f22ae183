"""A person's record: scope (404 like an unknown id), audit of every view and action, contact
masked until opened, choices changed with a note, withdrawal that erases everything."""

from __future__ import annotations

import uuid

import httpx
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock, make_org, make_org_with_facilitator
from intake.crypto import ContactCipher
from intake.tables import interest
from integration.intake.test_erasure import needles_of, person_traces
from integration.staff.person_support import audit_rows, person, post_form, sign_in
from matching.job import run_matching
from matching.notes import waiting_explanation
from samhjelp.services import Services
from staff.notes import interest_note
from staff.tables import staff_audit


async def test_another_organisations_person_is_a_404_like_an_unknown_id(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    mine = await make_org(session, ("4601",))
    await make_org(session, ("4602",))
    theirs = await person(
        session, cipher, clock.now, municipality="4602", contact={"email": "x@example.no"}
    )
    await sign_in(client, session, clock.now, organisation_id=mine.id)
    unknown = await client.get(f"/ansatt/venteliste/{uuid.uuid4()}")
    other = await client.get(f"/ansatt/venteliste/{theirs}")
    assert unknown.status_code == other.status_code == 404
    assert "x***" not in other.text
    for path in ("endre", "trekk"):
        assert (await client.get(f"/ansatt/venteliste/{theirs}/{path}")).status_code == 404
    # Neither can they open the contact or withdraw the person with a crafted POST.
    own = await person(session, cipher, clock.now, municipality="4601")
    for path in ("kontakt", "trekk"):
        r = await post_form(
            client, f"/ansatt/venteliste/{own}", f"/ansatt/venteliste/{theirs}/{path}", {}
        )
        assert r.status_code == 404
    assert await session.scalar(select(interest.c.id).where(interest.c.id == theirs)) == theirs
    assert await audit_rows(session, theirs) == []


async def test_record_needs_the_second_factor(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    pid = await person(session, cipher, clock.now)
    await sign_in(client, session, clock.now, method="email", organisation_id=org.id)
    r = await client.get(f"/ansatt/venteliste/{pid}")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/ansatt/to-faktor")


async def test_view_is_audited_and_contact_is_masked_until_opened(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    pid = await person(session, cipher, clock.now, contact={"email": "kari.nordmann@example.no"})
    user = await sign_in(client, session, clock.now, organisation_id=org.id)

    page = await client.get(f"/ansatt/venteliste/{pid}?lang=en")
    assert page.status_code == 200
    assert "kari.nordmann@example.no" not in page.text
    assert "k***@e***.no" in page.text
    assert await audit_rows(session, pid) == [("interest.view", user)]

    opened = await post_form(
        client, f"/ansatt/venteliste/{pid}", f"/ansatt/venteliste/{pid}/kontakt", {}
    )
    assert opened.status_code == 200
    assert "kari.nordmann@example.no" in opened.text
    assert opened.headers["cache-control"] == "no-store"
    actions = [a for a, _ in await audit_rows(session, pid)]
    assert actions == ["interest.view", "interest.view", "interest.contact"]
    detail = await session.scalar(
        select(staff_audit.c.detail).where(staff_audit.c.action == "interest.contact")
    )
    assert "kari" not in str(detail)
    # Reading the record again shows it masked again.
    again = await client.get(f"/ansatt/venteliste/{pid}")
    assert "kari.nordmann@example.no" not in again.text


async def test_change_choices_needs_a_note_keeps_the_place_and_is_audited(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    pid = await person(session, cipher, clock.now, themes=["sorg"])
    since = await session.scalar(select(interest.c.waiting_since).where(interest.c.id == pid))
    user = await sign_in(client, session, clock.now, organisation_id=org.id)
    change = {
        "themes": ["sorg", "angst"],
        "languages": ["no"],
        "availability": ["wed-evening"],
        "digital_welcome": "yes",
    }
    form = f"/ansatt/venteliste/{pid}/endre"
    refused = await post_form(client, form, form, {**change, "note": ""})
    assert refused.status_code == 400
    assert 'id="note-error"' in refused.text and 'aria-invalid="true"' in refused.text
    assert 'value="angst" id="theme-angst" checked' in refused.text  # nothing lost
    bad = await post_form(client, form, form, {"themes": [], "note": "asked by phone"})
    assert bad.status_code == 400 and 'id="themes-error"' in bad.text
    assert 'id="availability-error"' in bad.text

    done = await post_form(client, form, form, {**change, "note": "Asked on the phone"})
    assert done.status_code == 303, done.text[:500]
    row = (await session.execute(select(interest).where(interest.c.id == pid))).mappings().one()
    assert row["themes"] == ["sorg", "angst"] and row["slots"] == ["wed-evening"]
    assert row["digital_welcome"] is True
    assert row["waiting_since"] == since
    note = (
        await session.execute(select(interest_note).where(interest_note.c.interest_id == pid))
    ).one()
    assert note.text == "Asked on the phone" and note.user_id == user
    assert ("interest.change", user) in await audit_rows(session, pid)
    detail = await session.scalar(
        select(staff_audit.c.detail).where(staff_audit.c.action == "interest.change")
    )
    assert detail == {"fields": ["digital_welcome", "slots", "themes"]}
    shown = await client.get(done.headers["location"])
    assert "Asked on the phone" in shown.text


async def test_withdraw_on_their_behalf_erases_the_person_and_their_notes(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    pid = await person(session, cipher, clock.now, contact={"email": "borte@example.no"})
    user = await sign_in(client, session, clock.now, organisation_id=org.id)
    form = f"/ansatt/venteliste/{pid}/endre"
    await post_form(
        client, form, form,
        {"themes": ["sorg"], "languages": ["no"], "availability": ["mon-evening"],
         "note": "Wanted Mondays"},
    )  # fmt: skip
    needles = await needles_of(session, pid)
    assert "interest_note" in (await person_traces(session, needles))["interest id"]

    confirm = await client.get(f"/ansatt/venteliste/{pid}/trekk")
    assert confirm.status_code == 200
    assert await session.scalar(select(interest.c.id).where(interest.c.id == pid)) == pid
    gone = await post_form(
        client, f"/ansatt/venteliste/{pid}/trekk", f"/ansatt/venteliste/{pid}/trekk", {}
    )
    assert gone.status_code == 303
    assert gone.headers["location"] == "/ansatt/venteliste?ok=withdrawn"
    # The audit trail keeps who withdrew which (pseudonymous) record, and nothing else does.
    assert ("interest.withdraw", user) in await audit_rows(session, pid)
    traces = await person_traces(session, needles)
    assert traces == {"interest id": ["staff_audit"]}, traces
    assert (await client.get(f"/ansatt/venteliste/{pid}")).status_code == 404


async def test_record_says_why_they_wait_and_where_a_placed_person_is(
    client: httpx.AsyncClient,
    session: AsyncSession,
    cipher: ContactCipher,
    clock: FakeClock,
    services: Services,
) -> None:
    org, _ = await make_org_with_facilitator(session, ("4601",))
    grouped = [await person(session, cipher, clock.now, days_ago=20) for _ in range(5)]
    alone = await person(session, cipher, clock.now, availability=["sun-morning"])
    await session.commit()
    assert (await run_matching(services.sessionmaker, now=clock.now)).groups == 1
    await sign_in(client, session, clock.now, organisation_id=org.id)

    why = await waiting_explanation(session, alone, "en")
    assert why
    page = await client.get(f"/ansatt/venteliste/{alone}?lang=en")
    # The record says the reason, then lists each change that would place them (in the words
    # of the status page), rather than the status page's one running text.
    reason, _, change = why.partition(". ")
    assert change, why
    assert str(escape(reason)) in page.text
    assert str(escape(change.rstrip("."))) in page.text
    assert "no run has looked at this person yet" not in page.text

    in_group = await client.get(f"/ansatt/venteliste/{grouped[0]}?lang=en")
    assert "In a proposed group" in in_group.text
    assert "Where they are" in in_group.text
    assert "Change their choices" not in in_group.text
