"""How long the monthly suggestion-message job takes (issue 13 §2, samhjelp.nudges).

Creates a scratch database, migrates and seeds it, and registers ``--people`` waiting people
who all opted in with an e-mail address: half have a note with a change that places them now,
a quarter only "soon" changes, a quarter no note. Then, in the same run:

* **baseline**: enqueueing the same number of ``suggestion_offer`` messages directly
  (``notify.enqueue``: render + insert, one transaction) — the floor of any job that sends
  them through the outbox;
* **job, first month**: ``run_nudges`` (batches of 200 in their own transactions) until nobody
  is due;
* **job, steady state**: one more run when nobody is due (what every hourly run costs).

    .venv/bin/python bench/nudges.py --people 20000

The database is dropped afterwards. ``BENCH_DATABASE_URL`` points at another server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from groups import Lifecycle
from intake.crypto import ContactCipher
from intake.interests import CONTACT_CONTEXT
from intake.reference import seed_reference
from notify import Channel, OutgoingMessage, enqueue, seal_address
from samhjelp.database import migrations_dir, upgrade_on
from samhjelp.nudges import run_nudges

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
CIPHER = ContactCipher(bytes(range(32)))


def _admin_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _db_url(name: str) -> str:
    return re.sub(r"/[^/]*$", f"/{name}", _admin_url())


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_admin_url())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _fill(url: str, people: int) -> uuid.UUID:
    conn = await asyncpg.connect(url)
    try:
        org = uuid.uuid4()
        await conn.execute(
            "INSERT INTO organisation (id, slug, name, kind, region_slug)"
            " VALUES ($1, 'bench-nudges', 'LINK Oslo bench', 'link', 'oslo')",
            org,
        )
        await conn.execute(
            "INSERT INTO catchment (organisation_id, municipality_number) VALUES ($1, '0301')", org
        )
        rows = []
        for i in range(people):
            email = f"p{i}@example.no"
            rows.append((
                uuid.uuid4(), secrets.token_bytes(32), "0301", org, "oslo", ["sorg"], False, 33,
                "female", False, ["no"], ["mon-evening"], False, "email",
                CIPHER.encrypt(email, context=CONTACT_CONTEXT), "p***@e***.no", "2026-11-v1",
                NOW, "self", "waiting", NOW - timedelta(days=60, minutes=i), True, "nb",
            ))  # fmt: skip
        await conn.copy_records_to_table(
            "interest",
            columns=[
                "id", "receipt_hash", "municipality_number", "organisation_id", "region_slug",
                "themes", "cross_problem_welcome", "age_band", "gender", "same_gender",
                "languages", "slots", "digital_welcome", "contact_kind", "contact_encrypted",
                "contact_masked", "consent_version", "consented_at", "source", "status",
                "waiting_since", "suggestion_messages", "suggestion_language",
            ],
            records=rows,
        )  # fmt: skip
        reason = (
            '{"kind": "too_few", "organisation": "x", "theme": "sorg", "others": 2,'
            ' "needed": 4, "cross_problem_welcome": false}'
        )
        now_change = '{"kind": "add_slot", "value": "tue-evening", "soon": false}'
        soon_change = '{"kind": "add_slot", "value": "tue-evening", "soon": true}'
        await conn.execute(
            f"""
            INSERT INTO waiting_note (interest_id, reason, suggestion, suggestions, updated_at)
            SELECT id, '{reason}'::jsonb,
                   CASE WHEN n % 4 < 2 THEN '{now_change}' ELSE '{soon_change}' END::jsonb,
                   CASE WHEN n % 4 < 2 THEN '[{now_change}]' ELSE '[{soon_change}]' END::jsonb,
                   $1
            FROM (SELECT id, row_number() OVER (ORDER BY waiting_since) AS n FROM interest) s
            WHERE n % 4 < 3
            """,
            NOW,
        )
        await conn.execute("ANALYZE")
        return org
    finally:
        await conn.close()


async def bench(people: int) -> None:
    name = f"samhjelp_bench_nudges_{secrets.token_hex(4)}"
    await _admin(f'CREATE DATABASE "{name}"')
    engine = create_async_engine(_db_url(name).replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(upgrade_on)
        maker = async_sessionmaker(engine, expire_on_commit=False)
        async with maker.begin() as session:
            await seed_reference(session, migrations_dir() / "reference" / "kommuner_2024.csv")
        org = await _fill(_db_url(name), people)
        expected = sum(1 for n in range(1, people + 1) if n % 4 < 2)
        lc = Lifecycle(cipher=CIPHER, link_secret="b" * 40, base_url="https://samhjelp.no")

        t0 = time.perf_counter()
        async with maker.begin() as session:
            for i in range(expected):
                await enqueue(
                    session,
                    OutgoingMessage(
                        channel=Channel.EMAIL,
                        recipient=seal_address(CIPHER, f"p{i}@example.no"),
                        template="suggestion_offer",
                        lang="nb",
                        context={
                            "org_name": "LINK Oslo bench",
                            "accept_url": "https://samhjelp.no/forslag/" + "A" * 22,
                            "respond_by": NOW + timedelta(days=14),
                        },
                        organisation_id=org,
                        dedupe_key=f"baseline:{i}",
                    ),
                    now=NOW,
                )
        baseline = time.perf_counter() - t0

        t0 = time.perf_counter()
        sent = runs = 0
        while True:
            report = await run_nudges(maker, lc, now=NOW)
            runs += 1
            sent += report.sent
            if report.sent == 0:
                break
        job = time.perf_counter() - t0
        t0 = time.perf_counter()
        idle = await run_nudges(maker, lc, now=NOW + timedelta(hours=1))
        steady = time.perf_counter() - t0
        assert sent == expected and idle.sent == 0, (sent, expected)

        print(f"people opted in: {people}; with a change that places them now: {expected}")
        print(f"{'what':44} {'seconds':>8} {'ms/message':>11}")
        print(f"{'baseline: enqueue alone (render + insert)':44} {baseline:8.2f} "
              f"{1000 * baseline / expected:11.2f}")  # fmt: skip
        print(f"{f'job, first month ({runs} runs, batches of 200)':44} {job:8.2f} "
              f"{1000 * job / expected:11.2f}")  # fmt: skip
        print(f"{'job, steady state (nobody due)':44} {steady:8.3f}")
        print(f"job / baseline: {job / baseline:.2f}")
    finally:
        await engine.dispose()
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--people", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(bench(args.people))


if __name__ == "__main__":
    main()
