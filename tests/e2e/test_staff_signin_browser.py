"""Signing in to the staff console by e-mail link, in real headless Chromium at 375 px.

Ask for a link → the mail arrives at a real SMTP server (aiosmtpd) without waiting for the
scheduled delivery (the page runs one delivery pass after its commit) → open the link → press
the button → the console → the account page → sign out. Once more with the keyboard alone.
axe-core finds no WCAG 2.1 A/AA violation on the sign-in, account, users and audit pages in
bokmål, nynorsk and English, and no page scrolls sideways at 375 px. Screenshots go to
/work/notes/shots when that folder exists.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from e2e.support import LANGS, axe_violations, free_port
from intake.crypto import ContactCipher
from notify import Channel
from notify.smtp import SmtpNotifier
from notify.tables import outbox
from notify.testing import RecordingSmtpServer
from samhjelp.app import create_app
from samhjelp.services import Services
from samhjelp.settings import Settings
from staff import audit
from staff.access import Role, Viewer
from staff.sessions import COOKIE
from staff.tables import staff_audit, staff_user
from staff_support import make_staff_user, signed_in_cookie

pytestmark = pytest.mark.browser

SHOTS = Path("/work/notes/shots")
TAKE_SHOTS = SHOTS.is_dir()  # the notes of this project's sessions, when present
PHONE = {"width": 375, "height": 812}
WIDE = {"width": 1280, "height": 900}


@dataclass
class Console:
    url: str
    engine: AsyncEngine
    smtp: RecordingSmtpServer
    users: list[uuid.UUID] = field(default_factory=list)

    async def user(self, email_address: str, name: str) -> uuid.UUID:
        maker = async_sessionmaker(self.engine, expire_on_commit=False)
        async with maker.begin() as s:
            user = await make_staff_user(s, "administrator", name=name, email=email_address)
        self.users.append(user)
        return user

    async def cookie(self, user: uuid.UUID) -> str:
        """A two-factor session (as after a passkey): the users and audit pages need one."""
        maker = async_sessionmaker(self.engine, expire_on_commit=False)
        async with maker.begin() as s:
            cookies = await signed_in_cookie(s, user, now=datetime.now(UTC))
            viewer = Viewer(user, "Kari Nettleser", "", Role.ADMINISTRATOR, None, None, True)
            await audit.record(s, viewer, "user.invite", now=datetime.now(UTC))
        return cookies[COOKIE]

    async def link_mail(self, to: str, seen: int, seconds: float = 10) -> str:
        """The sign-in link of the first new mail to ``to`` (polls: no delivery job runs)."""
        for _ in range(int(seconds / 0.1)):
            for raw in self.smtp.messages[seen:]:
                msg = email.message_from_bytes(raw, policy=email.policy.default)
                if to in str(msg["To"]):
                    body = msg.get_body(("plain",))
                    assert body is not None
                    found = re.search(
                        re.escape(self.url) + r"/ansatt/lenke/\S+", body.get_content()
                    )
                    assert found, body.get_content()
                    return found.group(0)
            await asyncio.sleep(0.1)
        raise AssertionError(f"no mail to {to} within {seconds} s")


@pytest.fixture(scope="module")
def smtp() -> Iterator[RecordingSmtpServer]:
    server = RecordingSmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def console(
    engine: AsyncEngine, smtp: RecordingSmtpServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Console]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    maker = async_sessionmaker(engine, expire_on_commit=False)
    mail = SmtpNotifier(
        "127.0.0.1", smtp.port, "samhjelp <noreply@samhjelp.invalid>", tls="none", timeout=5
    )
    services = Services(
        settings=Settings(
            data_dir=tmp_path_factory.mktemp("signin"),
            public_base_url=url,
            post_rate_per_minute=10_000,
            scheduler_enabled=False,
            link_secret="signin-e2e-secret-" + "x" * 32,
        ),
        engine=engine,
        sessionmaker=maker,
        cipher=ContactCipher(bytes(range(32))),
        notifiers={Channel.EMAIL: mail, Channel.SMS: mail},
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(services), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.02)
    site = Console(url, engine, smtp)
    try:
        yield site
    finally:
        server.should_exit = True
        await task
        async with maker.begin() as s:
            refs = [f"staff:{u}" for u in site.users]
            await s.execute(delete(outbox).where(outbox.c.recipient_ref.in_(refs)))
            await s.execute(delete(staff_audit).where(staff_audit.c.user_id.in_(site.users)))
            await s.execute(delete(staff_user).where(staff_user.c.id.in_(site.users)))


async def _context(browser: Any, viewport: dict[str, int] = PHONE) -> Any:
    return await browser.new_context(bypass_csp=True, viewport=viewport)


async def _check(page: Any, name: str) -> None:
    """No axe violation, no sideways scrolling at phone width, and a screenshot."""
    assert await axe_violations(page) == [], name
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{name} scrolls sideways ({width} px)"
    if TAKE_SHOTS:
        await page.screenshot(path=str(SHOTS / f"staff-{name}.png"), full_page=True)


async def test_sign_in_by_link_then_sign_out(console: Console, browser: Any) -> None:
    address = f"kari.{uuid.uuid4().hex[:6]}@link-e2e.example.no"
    await console.user(address, "Kari Nettleser")
    context = await _context(browser)
    page = await context.new_page()
    await page.goto(f"{console.url}/ansatt/konto")  # not signed in: to the sign-in page
    assert "/ansatt/logg-inn?neste=/ansatt/konto" in page.url
    await _check(page, "sign-in-nb-375")
    await page.fill("#email", address)
    seen = len(console.smtp.messages)
    await page.click("form.sign-in button[type=submit]")
    await page.wait_for_selector("text=a sign-in link is on its way")
    await _check(page, "sign-in-sent-nb-375")
    link = await console.link_mail(address, seen)  # arrives without any delivery job run
    await page.goto(link)
    await _check(page, "sign-in-link-nb-375")
    await page.click("button:has-text('Kari Nettleser')")
    await page.wait_for_url("**/ansatt/konto")
    assert await page.locator(".console-bar").is_visible()
    assert address in await page.inner_text("main")
    cookie = next(c for c in await context.cookies() if c["name"] == COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    await _check(page, "account-nb-375")
    await page.goto(link)  # used: says so, offers a new one
    assert "/ansatt/logg-inn" in await page.inner_html("main")
    await _check(page, "sign-in-link-gone-nb-375")
    await page.goto(f"{console.url}/ansatt/konto")
    await page.click(".console-user button[type=submit]")
    await page.wait_for_url("**/ansatt/logg-inn?ok=signed_out")
    await page.goto(f"{console.url}/ansatt/konto")
    assert "/ansatt/logg-inn" in page.url
    await context.close()


async def test_sign_in_with_the_keyboard_alone(console: Console, browser: Any) -> None:
    address = f"tast.{uuid.uuid4().hex[:6]}@link-e2e.example.no"
    await console.user(address, "Tore Tastatur")
    context = await _context(browser)
    page = await context.new_page()
    await page.goto(f"{console.url}/ansatt/logg-inn?lang=en")
    await _tab_to(page, "#email")
    await page.keyboard.type(address)
    seen = len(console.smtp.messages)
    await page.keyboard.press("Enter")
    await page.wait_for_selector("text=a sign-in link is on its way")
    link = await console.link_mail(address, seen)
    await page.goto(link)
    await _tab_to(page, "main button[type=submit]")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r".*/ansatt(\?.*)?$|.*/ansatt/(?!logg-inn|lenke).*"))
    assert await page.locator(".console-bar").count() == 1
    await _tab_to(page, ".console-user button[type=submit]")
    await page.keyboard.press("Enter")
    await page.wait_for_url("**/ansatt/logg-inn?ok=signed_out")
    await context.close()


async def _tab_to(page: Any, selector: str, limit: int = 80) -> None:
    for _ in range(limit):
        if await page.evaluate(f"document.activeElement.matches({selector!r})"):
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {selector}")


@pytest.mark.parametrize("lang", LANGS)
async def test_my_pages_pass_axe_in_every_language(
    console: Console, browser: Any, lang: str
) -> None:
    address = f"axe.{lang}.{uuid.uuid4().hex[:6]}@link-e2e.example.no"
    user = await console.user(address, "Kari Nettleser")
    context = await _context(browser)
    page = await context.new_page()
    await page.goto(f"{console.url}/ansatt/logg-inn?lang={lang}")
    await _check(page, f"sign-in-{lang}-375")
    await page.fill("#email", "not an address")
    await page.click("form.sign-in button[type=submit]")
    await page.wait_for_selector("#email-error")
    await _check(page, f"sign-in-error-{lang}-375")
    await page.goto(f"{console.url}/ansatt/lenke/{'A' * 43}")
    await _check(page, f"sign-in-link-gone-{lang}-375")
    await context.add_cookies(
        [{"name": COOKIE, "value": await console.cookie(user), "url": console.url}]
    )
    for path, name in (
        ("/ansatt/konto", "account"),
        ("/ansatt/brukere", "users"),
        ("/ansatt/brukere/ny", "users-invite"),
        ("/ansatt/logg", "audit"),
    ):
        response = await page.goto(f"{console.url}{path}")
        assert response is not None and response.status == 200, path
        await _check(page, f"{name}-{lang}-375")
    await page.goto(f"{console.url}/ansatt/brukere/ny")
    await page.click("form.invite-form button[type=submit]")  # empty: errors by the fields
    await page.wait_for_selector("#name-error")
    await _check(page, f"users-invite-error-{lang}-375")
    if lang == "nb":
        wide = await _context(browser, WIDE)
        wpage = await wide.new_page()
        await wide.add_cookies(
            [{"name": COOKIE, "value": await console.cookie(user), "url": console.url}]
        )
        for path, name in (("/ansatt/brukere", "users"), ("/ansatt/logg", "audit")):
            await wpage.goto(f"{console.url}{path}?lang=nb")
            await _check(wpage, f"{name}-nb-1280")
        await wide.close()
    await context.close()
    async with console.engine.connect() as conn:
        assert await conn.scalar(select(staff_user.c.id).where(staff_user.c.id == user))
