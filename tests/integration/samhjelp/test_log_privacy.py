"""A failed INSERT must not write the registration into the logs.

PostgreSQL's error for a rejected row carries the whole row ("Failing row contains (…)") and
SQLAlchemy's message appends the statement's parameters; either would put a person's theme,
age band, gender and municipality into every log line of an incident.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker

from helpers import interest_body, make_org
from intake.crypto import ContactCipher
from samhjelp.app import Services, create_app
from samhjelp.database import make_engine
from samhjelp.logs import JsonFormatter
from samhjelp.settings import Settings

# Values chosen so that none of them can appear in a log line by accident.
THEME = "spiseforstyrrelser"
AGE_BAND = "63-67"
GENDER = "female"
MUNICIPALITY = "5501"
EMAIL = "logg.personvern@example.no"


@pytest.fixture
async def app_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """The engine exactly as the service builds it (not the test suite's own engine)."""
    eng = make_engine(database_url, pool_size=2)
    yield eng
    await eng.dispose()


@pytest.fixture
async def app_conn(app_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    async with app_engine.connect() as connection:
        outer = await connection.begin()
        yield connection
        await outer.rollback()


@pytest.fixture
def json_lines() -> Any:
    """Every record any logger emits, formatted by the service's JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


async def test_a_failed_insert_logs_no_registration_data(
    app_engine: AsyncEngine,
    app_conn: AsyncConnection,
    cipher: ContactCipher,
    settings: Settings,
    json_lines: io.StringIO,
    engine: AsyncEngine,  # migrated and seeded by the suite
) -> None:
    maker = async_sessionmaker(
        bind=app_conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    async with maker() as s:
        org = await make_org(s, (MUNICIPALITY,))
        await s.commit()
    # Reject every new interest row inside this test's transaction (rolled back at the end):
    # PostgreSQL then reports the failing row with all its values.
    await app_conn.execute(
        text("ALTER TABLE interest ADD CONSTRAINT ck_test_reject_all CHECK (false) NOT VALID")
    )
    services = Services(
        settings=settings,
        engine=app_engine,
        sessionmaker=maker,
        cipher=cipher,
        link_secret="test-link-secret-" + "x" * 32,
    )
    body = interest_body(
        organisation=org.slug,
        municipality=MUNICIPALITY,
        themes=[THEME],
        age_band=AGE_BAND,
        gender=GENDER,
        contact={"email": EMAIL},
    )
    transport = httpx.ASGITransport(app=create_app(services), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.post("/api/v1/interests", json=body)
    assert answer.status_code == 500

    logged = json_lines.getvalue()
    assert "CheckViolation" in logged, "expected the failure itself to be logged"
    assert "23514" in logged, "the SQLSTATE helps the operator and names no one"
    for value in (THEME, AGE_BAND, GENDER, MUNICIPALITY, EMAIL, "logg.personvern"):
        assert value not in logged, f"{value!r} appeared in a log line"
    assert "Failing row" not in logged and "parameters:" not in logged
