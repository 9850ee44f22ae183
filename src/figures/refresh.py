"""The refresh job: read the counts, build and protect the release, store it, drop the old one.

One transaction per run, under an advisory lock so replicas do not compute the same release
twice. Readers keep seeing the previous release until the new one is committed. The figures are
therefore as fresh as the last run (hourly by default), never computed per request.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from figures.aggregate import read_inputs
from figures.inputs import Cell, Inputs, collector_paused
from figures.release import release_parts
from figures.tables import stat_cell, stat_release

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


def build_sorted(inputs: Inputs) -> list[Cell]:
    """:func:`build_release`, its cells in the order of ``stat_cell``'s primary key: COPY then
    appends to the key's index page by page instead of inserting all over it. Python orders
    strings by code point, which is UTF-8's byte order, i.e. the database's "C" collation."""
    return [cell for part in sorted_parts(inputs) for cell in part]


def sorted_parts(inputs: Inputs) -> Iterator[list[Cell]]:
    """:func:`figures.release.release_parts`, each part in key order. The key starts with the
    period and the parts come one period at a time, in order, so the parts joined are in key
    order too: each can be stored while the next is protected."""
    with collector_paused():
        for part in release_parts(inputs):
            part.sort(key=_KEY_ORDER)
            yield part


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


async def _store(
    session: AsyncSession, release_id: int, parts: AsyncIterator[list[Cell]]
) -> tuple[int, int]:
    """Write the parts as they come, one COPY per part; (cells, suppressed) written."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    cells = suppressed = 0
    async for part in parts:
        cells += len(part)
        suppressed += sum(1 for c in part if c.suppressed)
        if not part:
            continue
        rows = stored_rows(release_id, part)
        if driver is not None and hasattr(driver, "copy_records_to_table"):
            # COPY: a period is thousands of rows; inserts would dominate the run.
            await driver.copy_records_to_table("stat_cell", records=rows, columns=list(_COLUMNS))
        else:
            await session.execute(
                insert(stat_cell), [dict(zip(_COLUMNS, r, strict=True)) for r in rows]
            )
    return cells, suppressed


class _Handover:
    """Parts from the build thread to the event loop, one period at a time."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[list[Cell] | BaseException | None] = asyncio.Queue()
        self.stop = threading.Event()
        self.built_at = 0.0

    def produce(self, inputs: Inputs) -> None:
        """In the build thread: protect the release and hand each period over when done."""
        try:
            for part in sorted_parts(inputs):
                if self.stop.is_set():
                    return
                self.loop.call_soon_threadsafe(self.queue.put_nowait, part)
        except BaseException as exc:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, exc)
            raise
        self.built_at = time.perf_counter()
        self.loop.call_soon_threadsafe(self.queue.put_nowait, None)

    async def parts(self) -> AsyncIterator[list[Cell]]:
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
    # The protection is CPU work: off the event loop, so the app keeps answering meanwhile.
    # It hands the release over one period at a time, and the database stores each period
    # while the next is protected (and drops the old release's cells before the first
    # arrives; readers keep seeing them until this transaction commits): on two cores the
    # three overlap.
    handover = _Handover()
    building = asyncio.ensure_future(asyncio.to_thread(handover.produce, inputs))
    months = sorted({m for m, _, _ in inputs.people})
    try:
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
        await session.execute(delete(stat_cell).where(stat_cell.c.release_id < release_id))
        await session.execute(delete(stat_release).where(stat_release.c.id < release_id))
        cells, suppressed = await _store(session, release_id, handover.parts())
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
