"""The claim: one statement that picks due messages oldest first and leases them.

On a pooled engine the claim is a single autocommitted ``WITH due AS (… FOR UPDATE SKIP
LOCKED) UPDATE … FROM due RETURNING …``; counted here on the wire (statements the engine sent
while claiming), and its order and lease checked on the rows.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from intake.crypto import ContactCipher
from notify import enqueue
from notify.delivery import _claim, _claim_statement
from notify.tables import outbox
from notify.testing import sample_reminder

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
Maker = async_sessionmaker[AsyncSession]


async def test_the_claim_is_one_statement_oldest_due_first(
    maker: Maker, engine: AsyncEngine, cipher: ContactCipher
) -> None:
    # Due at T0-1 min, T0-5 min, ..., enqueued in an order unlike their due times.
    minutes = [1, 5, 3, 9, 7, 2]
    ids = {}
    async with maker.begin() as session:
        for i, m in enumerate(minutes):
            due = T0 - timedelta(minutes=m)
            ids[m] = await enqueue(session, sample_reminder(cipher, i), now=due)
        later = await enqueue(session, sample_reminder(cipher, 99), now=T0 + timedelta(minutes=1))
    lease = timedelta(minutes=5)

    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split()[0].upper())

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        claimed = await _claim(maker, now=T0, batch_size=4, worker_id="w1", lease=lease)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)

    assert statements == ["WITH"]  # no BEGIN/COMMIT of its own, one statement
    assert [c.id for c in claimed] == [ids[9], ids[7], ids[5], ids[3]]
    assert all(c.attempts == 1 for c in claimed)
    async with maker() as session:
        rows = {r.id: r for r in await session.execute(select(outbox))}
    for c in claimed:
        assert rows[c.id].status == "sending"
        assert rows[c.id].lease_owner == "w1"
        assert rows[c.id].next_attempt_at == T0 + lease
    assert {i for i, r in rows.items() if r.status == "pending"} == {ids[1], ids[2], later}
    # The rest is claimed by the next call, and then nothing is due.
    rest = await _claim(maker, now=T0, batch_size=4, worker_id="w2", lease=lease)
    assert [c.id for c in rest] == [ids[2], ids[1]]
    assert await _claim(maker, now=T0, batch_size=4, worker_id="w3", lease=lease) == []


async def test_the_claim_reads_the_unsent_rows_in_due_order_without_sorting(
    maker: Maker, engine: AsyncEngine, cipher: ContactCipher
) -> None:
    """The claim's plan reads an index in due order and stops after the batch: no sort of
    every due row, whatever the history of sent messages (issue 12). Sequential scans are
    disabled so the small test table does not hide which plans the indexes allow."""
    async with maker.begin() as session:
        for i in range(20):
            await enqueue(session, sample_reminder(cipher, i), now=T0 - timedelta(minutes=i))
    stmt = _claim_statement(now=T0, batch_size=4, worker_id="w1", lease=timedelta(minutes=5))
    async with engine.connect() as conn:
        await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        sql = stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
        plan = "\n".join((await conn.exec_driver_sql(f"EXPLAIN {sql}")).scalars())
        await conn.rollback()
    assert "ix_notify_outbox_due" in plan, plan
    assert "Sort" not in plan, plan
