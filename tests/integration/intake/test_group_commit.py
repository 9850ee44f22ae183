"""Group commit of the one-trip registration (issue 12, ``intake.group_commit``): registrations
that wait while the database is busy go together, one round trip and one commit, and each keeps
its guarantees — committed before it is answered, one interest per Idempotency-Key, and one
registration's failure never another's."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from helpers import interest_body, make_org
from intake import group_commit, receipt
from intake.crypto import ContactCipher
from intake.tables import idempotency_key, interest, organisation
from samhjelp.app import Services, create_app
from samhjelp.database import make_engine
from samhjelp.settings import Settings


@asynccontextmanager
async def service(
    database_url: str, cipher: ContactCipher, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncEngine, Any]]:
    """The app on a pooled engine of its own, with an organisation serving 4601; everything it
    stored is removed afterwards."""
    app_engine = make_engine(database_url, pool_size=4)
    maker = async_sessionmaker(app_engine, expire_on_commit=False)
    async with maker.begin() as s:
        org = await make_org(s, ("4601",))
    services = Services(settings=settings, engine=app_engine, sessionmaker=maker, cipher=cipher)
    transport = httpx.ASGITransport(app=create_app(services), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            # The area cache is read before the batches that are watched.
            body = interest_body(organisation=org.slug)
            assert (await client.post("/api/v1/interests", json=body)).status_code == 201
            yield client, app_engine, org
    finally:
        async with maker.begin() as s:
            await s.execute(delete(interest).where(interest.c.organisation_id == org.id))
            await s.execute(delete(idempotency_key))
            await s.execute(delete(organisation).where(organisation.c.id == org.id))
        await app_engine.dispose()


async def together(engine: AsyncEngine, posts: list[Awaitable[httpx.Response]]) -> list[Any]:
    """Send the posts while the group commit is busy, so that all of them wait, then let it
    go: they travel as one batch (one round trip, one transaction)."""
    batches = group_commit.group_commit(engine)
    batches.flushing += group_commit.FLUSHERS  # as if every flusher were in flight
    sent = asyncio.gather(*posts)
    for _ in range(1000):
        if len(batches.waiting) == len(posts):
            break
        await asyncio.sleep(0.005)
    assert len(batches.waiting) == len(posts)
    batches.flushing -= group_commit.FLUSHERS - 1
    asyncio.get_running_loop().create_task(batches._drain())
    return list(await sent)


async def stored(engine: AsyncEngine, org: Any) -> int:
    async with async_sessionmaker(engine)() as other:  # another connection: what is committed
        found = await other.scalar(
            select(func.count()).select_from(interest).where(interest.c.organisation_id == org.id)
        )
    return int(found or 0)


async def test_waiting_registrations_go_in_one_batch_and_are_committed(
    database_url: str, cipher: ContactCipher, settings: Settings, engine: AsyncEngine
) -> None:
    async with service(database_url, cipher, settings) as (client, app_engine, org):
        body = interest_body(organisation=org.slug)
        answers = await together(
            app_engine, [client.post("/api/v1/interests", json=body) for _ in range(6)]
        )
        assert [a.status_code for a in answers] == [201] * 6
        assert len({a.json()["receipt_code"] for a in answers}) == 6
        assert group_commit.group_commit(app_engine).sizes[-1] == 6
        assert await stored(engine, org) == 7


async def test_racing_retries_in_one_batch_store_one_interest(
    database_url: str, cipher: ContactCipher, settings: Settings, engine: AsyncEngine
) -> None:
    async with service(database_url, cipher, settings) as (client, app_engine, org):
        body = interest_body(organisation=org.slug)
        key = {"Idempotency-Key": str(uuid.uuid4())}
        other = {"Idempotency-Key": str(uuid.uuid4())}
        answers = await together(
            app_engine,
            [client.post("/api/v1/interests", json=body, headers=key) for _ in range(4)]
            + [client.post("/api/v1/interests", json=body, headers=other)],
        )
        assert [a.status_code for a in answers] == [201] * 5
        assert len({a.json()["receipt_code"] for a in answers[:4]}) == 1
        assert [a.headers.get("idempotent-replayed") for a in answers[:4]].count("true") == 3
        assert answers[4].json()["receipt_code"] != answers[0].json()["receipt_code"]
        assert group_commit.group_commit(app_engine).sizes[-1] == 5
        assert await stored(engine, org) == 1 + 2


async def test_a_failed_batch_is_sent_again_one_by_one(
    database_url: str,
    cipher: ContactCipher,
    settings: Settings,
    engine: AsyncEngine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with service(database_url, cipher, settings) as (client, app_engine, org):
        # Two of the five get the same receipt code: that statement breaks the batch's
        # transaction; the others are stored all the same, each alone.
        codes = itertools.chain(
            ["2222A-AAAAA", "2222B-BBBBB", "2222B-BBBBB", "2222C-CCCCC", "2222D-DDDDD"]
        )
        monkeypatch.setattr(receipt, "new_code", lambda: next(codes))
        body = interest_body(organisation=org.slug)
        answers = await together(
            app_engine, [client.post("/api/v1/interests", json=body) for _ in range(5)]
        )
        assert sorted(a.status_code for a in answers) == [201, 201, 201, 201, 500]
        sizes = list(group_commit.group_commit(app_engine).sizes)
        assert sizes[-6:] == [5, 1, 1, 1, 1, 1]
        assert await stored(engine, org) == 1 + 4


async def test_a_registration_cancelled_while_waiting_is_not_sent(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = group_commit.GroupCommit(engine)
    sent: list[list[Any]] = []

    async def flush(batch: list[Any]) -> None:
        sent.append([args for args, _ in batch])
        for _, done in batch:
            done.set_result("row")

    monkeypatch.setattr(batches, "_flush", flush)
    batches.flushing = group_commit.FLUSHERS  # busy: both wait
    first = asyncio.ensure_future(batches.one_trip(("a",)))
    second = asyncio.ensure_future(batches.one_trip(("b",)))
    await asyncio.sleep(0)
    first.cancel()  # the client went away, say
    await asyncio.sleep(0)
    batches.flushing -= group_commit.FLUSHERS - 1
    await batches._drain()
    assert sent == [[("b",)]]
    assert await second == "row"
    assert first.cancelled()
