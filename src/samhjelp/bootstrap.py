"""Start-up: resolve the database (embedded or given), the contact key, migrate and seed."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from intake.crypto import ContactCipher, load_or_create_key_file, parse_key
from intake.reference import seed_reference
from matching.job import Planner
from notify.settings import NotifySettings, notifiers_from_settings
from samhjelp.database import (
    Timeouts,
    make_engine,
    make_sessionmaker,
    migrate,
    migrations_dir,
    redact,
    start_embedded,
)
from samhjelp.services import Services
from samhjelp.settings import Settings

log = logging.getLogger("samhjelp")


def resolve_database_url(settings: Settings) -> str:
    """The configured URL, or the embedded PostgreSQL's (started on first use)."""
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.data_dir)


def contact_key(settings: Settings) -> bytes:
    if settings.contact_key:
        return parse_key(settings.contact_key)
    # Development only (production refuses to start without a key: see Settings).
    return load_or_create_key_file(settings.data_dir / "contact.key")


def link_secret(settings: Settings) -> str:
    if settings.link_secret:
        return settings.link_secret
    path = settings.data_dir / "link.key"
    return load_or_create_key_file(path).hex()


def reference_csv() -> Path:
    return migrations_dir() / "reference" / "kommuner_2024.csv"


async def seed_on(connection: AsyncConnection, *, demo: bool = False) -> dict[str, int]:
    """Load reference data (and optionally the demo registry) inside ``connection``'s
    transaction (a savepoint: the caller's transaction decides)."""
    from intake.demo import seed_demo

    async with AsyncSession(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as session:
        counts = await seed_reference(session, reference_csv())
        if demo:
            counts["demo_organisations"] = await seed_demo(session)
        await session.commit()  # releases the savepoint; the outer transaction commits
    return counts


async def seed(url: str, *, demo: bool = False) -> dict[str, int]:
    """Load reference data (and optionally the demo registry) in one transaction, under the
    same lock as migrations so replicas do not upsert the same rows at once."""

    async def run(connection: AsyncConnection) -> dict[str, int]:
        return await seed_on(connection, demo=demo)

    counts = await migrate(url, then=run)
    assert counts is not None
    return counts


def prepare_database(settings: Settings, *, demo: bool = False) -> str:
    """Migrate and seed under one lock; returns the URL. Synchronous: runs before the server's
    event loop."""
    url = resolve_database_url(settings)
    log.info("database", extra={"url": redact(url)})
    asyncio.run(seed(url, demo=demo))
    return url


def notify_settings(settings: Settings) -> NotifySettings:
    """Notify's settings; the folder channel defaults to ``<data_dir>/outbox``."""
    configured = NotifySettings()
    if "outbox_dir" not in configured.model_fields_set:
        configured = configured.model_copy(update={"outbox_dir": settings.data_dir / "outbox"})
    return configured


def build_services(
    settings: Settings, url: str, *, pool_size: int | None = None, planner: Planner | None = None
) -> Services:
    """The one place a deployment's services are built: the server and every command.

    ``pool_size`` defaults to the setting; a command that runs one transaction passes 1.
    """
    engine = make_engine(
        url,
        pool_size=pool_size or settings.db_pool_size,
        timeouts=Timeouts.from_settings(settings),
    )
    notify = notify_settings(settings)
    return Services(
        settings=settings,
        engine=engine,
        sessionmaker=make_sessionmaker(engine),
        cipher=ContactCipher(contact_key(settings)),
        link_secret=link_secret(settings),
        notify=notify,
        notifiers=notifiers_from_settings(notify),
        planner=planner,
    )
