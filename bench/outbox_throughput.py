"""Outbox throughput: 10,000 queued e-mails drained to a local aiosmtpd server.

Measures messages per second with 1, 2 and 4 concurrent delivery workers (each a loop of
``deliver_due`` with its own worker id and ``DeliveryPolicy.concurrency`` lanes, each lane one
reused SMTP connection per batch), on real PostgreSQL. Every run asserts exactly-once delivery
by Message-ID at the sink (each outbox id arrived once, nothing else arrived).

In the same run it measures two baselines without the outbox: the **sink's ceiling** (a bare
aiosmtplib client sending the same number of pre-built e-mails over as many connections as the
workers' lanes, no database: what this aiosmtpd server takes at most on this machine) and
**our SMTP client alone** (``SmtpSession`` staging and handing over the same e-mails, no
database). The sink advertises ``PIPELINING`` like a production relay (Postfix, Exim and the
big providers all do) unless ``--no-pipelining``; aiosmtpd reads pipelined commands correctly
but does not advertise the extension on its own.

Usage:
    .venv/bin/python bench/outbox_throughput.py [--messages 10000] [--workers 1 2 4]
        [--concurrency 4] [--sink process|thread] [--sink-processes 1] [--sink-loop asyncio]
        [--no-pipelining] [--processes] [--profile FILE] [--chain]

``--processes`` runs each worker in a process of its own (like replicas, or one scheduler per
``samhjelp serve`` process) instead of as coroutines of this one; ``--profile`` writes a
cProfile of the in-process workers (pstats format); ``--chain`` prints where the workers' time
went (each worker's hand-overs and records are one at a time: its rate is one over their sum).
``--sink-processes N`` runs N aiosmtpd processes on the sink's port, ``--sink-loop uvloop``
runs them on uvloop: still aiosmtpd, a real SMTP server, and the sink's ceiling is measured
with the same sink. The last column is the CPU of the benchmark database's own backends.

For the baseline, run the same command on the previous commit in a git worktree in the same
session (see docs/notify.md, "Throughput").

Database: ``BENCH_DATABASE_URL`` if set, else a throw-away database on the PostgreSQL at
127.0.0.1:5432 (user postgres), created, migrated and dropped by this script.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import multiprocessing
import os
import resource
import secrets
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosmtplib
import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

import notify
from intake.crypto import ContactCipher
from notify import DeliveryPolicy, deliver_due, enqueue
from notify.mime import email_bytes
from notify.model import Channel, Language, RenderedMessage
from notify.smtp import SmtpNotifier
from notify.tables import outbox
from notify.testing import REMINDER_CONTEXT, sample_reminder
from samhjelp.database import upgrade_on

sys.path.insert(0, str(Path(__file__).parent))
from outbox_measure import Chain, Sink, database_cpu

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SENDER = "noreply@example.no"
BATCH = int(os.environ.get("BENCH_BATCH", "100"))  # as the delivery job (samhjelp.jobs)


async def fill(maker: async_sessionmaker[AsyncSession], cipher: ContactCipher, n: int) -> None:
    for start in range(0, n, 1000):
        async with maker.begin() as session:
            for i in range(start, min(n, start + 1000)):
                await enqueue(session, sample_reminder(cipher, i), now=NOW)


async def assert_exactly_once(maker: async_sessionmaker[AsyncSession], ids: list[str]) -> None:
    """Each outbox message reached the sink exactly once, by Message-ID."""
    async with maker() as session:
        queued = (await session.execute(select(outbox.c.id))).scalars().all()
    assert_ids(ids, [f"<{i}@samhjelp>" for i in queued])


def assert_ids(received_ids: list[str], expected_ids: list[str]) -> None:
    received, expected = Counter(received_ids), Counter(expected_ids)
    duplicates = sum(n - 1 for n in received.values())
    assert received == expected, (
        f"{len(expected - received)} missing, {duplicates} duplicates, "
        f"{len(received - expected)} unknown"
    )


def sample_messages(n: int) -> list[RenderedMessage]:
    """The benchmark's e-mail, ``n`` times with fresh ids, rendered as the outbox renders it."""
    content = notify.render("meeting_reminder", Language.NB, REMINDER_CONTEXT)
    return [
        RenderedMessage(
            message_id=uuid.uuid4(),
            channel=Channel.EMAIL,
            to=f"p{i}@example.no",
            subject=content.subject,
            text=content.text,
            html=content.html,
            date=NOW,
        )
        for i in range(n)
    ]


async def sink_ceiling(port: int, messages: list[RenderedMessage], connections: int) -> None:
    """A bare aiosmtplib client: pre-built bytes, ``connections`` connections, no database."""
    mails = [(m.to, email_bytes(m, mail_from=SENDER)) for m in messages]
    per = [mails[i::connections] for i in range(connections)]

    async def blast(mine: list[tuple[str, bytes]]) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as smtp:
            for to, mail in mine:
                await smtp.sendmail(SENDER, [to], mail)

    await asyncio.gather(*(blast(mine) for mine in per))


async def client_alone(smtp: SmtpNotifier, messages: list[RenderedMessage], lanes: int) -> None:
    """Our SMTP sessions (stage, then hand over), ``lanes`` of them, no database."""
    per = [messages[i::lanes] for i in range(lanes)]

    async def lane(mine: list[RenderedMessage]) -> None:
        async with smtp.session() as session:
            for message in mine:
                await session.send(message)

    await asyncio.gather(*(lane(mine) for mine in per))


async def worker(
    maker: async_sessionmaker[AsyncSession],
    smtp: SmtpNotifier,
    cipher: ContactCipher,
    name: str,
    policy: DeliveryPolicy,
    chain: Chain | None = None,
) -> int:
    if chain is not None:
        chain.worker.set(name)
    sent = 0
    while True:
        report = await deliver_due(
            maker,
            lambda _: smtp,
            cipher,
            now=NOW,
            batch_size=BATCH,
            worker_id=name,
            policy=policy,
        )
        if report.claimed == 0:
            return sent
        sent += report.sent


def _policy(concurrency: int) -> DeliveryPolicy:
    # The same script measures the baseline: code from before lanes has no such field.
    lanes = "concurrency" in DeliveryPolicy.__dataclass_fields__
    return DeliveryPolicy(concurrency=concurrency) if lanes else DeliveryPolicy()


def _engine(url: str, concurrency: int) -> Any:
    # Each lane of each worker records its outcomes on a pooled connection of its own.
    return create_async_engine(url, pool_size=max(10, 4 * concurrency + 2))


def _worker_process(url: str, port: int, key: bytes, name: str, concurrency: int) -> int:
    async def go() -> int:
        engine = _engine(url, concurrency)
        try:
            maker = async_sessionmaker(engine, expire_on_commit=False)
            smtp = SmtpNotifier("127.0.0.1", port, SENDER, tls="none", timeout=10)
            sent = await worker(maker, smtp, ContactCipher(key), name, _policy(concurrency))
            if hasattr(smtp, "close_idle"):
                smtp.close_idle()
            return sent
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def run(url: str, args: argparse.Namespace) -> None:
    concurrency = args.concurrency
    engine = _engine(url, concurrency)
    policy = _policy(concurrency)
    lanes = policy.concurrency if "concurrency" in DeliveryPolicy.__dataclass_fields__ else 1
    async with engine.begin() as conn:
        await conn.run_sync(upgrade_on)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    key = secrets.token_bytes(32)
    cipher = ContactCipher(key)
    server = Sink(args.sink, args.pipelining, args.sink_processes, args.sink_loop)

    def fresh_smtp() -> SmtpNotifier:
        # One notifier per measurement: it keeps connections open between sessions (issue
        # 12), and one phase must not start on the connections of the one before.
        return SmtpNotifier("127.0.0.1", server.port, SENDER, tls="none", timeout=10)

    def done_with(smtp: SmtpNotifier) -> None:
        close_idle = getattr(smtp, "close_idle", None)  # the baseline's code may have none
        if close_idle is not None:
            close_idle()

    # CPU time, not wall time: waiting for the sink or the database is not ours to cut.
    profile = cProfile.Profile(time.process_time) if args.profile else None
    chain = Chain() if args.chain else None
    if chain is not None:
        chain.install()
    n = args.messages
    print(
        f"code: {notify.__file__}; loop: {args.loop}; sink: {args.sink} x{args.sink_processes}"
        f" on {args.sink_loop}, "
        f"PIPELINING "
        f"{'offered' if args.pipelining else 'not offered'}; lanes per worker: {lanes}; "
        f"workers {'in processes of their own' if args.processes else 'in this process'}"
    )
    # CPU per message of the client side (this process, or the worker processes) and of the
    # sink's process: on a shared machine wall-clock rates swing with the load, these far less.
    print(
        f"{'what':<34} {'messages':>8} {'seconds':>7} {'msg/s':>7} {'connections':>11}"
        f" {'client cpu ms/msg':>17} {'sink cpu ms/msg':>15} {'db cpu ms/msg':>13}"
    )

    def line(
        what: str, elapsed: float, connections: int, cpu: float, sink_cpu: float, db: float = 0
    ) -> None:
        print(
            f"{what:<34} {n:>8} {elapsed:>7.1f} {n / elapsed:>7.0f} {connections:>11}"
            f" {cpu / n * 1000:>17.2f} {sink_cpu / n * 1000:>15.2f} {db / n * 1000:>13.2f}"
        )

    try:
        for count in args.workers:
            connections = count * lanes
            for what, blast in (
                (f"sink ceiling: aiosmtplib, {connections} conn", sink_ceiling),
                (f"our SMTP client alone, {connections} conn", None),
            ):
                sample = sample_messages(n)
                *_, sink_cpu = server.take()
                started, cpu = time.perf_counter(), time.process_time()
                if blast is not None:
                    await blast(server.port, sample, connections)
                else:
                    smtp = fresh_smtp()
                    await client_alone(smtp, sample, connections)
                    done_with(smtp)
                elapsed = time.perf_counter() - started
                cpu = time.process_time() - cpu
                received, used, sink_now = server.take()
                assert_ids(received, [m.rfc_message_id for m in sample])
                line(what, elapsed, used, cpu, sink_now - sink_cpu)
            async with maker.begin() as session:
                await session.execute(delete(outbox))
            await fill(maker, cipher, n)
            *_, sink_cpu = server.take()
            db_before = await database_cpu(maker)
            started, cpu = time.perf_counter(), time.process_time()
            if args.processes:
                children = _children_cpu()
                loop = asyncio.get_running_loop()
                pool = multiprocessing.get_context("spawn").Pool(count)
                try:
                    sent = await asyncio.gather(
                        *(
                            loop.run_in_executor(
                                None,
                                pool.apply,
                                _worker_process,
                                (url, server.port, key, f"bench-{i}", concurrency),
                            )
                            for i in range(count)
                        )
                    )
                finally:
                    pool.close()
                    pool.join()
                cpu = _children_cpu() - children
            else:
                if profile is not None:
                    profile.enable()
                smtp = fresh_smtp()
                sent = await asyncio.gather(
                    *(
                        worker(maker, smtp, cipher, f"bench-{i}", policy, chain)
                        for i in range(count)
                    )
                )
                done_with(smtp)
                if profile is not None:
                    profile.disable()
                cpu = time.process_time() - cpu
            elapsed = time.perf_counter() - started
            db_after = await database_cpu(maker)
            db = sum(t - db_before.get(pid, 0.0) for pid, t in db_after.items())
            received, used, sink_now = server.take()
            assert sum(sent) == n == len(received), (sum(sent), len(received))
            await assert_exactly_once(maker, received)
            line(f"outbox, {count} worker(s)", elapsed, used, cpu, sink_now - sink_cpu, db)
            if chain is not None:
                chain.report()
    finally:
        server.stop()
        await engine.dispose()
        if profile is not None:
            profile.dump_stats(args.profile)


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
    parser.add_argument(
        "--sink-processes",
        type=int,
        default=1,
        help="aiosmtpd processes sharing the sink's port (SO_REUSEPORT), like a relay's smtpd "
        "processes; the sink's ceiling is measured with the same number",
    )
    parser.add_argument(
        "--sink-loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="the event loop of the aiosmtpd sink processes",
    )
    parser.add_argument(
        "--no-pipelining",
        dest="pipelining",
        action="store_false",
        help="the sink does not offer PIPELINING (aiosmtpd's own default)",
    )
    parser.add_argument("--processes", action="store_true", help="each worker in its own process")
    parser.add_argument("--profile", help="write a cProfile of the in-process workers here")
    parser.add_argument(
        "--chain",
        action="store_true",
        help="print where the in-process workers' time went (hand-over, record, claim, gaps)",
    )
    parser.add_argument(
        "--loop",
        choices=("uvloop", "asyncio"),
        default="uvloop",
        help="the event loop of the workers: uvloop is the one the service's delivery job runs "
        "on (in `samhjelp serve`, uvicorn's loop; the project depends on uvloop)",
    )
    args = parser.parse_args()
    loop_factory = None
    if args.loop == "uvloop":
        import uvloop

        loop_factory = uvloop.new_event_loop
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(run(url, args))
        return
    name = f"samhjelp_bench_{secrets.token_hex(4)}"
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(run(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}", args))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
