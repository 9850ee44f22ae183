"""Fixtures for notify's database tests.

Delivery opens its own transactions and two workers must really commit to compete for rows, so
these tests cannot run inside the shared rolled-back transaction. They use committing sessions
on the session-scoped ``engine`` and empty the outbox after each test instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from notify.tables import outbox


@pytest.fixture
async def maker(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    factory = async_sessionmaker(engine, expire_on_commit=False)
    yield factory
    async with factory.begin() as session:
        await session.execute(delete(outbox))
