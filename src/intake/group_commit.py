"""Group commit for the one-trip registration (issue 12): registrations that arrive while the
database is busy with others go to it together, one round trip and one commit for all of them.

Each registration is still its one statement (:data:`intake.registration._ONE_TRIP`: the area
re-checked, the Idempotency-Key claimed, the interest stored), bound with its own values. What
changes under load is how the statements travel: when :data:`FLUSHERS` batches are already in
flight, a registration waits for the next free one, and the registrations waiting by then are
sent in one pipeline (asyncpg's ``fetchmany``: Bind/Execute for each, one Sync), which
PostgreSQL runs as one implicit transaction with one commit — where one registration at a time
paid a round trip, a commit and a WAL flush each (measured: PostgreSQL's CPU per row under 16
connections 0.54-0.68 ms one by one, 0.28-0.29 ms four at a time).

Nothing is answered before its batch has committed. A registration alone is sent exactly as
before (one statement, its own transaction). The guarantees of one registration hold in a
batch:

- its statement is atomic: key and interest both, or neither;
- racing retries store one interest: two statements with the same key in one batch run one
  after the other in the same transaction, so the second finds the key taken and replays; in
  concurrent batches the second waits for the first's commit, as before. Each batch runs its
  statements in the order of their key hashes, so two batches can never wait for each other;
- one registration's failure is no other's: if the batch's transaction fails (a statement
  raised, so PostgreSQL rolled all of it back, nothing stored), each registration is sent again
  alone and gets its own answer;
- a connection the database dropped is invalidated (:func:`intake.registration.hot_connection`),
  and every registration of that batch gets the error, as the one request on it did before:
  whether the commit happened is unknown, so nothing is sent again.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from intake.registration import _CONNECTION_LOST, _ONE_TRIP, _PARAMS, hot_connection

#: Batches in flight at once per process (each on its own pooled connection). 4 made 10-25 %
#: more registrations per second than 2 in four paired wrk runs on the 2-core machine.
FLUSHERS = 4
#: At most this many registrations in one batch.
MOST = 32
_KEY = _PARAMS.index("key_hash")


class GroupCommit:
    """The registrations waiting for a batch on one engine's pool, and its flushers."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.waiting: list[tuple[Sequence[Any], asyncio.Future[Any]]] = []
        self.flushing = 0
        self._flushers: set[asyncio.Task[None]] = set()  # the loop keeps only weak references
        #: Sizes of the batches sent (tests and benchmarks read it; the last 1,000).
        self.sizes: deque[int] = deque(maxlen=1000)

    async def one_trip(self, args: Sequence[Any]) -> Any:
        """The one-trip statement's row for these values, once its batch has committed."""
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiting.append((args, done))
        if self.flushing < FLUSHERS:
            self.flushing += 1
            flusher = asyncio.get_running_loop().create_task(self._drain())
            self._flushers.add(flusher)
            flusher.add_done_callback(self._flushers.discard)
        return await done

    async def _drain(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[:MOST], self.waiting[MOST:]
                # A registration whose request was cancelled while it waited is not sent.
                batch = [item for item in batch if not item[1].done()]
                if batch:
                    await self._flush(batch)
        except BaseException as exc:  # cancelled (shutdown): nobody else may be left to send
            if self.flushing == 1:
                left, self.waiting = self.waiting, []
                _fail(left, exc)
            raise
        finally:
            self.flushing -= 1

    async def _flush(self, batch: list[tuple[Sequence[Any], asyncio.Future[Any]]]) -> None:
        self.sizes.append(len(batch))
        batch.sort(key=lambda item: item[0][_KEY] or b"")
        try:
            async with hot_connection(self.engine) as db:
                if len(batch) == 1:
                    rows = [await db.fetchrow(_ONE_TRIP, *batch[0][0])]
                else:
                    rows = await db.fetchmany(_ONE_TRIP, [args for args, _ in batch])
        except _CONNECTION_LOST as exc:
            _fail(batch, exc)
            return
        except Exception as exc:
            if len(batch) == 1:
                _fail(batch, exc)
                return
            # PostgreSQL rolled the whole batch back: each goes again alone.
            for item in batch:
                await self._flush([item])
            return
        except BaseException as exc:  # cancelled: so are the registrations waiting on it
            _fail(batch, exc)
            raise
        for (_, done), row in zip(batch, rows, strict=True):
            if not done.done():
                done.set_result(row)


def _fail(batch: list[tuple[Sequence[Any], asyncio.Future[Any]]], exc: BaseException) -> None:
    for _, done in batch:
        if not done.done():
            if isinstance(exc, asyncio.CancelledError):
                done.cancel()
            else:
                done.set_exception(exc)


_BATCHES: weakref.WeakKeyDictionary[Any, GroupCommit] = weakref.WeakKeyDictionary()


def group_commit(engine: AsyncEngine) -> GroupCommit:
    """The batches of this engine's current pool (a disposed engine's new pool gets new ones)."""
    pool = engine.sync_engine.pool
    found = _BATCHES.get(pool)
    if found is None:
        found = _BATCHES[pool] = GroupCommit(engine)
    return found


class Pooled:
    """The registration's way to the database on a pooled engine: the one-trip statement
    through the group commit; the rare other queries (the area cache's reads, a replay's first
    answer) each on a pooled connection of their own."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def one_trip(self, args: Sequence[Any]) -> Any:
        return await group_commit(self.engine).one_trip(args)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with hot_connection(self.engine) as db:
            found: list[asyncpg.Record] = await db.fetch(sql, *args)
        return found

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with hot_connection(self.engine) as db:
            return await db.fetchrow(sql, *args)


class Direct:
    """The same on one connection (a test's transaction): the statement sent at once."""

    def __init__(self, db: asyncpg.Connection) -> None:
        self.db = db

    async def one_trip(self, args: Sequence[Any]) -> Any:
        return await self.db.fetchrow(_ONE_TRIP, *args)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        found: list[asyncpg.Record] = await self.db.fetch(sql, *args)
        return found

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self.db.fetchrow(sql, *args)


@asynccontextmanager
async def hot_trips(bind: AsyncEngine | AsyncConnection) -> AsyncIterator[Pooled | Direct]:
    """What :func:`intake.registration.register_in_one_trip` sends its queries through: on a
    pooled engine the group commit (no connection is held while a registration waits), on a
    connection a savepoint of its transaction (:func:`intake.registration.hot_connection`)."""
    if isinstance(bind, AsyncEngine):
        yield Pooled(bind)
        return
    async with hot_connection(bind) as db:
        yield Direct(db)
