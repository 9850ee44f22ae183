"""The waiting list: scope (never another organisation's people), filters, pages, CSV."""

from __future__ import annotations

import csv
import io

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock, make_org
from intake.crypto import ContactCipher
from integration.staff.person_support import person, sign_in
from staff.people import reference


async def test_staff_see_only_their_organisations_people_in_list_and_csv(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    mine = await make_org(session, ("4601",))
    other = await make_org(session, ("4602",))
    own = await person(session, cipher, clock.now, municipality="4601")
    theirs = await person(session, cipher, clock.now, municipality="4602")
    await sign_in(client, session, clock.now, organisation_id=mine.id)

    page = await client.get("/ansatt/venteliste")
    assert page.status_code == 200, page.text[:300]
    assert reference(own) in page.text
    assert reference(theirs) not in page.text
    assert str(other.id) not in page.text

    exported = await client.get("/ansatt/venteliste?format=csv")
    assert exported.status_code == 200
    assert reference(own) in exported.text
    assert reference(theirs) not in exported.text


async def test_csv_has_no_contact_and_escapes_formulas(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",), name='=HYPERLINK("x")')
    await person(session, cipher, clock.now, contact={"email": "hemmelig@example.no"})
    await sign_in(client, session, clock.now, organisation_id=org.id)
    exported = await client.get("/ansatt/venteliste?format=csv&lang=en")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    header = [h.lower() for h in rows[0]]
    assert not any("contact" in h or "e-mail" in h or "phone" in h for h in header)
    assert "hemmelig" not in exported.text and "h***" not in exported.text
    assert len(rows) == 2
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert '\'=HYPERLINK("x")' in rows[1]


async def test_filters_narrow_the_list(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    grief = await person(session, cipher, clock.now, themes=["sorg"], days_ago=40)
    anxious = await person(
        session, cipher, clock.now, themes=["angst"], languages=["en"],
        availability=["mon-morning"], days_ago=3,
    )  # fmt: skip
    staffed = await person(session, cipher, clock.now, themes=["angst"], source="staff")
    await sign_in(client, session, clock.now, organisation_id=org.id)

    async def shown(query: str) -> set[str]:
        text = (await client.get(f"/ansatt/venteliste?{query}")).text
        return {r for r in map(reference, (grief, anxious, staffed)) if r in text}

    assert await shown("") == {reference(grief), reference(anxious), reference(staffed)}
    assert await shown("theme=angst") == {reference(anxious), reference(staffed)}
    assert await shown("language=en") == {reference(anxious)}
    assert await shown("slot=mon-morning") == {reference(anxious)}
    assert await shown("source=staff") == {reference(staffed)}
    assert await shown("weeks=4") == {reference(grief)}
    assert await shown("municipality=4601&theme=sorg") == {reference(grief)}
    # An unknown value is dropped, not an error.
    assert await shown("theme=%3Cscript%3E&weeks=x") == {
        reference(grief), reference(anxious), reference(staffed)
    }  # fmt: skip


async def test_fifty_a_page_longest_waiting_first(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    ids = [await person(session, cipher, clock.now, days_ago=200 - i) for i in range(53)]
    await sign_in(client, session, clock.now, organisation_id=org.id)
    first = (await client.get("/ansatt/venteliste?lang=en")).text
    second = (await client.get("/ansatt/venteliste?page=2&lang=en")).text
    on_first = [i for i in ids if reference(i) in first]
    on_second = [i for i in ids if reference(i) in second]
    assert on_first == ids[:50] and on_second == ids[50:]
    assert first.index(reference(ids[0])) < first.index(reference(ids[1]))
    assert "53 people" in first
    assert 'href="/ansatt/venteliste?page=2"' in first
    # CSV exports what the filters show, every page of it.
    exported = await client.get("/ansatt/venteliste?format=csv")
    assert exported.text.count("\r\n") == 54


async def test_the_list_needs_the_second_factor(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    org = await make_org(session, ("4601",))
    await person(session, cipher, clock.now)
    await sign_in(client, session, clock.now, method="email", organisation_id=org.id)
    for path in ("/ansatt/venteliste", "/ansatt/venteliste?format=csv"):
        r = await client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/ansatt/to-faktor")


async def test_a_coordinator_sees_the_regions_organisations_and_unmet_demand(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    first = await make_org(session, ("4601",))
    await make_org(session, ("4602",))
    bergen = await person(session, cipher, clock.now, municipality="4601")
    kinn = await person(session, cipher, clock.now, municipality="4602")
    unmet = await person(session, cipher, clock.now, municipality="4647")
    oslo_org = await make_org(session, ("0301",))
    oslo = await person(session, cipher, clock.now, municipality="0301")
    await sign_in(client, session, clock.now, "coordinator", region_slug="vestland")

    async def shown(query: str) -> set[str]:
        text = (await client.get(f"/ansatt/venteliste?{query}")).text
        return {r for r in map(reference, (bergen, kinn, unmet, oslo)) if r in text}

    assert await shown("") == {reference(bergen), reference(kinn), reference(unmet)}
    assert await shown("organisation=none") == {reference(unmet)}
    assert await shown(f"organisation={first.id}") == {reference(bergen)}
    # Another region's organisation as a filter matches nobody, it does not widen the scope.
    assert await shown(f"organisation={oslo_org.id}") == set()
    assert (await client.get(f"/ansatt/venteliste/{oslo}")).status_code == 404
    assert (await client.get(f"/ansatt/venteliste/{unmet}")).status_code == 200
