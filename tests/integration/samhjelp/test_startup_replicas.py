"""Replicas started together on an empty database all become ready.

Without a lock each `samhjelp serve` runs the migrations at once; all but one crash on the
primary key of ``alembic_version`` (or on a table another replica just created).
"""

from __future__ import annotations

import asyncio
import base64
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REPLICAS = 3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    name = f"samhjelp_replicas_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_three_replicas_started_at_once_on_an_empty_database_all_become_ready(
    empty_database: str, tmp_path: Path
) -> None:
    env = os.environ | {
        "DATABASE_URL": empty_database,
        "SAMHJELP_SCHEDULER_ENABLED": "false",
        "SAMHJELP_CONTACT_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "SAMHJELP_LINK_SECRET": secrets.token_urlsafe(48),
        "SAMHJELP_DATA_DIR": str(tmp_path),
        "SAMHJELP_LOG_LEVEL": "WARNING",
    }
    ports = [_free_port() for _ in range(REPLICAS)]
    logs = [tmp_path / f"replica-{i}.log" for i in range(REPLICAS)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "samhjelp.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    ready: set[int] = set()
    try:
        deadline = time.monotonic() + 90
        while len(ready) < REPLICAS and time.monotonic() < deadline:
            for i, port in enumerate(ports):
                if i in ready:
                    continue
                if procs[i].poll() is not None:
                    pytest.fail(
                        f"replica {i} exited with {procs[i].returncode}:\n"
                        + logs[i].read_text()[-3000:]
                    )
                try:
                    answer = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2)
                except httpx.HTTPError:
                    continue
                if answer.status_code == 200:
                    ready.add(i)
            time.sleep(0.3)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert ready == set(range(REPLICAS)), "\n".join(
        f"replica {i}: " + logs[i].read_text()[-2000:] for i in range(REPLICAS) if i not in ready
    )
