"""Passkeys in real Chromium with its virtual authenticator (CDP ``WebAuthn`` domain).

Signed in by e-mail link only, a staff member opens a page with health data, is sent to the
second-factor page, adds a passkey (user verification by the virtual device) and lands where
they were going, with a new session id; then signs out and signs in again with the passkey
alone — no address typed. Every page of this part is checked with axe-core in nb, nn and en and
photographed at 375 px; without JavaScript the page says passkeys need it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from e2e.staff_site import ConsoleSite, console_site, phone_context, shot
from e2e.support import LANGS, axe_violations
from helpers import unique
from staff.tables import staff_passkey

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def console(
    engine: AsyncEngine, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ConsoleSite]:
    async with console_site(engine, tmp_path_factory.mktemp("passkey")) as site:
        yield site


async def virtual_authenticator(page: Any) -> tuple[Any, str]:
    """Chromium's virtual platform authenticator (with user verification); (CDP session, id)."""
    cdp = await page.context.new_cdp_session(page)
    await cdp.send("WebAuthn.enable")
    added = await cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


async def _axe_in_every_language(page: Any, path: str, name: str) -> None:
    for lang in LANGS:
        await page.goto(f"{path}{'&' if '?' in path else '?'}lang={lang}")
        assert await axe_violations(page) == [], (name, lang)
        await shot(page, f"staff-{name}-{lang}-375")
    await page.goto(f"{path}{'&' if '?' in path else '?'}lang=nb")
    # The page itself never scrolls sideways on a phone.
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await page.set_viewport_size({"width": 1280, "height": 900})
    await shot(page, f"staff-{name}-nb-1280")
    await page.set_viewport_size({"width": 375, "height": 812})


async def test_email_session_adds_a_passkey_then_signs_in_with_it_alone(
    console: ConsoleSite, browser: Any
) -> None:
    email = f"{unique('passkey')}@link-test.example.no"
    user, cookie = await console.administrator(email)
    context = await phone_context(browser, console, cookie)
    page = await context.new_page()
    try:
        cdp, authenticator = await virtual_authenticator(page)
        await page.goto(f"{console.url}/ansatt/logg")
        assert page.url == f"{console.url}/ansatt/to-faktor?neste=/ansatt/logg"
        await _axe_in_every_language(page, page.url, "second-factor-add")
        # Keyboard only: type the name, Tab to the button, Enter.
        await page.focus("#passkey-label")
        await page.keyboard.type("Virtuell nøkkel")
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.dataset.passkey") == "register"
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"{console.url}/ansatt/logg")
        assert await console.methods(user) == ["passkey"]  # the e-mail session is revoked
        label = await console.scalar(
            select(staff_passkey.c.label).where(staff_passkey.c.user_id == user)
        )
        assert label == "Virtuell nøkkel"
        credentials = (
            await cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
        )["credentials"]
        assert len(credentials) == 1 and credentials[0]["isResidentCredential"]

        await page.goto(f"{console.url}/ansatt/konto")
        await _axe_in_every_language(page, f"{console.url}/ansatt/konto", "account-passkeys")
        assert "Virtuell nøkkel" in await page.inner_text("main")

        # Sign out, then in again with the passkey only.
        await page.locator("form[action='/ansatt/logg-ut'] button").click()
        await page.wait_for_load_state()
        assert await console.methods(user) == []
        await page.goto(f"{console.url}/ansatt/logg-inn?neste=/ansatt/logg")
        await _axe_in_every_language(
            page, f"{console.url}/ansatt/logg-inn?neste=/ansatt/logg", "sign-in-more"
        )
        await page.locator("[data-passkey=authenticate]").click()
        await page.wait_for_url(f"{console.url}/ansatt/logg")
        assert await console.methods(user) == ["passkey"]
        last_used = await console.scalar(
            select(staff_passkey.c.last_used_at).where(staff_passkey.c.user_id == user)
        )
        assert last_used is not None
    finally:
        await context.close()


async def test_second_factor_page_with_the_passkey_and_without_javascript(
    console: ConsoleSite, browser: Any
) -> None:
    """A user who has a passkey is asked to use it; a browser without JavaScript is told that
    passkeys need it (and no button that cannot work is shown)."""
    email = f"{unique('nojs')}@link-test.example.no"
    _, cookie = await console.administrator(email)
    context = await browser.new_context(
        java_script_enabled=False, viewport={"width": 375, "height": 812}
    )
    await context.add_cookies([{"name": "samhjelp_staff", "value": cookie, "url": console.url}])
    page = await context.new_page()
    try:
        await page.goto(f"{console.url}/ansatt/logg?lang=en")
        assert "/ansatt/to-faktor" in page.url
        text = await page.inner_text("main")
        assert "Passkeys need JavaScript" in text
        assert not await page.locator("[data-passkey=register]").is_visible()
        await shot(page, "staff-second-factor-nojs-en-375")
    finally:
        await context.close()
