"""Outbox throughput: 10,000 queued e-mails drained to a local aiosmtpd server.

Measures messages per second with 1, 2 and 4 concurrent delivery workers (each a loop of
``deliver_due`` with its own worker id and ``DeliveryPolicy.concurrency`` lanes, each lane one
reused SMTP connection per batch), on real PostgreSQL. Every run asserts exactly-once delivery
by Message-ID at the sink (each outbox id arrived once, nothing else arrived).

Usage:
    .venv/bin/python bench/outbox_throughput.py [--messages 10000] [--workers 1 2 4]
        [--concurrency 4]

For the baseline, run the same command on the previous commit in a git worktree in the same
session (see docs/notify.md, "Throughput").

Database: ``BENCH_DATABASE_URL`` if set, else a throw-away database on the PostgreSQL at
127.0.0.1:5432 (user postgres), created, migrated and dropped by this script.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import secrets
import time
from collections import Counter
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

import asyncpg
from aiosmtpd.controller import Controller
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

import notify
from intake.crypto import ContactCipher
from notify import DeliveryPolicy, deliver_due, enqueue
from notify.smtp import SmtpNotifier
from notify.tables import outbox
from notify.testing import free_port, sample_reminder
from samhjelp.database import upgrade_on

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def fill(maker: async_sessionmaker[AsyncSession], cipher: ContactCipher, n: int) -> None:
    for start in range(0, n, 1000):
        async with maker.begin() as session:
            for i in range(start, min(n, start + 1000)):
                await enqueue(session, sample_reminder(cipher, i), now=NOW)


MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class _IdHandler:
    """aiosmtpd handler: the Message-ID of each accepted e-mail and the connection it came on."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.sessions: dict[int, object] = {}  # strong references keep the ids unique

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        head = envelope.content.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(head)
        self.ids.append(found.group(1).decode() if found else "")
        self.sessions[id(session)] = session
        return "250 Message accepted"


def _sink_main(conn: Connection, port: int) -> None:
    """The sink as a process of its own, like a real relay (no GIL shared with the workers)."""
    handler = _IdHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    conn.send("ready")
    while conn.recv() == "take":
        conn.send((handler.ids, len(handler.sessions)))
        handler.ids, handler.sessions = [], {}
    controller.stop()


class Sink:
    """An aiosmtpd server in a thread of this process or in a process of its own."""

    def __init__(self, where: str) -> None:
        self.port = free_port()
        self._handler = _IdHandler()
        if where == "thread":
            self._controller: Controller | None = Controller(
                self._handler, hostname="127.0.0.1", port=self.port
            )
            self._controller.start()
            return
        self._controller = None
        self._conn, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_sink_main, args=(child, self.port), daemon=True
        )
        self._process.start()
        assert self._conn.recv() == "ready"

    def take(self) -> tuple[list[str], int]:
        """Message-IDs received and connections that delivered mail since the last take."""
        if self._controller is not None:
            taken = self._handler.ids, len(self._handler.sessions)
            self._handler.ids, self._handler.sessions = [], {}
            return taken
        self._conn.send("take")
        ids, connections = self._conn.recv()
        return ids, connections

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            return
        self._conn.send("stop")
        self._process.join(timeout=10)


async def assert_exactly_once(maker: async_sessionmaker[AsyncSession], ids: list[str]) -> None:
    """Each outbox message reached the sink exactly once, by Message-ID."""
    async with maker() as session:
        queued = (await session.execute(select(outbox.c.id))).scalars().all()
    received = Counter(ids)
    expected = Counter(f"<{i}@samhjelp>" for i in queued)
    duplicates = sum(n - 1 for n in received.values())
    assert received == expected, (
        f"{len(expected - received)} missing, {duplicates} duplicates, "
        f"{len(received - expected)} unknown"
    )


async def worker(
    maker: async_sessionmaker[AsyncSession],
    smtp: SmtpNotifier,
    cipher: ContactCipher,
    name: str,
    policy: DeliveryPolicy,
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
            policy=policy,
        )
        if report.claimed == 0:
            return sent
        sent += report.sent


async def run(
    url: str, messages: int, worker_counts: list[int], concurrency: int, sink_in: str
) -> None:
    # Each lane of each worker records its outcomes on a pooled connection of its own.
    engine = create_async_engine(url, pool_size=max(10, 4 * concurrency + 2))
    # The same script measures the baseline: code from before lanes has no such field.
    lanes = "concurrency" in DeliveryPolicy.__dataclass_fields__
    policy = DeliveryPolicy(concurrency=concurrency) if lanes else DeliveryPolicy()
    async with engine.begin() as conn:
        await conn.run_sync(upgrade_on)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    cipher = ContactCipher(secrets.token_bytes(32))
    server = Sink(sink_in)
    smtp = SmtpNotifier("127.0.0.1", server.port, "noreply@example.no", tls="none", timeout=10)
    print(
        f"code: {notify.__file__}; sink: {sink_in}; lanes per worker: {concurrency if lanes else 1}"
    )
    # CPU of this process (the workers; the sink and PostgreSQL run in their own) per message:
    # on a shared machine wall-clock rates swing with the load, this far less.
    print(
        f"{'workers':>7} {'messages':>9} {'seconds':>8} {'msg/s':>8} {'connections':>11}"
        f" {'cpu ms/msg':>10}"
    )
    try:
        for count in worker_counts:
            async with maker.begin() as session:
                await session.execute(delete(outbox))
            await fill(maker, cipher, messages)
            server.take()
            started, cpu = time.perf_counter(), time.process_time()
            sent = await asyncio.gather(
                *(worker(maker, smtp, cipher, f"bench-{i}", policy) for i in range(count))
            )
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
            received, connections = server.take()
            assert sum(sent) == messages == len(received), (sum(sent), len(received))
            await assert_exactly_once(maker, received)
            print(
                f"{count:>7} {messages:>9} {elapsed:>8.1f} {messages / elapsed:>8.0f}"
                f" {connections:>11} {cpu / messages * 1000:>10.2f}"
            )
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
    parser.add_argument("--concurrency", type=int, default=4, help="lanes per worker")
    parser.add_argument(
        "--sink",
        choices=("process", "thread"),
        default="process",
        help="aiosmtpd in its own process (like a real relay) or in a thread of this one",
    )
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        asyncio.run(run(url, args.messages, args.workers, args.concurrency, args.sink))
        return
    name = f"samhjelp_bench_{secrets.token_hex(4)}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(
            run(
                f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
                args.messages,
                args.workers,
                args.concurrency,
                args.sink,
            )
        )
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
