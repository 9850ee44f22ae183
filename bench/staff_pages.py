"""Console list pages with 20,000 people waiting: p50/p95 per page against a baseline.

Starts the real service (uvicorn, one worker) on a fresh PostgreSQL database, fills it with one
large organisation (20,000 people waiting, 2,000 groups in every state with their members, 100
facilitators, 200 referral links, 10,000 audit rows), its neighbours and 2,000 people of unmet
demand in the same region, signs a staff member and a coordinator in (passkey sessions), and
times each console list page one request at a time. ``/health/live`` is measured in the same
run as the floor (HTTP, routing, middleware): a page's own cost is its time above that.

    .venv/bin/python bench/staff_pages.py [--requests 200] [--people 20000]

Needs PostgreSQL at BENCH_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
Budget: p95 under 100 ms for every page.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from staff import sessions  # noqa: E402
from staff.config import StaffConfig  # noqa: E402

ADMIN = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
#: Unique per run: two runs at once (or another bench) never drop each other's database.
DB = f"samhjelp_bench_staff_{uuid.uuid4().hex[:8]}"
P95_BUDGET_MS = 100.0
STATES = ("proposed", "accepted", "scheduled", "running", "self_running", "lapsed", "closed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def recreate_db() -> str:
    conn = await asyncpg.connect(ADMIN)
    await conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await conn.execute(f"CREATE DATABASE {DB}")
    await conn.close()
    return ADMIN.rsplit("/", 1)[0] + "/" + DB


PEOPLE_SQL = """
INSERT INTO interest (id, receipt_hash, municipality_number, organisation_id, region_slug,
  themes, cross_problem_welcome, age_band, gender, languages, slots, digital_welcome,
  contact_kind, contact_encrypted, contact_masked, consent_version, consented_at, source,
  status, waiting_since)
SELECT gen_random_uuid(), sha256(($1 || g)::bytea), $2, $3, 'vestland',
  ARRAY[(ARRAY['sorg','angst','depresjon','ensomhet','stress','parorende'])[1 + g % 6]],
  g % 3 = 0, 18 + 5 * (g % 13), (ARRAY['female','male',NULL])[1 + g % 3], ARRAY['no'],
  ARRAY[(ARRAY['mon-evening','tue-evening','wed-daytime','thu-evening'])[1 + g % 4]],
  g % 2 = 0, 'email', '\\x00'::bytea, 'k***@example.no', '2026-11-v1', now(),
  (ARRAY['self','staff','referral'])[1 + g % 3], $4,
  now() - (g % 400) * interval '1 day' - g * interval '1 second'
FROM generate_series(1, $5) g
"""


async def fill(url: str, people: int) -> dict[str, uuid.UUID]:
    """The data: returns the big organisation's id and the two staff users' ids."""
    conn = await asyncpg.connect(url)
    try:
        big = uuid.uuid4()
        orgs = [(big, "link-bergen-bench", "LINK Bergen (bench)", "4601")]
        orgs += [(uuid.uuid4(), f"kp-bench-{m}", f"Kontaktpunkt {m}", m) for m in ("4624", "4626")]
        for oid, slug, name, muni in orgs:
            await conn.execute(
                "INSERT INTO organisation (id, slug, name, kind, region_slug, contact_email)"
                " VALUES ($1, $2, $3, 'link', 'vestland', 'post@example.no')",
                oid, slug, name,
            )  # fmt: skip
            await conn.execute(
                "INSERT INTO catchment (organisation_id, municipality_number) VALUES ($1, $2)",
                oid, muni,
            )  # fmt: skip
        await conn.execute(PEOPLE_SQL, "w", "4601", big, "waiting", people)
        await conn.execute(PEOPLE_SQL, "u", "4602", None, "waiting", 2000)  # Kinn: unmet demand
        await conn.execute(PEOPLE_SQL, "n", "4624", orgs[1][0], "waiting", 500)
        await conn.execute(PEOPLE_SQL, "p", "4601", big, "placed", 6000)
        await conn.execute(
            "INSERT INTO facilitator (id, organisation_id, name, email, themes,"
            " max_concurrent_starts) SELECT gen_random_uuid(), $1, 'Igangsetter ' || g,"
            " 'f' || g || '@example.no', ARRAY['sorg','angst'], 1 + g % 3"
            " FROM generate_series(1, 100) g",
            big,
        )
        await conn.execute(
            """
            INSERT INTO start_group (id, organisation_id, theme, language, slot, digital,
              facilitator_id, status, rules, places, created_at, updated_at)
            SELECT gen_random_uuid(), $1, 'sorg', 'no', 'tue-evening', false,
              (SELECT id FROM facilitator WHERE organisation_id = $1
                ORDER BY id OFFSET g % 100 LIMIT 1),
              ($2::text[])[1 + g % 7], '{}'::jsonb, 3,
              now() - g * interval '1 hour', now() - g * interval '1 hour'
            FROM generate_series(1, 2000) g
            """,
            big, list(STATES),
        )  # fmt: skip
        await conn.execute(
            """
            INSERT INTO group_member (group_id, interest_id, active, state)
            SELECT g.id, p.id, g.status IN ('proposed','accepted','scheduled','running'),
              'confirmed'
            FROM (SELECT id, status, row_number() OVER (ORDER BY id) AS n FROM start_group) g
            JOIN (SELECT id, (row_number() OVER (ORDER BY id) - 1) / 3 + 1 AS n
                  FROM interest WHERE status = 'placed') p ON p.n = g.n
            """
        )
        await conn.execute(
            "INSERT INTO referral (id, code, organisation_id, course_kind, course_name, ends_on)"
            " SELECT gen_random_uuid(), 'B' || lpad(g::text, 7, '0'), $1, 'KID',"
            " 'Kurs ' || g, current_date + 30 FROM generate_series(1, 200) g",
            big,
        )
        await conn.execute(
            "UPDATE interest SET referral_id = r.id FROM referral r"
            " WHERE interest.status = 'waiting' AND interest.organisation_id = $1"
            " AND r.code = 'B' || lpad((1 + abs(hashtext(interest.id::text)) % 200)::text, 7, '0')"
            " AND interest.source = 'referral'",
            big,
        )
        staff, coordinator = uuid.uuid4(), uuid.uuid4()
        await conn.execute(
            "INSERT INTO staff_user (id, name, email, role, organisation_id)"
            " VALUES ($1, 'Bench Ansatt', 'ansatt@bench.example', 'staff', $2)",
            staff, big,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO staff_user (id, name, email, role, region_slug)"
            " VALUES ($1, 'Bench Koordinator', 'koord@bench.example', 'coordinator', 'vestland')",
            coordinator,
        )  # fmt: skip
        await conn.execute(
            "INSERT INTO staff_audit (at, user_id, user_name, action, record_kind, record_id,"
            " organisation_id, region_slug) SELECT now() - g * interval '1 minute', $1,"
            " 'Bench Ansatt', 'interest.view', 'interest', g::text, $2, 'vestland'"
            " FROM generate_series(1, 10000) g",
            staff, big,
        )  # fmt: skip
        # What autovacuum does for a live database: statistics and the visibility map (so
        # counting a waiting list is an index-only scan).
        await conn.execute("VACUUM ANALYZE")
        return {"org": big, "staff": staff, "coordinator": coordinator}
    finally:
        await conn.close()


async def cookie_for(url: str, user: uuid.UUID, base: str) -> str:
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with async_sessionmaker(engine).begin() as db:
            opened = await sessions.open_session(
                db, user, method="passkey", now=datetime.now(UTC), config=StaffConfig(base)
            )
        return opened.cookie_value
    finally:
        await engine.dispose()


def measure(base: str, path: str, cookie: str, n: int) -> tuple[float, float, int]:
    with httpx.Client(base_url=base, cookies={sessions.COOKIE: cookie}, timeout=120) as c:
        first = c.get(path)  # warm up (templates, caches)
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            c.get(path)
            times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), statistics.quantiles(times, n=20)[18], first.status_code


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--people", type=int, default=20_000)
    ap.add_argument("--keep", action="store_true", help="keep the database (to EXPLAIN queries)")
    args = ap.parse_args()
    url = asyncio.run(recreate_db())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "DATABASE_URL": url,
        "SAMHJELP_SCHEDULER_ENABLED": "false",
        "SAMHJELP_LOG_LEVEL": "WARNING",
        "SAMHJELP_DATA_DIR": str(ROOT / ".samhjelp" / "bench"),
        "SAMHJELP_PUBLIC_BASE_URL": base,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "samhjelp.cli", "serve", "--port", str(port)], env=env
    )
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/health/ready").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        t0 = time.perf_counter()
        ids = asyncio.run(fill(url, args.people))
        print(f"data: {args.people} waiting + 2,500 more + 6,000 placed in 2,000 groups"
              f" ({time.perf_counter() - t0:.1f} s)")  # fmt: skip
        staff = asyncio.run(cookie_for(url, ids["staff"], base))
        coordinator = asyncio.run(cookie_for(url, ids["coordinator"], base))
        pages = [
            ("/health/live", staff, "baseline"),
            ("/ansatt", staff, "C today"),
            ("/ansatt/venteliste", staff, "C waiting list"),
            ("/ansatt/venteliste?side=200", staff, "C waiting list, page 200"),
            ("/ansatt/venteliste?format=csv", staff, "C waiting list CSV"),
            ("/ansatt/grupper", staff, "D groups"),
            ("/ansatt/igangsettere", staff, "D facilitators"),
            (f"/ansatt/organisasjon/{ids['org']}", staff, "E organisation"),
            ("/ansatt/henvisninger", staff, "E referral links"),
            ("/ansatt/region", coordinator, "E region"),
            ("/ansatt/brukere", coordinator, "A users"),
            ("/ansatt/logg", coordinator, "A audit trail"),
            ("/api/v1/staff/interests", staff, "E staff API (session)"),
        ]
        ok = True
        print(f"{'page':<40} {'owner':<26} {'status':>6} {'p50 ms':>7} {'p95 ms':>7}")
        floor = 0.0
        for path, who, owner in pages:
            # An export is not a list page: timed a few times, outside the budget.
            export = "format=csv" in path
            n = min(args.requests, 10) if export else args.requests
            p50, p95, status = measure(base, path, who, n)
            if owner == "baseline":
                floor = p95
            over = (p95 >= P95_BUDGET_MS and not export) or status != 200
            ok &= not over
            flag = "  OVER" if over else ""
            print(f"{path[:40]:<40} {owner:<26} {status:>6} {p50:7.1f} {p95:7.1f}{flag}")
        print(f"baseline p95 {floor:.1f} ms; budget p95 < {P95_BUDGET_MS:.0f} ms per page")
        print("within budget" if ok else "OVER BUDGET (or a page did not answer 200)")
        return 0 if ok else 1
    finally:
        server.terminate()
        server.wait(timeout=30)
        if args.keep:
            print(f"kept: {url}")
        else:
            asyncio.run(_drop())


async def _drop() -> None:
    conn = await asyncpg.connect(ADMIN)
    await conn.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await conn.close()


if __name__ == "__main__":
    sys.exit(main())
