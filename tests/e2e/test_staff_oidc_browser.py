"""Sign-in through an identity provider in real Chromium: the console's button, the provider's
own form (``oidc-provider-mock`` on localhost), back to the console with a two-factor session.
Refusals (cancelled at the provider, no staff user with that address) are pages checked with
axe-core in nb, nn and en and photographed at 375 px."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from e2e.staff_site import ConsoleSite, console_site, phone_context, shot
from e2e.support import LANGS, axe_violations
from helpers import unique
from oidc_support import provider, provider_setting, set_user
from staff.tables import staff_user

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def idp() -> Iterator[str]:
    with provider() as base:
        yield base


@pytest.fixture(scope="module")
async def console(
    engine: AsyncEngine, tmp_path_factory: pytest.TempPathFactory, idp: str
) -> AsyncIterator[ConsoleSite]:
    async with console_site(
        engine, tmp_path_factory.mktemp("oidc"), oidc_providers=[provider_setting(idp)]
    ) as site:
        yield site


async def _through_provider(page: Any, console: ConsoleSite, sub: str | None) -> None:
    """From the sign-in page, by the provider's button and its form, as a person does."""
    await page.goto(f"{console.url}/ansatt/logg-inn?neste=/ansatt/logg")
    await page.get_by_role("link", name="Test-IdP").click()
    await page.wait_for_url("**/oauth2/authorize**")
    if sub is None:
        await page.get_by_role("button", name="Deny").click()
    else:
        await page.fill("input[name=sub]", sub)
        await page.get_by_role("button", name="Authorize").click()
    await page.wait_for_url(f"{console.url}/ansatt/**")


async def test_sign_in_through_the_identity_provider_reaches_health_pages(
    console: ConsoleSite, browser: Any, idp: str
) -> None:
    email = f"{unique('oidc')}@link-test.example.no"
    user, _ = await console.administrator(email, method=None)
    sub = unique("sub")
    set_user(idp, sub, email=email, email_verified=True, name="Kari Nettleser")
    context = await phone_context(browser, console, None)
    page = await context.new_page()
    try:
        await _through_provider(page, console, sub)
        assert page.url == f"{console.url}/ansatt/logg"  # a health page: no second-factor stop
        assert await console.methods(user) == ["oidc"]
        linked = await console.scalar(
            select(staff_user.c.oidc_subject).where(staff_user.c.id == user)
        )
        assert linked == sub
    finally:
        await context.close()


async def test_cancelled_and_unknown_are_clear_pages(
    console: ConsoleSite, browser: Any, idp: str
) -> None:
    context = await phone_context(browser, console, None)
    page = await context.new_page()
    try:
        await _through_provider(page, console, None)
        assert "/ansatt/oidc/mock/callback" in page.url
        assert "cancelled" in (await page.inner_text("main")).lower()
        stranger = unique("sub")
        set_user(idp, stranger, email="nobody@example.org", email_verified=True)
        await _through_provider(page, console, stranger)
        assert "No staff user with this address" in await page.inner_text("h1")
        # The pages themselves, in each language (a fresh round trip each: the flow is one-time).
        for lang in LANGS:
            await page.goto(f"{console.url}/ansatt/logg-inn?lang={lang}")
            assert await axe_violations(page) == [], ("sign-in", lang)
            await shot(page, f"staff-sign-in-idp-{lang}-375")
            await _through_provider(page, console, stranger)
            assert await axe_violations(page) == [], ("no user", lang)
            await shot(page, f"staff-oidc-no-user-{lang}-375")
            await _through_provider(page, console, None)
            assert await axe_violations(page) == [], ("denied", lang)
            await shot(page, f"staff-oidc-denied-{lang}-375")
    finally:
        await context.close()


async def test_the_identity_provider_is_the_second_factor_of_an_email_session(
    console: ConsoleSite, browser: Any, idp: str
) -> None:
    """Signed in by e-mail link, a health page sends to the second-factor page, whose provider
    button (a plain link: works without JavaScript) brings the person back with a new session."""
    email = f"{unique('oidc2')}@link-test.example.no"
    user, cookie = await console.administrator(email)
    sub = unique("sub")
    set_user(idp, sub, email=email, email_verified=True)
    context = await phone_context(browser, console, cookie)
    page = await context.new_page()
    try:
        await page.goto(f"{console.url}/ansatt/logg")
        assert "/ansatt/to-faktor" in page.url
        for lang in LANGS:
            await page.goto(f"{console.url}/ansatt/to-faktor?neste=/ansatt/logg&lang={lang}")
            assert await axe_violations(page) == [], ("second factor", lang)
            await shot(page, f"staff-second-factor-idp-{lang}-375")
        await page.get_by_role("link", name="Test-IdP").click()
        await page.fill("input[name=sub]", sub)
        await page.get_by_role("button", name="Authorize").click()
        await page.wait_for_url(f"{console.url}/ansatt/logg")
        assert await console.methods(user) == ["oidc"]  # the e-mail session is revoked
    finally:
        await context.close()
