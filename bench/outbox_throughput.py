"""Outbox throughput: 10,000 queued e-mails drained to a local aiosmtpd server.

Measures messages per second with 1, 2 and 4 concurrent delivery workers (each a loop of
``deliver_due`` with its own worker id), one SMTP connection per message, on real PostgreSQL.

Usage:
    .venv/bin/python bench/outbox_throughput.py [--messages 10000] [--workers 1 2 4]

Database: ``BENCH_DATABASE_URL`` if set, else a throw-away database on the PostgreSQL at
127.0.0.1:5432 (user postgres), created, migrated and dropped by this script.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import time
from datetime import UTC, datetime

import asyncpg
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from intake.crypto import ContactCipher
from notify import DeliveryPolicy, deliver_due, enqueue
from notify.smtp import SmtpNotifier
from notify.tables import outbox
from notify.testing import RecordingSmtpServer, sample_reminder
from samhjelp.database import upgrade_on

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def fill(maker: async_sessionmaker[AsyncSession], cipher: ContactCipher, n: int) -> None:
    for start in range(0, n, 1000):
        async with maker.begin() as session:
            for i in range(start, min(n, start + 1000)):
                await enqueue(session, sample_reminder(cipher, i), now=NOW)


async def worker(
    maker: async_sessionmaker[AsyncSession],
    smtp: SmtpNotifier,
    cipher: ContactCipher,
    name: str,
) -> int:
    sent = 0
    while True:
        report = await deliver_due(
            maker,
            lambda _: smtp,
            cipher,
            now=NOW,
            batch_size=100,
            worker_id=name,
            policy=DeliveryPolicy(),
        )
        if report.claimed == 0:
            return sent
        sent += report.sent


async def run(url: str, messages: int, worker_counts: list[int]) -> None:
    engine = create_async_engine(url, pool_size=10)
    async with engine.begin() as conn:
        await conn.run_sync(upgrade_on)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    cipher = ContactCipher(secrets.token_bytes(32))
    server = RecordingSmtpServer()
    server.start()
    smtp = SmtpNotifier("127.0.0.1", server.port, "noreply@example.no", tls="none", timeout=10)
    print(f"{'workers':>7} {'messages':>9} {'seconds':>8} {'msg/s':>8}")
    try:
        for count in worker_counts:
            async with maker.begin() as session:
                await session.execute(delete(outbox))
            await fill(maker, cipher, messages)
            server.messages.clear()
            started = time.perf_counter()
            sent = await asyncio.gather(
                *(worker(maker, smtp, cipher, f"bench-{i}") for i in range(count))
            )
            elapsed = time.perf_counter() - started
            assert sum(sent) == messages == len(server.messages), (sum(sent), len(server.messages))
            print(f"{count:>7} {messages:>9} {elapsed:>8.1f} {messages / elapsed:>8.0f}")
    finally:
        server.stop()
        await engine.dispose()


async def admin(sql: str) -> None:
    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        asyncio.run(run(url, args.messages, args.workers))
        return
    name = f"samhjelp_bench_{secrets.token_hex(4)}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(
            run(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", args.messages, args.workers)
        )
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
