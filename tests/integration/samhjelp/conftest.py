"""A fresh, empty database for the tests that start `samhjelp serve` from nothing."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Iterator

import asyncpg
import pytest

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A fresh, empty database on the local server (not the suite's migrated one)."""
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError:
        if os.environ.get("CI") == "true":
            pytest.fail("CI: PostgreSQL at 127.0.0.1:5432 is not reachable")
        pytest.skip("needs PostgreSQL at 127.0.0.1:5432 to create a fresh database")
    name = f"samhjelp_empty_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
