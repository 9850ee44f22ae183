"""Behaviour that needs real commits: racing retries and the command line."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import httpx
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from helpers import interest_body, make_org, run_cli, unique
from intake.crypto import ContactCipher
from intake.registry import authenticate
from intake.tables import idempotency_key, interest, organisation
from samhjelp.app import Services, create_app
from samhjelp.settings import Settings


async def test_racing_retries_with_one_key_store_one_interest(
    engine: AsyncEngine, cipher: ContactCipher, settings: Settings
) -> None:
    maker = async_sessionmaker(engine, expire_on_commit=False)
    async with maker.begin() as s:
        org = await make_org(s, ("4601",))
    services = Services(settings=settings, engine=engine, sessionmaker=maker, cipher=cipher)
    key = str(uuid.uuid4())  # anonymous keys must carry 128 bits (issue 8)
    body = interest_body(organisation=org.slug)
    try:
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            answers = await asyncio.gather(
                *(
                    c.post("/api/v1/interests", json=body, headers={"Idempotency-Key": key})
                    for _ in range(6)
                )
            )
        assert {a.status_code for a in answers} == {201}
        assert len({a.json()["receipt_code"] for a in answers}) == 1
        async with maker() as s:
            stored = await s.scalar(
                select(func.count())
                .select_from(interest)
                .where(interest.c.organisation_id == org.id)
            )
        assert stored == 1
    finally:
        async with maker.begin() as s:
            await s.execute(delete(interest).where(interest.c.organisation_id == org.id))
            await s.execute(delete(idempotency_key))
            await s.execute(delete(organisation).where(organisation.c.id == org.id))


async def test_cli_org_and_apikey(database_url: str, engine: AsyncEngine) -> None:
    slug = unique("cli-org")
    added = await asyncio.to_thread(
        run_cli,
        database_url,
        "org",
        "add",
        "--name",
        "Frivilligsentralen Test",
        "--kind",
        "contact_point",
        "--municipalities",
        "3405,3440",
        "--slug",
        slug,
    )
    assert added.returncode == 0, added.stderr
    listed = await asyncio.to_thread(run_cli, database_url, "org", "list")
    line = next(ln for ln in listed.stdout.splitlines() if ln.startswith(slug))
    assert "3405,3440" in line
    bad = await asyncio.to_thread(
        run_cli,
        database_url,
        "org",
        "add",
        "--name",
        "X",
        "--kind",
        "link",
        "--municipalities",
        "9999",
    )
    assert bad.returncode != 0 and "unknown: 9999" in bad.stderr

    fac = await asyncio.to_thread(
        run_cli,
        database_url,
        "facilitator",
        "add",
        "--org",
        slug,
        "--name",
        "Igang Setter",
        "--themes",
        "sorg,across",
        "--languages",
        "no,en",
        "--max-starts",
        "2",
    )
    assert fac.returncode == 0, fac.stderr
    facs = await asyncio.to_thread(run_cli, database_url, "facilitator", "list", "--org", slug)
    assert "Igang Setter\tacross,sorg\ten,no\tmax 2" in facs.stdout
    wrong = await asyncio.to_thread(
        run_cli,
        database_url,
        "facilitator",
        "add",
        "--org",
        slug,
        "--name",
        "X",
        "--themes",
        "tull",
    )
    assert wrong.returncode != 0 and "unknown theme 'tull'" in wrong.stderr

    created = await asyncio.to_thread(
        run_cli, database_url, "apikey", "create", "--org", slug, "--role", "staff"
    )
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert "shown only once" in created.stderr
    maker = async_sessionmaker(engine)
    async with maker() as s:
        principal = await authenticate(s, key)
        assert principal is not None and principal.role == "staff"
        assert await authenticate(s, key + "x") is None
    async with maker.begin() as s:
        await s.execute(delete(organisation).where(organisation.c.slug == slug))

    seeded = await asyncio.to_thread(run_cli, database_url, "db", "seed")
    assert seeded.returncode == 0 and '"municipalities": 357' in seeded.stdout


def test_invalid_settings_fail_fast_with_a_clear_message() -> None:
    env = os.environ | {"SAMHJELP_ENVIRONMENT": "production"}
    env.pop("SAMHJELP_CONTACT_KEY", None)
    done = subprocess.run(
        [sys.executable, "-m", "samhjelp.cli", "db", "upgrade"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "invalid settings" in done.stderr and "SAMHJELP_CONTACT_KEY" in done.stderr
