"""Registration in one round trip (issue 12): placement, insert and Idempotency-Key in one
statement, with the registry cached per process and never trusted over the database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, event, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from helpers import interest_body, make_org
from intake.registration import AREAS
from intake.tables import catchment, idempotency_key, interest, organisation

_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")


@contextmanager
def statements(conn: AsyncConnection) -> Iterator[list[str]]:
    """Every statement the request sends, apart from transaction control."""
    seen: list[str] = []

    def note(_c: Any, _cur: Any, sql: str, *_: Any) -> None:
        if not sql.lstrip().upper().startswith(_TRANSACTION_CONTROL):
            seen.append(sql)

    event.listen(conn.sync_connection, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(conn.sync_connection, "before_cursor_execute", note)


async def test_a_registration_with_a_key_is_one_statement(
    client: Any, session: AsyncSession, conn: AsyncConnection
) -> None:
    org = await make_org(session, ("4601",))
    # The first registration may read the registry into the process cache.
    assert (await client.post("/api/v1/interests", json=interest_body())).status_code == 201
    key = str(uuid.uuid4())
    with statements(conn) as sent:
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
