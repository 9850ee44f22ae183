"""The hand-written migrations must create exactly what staff.tables describes."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from staff.tables import metadata

STAFF_TABLES = tuple(metadata.tables)


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [
        d
        for d in compare_metadata(context, metadata)
        # Other packages' tables are not in this metadata.
        if any(name in repr(d) for name in STAFF_TABLES)
    ]


async def test_migration_matches_tables(engine: AsyncEngine) -> None:
    assert {"staff_user", "staff_sign_in", "staff_session", "staff_audit"} <= set(STAFF_TABLES)
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
