"""Sign-in through an identity provider, against a real local OpenID provider
(``oidc-provider-mock``): the code flow with PKCE, state and nonce checked, the ID token
validated, the staff user found by (issuer, subject) or the first time by verified address."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from helpers import FakeClock, make_org, unique
from oidc_support import authorize, provider, provider_setting, set_user
from samhjelp.settings import Settings
from staff import sessions
from staff.sessions import COOKIE
from staff.tables import staff_audit, staff_session, staff_user
from staff_support import make_staff_user, signed_in_cookie


@pytest.fixture(scope="module")
def idp() -> Iterator[str]:
    with provider() as base:
        yield base


@pytest.fixture
def clock() -> FakeClock:
    """The provider signs with the real clock; so does the service here."""
    return FakeClock(datetime.now(UTC))


@pytest.fixture
def settings(tmp_path: Path, idp: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        public_base_url="http://testserver",
        post_rate_per_minute=1000,
        scheduler_enabled=False,
        oidc_providers=[  # type: ignore[list-item]
            provider_setting(idp),
            provider_setting("http://localhost:9", slug="down", name="Down-IdP"),
        ],
    )


async def _user(session: AsyncSession, email: str) -> uuid.UUID:
    org = await make_org(session, ("4601",))
    return await make_staff_user(session, "staff", organisation_id=org.id, email=email)


async def _start(client: httpx.AsyncClient, neste: str = "/ansatt/venteliste") -> str:
    started = await client.get("/ansatt/oidc/mock", params={"neste": neste})
    assert started.status_code == 303, started.text
    location = started.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["state"] and query["nonce"] and "openid" in query["scope"][0]
    assert query["redirect_uri"] == ["http://testserver/ansatt/oidc/mock/callback"]
    cookie = started.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    return location


async def _back(client: httpx.AsyncClient, location: str) -> httpx.Response:
    assert location.startswith("http://testserver/ansatt/oidc/mock/callback")
    return await client.get(location.removeprefix("http://testserver"))


async def _session_method(session: AsyncSession, response: httpx.Response) -> str | None:
    cookie = response.cookies.get(COOKIE)
    if not cookie:
        return None
    return await session.scalar(
        select(staff_session.c.method).where(staff_session.c.id_hash == sessions.digest(cookie))
    )


async def test_first_sign_in_links_the_verified_address_then_the_subject_decides(
    client: httpx.AsyncClient, session: AsyncSession, idp: str
) -> None:
    email = f"{unique('kari')}@link-test.example.no"
    user = await _user(session, email)
    sub = unique("sub")
    set_user(idp, sub, email=email.upper(), email_verified=True, name="Kari")
    client.cookies.set(COOKIE, (await signed_in_cookie(session, user, method="email"))[COOKIE])
    email_cookie = client.cookies[COOKIE]

    back = await _back(client, authorize(await _start(client), sub=sub))
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/ansatt/venteliste"
    assert await _session_method(session, back) == "oidc"
    assert back.cookies[COOKIE] != email_cookie
    revoked = await session.scalar(
        select(staff_session.c.revoked_at).where(
            staff_session.c.id_hash == sessions.digest(email_cookie)
        )
    )
    assert revoked is not None  # the e-mail session's id is worthless now: no fixation
    linked = (await session.execute(select(staff_user).where(staff_user.c.id == user))).one()
    assert linked.oidc_issuer == idp and linked.oidc_subject == sub
    actions = (
        await session.scalars(select(staff_audit.c.action).where(staff_audit.c.user_id == user))
    ).all()
    assert "sign_in.oidc" in actions

    # The address changes at the provider: the link by subject still signs in.
    set_user(idp, sub, email="someone.else@example.org", email_verified=True)
    client.cookies.delete(COOKIE)
    again = await _back(client, authorize(await _start(client, "/ansatt"), sub=sub))
    assert again.status_code == 303 and await _session_method(session, again) == "oidc"

    # Another identity with the old address: the user is linked already, so nobody.
    other = unique("sub")
    set_user(idp, other, email=email, email_verified=True)
    client.cookies.delete(COOKIE)
    refused = await _back(client, authorize(await _start(client), sub=other))
    assert refused.status_code == 403 and COOKIE not in refused.cookies
    assert "Ingen ansattbruker med denne adressen" in refused.text


async def test_unknown_unverified_or_disabled_gets_the_no_user_page(
    client: httpx.AsyncClient, session: AsyncSession, idp: str
) -> None:
    stranger = unique("sub")
    set_user(idp, stranger, email="nobody@example.org", email_verified=True)
    page = await _back(client, authorize(await _start(client), sub=stranger))
    assert page.status_code == 403
    assert "Ingen ansattbruker med denne adressen" in page.text and COOKIE not in page.cookies

    email = f"{unique('ola')}@link-test.example.no"
    user = await _user(session, email)
    unverified = unique("sub")
    set_user(idp, unverified, email=email, email_verified=False)
    page = await _back(client, authorize(await _start(client), sub=unverified))
    assert page.status_code == 403

    await session.execute(
        update(staff_user).where(staff_user.c.id == user).values(disabled_at=datetime.now(UTC))
    )
    verified = unique("sub")
    set_user(idp, verified, email=email, email_verified=True)
    page = await _back(client, authorize(await _start(client), sub=verified))
    assert page.status_code == 403
    assert (
        await session.scalar(select(staff_user.c.oidc_subject).where(staff_user.c.id == user))
        is None
    )


async def test_access_denied_at_the_provider_is_a_page(
    client: httpx.AsyncClient, session: AsyncSession, idp: str
) -> None:
    page = await _back(client, authorize(await _start(client), deny=True))
    assert page.status_code == 400
    assert "ble avbrutt eller ikke tillatt" in page.text and COOKIE not in page.cookies


async def test_a_wrong_state_or_a_missing_flow_cookie_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, idp: str
) -> None:
    email = f"{unique('per')}@link-test.example.no"
    await _user(session, email)
    sub = unique("sub")
    set_user(idp, sub, email=email, email_verified=True)

    back = authorize(await _start(client), sub=sub)
    parts = urlsplit(back)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    forged = urlunsplit(parts._replace(query=urlencode({**query, "state": "forged"})))
    page = await _back(client, forged)
    assert page.status_code == 400 and COOKIE not in page.cookies
    assert "Start på nytt" in page.text

    # The real answer, but in a browser that never started the flow (login CSRF).
    client.cookies.clear()
    page = await _back(client, back)
    assert page.status_code == 400 and COOKIE not in page.cookies


async def test_an_id_token_with_another_nonce_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, idp: str
) -> None:
    email = f"{unique('liv')}@link-test.example.no"
    await _user(session, email)
    sub = unique("sub")
    set_user(idp, sub, email=email, email_verified=True)
    start = urlsplit(await _start(client))
    query = {k: v[0] for k, v in parse_qs(start.query).items()}
    replayed = urlunsplit(start._replace(query=urlencode({**query, "nonce": "another-nonce"})))
    page = await _back(client, authorize(replayed, sub=sub))
    assert page.status_code == 400 and COOKIE not in page.cookies
    assert "kunne ikke godtas" in page.text


async def test_an_unknown_provider_or_an_unreachable_one_is_a_page(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    page = await client.get("/ansatt/oidc/nope")
    assert page.status_code == 404 and "er ikke satt opp her" in page.text
    callback = await client.get("/ansatt/oidc/nope/callback", params={"code": "x", "state": "y"})
    assert callback.status_code == 404
    down = await client.get("/ansatt/oidc/down")
    assert down.status_code == 502 and "Vi fikk ikke kontakt med" in down.text


def test_providers_come_from_one_json_variable_and_are_validated(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import json

    from pydantic import ValidationError

    from samhjelp.services import staff_config

    entra = provider_setting("https://login.microsoftonline.com/TENANT/v2.0", slug="entra")
    monkeypatch.setenv("SAMHJELP_OIDC_PROVIDERS", json.dumps([entra]))
    [configured] = staff_config(Settings(data_dir=tmp_path)).oidc_providers
    assert configured.slug == "entra" and configured.client_secret == "s3cret-for-tests"
    for bad in (
        [entra, entra],  # two with one slug
        [{**entra, "discovery_url": "http://idp.example/.well-known/openid-configuration"}],
        [{**entra, "client_secret": "changeme"}],
        [{**entra, "slug": "Entra ID"}],
    ):
        monkeypatch.setenv("SAMHJELP_OIDC_PROVIDERS", json.dumps(bad))
        with pytest.raises(ValidationError):
            Settings(data_dir=tmp_path)


async def test_an_identity_without_an_address_is_linked_from_a_two_factor_session(
    client: httpx.AsyncClient, session: AsyncSession, idp: str
) -> None:
    """ID-porten sends no e-mail: the signed-in user links it from the account page, and only
    with the second factor (an e-mail link alone must not attach an identity)."""
    user = await _user(session, f"{unique('eva')}@link-test.example.no")
    sub = unique("pid")
    set_user(idp, sub, name="Eva")  # no email claim at all
    client.cookies.set(COOKIE, (await signed_in_cookie(session, user, method="email"))[COOKIE])
    by_link = await client.get("/ansatt/oidc/mock", params={"koble": "1"})
    assert by_link.status_code == 303 and by_link.headers["location"].startswith(
        "/ansatt/to-faktor"
    )

    client.cookies.delete(COOKIE)
    client.cookies.set(COOKIE, (await signed_in_cookie(session, user, method="passkey"))[COOKIE])
    started = await client.get("/ansatt/oidc/mock", params={"koble": "1"})
    linked = await _back(client, authorize(started.headers["location"], sub=sub))
    assert linked.status_code == 303 and linked.headers["location"] == "/ansatt/konto?ok=idp-linked"
    row = (await session.execute(select(staff_user).where(staff_user.c.id == user))).one()
    assert (row.oidc_issuer, row.oidc_subject) == (idp, sub)
    assert (
        "oidc.link"
        in (
            await session.scalars(select(staff_audit.c.action).where(staff_audit.c.user_id == user))
        ).all()
    )

    client.cookies.delete(COOKIE)  # now it signs in by itself
    signed_in = await _back(client, authorize(await _start(client), sub=sub))
    assert signed_in.status_code == 303 and await _session_method(session, signed_in) == "oidc"

    # Someone else cannot link the same identity to themselves.
    other = await _user(session, f"{unique('tor')}@link-test.example.no")
    client.cookies.delete(COOKIE)
    client.cookies.set(COOKIE, (await signed_in_cookie(session, other, method="passkey"))[COOKIE])
    started = await client.get("/ansatt/oidc/mock", params={"koble": "1"})
    refused = await _back(client, authorize(started.headers["location"], sub=sub))
    assert refused.status_code == 409
    assert (
        await session.scalar(select(staff_user.c.oidc_subject).where(staff_user.c.id == other))
        is None
    )
