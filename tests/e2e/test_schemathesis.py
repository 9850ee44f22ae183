"""A short, seeded schemathesis run over the whole OpenAPI schema (issue 8).

The app runs in-process over ASGI against a real PostgreSQL database of its own (created,
migrated and seeded here, dropped afterwards), so the fuzzer's committed writes never reach the
rolled-back tests sharing the session's database. Staff operations are called with a staff key,
referral operations with a referrer key, both of a demo organisation made here.

Checks: no server error, every status documented, every content type documented, every body
matching its schema. The seed and the per-operation example count are fixed, so a run is
repeatable and takes seconds.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from e2e.support import Site
from helpers import make_key, make_org
from intake.crypto import ContactCipher
from intake.reference import seed_reference
from samhjelp.app import Services, create_app
from samhjelp.database import migrations_dir, upgrade_on
from samhjelp.settings import Settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: Small and fixed for the suite; raise them for a deeper look, e.g.
#: ``SAMHJELP_FUZZ_EXAMPLES=300 SAMHJELP_FUZZ_SEED=7 pytest tests/e2e/test_schemathesis.py``.
EXAMPLES_PER_OPERATION = int(os.environ.get("SAMHJELP_FUZZ_EXAMPLES", "30"))
SEED = int(os.environ.get("SAMHJELP_FUZZ_SEED", "20261201"))


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def fuzz_database(database_url: str) -> Iterator[str]:
    """A database next to the session's one, only for this run."""
    url = make_url(database_url)
    name = f"{url.database}_fuzz_{secrets.token_hex(3)}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    asyncio.run(_admin(admin, f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
async def fuzz_keys(fuzz_database: str) -> dict[str, dict[str, str]]:
    """Migrate and seed the fuzz database; a demo organisation with a staff and a referrer key."""
    engine = create_async_engine(fuzz_database, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(upgrade_on)
        async with async_sessionmaker(engine).begin() as s:
            await seed_reference(s, migrations_dir() / "reference" / "kommuner_2024.csv")
            org = await make_org(s, ("4601", "0301", "5001"), name="LINK Fuzz")
            lms = await make_org(s, (), kind="learning_mastery_service", name="LMS Fuzz")
            return {
                "staff": await make_key(s, org, "staff"),
                "referrer": await make_key(s, lms, "referrer"),
            }
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def api_schema(
    fuzz_database: str,
    fuzz_keys: dict[str, dict[str, str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Any:
    # Schemathesis drives the app on one event loop of its own (a thread): the pool's
    # connections are opened and used there only; dropping the database closes them.
    engine = create_async_engine(fuzz_database, pool_size=2, max_overflow=0)
    services = Services(
        settings=Settings(
            data_dir=Path(tmp_path_factory.mktemp("fuzz")),
            public_base_url="http://testserver",
            post_rate_per_minute=1_000_000,
            scheduler_enabled=False,
        ),
        engine=engine,
        sessionmaker=async_sessionmaker(engine, expire_on_commit=False),
        cipher=ContactCipher(bytes(range(32))),
        link_secret="fuzz-link-secret-" + "x" * 32,
    )
    return schemathesis.openapi.from_asgi("/schema/openapi.json", create_app(services))


def _failures_of(operation: Any, mode: Any, keys: dict[str, dict[str, str]]) -> list[str]:
    """Run one operation's seeded examples; every failing check, one line each."""
    path = operation.path
    headers: dict[str, str] = {}
    if path.startswith("/api/v1/staff"):
        headers = keys["staff"]
    elif path.startswith("/api/v1/referral"):
        headers = keys["referrer"]
    found: list[str] = []

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report, do not minimise
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except FailureGroup as exc:  # record it and go on with the next case
            first = str(exc).strip().splitlines()[:3]
            found.append(f"{operation.label} [{mode}]: {' | '.join(first)}")

    try:
        run()
    except Unsatisfiable:
        # Negative mode has nothing to break in an operation without inputs (GET /api/v1/themes).
        assert mode == GenerationMode.NEGATIVE, operation.label
    return found


def test_api_conforms_to_its_schema(api_schema: Any, fuzz_keys: dict[str, dict[str, str]]) -> None:
    """(pytest 9 removed the node attribute schemathesis' ``from_fixture`` needs, so the
    operations are driven here with hypothesis directly; the same checks, seed and bounds.)"""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures.extend(_failures_of(operation, mode, fuzz_keys))
    distinct = sorted(set(failures))
    assert not distinct, f"{len(failures)} failing cases:\n" + "\n".join(distinct[:60])


@pytest.mark.browser
async def test_api_docs_render_in_chromium_under_their_csp(site: Site, browser: Any) -> None:
    """/api/docs works with its CSP enforced (no bypass) and loads nothing from elsewhere."""
    context = await browser.new_context()
    page = await context.new_page()
    try:
        await page.add_init_script(
            "window.__csp = []; document.addEventListener('securitypolicyviolation',"
            " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
        )
        requested: list[str] = []
        page.on("request", lambda r: requested.append(r.url))
        await page.goto(f"{site.url}/api/docs")
        await page.wait_for_selector(".opblock", timeout=15_000)
        assert await page.locator(".opblock").count() >= 15
        await page.locator(".opblock-summary", has_text="/api/v1/interests").first.click()
        await page.wait_for_selector(".opblock-body")
        assert await page.evaluate("window.__csp") == []
        assert requested and all(u.startswith((site.url, "data:")) for u in requested)
    finally:
        await context.close()
