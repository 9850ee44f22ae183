"""A console server for the passkey and identity-provider browser tests.

WebAuthn needs a secure context and a domain as relying party: ``http://localhost`` is both
(``127.0.0.1`` is neither a domain nor acceptable as RP id), so this server's public URL is
``http://localhost:<port>`` unlike the shared ``site`` fixture's. Staff users made here are
deleted afterwards with their sessions, passkeys and audit rows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from e2e.support import free_port
from intake.crypto import ContactCipher
from samhjelp.app import Services, create_app
from samhjelp.settings import Settings
from staff import sessions
from staff.tables import staff_audit, staff_session, staff_user
from staff_support import make_staff_user, signed_in_cookie

SHOTS = Path("/work/notes/shots")
#: Screenshots only where the folder exists (the notes of this project's sessions).
TAKE_SHOTS = SHOTS.is_dir()
PHONE = {"width": 375, "height": 812}


@dataclass
class ConsoleSite:
    url: str
    engine: AsyncEngine
    users: list[uuid.UUID] = field(default_factory=list)

    async def administrator(
        self, email: str, *, method: sessions.Method | None = "email"
    ) -> tuple[uuid.UUID, str | None]:
        """A national administrator (no organisation needed) and, unless ``method`` is None,
        a session cookie of that method."""
        maker = async_sessionmaker(self.engine, expire_on_commit=False)
        async with maker.begin() as s:
            user = await make_staff_user(s, "administrator", name="Kari Nettleser", email=email)
            cookie = None
            if method:
                cookies = await signed_in_cookie(s, user, method=method, now=datetime.now(UTC))
                cookie = cookies[sessions.COOKIE]
        self.users.append(user)
        return user, cookie

    async def methods(self, user: uuid.UUID) -> list[str]:
        """The methods of the user's open sessions, oldest first."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(staff_session.c.method)
                .where(staff_session.c.user_id == user, staff_session.c.revoked_at.is_(None))
                .order_by(staff_session.c.created_at)
            )
            return [r.method for r in rows]

    async def scalar(self, query: Any) -> Any:
        async with self.engine.connect() as conn:
            return await conn.scalar(query)


@asynccontextmanager
async def console_site(
    engine: AsyncEngine, data_dir: Path, **settings: Any
) -> AsyncIterator[ConsoleSite]:
    port = free_port()
    url = f"http://localhost:{port}"
    maker = async_sessionmaker(engine, expire_on_commit=False)
    config = Settings(
        data_dir=data_dir,
        public_base_url=url,
        scheduler_enabled=False,
        link_secret="e2e-console-secret-" + "x" * 32,
        **settings,
    )
    services = Services(
        settings=config, engine=engine, sessionmaker=maker, cipher=ContactCipher(bytes(range(32)))
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
    site = ConsoleSite(url, engine)
    try:
        yield site
    finally:
        server.should_exit = True
        await task
        async with maker.begin() as s:
            if site.users:
                await s.execute(delete(staff_audit).where(staff_audit.c.user_id.in_(site.users)))
                await s.execute(delete(staff_user).where(staff_user.c.id.in_(site.users)))


async def phone_context(browser: Any, site: ConsoleSite, cookie: str | None) -> Any:
    context = await browser.new_context(bypass_csp=True, viewport=PHONE)
    if cookie:
        await context.add_cookies([{"name": sessions.COOKIE, "value": cookie, "url": site.url}])
    return context


async def shot(page: Any, name: str) -> None:
    if TAKE_SHOTS:
        await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
