"""Faults in the middle of a delivery batch resend at most the one message in flight.

Two faults from the field, each against real PostgreSQL and a real SMTP server (aiosmtpd) that
counts the Message-IDs it accepted:

- a delivery worker killed (SIGKILL) mid-batch, in its own process, then a fresh worker once
  the dead worker's lease has expired (the business clock is injected, nobody waits 5 minutes);
- ``pg_ctl restart -m fast`` of the database mid-batch, on a private PostgreSQL cluster
  (pgserver's binaries) that only this test uses.

Before outcomes were recorded per message, the first resent every message of the batch the
worker had already sent, the second the whole batch. Now each fault may cost one duplicate per
worker, whatever ``DeliveryPolicy.concurrency``: lanes stage messages (envelope and body) at
once, but the end of DATA, the moment a server takes a message on, and its record happen one
at a time per worker; a staged message whose connection closes is dropped by the server.

Run as a script, this module is the worker process of the first test (see ``_worker_main``).
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from intake.crypto import ContactCipher
from notify import (
    DeliveryPolicy,
    deliver_due,
    enqueue,
)
from notify.memory import MemoryNotifier
from notify.smtp import SmtpNotifier
from notify.tables import outbox
from notify.testing import free_port, sample_reminder

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
KEY = bytes(range(100, 132))  # shared with the worker process through its command line
POLICY = DeliveryPolicy(lease=timedelta(minutes=5))
MESSAGES = 200
BATCH = 100
FAULT_AFTER = 50  # received messages before the fault
# Messages a worker may have handed over but not yet recorded: one, with 4 lanes staging at
# once (the default POLICY): only the hand-over and its record are one at a time per worker.
IN_FLIGHT = 1
assert POLICY.concurrency > 1, "the faults must be tested with lanes staging concurrently"
Maker = async_sessionmaker[AsyncSession]


class MessageIdSink:
    """A real SMTP server that records the Message-ID of every e-mail it accepted.

    ``delay`` slows each DATA a little (before the 250 reply) so a batch of 100 takes long
    enough that a fault triggered at message 50 surely lands inside it, even on a fast machine.
    """

    def __init__(self, delay: float = 0.005, *, pipelining: bool = False) -> None:
        self.port = free_port()
        self.delay = delay
        self.pipelining = pipelining
        self.message_ids: list[str] = []
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:  # as production relays do; aiosmtpd reads pipelined commands fine
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)
        mail = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.message_ids.append(str(mail["Message-ID"]))
        return "250 Message accepted"

    @property
    def received(self) -> int:
        with self._lock:
            return len(self.message_ids)

    def __enter__(self) -> MessageIdSink:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


@pytest.fixture(params=[False, True], ids=["plain", "pipelining"])
def pipelining(request: pytest.FixtureRequest) -> bool:
    """Each fault with a server that offers PIPELINING (the envelope in one write) and one
    that does not (aiosmtpd's default)."""
    return bool(request.param)


def smtp_to(sink: MessageIdSink) -> SmtpNotifier:
    return SmtpNotifier("127.0.0.1", sink.port, "noreply@example.no", tls="none", timeout=10)


async def enqueue_many(maker: Maker, cipher: ContactCipher, n: int) -> list[uuid.UUID]:
    async with maker.begin() as session:
        return [await enqueue(session, sample_reminder(cipher, i), now=T0) for i in range(n)]


async def statuses(maker: Maker) -> Counter[str]:
    async with maker() as session:
        return Counter((await session.execute(select(outbox.c.status))).scalars())


def assert_delivered(ids: list[uuid.UUID], received: list[str], *, max_duplicates: int) -> None:
    """Every message arrived, and at most ``max_duplicates`` arrived more than once."""
    counts = Counter(received)
    missing = {f"<{i}@samhjelp>" for i in ids} - set(counts)
    assert not missing, f"{len(missing)} messages never arrived"
    assert set(counts) == {f"<{i}@samhjelp>" for i in ids}
    duplicates = sum(n - 1 for n in counts.values())
    assert duplicates <= max_duplicates, (
        f"{duplicates} duplicate e-mails ({len(received)} received for {len(ids)} messages)"
    )


async def wait_until(condition: Callable[[], bool], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


async def deliver_until_drained(
    maker: Maker,
    smtp: SmtpNotifier,
    cipher: ContactCipher,
    *,
    now: datetime,
    worker: str,
    policy: DeliveryPolicy = POLICY,
) -> None:
    """A worker's loop: claim batches until none is due, riding out database outages.

    ``deliver_due`` itself raises when the database is gone at claim time; the scheduler would
    simply run the job again later, which is what the short sleep stands for here.
    """
    while True:
        try:
            report = await deliver_due(
                maker,
                lambda _: smtp,
                cipher,
                now=now,
                batch_size=BATCH,
                worker_id=worker,
                policy=policy,
            )
        except (DBAPIError, OSError):
            await asyncio.sleep(0.1)
            continue
        if report.claimed == 0:
            return


# -- (a) a worker process killed mid-batch -------------------------------------------------


async def test_worker_killed_mid_batch_resends_at_most_the_message_in_flight(
    maker: Maker, database_url: str, tmp_path: Path, pipelining: bool
) -> None:
    cipher = ContactCipher(KEY)
    ids = await enqueue_many(maker, cipher, MESSAGES)
    log = tmp_path / "worker.log"
    with MessageIdSink(pipelining=pipelining) as sink, log.open("wb") as log_file:
        worker = await asyncio.create_subprocess_exec(
            *(sys.executable, __file__, database_url, str(sink.port), KEY.hex()),
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            await wait_until(
                lambda: sink.received >= FAULT_AFTER or worker.returncode is not None,
                within=30,
                what="the worker to deliver its first messages",
            )
        finally:
            with contextlib.suppress(ProcessLookupError):
                worker.send_signal(signal.SIGKILL)  # kill -9: no cleanup, no last words
            await asyncio.wait_for(worker.wait(), timeout=10)
        assert worker.returncode == -signal.SIGKILL, log.read_text()
        at_kill = sink.received
        # The kill landed inside a batch: some of it was sent, the rest is still leased.
        assert FAULT_AFTER <= at_kill < BATCH, at_kill
        assert (await statuses(maker))["sending"] > 0

        # A fresh worker after the dead worker's lease expired (injected clock).
        await asyncio.wait_for(
            deliver_until_drained(
                maker, smtp_to(sink), cipher, now=T0 + POLICY.lease, worker="fresh"
            ),
            timeout=60,
        )
        received = list(sink.message_ids)

    assert await statuses(maker) == Counter({"sent": MESSAGES})
    assert_delivered(ids, received, max_duplicates=IN_FLIGHT)


async def _worker(url: str, port: int, key: bytes) -> None:
    engine = create_async_engine(url, pool_size=2)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    smtp = SmtpNotifier("127.0.0.1", port, "noreply@example.no", tls="none", timeout=10)
    try:
        await deliver_until_drained(
            maker, smtp, ContactCipher(key), now=T0, worker=f"doomed:{os.getpid()}"
        )
    finally:
        await engine.dispose()


def _worker_main(argv: list[str]) -> None:
    """``python test_outbox_faults.py URL SMTP_PORT KEY_HEX``: a delivery worker process."""
    url, port, key = argv
    asyncio.run(_worker(url, int(port), bytes.fromhex(key)))


# -- (b) the database restarted mid-batch ----------------------------------------------------


@dataclass(frozen=True)
class PrivateCluster:
    """A PostgreSQL cluster of this test's own, so restarting it disturbs nobody else."""

    url: str
    pgdata: Path
    log: Path
    socket_dir: str
    system_user: str | None

    async def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import POSTGRES_BIN_PATH

        proc = await asyncio.create_subprocess_exec(
            str(POSTGRES_BIN_PATH / "pg_ctl"),
            *("-D", str(self.pgdata), "-l", str(self.log), "-w", *args),
            stdout=subprocess.DEVNULL,  # the server inherits it: a pipe would never close
            stderr=subprocess.DEVNULL,
            user=self.system_user,
        )
        await asyncio.wait_for(proc.wait(), timeout=60)
        assert proc.returncode == 0, self.log.read_text()[-2000:]

    async def restart_fast(self) -> None:
        """``pg_ctl restart -m fast``: ends every session at once, as an operator's restart."""
        await self._pg_ctl("-m", "fast", "restart")

    async def stop_fast(self) -> None:
        await self._pg_ctl("-m", "fast", "stop")

    async def start(self) -> None:
        # The options pgserver started it with: no TCP, the socket in its own folder.
        await self._pg_ctl("-o", f'-h "" -k {self.socket_dir}', "start")


@pytest.fixture(scope="module")
def private_cluster() -> Iterator[PrivateCluster]:
    """Start a throw-away cluster with pgserver's binaries (as root, pgserver runs it as its
    own system user). Never skipped: pgserver is a dependency, so this works on a clean CI box.

    The data folder is made with ``tempfile``, not pytest's ``tmp_path``: every pytest session
    resets ``/tmp/pytest-of-<user>`` to mode 0700, which would lock pgserver's user out of it.
    """
    import pgserver

    parent = Path(tempfile.mkdtemp(prefix="samhjelp-restart-"))
    parent.chmod(0o755)
    server = pgserver.get_server(parent / "pgdata", cleanup_mode="delete")  # type: ignore[attr-defined]
    try:
        uri: str = server.get_uri()
        yield PrivateCluster(
            url=uri.replace("postgresql://", "postgresql+asyncpg://", 1),
            pgdata=Path(server.pgdata),
            log=Path(server.log),
            socket_dir=uri.rpartition("host=")[2],
            system_user=server.system_user,
        )
    finally:
        server.cleanup()
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture
async def cluster_maker(private_cluster: PrivateCluster) -> AsyncIterator[Maker]:
    from samhjelp.database import upgrade_on

    engine = create_async_engine(private_cluster.url, pool_size=5)
    async with engine.begin() as conn:
        await conn.run_sync(upgrade_on)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    yield maker
    async with maker.begin() as session:
        await session.execute(delete(outbox))
    await engine.dispose()


async def test_database_restart_mid_batch_resends_at_most_the_message_in_flight(
    private_cluster: PrivateCluster, cluster_maker: Maker, cipher: ContactCipher, pipelining: bool
) -> None:
    ids = await enqueue_many(cluster_maker, cipher, MESSAGES)
    with MessageIdSink(pipelining=pipelining) as sink:
        smtp = smtp_to(sink)
        worker = asyncio.create_task(
            deliver_until_drained(cluster_maker, smtp, cipher, now=T0, worker="w1")
        )
        await wait_until(
            lambda: sink.received >= FAULT_AFTER or worker.done(),
            within=30,
            what="the worker to deliver its first messages",
        )
        assert not worker.done()
        at_restart = sink.received
        await private_cluster.restart_fast()
        assert at_restart < BATCH, "the restart must begin inside the first batch"

        await asyncio.wait_for(worker, timeout=60)
        # Whatever a stopped batch left leased is due again once the lease has expired.
        await asyncio.wait_for(
            deliver_until_drained(cluster_maker, smtp, cipher, now=T0 + POLICY.lease, worker="w2"),
            timeout=60,
        )
        received = list(sink.message_ids)

    assert await statuses(cluster_maker) == Counter({"sent": MESSAGES})
    assert_delivered(ids, received, max_duplicates=IN_FLIGHT)


async def test_database_down_stops_the_batch_and_resends_only_the_message_in_flight(
    private_cluster: PrivateCluster, cluster_maker: Maker, cipher: ContactCipher, pipelining: bool
) -> None:
    """An outcome that cannot be recorded stops the batch: no further messages go out whose
    outcome would be lost too, and once the database is back only the one in flight is resent.
    """
    policy = DeliveryPolicy(
        lease=POLICY.lease, record_tries=3, record_backoff=timedelta(milliseconds=50)
    )
    ids = await enqueue_many(cluster_maker, cipher, MESSAGES)
    with MessageIdSink(pipelining=pipelining) as sink:
        smtp = smtp_to(sink)
        batch = asyncio.create_task(
            deliver_due(
                cluster_maker,
                lambda _: smtp,
                cipher,
                now=T0,
                batch_size=BATCH,
                worker_id="w1",
                policy=policy,
            )
        )
        await wait_until(
            lambda: sink.received >= FAULT_AFTER or batch.done(),
            within=30,
            what="the worker to deliver its first messages",
        )
        await private_cluster.stop_fast()
        try:
            report = await asyncio.wait_for(batch, timeout=30)
            # It gave up on a record and stopped: what reached the sink is what was recorded
            # plus at most the messages in flight (one per lane), not the rest of the batch.
            assert report.interrupted
            assert report.sent < sink.received <= report.sent + IN_FLIGHT
            assert sink.received < BATCH
        finally:
            await private_cluster.start()

        await asyncio.wait_for(
            deliver_until_drained(
                cluster_maker, smtp, cipher, now=T0 + POLICY.lease, worker="w2", policy=policy
            ),
            timeout=60,
        )
        received = list(sink.message_ids)

    assert await statuses(cluster_maker) == Counter({"sent": MESSAGES})
    assert_delivered(ids, received, max_duplicates=IN_FLIGHT)


# -- the per-message record inside a caller's transaction ---------------------------------------


async def test_outcomes_are_recorded_through_a_sessionmaker_bound_to_a_connection(
    conn: AsyncConnection,
) -> None:
    """A plain outcome is autocommitted on a pooled engine; bound to a connection that is
    inside a transaction (as the rolled-back test fixtures are), it must use that instead.
    """
    cipher = ContactCipher(KEY)
    maker = async_sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    ids = await enqueue_many(maker, cipher, 3)
    memory = MemoryNotifier()
    report = await deliver_due(
        maker, lambda _: memory, cipher, now=T0, worker_id="bound", policy=POLICY
    )
    assert (report.claimed, report.sent) == (3, 3)
    assert sorted(m.message_id for m in memory.sent) == sorted(ids)
    assert await statuses(maker) == Counter({"sent": 3})


if __name__ == "__main__":
    _worker_main(sys.argv[1:])
