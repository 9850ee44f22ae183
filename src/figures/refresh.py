"""The refresh job: read the counts, build and protect the release, store it, drop the old one.

One transaction per run, under an advisory lock so replicas do not compute the same release
twice. Readers keep seeing the previous release until the new one is committed. The figures are
therefore as fresh as the last run (hourly by default), never computed per request.
"""

from __future__ import annotations

import asyncio
import csv
import io
import multiprocessing
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from operator import attrgetter
from typing import TypeVar

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from figures.aggregate import read_inputs
from figures.inputs import Cell, Geography, Inputs, collector_paused
from figures.release import MonthJob, month_jobs, month_part, snapshot_part
from figures.tables import stat_cell, stat_release

T = TypeVar("T")
#: Any number unique to this job (pg_try_advisory_xact_lock key).
_LOCK = 7_301_114
_COLUMNS = (
    "release_id",
    "table_id",
    "period",
    "area_kind",
    "area_code",
    "parent",
    "category",
    "value",
    "suppressed",
    "suppressed_categories",
)
#: The category of a bundle row: the suppressed categories of one table, period and area.
BUNDLE = "*"


#: The order of stat_cell's primary key (after release_id, the same for every row).
_KEY_ORDER = attrgetter("period", "table_id", "area_kind", "area_code", "category")


#: Worker processes that protect months side by side (months are independent problems). One
#: per core, at most four; ``SAMHJELP_STATISTICS_WORKERS=1`` keeps the build in one thread.
WORKERS = max(
    1, int(os.environ.get("SAMHJELP_STATISTICS_WORKERS", 0)) or min(4, os.cpu_count() or 1)
)
#: A release with fewer (month, municipality, category) rows than this is built in the calling
#: thread: starting worker processes (~0.5 s) costs more than protecting a small release.
PARALLEL_FROM = 20_000


def build_sorted(
    inputs: Inputs, workers: int = 1, parallel_from: int = PARALLEL_FROM
) -> list[Cell]:
    """The cells the refresh stores (:func:`encoded_parts`, not encoded): each period's part
    in key order, the periods in order, so the whole release is in key order."""
    parts = _parts(inputs, workers, parallel_from, _sorted_month, _sorted_snapshot)
    return [cell for part in parts for cell in part]


def _sorted_month(job: MonthJob, geo: Geography) -> list[Cell]:
    with collector_paused():
        part = month_part(job, geo)
        part.sort(key=_KEY_ORDER)
    return part


def _sorted_snapshot(inputs: Inputs) -> list[Cell]:
    with collector_paused():
        part = snapshot_part(inputs)
        part.sort(key=_KEY_ORDER)
    return part


#: One period as the refresh stores it: COPY data (CSV), its cells and how many are suppressed.
Encoded = tuple[bytes, int, int]


def encode(release_id: int, part: list[Cell]) -> Encoded:
    """A part's rows (:func:`stored_rows`) as COPY's CSV: a worker process hands over one
    bytes object instead of a hundred thousand tuples to unpickle, and the event loop's
    process only forwards it (the build does not hold its GIL)."""
    out = io.StringIO()
    # None is written unquoted and empty, which COPY reads as NULL; booleans as True/False.
    csv.writer(out).writerows((*row[:-1], _array(row[-1])) for row in stored_rows(release_id, part))
    return out.getvalue().encode(), len(part), sum(1 for c in part if c.suppressed)


def _array(items: object) -> str | None:
    """A list of categories as a PostgreSQL array literal, every element quoted."""
    if not isinstance(items, list):
        return None
    quoted = (c.replace("\\", "\\\\").replace('"', '\\"') for c in items)
    return "{" + ",".join(f'"{c}"' for c in quoted) + "}"


def _encoded_month(job: MonthJob, geo: Geography, release_id: int) -> Encoded:
    return encode(release_id, _sorted_month(job, geo))


def _encoded_snapshot(inputs: Inputs, release_id: int) -> Encoded:
    return encode(release_id, _sorted_snapshot(inputs))


def encoded_parts(
    inputs: Inputs, release_id: int, workers: int = 1, parallel_from: int = PARALLEL_FROM
) -> Iterator[Encoded]:
    """Each period's cells in the order of ``stat_cell``'s primary key (COPY then appends to
    the key's index page by page; Python orders strings by code point, which is UTF-8's byte
    order, i.e. the database's "C" collation), the periods in order, each encoded for COPY
    (:func:`encode`) and stored while the next is protected."""
    return _parts(
        inputs,
        workers,
        parallel_from,
        partial(_encoded_month, release_id=release_id),
        partial(_encoded_snapshot, release_id=release_id),
    )


def _ready() -> None:
    """Nothing: submitted once per worker so that the pool starts them at once."""


def _parts(
    inputs: Inputs,
    workers: int,
    parallel_from: int,
    month: Callable[[MonthJob, Geography], T],
    snapshot: Callable[[Inputs], T],
) -> Iterator[T]:
    """``month`` of every month in order, then ``snapshot``. With ``workers`` > 1 and a large
    release, the months are protected in that many worker processes (spawned: never forked
    from a process with an event loop and threads) and handed over in order; the cells are
    the same as built in one thread (tested)."""
    geo = inputs.geography
    if workers <= 1 or len(inputs.people) < parallel_from:
        with collector_paused():
            jobs = month_jobs(inputs)
        for job in jobs:
            yield month(job, geo)
        yield snapshot(inputs)
        return
    rest = Inputs(geo, waiting=inputs.waiting, no_facilitator=inputs.no_facilitator)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        # Start the workers now: they import the package while the months are split here.
        for _ in range(workers):
            pool.submit(_ready)
        with collector_paused():
            jobs = month_jobs(inputs)
        # In month order, as they are stored: the first is stored while the rest are built.
        futures = [pool.submit(month, job, geo) for job in jobs]
        futures.append(pool.submit(snapshot, rest))
        try:
            for future in futures:
                yield future.result()
        finally:  # stopped early (the store failed): do not protect what nobody will store
            for future in futures:
                future.cancel()


@dataclass(frozen=True, slots=True)
class RefreshReport:
    ran: bool
    release_id: int | None = None
    cells: int = 0
    suppressed: int = 0
    seconds: float = 0.0
    #: Where the time went: reading the counts, protecting the release (while the old one is
    #: dropped), storing it.
    phases: tuple[float, float, float] = (0.0, 0.0, 0.0)

    def summary(self) -> dict[str, object]:
        return {
            "read_build_store": [round(p, 2) for p in self.phases],
            "ran": self.ran,
            "release": self.release_id,
            "cells": self.cells,
            "suppressed": self.suppressed,
            "seconds": round(self.seconds, 2),
        }


def stored_rows(release_id: int, part: list[Cell]) -> list[tuple[object, ...]]:
    """The rows of one period's cells (in key order): two or more suppressed cells of one
    table and area become one bundle row (category ``*``, listing their categories), which
    halves a release's rows — most cells are suppressed breakdown cells of municipalities.
    ``*`` sorts before every category, so the rows stay in key order."""
    rows: list[tuple[object, ...]] = []
    start = 0
    n = len(part)
    while start < n:
        first = part[start]
        end = start + 1
        while (
            end < n
            and part[end].area_code == first.area_code
            and part[end].table_id == first.table_id
            and part[end].area_kind == first.area_kind
        ):
            end += 1
        cells = part[start:end]
        start = end
        hidden = [c.category for c in cells if c.suppressed and c.category != "all"]
        if len(hidden) < 2:
            rows.extend((release_id, *c, None) for c in cells)
            continue
        table, period, kind, code, parent = first[:5]
        rows.append((release_id, table, period, kind, code, parent, BUNDLE, None, True, hidden))
        rows.extend(
            (release_id, *c, None) for c in cells if not c.suppressed or c.category == "all"
        )
    return rows


async def _store(session: AsyncSession, parts: AsyncIterator[Encoded]) -> tuple[int, int]:
    """Write the parts as they come, one COPY per part; (cells, suppressed) written."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    cells = suppressed = 0
    async for data, n, hidden in parts:
        cells += n
        suppressed += hidden
        if data:
            # COPY: a period is thousands of rows; inserts would dominate the run.
            await driver.copy_to_table(
                "stat_cell", source=io.BytesIO(data), columns=list(_COLUMNS), format="csv"
            )
    return cells, suppressed


class _Handover:
    """Parts from the build thread to the event loop, one period at a time."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Encoded | BaseException | None] = asyncio.Queue()
        self.stop = threading.Event()
        self.built_at = 0.0

    def produce(self, inputs: Inputs, release_id: int) -> None:
        """In the build thread: protect the release and hand each period over when done."""
        try:
            for part in encoded_parts(inputs, release_id, WORKERS):
                if self.stop.is_set():
                    return
                self.loop.call_soon_threadsafe(self.queue.put_nowait, part)
        except BaseException as exc:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, exc)
            raise
        self.built_at = time.perf_counter()
        self.loop.call_soon_threadsafe(self.queue.put_nowait, None)

    async def parts(self) -> AsyncIterator[Encoded]:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise RuntimeError("building the release failed") from item
            yield item


async def refresh_release(session: AsyncSession, *, now: datetime) -> RefreshReport:
    """Build and store a new release in ``session``'s transaction (the caller commits)."""
    if not await session.scalar(text(f"SELECT pg_try_advisory_xact_lock({_LOCK})")):
        return RefreshReport(ran=False)
    started = time.perf_counter()
    # Large grouped reads: no JIT compile (it costs more than it saves here), sorts in memory.
    await session.execute(text("SET LOCAL jit = off"))
    await session.execute(text("SET LOCAL work_mem = '64MB'"))
    inputs = await read_inputs(session, now=now)
    read = time.perf_counter()
    months = sorted({m for m, _, _ in inputs.people})
    release_id = await session.scalar(
        insert(stat_release)
        .values(
            created_at=now,
            first_month=months[0] if months else None,
            last_month=months[-1] if months else None,
        )
        .returning(stat_release.c.id)
    )
    assert release_id is not None
    # The protection is CPU work: off the event loop, so the app keeps answering meanwhile
    # (in worker processes for a large release: months are independent problems). It hands
    # the release over one period at a time, and the database stores each period while the
    # next is protected (and drops the old release's cells before the first arrives; readers
    # keep seeing them until this transaction commits).
    handover = _Handover()
    building = asyncio.ensure_future(asyncio.to_thread(handover.produce, inputs, release_id))
    try:
        await session.execute(delete(stat_cell).where(stat_cell.c.release_id < release_id))
        await session.execute(delete(stat_release).where(stat_release.c.id < release_id))
        cells, suppressed = await _store(session, handover.parts())
    finally:
        handover.stop.set()
        await asyncio.wait([building])
        if not building.cancelled():
            building.exception()  # retrieved here; raised below unless storing failed first
    building.result()
    stored = time.perf_counter()
    seconds = stored - started
    await session.execute(
        stat_release.update()
        .where(stat_release.c.id == release_id)
        .values(seconds=max(1, round(seconds)))
    )
    built = handover.built_at or stored
    return RefreshReport(
        ran=True,
        release_id=release_id,
        cells=cells,
        suppressed=suppressed,
        seconds=seconds,
        phases=(read - started, built - read, stored - built),
    )


async def run_refresh(maker: async_sessionmaker[AsyncSession], *, now: datetime) -> RefreshReport:
    """The scheduled job: one transaction."""
    async with maker.begin() as session:
        return await refresh_release(session, now=now)


async def latest_release(session: AsyncSession) -> tuple[int, datetime, str | None] | None:
    """(id, created_at, last month) of the release readers should use, if any."""
    row = (
        await session.execute(
            select(stat_release.c.id, stat_release.c.created_at, stat_release.c.last_month)
            .order_by(stat_release.c.id.desc())
            .limit(1)
        )
    ).first()
    return (row.id, row.created_at, row.last_month) if row else None


async def release_count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(stat_release)) or 0)
