"""Shared fixtures: a real PostgreSQL database migrated once per session, each test in a
transaction that is rolled back (pypi/warehouse style).

The database: ``TEST_DATABASE_URL`` if set; else PostgreSQL at 127.0.0.1:5432 (a fresh database
per test session, dropped at the end, so parallel runs do not collide); else the embedded
``pgserver``. Under CI (``CI=true``) a missing server fails the run instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from helpers import TEST_KEY, FakeClock
from intake.crypto import ContactCipher
from intake.reference import seed_reference
from samhjelp.app import Services, create_app
from samhjelp.database import migrations_dir, upgrade_on
from samhjelp.settings import Settings


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile (or load) the matching core's compiled greedy once, before any test: on a fresh
    clone the first compile takes ~10 s, which a test that waits for a page or a matching
    worker process should not absorb. Later processes load it from Numba's cache on disk."""
    from matching.greedy import warm_up

    warm_up()


def _local_postgres_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given.replace("postgresql://", "postgresql+asyncpg://", 1)
        return
    if _local_postgres_up():
        name = f"samhjelp_test_{secrets.token_hex(4)}"
        admin = "postgresql://postgres@127.0.0.1:5432/postgres"

        async def admin_sql(sql: str) -> None:
            conn = await asyncpg.connect(admin)
            try:
                await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(admin_sql(f'CREATE DATABASE "{name}"'))
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        asyncio.run(admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        return
    if os.environ.get("CI") == "true":
        pytest.exit("CI: PostgreSQL at 127.0.0.1:5432 is not reachable", returncode=3)
    from samhjelp.database import start_embedded

    yield start_embedded(tmp_path_factory.mktemp("pg"))


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_async_engine(database_url, pool_size=10, max_overflow=10)
    async with eng.begin() as conn:
        await conn.run_sync(upgrade_on)
    async with async_sessionmaker(eng).begin() as session:
        await seed_reference(session, migrations_dir() / "reference" / "kommuner_2024.csv")
    yield eng
    await eng.dispose()


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back after the test."""
    async with engine.connect() as connection:
        outer = await connection.begin()
        yield connection
        await outer.rollback()


@pytest.fixture
async def session(conn: AsyncConnection) -> AsyncIterator[AsyncSession]:
    async with AsyncSession(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as s:
        yield s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cipher() -> ContactCipher:
    return ContactCipher(TEST_KEY)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        public_base_url="http://testserver",
        post_rate_per_minute=1000,
        scheduler_enabled=False,
    )


@pytest.fixture
def services(
    engine: AsyncEngine,
    conn: AsyncConnection,
    cipher: ContactCipher,
    clock: FakeClock,
    settings: Settings,
) -> Services:
    """Services whose sessions all join the test's rolled-back transaction."""
    maker = async_sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return Services(
        settings=settings,
        engine=engine,
        sessionmaker=maker,
        cipher=cipher,
        clock=clock,
        link_secret="test-link-secret-" + "x" * 32,
    )


@pytest.fixture
async def client(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the app in-process on the test's own event loop."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(services)), base_url="http://testserver"
    ) as c:
        yield c
