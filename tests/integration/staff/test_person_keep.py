"""Staff keep a waiting person on the list after a phone call ("I still want a group"): the
record shows when the registration lapses, the button is the same sign of life as the person's
own (``intake.lapse.keep``), audited and scoped; someone in a group has nothing to keep."""

from __future__ import annotations

import re

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock, make_org_with_facilitator
from intake.crypto import ContactCipher
from intake.tables import interest
from integration.staff.person_support import audit_rows, person, post_form, sign_in

KEPT = re.compile(r'<dd id="keep-until">([^<]+)</dd>')


async def test_staff_keep_a_waiting_person_on_the_list_audited(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    org, _ = await make_org_with_facilitator(session)
    me = await person(session, cipher, clock.now, days_ago=300)
    await session.commit()
    user = await sign_in(client, session, clock.now, organisation_id=org.id)
    page = await client.get(f"/ansatt/venteliste/{me}?lang=en")
    before = KEPT.search(page.text)
    assert page.status_code == 200 and before is not None
    assert f'action="/ansatt/venteliste/{me}/behold"' in page.text

    done = await post_form(
        client, f"/ansatt/venteliste/{me}?lang=en", f"/ansatt/venteliste/{me}/behold", {}
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/ansatt/venteliste/{me}?ok=kept"
    alive = await session.scalar(select(interest.c.alive_at).where(interest.c.id == me))
    assert alive == clock.now
    assert ("interest.keep", user) in await audit_rows(session, me)
    again = await client.get(f"/ansatt/venteliste/{me}?ok=kept&lang=en")
    after = KEPT.search(again.text)
    assert after is not None and after.group(1) != before.group(1)
    assert "They stay on the waiting list" in again.text
    nb = await client.get(f"/ansatt/venteliste/{me}?lang=nb")
    assert "Tas vare på til" in nb.text and "behold dem på listen" in nb.text


async def test_someone_in_a_group_has_nothing_to_keep(
    client: httpx.AsyncClient, session: AsyncSession, cipher: ContactCipher, clock: FakeClock
) -> None:
    org, _ = await make_org_with_facilitator(session)
    me = await person(session, cipher, clock.now, days_ago=300)
    await session.commit()
    await sign_in(client, session, clock.now, organisation_id=org.id)
    page = await client.get(f"/ansatt/venteliste/{me}?lang=en")
    await session.execute(update(interest).where(interest.c.id == me).values(status="proposed"))
    await session.commit()
    shown = await client.get(f"/ansatt/venteliste/{me}?lang=en")
    assert 'id="keep-until"' not in shown.text and "/behold" not in shown.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    refused = await client.post(
        f"/ansatt/venteliste/{me}/behold", data={"_csrf_token": token.group(1)}
    )
    assert refused.status_code == 400 and "nothing to keep" in refused.text
    assert await session.scalar(select(interest.c.alive_at).where(interest.c.id == me)) is None
