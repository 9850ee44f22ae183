"""What bench/outbox_throughput.py measures with: the aiosmtpd sink (in processes of its own,
counting Message-IDs), where each worker's time goes (``--chain``) and the database's CPU."""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import multiprocessing
import os
import re
import threading
import time
from collections import defaultdict
from multiprocessing.connection import Connection
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notify.testing import free_port

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
