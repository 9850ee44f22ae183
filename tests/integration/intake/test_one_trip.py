"""Registration in one round trip (issue 12): placement, insert and Idempotency-Key in one
statement, with the registry cached per process and never trusted over the database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from helpers import interest_body, make_org
from intake.crypto import ContactCipher
from intake.registration import AREAS
from intake.tables import catchment, idempotency_key, interest, organisation
from samhjelp.app import Services, create_app
from samhjelp.database import make_engine
from samhjelp.settings import Settings

_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")


@asynccontextmanager
async def statements(conn: AsyncConnection) -> AsyncIterator[list[str]]:
    """Every statement sent on the bare asyncpg connection, apart from transaction control.

    The hot path bypasses SQLAlchemy, so its events would see nothing: asyncpg's own query
    logger sees what goes over the wire (SQLAlchemy's prepared statements excepted).
    """
    seen: list[str] = []
    raw = (await conn.get_raw_connection()).driver_connection

    def note(query: Any) -> None:
        if not query.query.lstrip().upper().startswith(_TRANSACTION_CONTROL):
            seen.append(query.query)

    raw.add_query_logger(note)
    try:
        yield seen
    finally:
        await asyncio.sleep(0)  # asyncpg hands queries to its loggers with call_soon
        raw.remove_query_logger(note)


async def test_a_registration_with_a_key_is_one_statement(
    client: Any, session: AsyncSession, conn: AsyncConnection
) -> None:
    org = await make_org(session, ("4601",))
    # The first registration may read the registry into the process cache.
    assert (await client.post("/api/v1/interests", json=interest_body())).status_code == 201
    key = str(uuid.uuid4())
    async with statements(conn) as sent:
        answer = await client.post(
            "/api/v1/interests", json=interest_body(), headers={"Idempotency-Key": key}
        )
    assert answer.status_code == 201, answer.text
    assert answer.json()["organisation"] == org.name
    assert len(sent) == 1, sent
    # Both rows went in with that one statement.
    assert await session.scalar(select(func.count()).select_from(idempotency_key)) == 1
    placed = await session.scalar(
        select(func.count()).select_from(interest).where(interest.c.organisation_id == org.id)
    )
    assert placed == 2
    # A retry still gets the first answer, and stores nothing twice.
    again = await client.post(
        "/api/v1/interests", json=interest_body(), headers={"Idempotency-Key": key}
    )
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == answer.json()
    assert await session.scalar(select(func.count()).select_from(interest)) == 2


async def test_registry_changes_after_the_cache_is_read_are_honoured(
    client: Any, session: AsyncSession
) -> None:
    # Nobody serves 4601 in this test's data: unmet demand, and the cache now says so.
    first = (await client.post("/api/v1/interests", json=interest_body())).json()
    assert first["served"] is False
    # An organisation takes 4601 on (as another process would): the cache is now stale.
    org = await make_org(session, ("4601",), name="LINK Ny")
    assert (await client.post("/api/v1/interests", json=interest_body())).json()[
        "organisation"
    ] == "LINK Ny"
    # Chosen by slug: a refusal from the stale entry would be wrong.
    chosen = await client.post("/api/v1/interests", json=interest_body(organisation=org.slug))
    assert chosen.status_code == 201, chosen.text
    # Renamed: the stored answer names the organisation as it is now.
    await session.execute(
        update(organisation).where(organisation.c.id == org.id).values(name="LINK Omdøpt")
    )
    renamed = (await client.post("/api/v1/interests", json=interest_body())).json()
    assert renamed["organisation"] == "LINK Omdøpt"
    # And it stops serving 4601: unmet demand again, nothing placed with it.
    await session.execute(delete(catchment).where(catchment.c.organisation_id == org.id))
    gone = await client.post("/api/v1/interests", json=interest_body())
    assert gone.json()["served"] is False
    placed = await session.scalar(
        select(func.count()).select_from(interest).where(interest.c.organisation_id == org.id)
    )
    assert placed == 3


async def test_changing_the_registry_drops_this_process_cache(
    client: Any, session: AsyncSession
) -> None:
    assert (await client.post("/api/v1/interests", json=interest_body())).status_code == 201
    assert AREAS.loaded
    await make_org(session, ("4601",))
    assert not AREAS.loaded


async def test_a_registry_that_keeps_changing_is_a_409_not_a_500(
    client: Any, session: AsyncSession, monkeypatch: Any
) -> None:
    """If the area never matches what the statement re-reads, nothing is stored and the client
    is told to send it again (problem+json 409), never a server error."""
    from intake.interests import Area

    monkeypatch.setattr(Area, "fingerprint", lambda self: ["changed-meanwhile"])
    before = await session.scalar(select(func.count()).select_from(interest))
    answer = await client.post("/api/v1/interests", json=interest_body())
    assert answer.status_code == 409
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert await session.scalar(select(func.count()).select_from(interest)) == before


async def test_on_a_pooled_engine_a_registration_is_one_round_trip(
    database_url: str, engine: AsyncEngine, cipher: ContactCipher, settings: Settings
) -> None:
    """The service's own engine: the statement is its own transaction, with no BEGIN or
    COMMIT around it, and what it stored is committed (seen from another connection)."""
    app_engine = make_engine(database_url, pool_size=1)  # one connection: the one watched
    maker = async_sessionmaker(app_engine, expire_on_commit=False)
    async with maker.begin() as s:
        org = await make_org(s, ("4601",))
    services = Services(settings=settings, engine=app_engine, sessionmaker=maker, cipher=cipher)
    transport = httpx.ASGITransport(app=create_app(services))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.post("/api/v1/interests", json=interest_body())).status_code == 201
            seen: list[str] = []
            async with app_engine.connect() as c:
                raw = (await c.get_raw_connection()).driver_connection

            def note(query: Any) -> None:
                seen.append(query.query)

            raw.add_query_logger(note)
            answer = await client.post(
                "/api/v1/interests",
                json=interest_body(),
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            await asyncio.sleep(0)  # asyncpg hands queries to its loggers with call_soon
            raw.remove_query_logger(note)
        assert answer.status_code == 201, answer.text
        assert len(seen) == 1 and seen[0].lstrip().startswith("WITH area"), seen
        async with async_sessionmaker(engine)() as other:
            stored = await other.scalar(
                select(func.count())
                .select_from(interest)
                .where(interest.c.organisation_id == org.id)
            )
        assert stored == 2
    finally:
        async with maker.begin() as s:
            await s.execute(delete(interest).where(interest.c.organisation_id == org.id))
            await s.execute(delete(idempotency_key))
            await s.execute(delete(organisation).where(organisation.c.id == org.id))
        await app_engine.dispose()


async def test_a_dead_connection_is_not_handed_to_the_next_registration(
    database_url: str, cipher: ContactCipher, settings: Settings, engine: AsyncEngine
) -> None:
    """SQLAlchemy never sees the hot path's errors, so the path itself must invalidate a
    connection the database dropped (a restart): the next request gets a fresh one."""
    app_engine = make_engine(database_url, pool_size=1)
    maker = async_sessionmaker(app_engine, expire_on_commit=False)
    services = Services(settings=settings, engine=app_engine, sessionmaker=maker, cipher=cipher)
    transport = httpx.ASGITransport(app=create_app(services), raise_app_exceptions=False)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            assert (await client.post("/api/v1/interests", json=interest_body())).status_code == 201
            async with app_engine.connect() as c:
                pid = (await c.get_raw_connection()).driver_connection.get_server_pid()
            async with engine.connect() as admin:
                await admin.execute(text(f"SELECT pg_terminate_backend({pid})"))
            await asyncio.sleep(0.2)
            failed = await client.post("/api/v1/interests", json=interest_body())
            assert failed.status_code == 500
            again = await client.post("/api/v1/interests", json=interest_body())
            assert again.status_code == 201, again.text
    finally:
        async with maker.begin() as s:
            await s.execute(delete(interest).where(interest.c.municipality_number == "4601"))
        await app_engine.dispose()
