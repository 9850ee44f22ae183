"""Alembic environment: runs migrations on the URL the caller put in the config.

`samhjelp db upgrade` (and the service at start-up) pass the URL in through
``config.attributes["url"]`` or the ``sqlalchemy.url`` option; a connection can also be handed
in as ``config.attributes["connection"]`` so tests run migrations on their own connection.
"""

from __future__ import annotations

import asyncio
import importlib

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config


def _metadatas() -> list[object]:
    # Each package owns its tables; a package that does not exist yet is simply skipped.
    found = []
    for name in ("intake.tables", "notify.tables", "matching.tables", "groups.tables"):
        try:
            found.append(importlib.import_module(name).metadata)
        except ModuleNotFoundError:
            continue
    return found


target_metadata = _metadatas()


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    async with engine.connect() as conn:
        await conn.run_sync(_run)
        await conn.commit()
    await engine.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    asyncio.run(_run_async(url))


run_migrations_online()
