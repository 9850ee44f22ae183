"""Signing in by e-mail link: one use, a short life, the same answer for any address, a limit
per address, a new session id at sign-in (fixation), no redirect off the console."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock, make_org
from integration.staff.signin_support import (
    ask_for_link,
    csrf_of,
    links_to,
    outbox_mails,
    session_of,
    use_link,
)
from samhjelp.services import Services
from staff.sessions import COOKIE
from staff.tables import staff_audit, staff_sign_in
from staff.users import set_disabled
from staff_support import make_staff_user, signed_in_cookie

EMAIL = "kari.ansatt@link-test.example.no"


async def _staff(session: AsyncSession, email: str = EMAIL) -> object:
    org = await make_org(session, ("4601",))
    return await make_staff_user(session, "staff", organisation_id=org.id, email=email)


async def test_a_link_signs_in_once_and_a_get_never_uses_it(
    client: httpx.AsyncClient, session: AsyncSession, services: Services
) -> None:
    user = await _staff(session)
    answer = await ask_for_link(client, "  Kari.Ansatt@LINK-test.example.no ")
    assert answer.status_code == 200
    [link] = links_to(services, EMAIL)
    stored = (await session.execute(select(staff_sign_in.c.token_hash))).scalars().all()
    assert link.split("/lenke/")[1].split("?")[0].encode() not in stored  # only the digest

    for _ in range(2):  # a mail scanner opens it first: nothing is used up
        page = await client.get(link)
        assert page.status_code == 200
        assert "Kari Ansatt" in page.text
    signed_in = await use_link(client, link)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/ansatt"
    cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie

    account = await client.get("/ansatt/konto", cookies={COOKIE: session_of(signed_in)})
    assert account.status_code == 200
    assert EMAIL in account.text and "Kari Ansatt" in account.text

    again = await client.get(link)
    assert again.status_code == 410
    assert "/ansatt/logg-inn" in again.text
    client.cookies.clear()
    replay = await client.post(
        link.removeprefix("http://testserver").split("?")[0],
        data={"_csrf_token": csrf_of(await client.get("/ansatt/logg-inn"))},
    )
    assert replay.status_code == 410
    assert COOKIE not in replay.cookies
    actions = (
        await session.execute(select(staff_audit.c.action).where(staff_audit.c.user_id == user))
    ).scalars()
    assert list(actions) == ["sign_in"]


async def test_an_expired_link_and_an_unknown_one_say_so(
    client: httpx.AsyncClient, session: AsyncSession, services: Services, clock: FakeClock
) -> None:
    await _staff(session)
    await ask_for_link(client, EMAIL)
    [link] = links_to(services, EMAIL)
    clock.advance(minutes=15)
    expired = await use_link(client, link)
    assert expired.status_code == 410
    assert "Ask for a new sign-in link" in expired.text or "/ansatt/logg-inn" in expired.text
    unknown = await client.get("/ansatt/lenke/" + "A" * 43)
    assert unknown.status_code == 404
    english = await client.get("/ansatt/lenke/" + "A" * 43 + "?lang=en")
    assert "This sign-in link does not work" in english.text


async def test_the_answer_is_the_same_for_a_user_a_stranger_and_a_disabled_user(
    client: httpx.AsyncClient, session: AsyncSession, services: Services, clock: FakeClock
) -> None:
    await _staff(session)
    disabled = await make_staff_user(
        session, "coordinator", region_slug="vestland", email="gone@link-test.example.no"
    )
    await set_disabled(session, disabled, disabled=True, now=clock.now)
    bodies = {}
    for address in (EMAIL, "nobody@link-test.example.no", "gone@link-test.example.no"):
        answer = await ask_for_link(client, address)
        assert answer.status_code == 200
        bodies[address] = answer.text.replace(address, "ADDRESS")
    assert len(set(bodies.values())) == 1
    assert [m.to for m in outbox_mails(services).sent] == [EMAIL]


async def test_an_address_gets_at_most_n_links_within_their_lifetime(
    client: httpx.AsyncClient, session: AsyncSession, services: Services, clock: FakeClock
) -> None:
    await _staff(session)
    limit = services.staff.link_requests
    answers = [await ask_for_link(client, EMAIL) for _ in range(limit + 2)]
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1  # the limit is silent
    assert len(links_to(services, EMAIL)) == limit
    clock.advance(seconds=services.staff.link_ttl.total_seconds() + 1)
    await ask_for_link(client, EMAIL)
    assert len(links_to(services, EMAIL)) == limit + 1


async def test_signing_in_revokes_the_cookie_it_came_with(
    client: httpx.AsyncClient, session: AsyncSession, services: Services, clock: FakeClock
) -> None:
    user = await _staff(session)
    planted = (await signed_in_cookie(session, user, method="email", now=clock.now))[COOKIE]
    await ask_for_link(client, EMAIL)
    [link] = links_to(services, EMAIL)
    signed_in = await use_link(client, link, cookies={COOKIE: planted})
    fresh = session_of(signed_in)
    assert fresh != planted
    client.cookies.clear()
    old = await client.get("/ansatt/konto", cookies={COOKIE: planted})
    assert old.status_code == 303 and old.headers["location"].startswith("/ansatt/logg-inn")
    assert (await client.get("/ansatt/konto", cookies={COOKIE: fresh})).status_code == 200


async def test_sessions_end_when_idle_and_at_their_absolute_end(
    client: httpx.AsyncClient, session: AsyncSession, services: Services, clock: FakeClock
) -> None:
    user = await _staff(session)
    start = clock.now
    idle = (await signed_in_cookie(session, user, now=clock.now, config=services.staff))[COOKIE]
    busy = (await signed_in_cookie(session, user, now=clock.now, config=services.staff))[COOKIE]
    step = services.staff.idle_timeout / 2
    clock.advance(seconds=step.total_seconds())
    assert (await client.get("/ansatt/konto", cookies={COOKIE: busy})).status_code == 200
    clock.advance(seconds=step.total_seconds() + 1)
    assert (await client.get("/ansatt/konto", cookies={COOKIE: idle})).status_code == 303
    assert (await client.get("/ansatt/konto", cookies={COOKIE: busy})).status_code == 200
    end = start + services.staff.absolute_timeout
    while clock.now + step < end:  # active all the time, never idle
        clock.advance(seconds=step.total_seconds())
        assert (await client.get("/ansatt/konto", cookies={COOKIE: busy})).status_code == 200
    clock.now = end
    assert (await client.get("/ansatt/konto", cookies={COOKIE: busy})).status_code == 303


async def test_sign_out_and_sign_out_everywhere(
    client: httpx.AsyncClient, session: AsyncSession, services: Services, clock: FakeClock
) -> None:
    user = await _staff(session)
    here, there, third = [
        (await signed_in_cookie(session, user, now=clock.now))[COOKIE] for _ in range(3)
    ]
    account = await client.get("/ansatt/konto", cookies={COOKIE: here})
    out = await client.post(
        "/ansatt/logg-ut", data={"_csrf_token": csrf_of(account)}, cookies={COOKIE: here}
    )
    assert out.status_code == 303 and out.headers["location"] == "/ansatt/logg-inn?ok=signed_out"
    assert (
        'samhjelp_staff=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
    )
    client.cookies.clear()
    assert (await client.get("/ansatt/konto", cookies={COOKIE: here})).status_code == 303
    page = await client.get("/ansatt/logg-inn?ok=signed_out&lang=en")
    assert "You are signed out." in page.text

    account = await client.get("/ansatt/konto", cookies={COOKIE: there})
    assert account.status_code == 200
    everywhere = await client.post(
        "/ansatt/konto/logg-ut-overalt",
        data={"_csrf_token": csrf_of(account)},
        cookies={COOKIE: there},
    )
    assert everywhere.status_code == 303
    client.cookies.clear()
    for cookie in (there, third):
        assert (await client.get("/ansatt/konto", cookies={COOKIE: cookie})).status_code == 303
    actions = (
        await session.execute(
            select(staff_audit.c.action).where(staff_audit.c.user_id == user).order_by("id")
        )
    ).scalars()
    assert list(actions) == ["sign_out", "sign_out_everywhere"]


async def test_a_disabled_users_sessions_die(
    client: httpx.AsyncClient, session: AsyncSession, clock: FakeClock
) -> None:
    user = await _staff(session)
    cookie = (await signed_in_cookie(session, user, now=clock.now))[COOKIE]
    assert (await client.get("/ansatt/konto", cookies={COOKIE: cookie})).status_code == 200
    await set_disabled(session, user, disabled=True, now=clock.now)
    assert (await client.get("/ansatt/konto", cookies={COOKIE: cookie})).status_code == 303


async def test_neste_goes_on_within_the_console_and_nowhere_else(
    client: httpx.AsyncClient, session: AsyncSession, services: Services
) -> None:
    await _staff(session)
    await ask_for_link(client, EMAIL, neste="/ansatt/venteliste?side=2")
    for evil in ("//evil.example/x", "https://evil.example/ansatt", "/ansatt.evil.example"):
        await ask_for_link(client, EMAIL, neste=evil)
    first, *others = links_to(services, EMAIL)
    signed_in = await use_link(client, first)
    assert signed_in.headers["location"] == "/ansatt/venteliste?side=2"
    for link in others:
        assert "evil" not in link
    client.cookies.clear()
    page = await client.get(others[0])
    forged = await client.post(
        others[0].removeprefix("http://testserver").split("?")[0],
        data={"_csrf_token": csrf_of(page), "neste": "https://evil.example/"},
    )
    assert forged.status_code == 303 and forged.headers["location"] == "/ansatt"
    signed_in_already = await client.get("/ansatt/logg-inn", params={"neste": "//evil.example"})
    assert signed_in_already.headers["location"] == "/ansatt"
    client.cookies.clear()
    form = await client.get("/ansatt/logg-inn", params={"neste": "//evil.example"})
    assert 'name="neste" value="/ansatt"' in form.text


async def test_a_bad_address_is_told_next_to_the_field(client: httpx.AsyncClient) -> None:
    answer = await ask_for_link(client, "not an address")
    assert answer.status_code == 400
    assert 'aria-describedby="email-error"' in answer.text and 'id="email-error"' in answer.text
