"""Passkeys through the HTTP endpoints with a software authenticator making real attestations
and assertions: the second factor after an e-mail link, sign-in without an address, and every
refusal (clone, other site, no user verification, replayed challenge, someone else's key)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import make_org
from samhjelp.services import Services
from soft_authenticator import SoftAuthenticator, b64url
from staff import sessions
from staff.sessions import COOKIE
from staff.tables import staff_audit, staff_passkey, staff_session
from staff_support import make_staff_user, signed_in_cookie

CSRF = re.compile(r'data-csrf="([^"]*)"')


def device() -> SoftAuthenticator:
    return SoftAuthenticator(rp_id="testserver", origin="http://testserver")


async def _user(session: AsyncSession) -> uuid.UUID:
    org = await make_org(session, ("4601",))
    return await make_staff_user(session, "staff", organisation_id=org.id)


async def _signed_in(
    client: httpx.AsyncClient, session: AsyncSession, user: uuid.UUID, method: Any = "email"
) -> str:
    """Put a session of ``method`` in the client's jar; returns the CSRF token of its page."""
    client.cookies.delete(COOKIE)
    client.cookies.set(COOKIE, (await signed_in_cookie(session, user, method=method))[COOKIE])
    page = await client.get("/ansatt/to-faktor", params={"neste": "/ansatt/venteliste"})
    if page.status_code == 303:  # already two-factor: the account page carries the token
        page = await client.get("/ansatt/konto")
    found = CSRF.search(page.text) or re.search(r'name="_csrf_token" value="([^"]*)"', page.text)
    assert found, page.text[:400]
    return found.group(1)


async def _csrf(client: httpx.AsyncClient) -> str:
    page = await client.get("/ansatt/logg-inn")
    found = CSRF.search(page.text)
    assert found, page.text[:400]
    return found.group(1)


async def _register(
    client: httpx.AsyncClient, csrf: str, key: SoftAuthenticator, **kw: Any
) -> httpx.Response:
    headers = {"X-CSRFToken": csrf}
    options = await client.post("/ansatt/passkey/ny/valg", headers=headers)
    assert options.status_code == 200, options.text
    body = {
        "credential": key.create(options.json(), **kw),
        "label": "Jobb-PC",
        "next": "/ansatt/venteliste",
    }
    return await client.post("/ansatt/passkey/ny", json=body, headers=headers)


async def _use(
    client: httpx.AsyncClient,
    csrf: str,
    key: SoftAuthenticator,
    *,
    nxt: str = "/ansatt/grupper",
    **kw: Any,
) -> tuple[httpx.Response, dict[str, Any]]:
    headers = {"X-CSRFToken": csrf}
    options = await client.post("/ansatt/passkey/bruk/valg", headers=headers)
    assert options.status_code == 200, options.text
    body = {"credential": key.get(options.json(), **kw), "next": nxt}
    return await client.post("/ansatt/passkey/bruk", json=body, headers=headers), body


async def _method(session: AsyncSession, cookie: str) -> str | None:
    return await session.scalar(
        select(staff_session.c.method).where(
            staff_session.c.id_hash == sessions.digest(cookie), staff_session.c.revoked_at.is_(None)
        )
    )


async def _actions(session: AsyncSession, user: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(staff_audit.c.action).where(staff_audit.c.user_id == user).order_by(staff_audit.c.id)
    )
    return list(rows)


async def test_the_first_passkey_after_an_email_link_opens_a_new_two_factor_session(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await _user(session)
    csrf = await _signed_in(client, session, user)
    email_cookie = client.cookies[COOKIE]
    page = await client.get("/ansatt/to-faktor", params={"neste": "/ansatt/venteliste"})
    assert page.status_code == 200 and "Legg til en passnøkkel" in page.text
    assert "data-passkey-nojs" in page.text  # says passkeys need JavaScript when it is off

    options = await client.post("/ansatt/passkey/ny/valg", headers={"X-CSRFToken": csrf})
    spec = options.json()
    assert spec["rp"]["id"] == "testserver"
    assert spec["authenticatorSelection"]["userVerification"] == "required"
    assert spec["authenticatorSelection"]["residentKey"] == "required"
    assert "httponly" in options.headers["set-cookie"].lower()

    key = device()
    added = await _register(client, csrf, key)
    assert added.status_code == 200, added.text
    assert added.json() == {"next": "/ansatt/venteliste"}
    new_cookie = added.cookies[COOKIE]
    assert new_cookie != email_cookie
    assert await _method(session, email_cookie) is None  # the old id is revoked: no fixation
    assert await _method(session, new_cookie) == "passkey"
    stored = (
        await session.execute(select(staff_passkey).where(staff_passkey.c.user_id == user))
    ).one()
    assert stored.credential_id == key.credential_id and stored.label == "Jobb-PC"
    assert "passkey.add" in await _actions(session, user)
    health = await client.get("/ansatt/to-faktor", params={"neste": "/ansatt/venteliste"})
    assert health.status_code == 303 and health.headers["location"] == "/ansatt/venteliste"


async def test_a_passkey_signs_in_without_an_address_and_its_challenge_works_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await _user(session)
    key = device()
    assert (
        await _register(client, await _signed_in(client, session, user), key)
    ).status_code == 200
    client.cookies.delete(COOKIE)

    csrf = await _csrf(client)
    # A synced passkey counts nothing (0 every time), so only the challenge stops a replay.
    headers = {"X-CSRFToken": csrf}
    options = await client.post("/ansatt/passkey/bruk/valg", headers=headers)
    challenge_cookie = options.cookies["samhjelp_passkey"]
    body = {"credential": key.get(options.json(), count=0), "next": "/ansatt/grupper"}
    signed_in = await client.post("/ansatt/passkey/bruk", json=body, headers=headers)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json() == {"next": "/ansatt/grupper"}
    assert await _method(session, signed_in.cookies[COOKIE]) == "passkey"
    row = (await session.execute(select(staff_passkey))).one()
    assert row.sign_count == 0 and row.last_used_at is not None
    assert (await _actions(session, user))[-1] == "sign_in.passkey"

    # The same answer again, with the same challenge cookie (as a thief would replay it).
    client.cookies.delete(COOKIE)
    client.cookies.set("samhjelp_passkey", challenge_cookie, path="/ansatt")
    again = await client.post("/ansatt/passkey/bruk", json=body, headers=headers)
    assert again.status_code == 400 and COOKIE not in again.cookies


async def test_a_sign_count_that_goes_back_is_refused_as_a_clone(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await _user(session)
    key = device()
    assert (
        await _register(client, await _signed_in(client, session, user), key)
    ).status_code == 200
    client.cookies.delete(COOKIE)
    csrf = await _csrf(client)
    ok, _ = await _use(client, csrf, key, count=5)
    assert ok.status_code == 200
    client.cookies.delete(COOKIE)
    clone, _ = await _use(client, csrf, key, count=3)
    assert clone.status_code == 400 and COOKIE not in clone.cookies
    assert (await session.scalar(select(staff_passkey.c.sign_count))) == 5


async def test_another_origin_rp_or_no_user_verification_is_refused(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await _user(session)
    csrf = await _signed_in(client, session, user)
    assert (
        await _register(client, csrf, device(), origin="https://evil.example")
    ).status_code == 400
    assert (await _register(client, csrf, device(), rp_id="evil.example")).status_code == 400
    assert await session.scalar(select(staff_passkey.c.user_id)) is None

    key = device()
    assert (await _register(client, csrf, key)).status_code == 200
    client.cookies.delete(COOKIE)
    csrf = await _csrf(client)
    for kw in ({"origin": "https://evil.example"}, {"rp_id": "evil.example"}, {"verified": False}):
        refused, _ = await _use(client, csrf, key, **kw)
        assert refused.status_code == 400, kw
        assert refused.json()["error"]


async def test_a_session_asking_for_its_second_factor_takes_only_its_own_passkey(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    owner, other = await _user(session), await _user(session)
    key = device()
    assert (
        await _register(client, await _signed_in(client, session, owner), key)
    ).status_code == 200
    csrf = await _signed_in(client, session, other)
    page = await client.get("/ansatt/to-faktor")
    assert "Legg til en passnøkkel" in page.text
    refused, _ = await _use(client, csrf, key)
    assert refused.status_code == 400
    assert await _method(session, client.cookies[COOKIE]) == "email"


async def test_a_second_passkey_needs_the_second_factor(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Otherwise one stolen e-mail link would be enough to add the thief's own passkey."""
    user = await _user(session)
    assert (
        await _register(client, await _signed_in(client, session, user), device())
    ).status_code == 200
    csrf = await _signed_in(client, session, user, "email")
    page = await client.get("/ansatt/to-faktor")
    assert "Bruk passnøkkelen din" in page.text and 'data-passkey="register"' not in page.text
    options = await client.post("/ansatt/passkey/ny/valg", headers={"X-CSRFToken": csrf})
    assert options.status_code == 403

    csrf = await _signed_in(client, session, user, "passkey")
    assert (await _register(client, csrf, device())).status_code == 200
    assert len((await session.scalars(select(staff_passkey.c.credential_id))).all()) == 2


async def test_removing_needs_the_second_factor_and_keeps_the_last_passkey(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await _user(session)
    first = device()
    assert (
        await _register(client, await _signed_in(client, session, user), first)
    ).status_code == 200
    csrf = await _signed_in(client, session, user, "passkey")
    account = await client.get("/ansatt/konto")
    assert "Jobb-PC" in account.text and "/ansatt/passkey/fjern" not in account.text
    form = {"_csrf_token": csrf, "passkey": b64url(first.credential_id)}
    last = await client.post("/ansatt/passkey/fjern", data=form)
    assert last.status_code == 303 and last.headers["location"].endswith("ok=passkey-last")
    assert await session.scalar(select(staff_passkey.c.user_id)) == user

    assert (await _register(client, csrf, device())).status_code == 200
    email_csrf = await _signed_in(client, session, user, "email")
    by_link = await client.post("/ansatt/passkey/fjern", data={**form, "_csrf_token": email_csrf})
    assert by_link.status_code == 303 and by_link.headers["location"].startswith(
        "/ansatt/to-faktor"
    )

    csrf = await _signed_in(client, session, user, "passkey")
    removed = await client.post("/ansatt/passkey/fjern", data={**form, "_csrf_token": csrf})
    assert removed.headers["location"].endswith("ok=passkey-removed")
    left = (await session.scalars(select(staff_passkey.c.credential_id))).all()
    assert left and first.credential_id not in left
    assert "passkey.remove" in await _actions(session, user)
    shown = await client.get("/ansatt/konto", params={"ok": "passkey-removed"})
    assert "Passnøkkelen er fjernet." in shown.text


async def test_next_stays_in_the_console_and_csrf_is_required(
    client: httpx.AsyncClient, session: AsyncSession, services: Services
) -> None:
    user = await _user(session)
    csrf = await _signed_in(client, session, user)
    no_token = await client.post("/ansatt/passkey/ny/valg")
    assert no_token.status_code == 403
    key = device()
    options = await client.post("/ansatt/passkey/ny/valg", headers={"X-CSRFToken": csrf})
    body = {"credential": key.create(options.json()), "next": "https://evil.example/ansatt"}
    added = await client.post("/ansatt/passkey/ny", json=body, headers={"X-CSRFToken": csrf})
    assert added.json() == {"next": "/ansatt"}
