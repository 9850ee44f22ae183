"""The hot path's pool checkout (issue 12): an idle connection is taken and given back without
SQLAlchemy's greenlet, and whatever needs I/O (connecting, reconnecting an invalidated
connection, closing an overflow connection) still goes through SQLAlchemy's async path."""

from __future__ import annotations

import gc
import warnings
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool

from intake import registration
from samhjelp.database import make_engine


@pytest.fixture
async def small_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database_url, pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()


def _pool(engine: AsyncEngine) -> QueuePool:
    pool = engine.sync_engine.pool
    assert isinstance(pool, QueuePool)
    return pool


async def test_an_idle_connection_needs_no_greenlet(
    small_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with registration.hot_connection(small_engine) as db:
        assert await db.fetchval("SELECT 1") == 1
    async_calls: list[str] = []
    spawn, checkout = registration.greenlet_spawn, AsyncEngine.raw_connection

    async def counted_spawn(fn: Any, *args: Any, **kwargs: Any) -> Any:
        async_calls.append("greenlet_spawn")
        return await spawn(fn, *args, **kwargs)

    async def counted_checkout(self: AsyncEngine) -> Any:
        async_calls.append("raw_connection")
        return await checkout(self)

    monkeypatch.setattr(registration, "greenlet_spawn", counted_spawn)
    monkeypatch.setattr(AsyncEngine, "raw_connection", counted_checkout)
    for _ in range(3):
        async with registration.hot_connection(small_engine) as db:
            assert await db.fetchval("SELECT 2") == 2
    assert async_calls == []
    assert _pool(small_engine).checkedout() == 0


async def test_connect_overflow_and_reconnect_take_the_async_path(
    small_engine: AsyncEngine,
) -> None:
    pool = _pool(small_engine)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Nothing idle: the first checkout connects; a second one is an overflow connection.
        async with (
            registration.hot_connection(small_engine) as first,
            registration.hot_connection(small_engine) as second,
        ):
            assert await first.fetchval("SELECT 1") == await second.fetchval("SELECT 1")
            assert pool.checkedout() == 2
        # The one given back first took the pool's one place; the other was closed (I/O).
        assert first.is_closed() and not second.is_closed()
        assert (pool.checkedin(), pool.checkedout()) == (1, 0)
        # A connection that died is invalidated; the idle record then has to reconnect.
        with pytest.raises(OSError):
            async with registration.hot_connection(small_engine) as dying:
                raise OSError("connection reset")
        assert dying.is_closed()
        async with registration.hot_connection(small_engine) as fresh:
            assert fresh is not dying and await fresh.fetchval("SELECT 3") == 3
        assert (pool.checkedin(), pool.checkedout()) == (1, 0)
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)], caught
