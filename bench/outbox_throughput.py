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
        [--concurrency 4] [--sink process|thread] [--no-pipelining] [--processes]
        [--profile FILE]

``--processes`` runs each worker in a process of its own (like replicas, or one scheduler per
``samhjelp serve`` process) instead of as coroutines of this one; ``--profile`` writes a
cProfile of the in-process workers (pstats format).

For the baseline, run the same command on the previous commit in a git worktree in the same
session (see docs/notify.md, "Throughput").

Database: ``BENCH_DATABASE_URL`` if set, else a throw-away database on the PostgreSQL at
127.0.0.1:5432 (user postgres), created, migrated and dropped by this script.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import cProfile
import itertools
import multiprocessing
import os
import re
import resource
import secrets
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any

import aiosmtplib
import asyncpg  # type: ignore[import-untyped]
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

import notify
from intake.crypto import ContactCipher
from notify import DeliveryPolicy, deliver_due, enqueue
from notify.mime import email_bytes
from notify.model import Channel, Language, RenderedMessage
from notify.smtp import SmtpNotifier
from notify.tables import outbox
from notify.testing import REMINDER_CONTEXT, free_port, sample_reminder
from samhjelp.database import upgrade_on

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SENDER = "noreply@example.no"
BATCH = int(os.environ.get("BENCH_BATCH", "100"))  # as the delivery job (samhjelp.jobs)


async def fill(maker: async_sessionmaker[AsyncSession], cipher: ContactCipher, n: int) -> None:
    for start in range(0, n, 1000):
        async with maker.begin() as session:
            for i in range(start, min(n, start + 1000)):
                await enqueue(session, sample_reminder(cipher, i), now=NOW)


MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class _IdHandler:
    """aiosmtpd handler: the Message-ID of each accepted e-mail and the connection it came on."""

    def __init__(self, pipelining: bool) -> None:
        self.ids: list[str] = []
        self.sessions: dict[int, object] = {}  # strong references keep the ids unique
        self.pipelining = pipelining

    async def handle_EHLO(  # noqa: N802
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:  # aiosmtpd reads commands line by line: pipelining just works
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        head = envelope.content.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(head)
        self.ids.append(found.group(1).decode() if found else "")
        self.sessions[id(session)] = session
        return "250 Message accepted"


def _sink_main(conn: Connection, port: int, pipelining: bool, loop_name: str) -> None:
    """The sink as a process of its own, like a real relay (no GIL shared with the workers).

    aiosmtpd's ``SMTP`` protocol on a loop in a thread, listening with SO_REUSEPORT, so that
    several sink processes can share one port (the kernel spreads the connections among them,
    as a relay runs many smtpd processes). Not aiosmtpd's ``Controller``: its start-up check
    connects to the port and could reach another process's listener."""
    handler = _IdHandler(pipelining)
    loop: asyncio.AbstractEventLoop = asyncio.new_event_loop()
    if loop_name == "uvloop":
        import uvloop

        loop.close()
        loop = uvloop.new_event_loop()
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(handler), "127.0.0.1", port, reuse_port=True)
    )
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    conn.send("ready")
    while conn.recv() == "take":
        conn.send((handler.ids, len(handler.sessions), time.process_time()))
        handler.ids, handler.sessions = [], {}
    loop.call_soon_threadsafe(server.close)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)


class Sink:
    """An aiosmtpd server in a thread of this process, or in ``processes`` processes of their
    own sharing one port (SO_REUSEPORT)."""

    def __init__(
        self, where: str, pipelining: bool, processes: int = 1, loop: str = "asyncio"
    ) -> None:
        self.port = free_port()
        self._handler = _IdHandler(pipelining)
        if where == "thread":
            self._controller: Controller | None = Controller(
                self._handler, hostname="127.0.0.1", port=self.port
            )
            self._controller.start()
            return
        self._controller = None
        self._sinks: list[tuple[Connection, Any]] = []
        for _ in range(processes):
            conn, child = multiprocessing.Pipe()
            process = multiprocessing.get_context("spawn").Process(
                target=_sink_main, args=(child, self.port, pipelining, loop), daemon=True
            )
            process.start()
            assert conn.recv() == "ready"
            self._sinks.append((conn, process))

    def take(self) -> tuple[list[str], int, float]:
        """Message-IDs received and connections that delivered mail since the last take, and
        the sink processes' CPU seconds so far (0 for a sink in a thread)."""
        if self._controller is not None:
            taken = self._handler.ids, len(self._handler.sessions), 0.0
            self._handler.ids, self._handler.sessions = [], {}
            return taken
        ids: list[str] = []
        connections, cpu = 0, 0.0
        for conn, _ in self._sinks:
            conn.send("take")
            more, used, spent = conn.recv()
            ids += more
            connections += used
            cpu += spent
        return ids, connections, cpu

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            return
        for conn, process in self._sinks:
            conn.send("stop")
            process.join(timeout=10)


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


class Chain:
    """Where each worker's time goes (``--chain``): the hand-over (the end of DATA until the
    server's answer), the outcome's record, the claim, and the time between them. A worker's
    hand-overs and records are one at a time, so its rate is one over their sum and gaps.

    Wraps ``notify.delivery._hand_over``, ``notify.delivery._claim`` and
    ``notify.recording.Recorder.record`` (the same names in the code before issue 12's later
    commits), timing each call under the worker that made it."""

    def __init__(self) -> None:
        self.worker: contextvars.ContextVar[str] = contextvars.ContextVar("worker")
        self.spans: list[tuple[str, str, float, float]] = []

    def install(self) -> None:
        import notify.delivery
        import notify.recording

        def timed(kind: str, call: Any) -> Any:
            async def wrapper(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await call(*args, **kwargs)
                finally:
                    who = self.worker.get("?")
                    self.spans.append((who, kind, started, time.perf_counter()))

            return wrapper

        delivery: Any = notify.delivery
        delivery._hand_over = timed("hand-over", delivery._hand_over)
        delivery._claim = timed("claim", delivery._claim)
        recorder: Any = notify.recording.Recorder
        recorder.record = timed("record", recorder.record)

    def report(self) -> None:
        by_worker: dict[str, list[tuple[float, float, str]]] = {}
        for who, kind, start, end in self.spans:
            by_worker.setdefault(who, []).append((start, end, kind))
        spent: defaultdict[str, float] = defaultdict(float)
        durations: dict[str, list[float]] = {}
        total = 0.0
        for spans in by_worker.values():
            spans.sort()
            total += spans[-1][1] - spans[0][0]
            for (_, end, kind), (start, _, after) in itertools.pairwise(spans):
                spent["between batches" if "claim" in (kind, after) else "between"] += start - end
            for start, end, kind in spans:
                spent[kind] += end - start
                durations.setdefault(kind, []).append(end - start)
        print(f"where the workers' time went ({len(by_worker)} workers, {total:.1f} s in all):")
        for kind in ("hand-over", "record", "between", "claim", "between batches"):
            times = sorted(durations.get(kind, []))
            median = f", median {times[len(times) // 2] * 1000:.2f} ms" if times else ""
            print(f"  {kind:<16} {spent[kind] / total * 100:5.1f} %{median}")
        self.spans.clear()


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


async def database_cpu(maker: async_sessionmaker[AsyncSession]) -> dict[int, float]:
    """CPU seconds so far of each server process connected to this benchmark's database (its
    own, so other work on the machine does not count; Linux /proc, empty where unreadable)."""
    async with maker() as session:
        pids = (
            await session.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            )
        ).scalars()
        return _process_cpu(list(pids))


def _process_cpu(pids: list[int]) -> dict[int, float]:
    cpu = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return cpu


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
