"""Database wiring: the embedded PostgreSQL default, engines, migrations.

With no ``DATABASE_URL`` the service starts an embedded PostgreSQL (``pgserver``) in the data
folder, so ``samhjelp serve`` runs on a machine with nothing installed.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)

if TYPE_CHECKING:
    from samhjelp.settings import Settings

log = logging.getLogger(__name__)

_embedded: Any = None

T = TypeVar("T")


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


@dataclass(frozen=True)
class Timeouts:
    """How long the service waits for PostgreSQL (seconds; ``None``: no limit).

    Without these, a database that stops answering holds every request (and every pooled
    connection) for as long as it hangs.
    """

    connect: float | None = 5.0
    statement: float | None = 30.0
    lock: float | None = 10.0
    pool: float = 10.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Timeouts:
        return cls(
            connect=settings.db_connect_timeout_seconds,
            statement=settings.db_statement_timeout_seconds,
            lock=settings.db_lock_timeout_seconds,
            pool=settings.db_pool_timeout_seconds,
        )


#: Migrations may rewrite large tables and wait for another replica's migration lock.
UNBOUNDED = Timeouts(connect=30.0, statement=None, lock=None, pool=30.0)


def connect_args(timeouts: Timeouts) -> dict[str, Any]:
    """asyncpg's connect arguments for ``timeouts`` (server settings apply per session)."""
    server: dict[str, str] = {}
    args: dict[str, Any] = {"server_settings": server}
    if timeouts.connect is not None:
        args["timeout"] = timeouts.connect
    if timeouts.statement is not None:
        server["statement_timeout"] = str(int(timeouts.statement * 1000))
        # The driver's own limit fires a moment after the server's, so the usual error is
        # PostgreSQL's clear "canceling statement due to statement timeout"; the driver limit
        # covers a server that does not answer at all.
        args["command_timeout"] = timeouts.statement + 2.0
    if timeouts.lock is not None:
        server["lock_timeout"] = str(int(timeouts.lock * 1000))
    return args


def make_engine(url: str, *, pool_size: int = 10, timeouts: Timeouts | None = None) -> AsyncEngine:
    """The service's engine.

    ``hide_parameters``: SQLAlchemy otherwise appends every bound value of a failed statement to
    its error message, and that message ends up in logs (see ``samhjelp.logs``).
    No pre-ping: it costs a round trip on every checkout; asyncpg invalidates a broken
    connection on first use and the request fails cleanly (rolled back) instead.
    """
    timeouts = timeouts or Timeouts()
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=timeouts.pool,
        hide_parameters=True,
        connect_args=connect_args(timeouts),
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    # expire_on_commit=False: handlers read values after the request transaction commits.
    return async_sessionmaker(engine, expire_on_commit=False)


#: Key of the session-wide lock that serialises migrations and seeding across replicas
#: ("samh" "migr" in ASCII; the jobs use their own keys).
MIGRATION_LOCK = 0x73616D68_6D696772


async def migrate(
    url: str, *, then: Callable[[AsyncConnection], Awaitable[T]] | None = None
) -> T | None:
    """Apply all migrations, then ``then(connection)``, in one transaction under a lock.

    Replicas started together on an empty database would otherwise all create
    ``alembic_version`` and all but one crash on its primary key. The transaction-scoped
    advisory lock makes them take turns: the first migrates and seeds, the others wait, find
    the schema at head and re-run the idempotent seeding. Committing releases the lock, so a
    replica that dies mid-migration frees it too. No statement or lock timeout here: a
    migration may legitimately rewrite a large table, and waiting replicas wait for it.
    """
    engine = make_engine(url, pool_size=1, timeouts=UNBOUNDED)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            await conn.run_sync(upgrade_on)
            return await then(conn) if then is not None else None
    finally:
        await engine.dispose()


def upgrade(url: str) -> None:
    """Apply all migrations (synchronous; call before the event loop or in a thread)."""
    asyncio.run(migrate(url))


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
