"""Fixtures for the life-cycle tests: the app with the link pages, a sessionmaker joining
the test's rolled-back transaction, and the life cycle's runtime settings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from groups import Lifecycle
from samhjelp.app import Services, create_app


@pytest.fixture
def maker(conn: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def lc(services: Services) -> Lifecycle:
    """The one life cycle the composition root built from the test's settings."""
    return services.lifecycle


@pytest.fixture
async def app_client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(services)),
        base_url="http://testserver",
    ) as c:
        yield c
