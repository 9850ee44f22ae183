"""A database that stops answering must fail requests quickly, not hold them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from intake.crypto import ContactCipher
from samhjelp.app import Services, create_app
from samhjelp.database import Timeouts, make_engine
from samhjelp.settings import Settings


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP server that accepts connections and never says a word (a hung database)."""
    held: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_readiness_answers_503_within_two_seconds_when_the_database_hangs(
    silent_server: int, tmp_path: Path, cipher: ContactCipher
) -> None:
    settings = Settings(data_dir=tmp_path, scheduler_enabled=False)
    # The service's own settings (defaults: 5 s to connect), pointed at the silent server.
    engine = make_engine(
        f"postgresql+asyncpg://postgres@127.0.0.1:{silent_server}/samhjelp",
        pool_size=2,
        timeouts=Timeouts.from_settings(settings),
    )
    services = Services(
        settings=settings,
        engine=engine,
        sessionmaker=async_sessionmaker(engine, expire_on_commit=False),
        cipher=cipher,
    )
    try:
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            started = time.monotonic()
            # The outer bound only keeps a regression from hanging the suite.
            answer = await asyncio.wait_for(client.get("/health/ready"), timeout=30)
            elapsed = time.monotonic() - started
    finally:
        await engine.dispose()
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["title"] == "Database unreachable"
    assert elapsed < 2.0, f"readiness took {elapsed:.1f} s"


async def test_a_statement_longer_than_the_timeout_fails_with_a_clear_error(
    database_url: str,
) -> None:
    engine = make_engine(database_url, pool_size=1, timeouts=Timeouts(statement=0.5))
    try:
        started = time.monotonic()
        with pytest.raises(DBAPIError) as failed:
            async with engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT pg_sleep(10)")), timeout=8)
        elapsed = time.monotonic() - started
    finally:
        await engine.dispose()
    assert "statement timeout" in str(failed.value.orig)
    assert elapsed < 3.0


async def test_waiting_for_a_row_lock_ends_by_timeout(
    database_url: str, engine: AsyncEngine
) -> None:
    waiting = make_engine(database_url, pool_size=1, timeouts=Timeouts(lock=0.5, statement=20))
    try:
        async with engine.connect() as holder:
            await holder.execute(
                text("SELECT slug FROM region WHERE slug = 'oslo' FOR UPDATE")
            )  # held until this block rolls back
            started = time.monotonic()
            with pytest.raises(DBAPIError) as failed:
                async with waiting.begin() as conn:
                    await asyncio.wait_for(
                        conn.execute(text("UPDATE region SET name = name WHERE slug = 'oslo'")),
                        timeout=15,
                    )
            elapsed = time.monotonic() - started
            await holder.rollback()
    finally:
        await waiting.dispose()
    assert getattr(failed.value.orig, "sqlstate", None) == "55P03"  # lock_not_available
    assert elapsed < 3.0
