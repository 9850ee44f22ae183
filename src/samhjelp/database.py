"""Database wiring: the embedded PostgreSQL default, engines, migrations.

With no ``DATABASE_URL`` the service starts an embedded PostgreSQL (``pgserver``) in the data
folder, so ``samhjelp serve`` runs on a machine with nothing installed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

log = logging.getLogger(__name__)

_embedded: Any = None


def migrations_dir() -> Path:
    """Where the Alembic scripts live: ``SAMHJELP_MIGRATIONS`` or the checkout's ``db/``."""
    override = os.environ.get("SAMHJELP_MIGRATIONS")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2] / "db"


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    if url:
        cfg.attributes["url"] = url
    return cfg


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL and return an asyncpg URL for it."""
    global _embedded
    import pgserver  # imported late: only the embedded default needs it

    pgdata = (data_dir / "pgdata").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    _embedded = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    uri: str = _embedded.get_uri()
    # pgserver gives a socket URI; asyncpg takes the socket folder as ?host=.
    return uri.replace("postgresql://", "postgresql+asyncpg://", 1)


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    # No pre-ping: it costs a round trip on every checkout; asyncpg invalidates a broken
    # connection on first use and the request fails cleanly (rolled back) instead.
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    # expire_on_commit=False: handlers read values after the request transaction commits.
    return async_sessionmaker(engine, expire_on_commit=False)


def upgrade(url: str) -> None:
    """Apply all migrations (synchronous; call before the event loop or in a thread)."""
    command.upgrade(alembic_config(url), "head")


def upgrade_on(connection: Connection) -> None:
    """Apply all migrations on an open connection (tests use this inside ``run_sync``)."""
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


def redact(url: str) -> str:
    """The URL without its password, for printing where the service's data lives."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
