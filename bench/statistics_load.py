"""Statistics at national scale: the refresh job and the public page with 100,000 interests
and 10,000 groups in the database, next to a baseline measured in the same run.

    .venv/bin/python bench/statistics_load.py [--interests 100000] [--groups 10000] [--requests 200]

Makes a fresh database (BENCH_ADMIN_URL, default postgresql://postgres@127.0.0.1:5432/postgres),
migrates it, generates 24 months of sign-ups across every municipality (about 60 % of them served
by one of 80 organisations), erased withdrawals and lapsed registrations in the tallies, and
groups in every state, then:

1. times the refresh job (read, protect, store a release) — the bar is 10 s;
2. serves the app with uvicorn and measures p50/p95 of ``/statistikk`` for the nation, a county
   and a municipality, and the open-data JSON-stat of a table — the bar is p95 < 200 ms —
   next to ``/health/live`` (the baseline: the same server doing almost nothing);
3. with ``--build-against REV``: builds the release from the same inputs with this tree's
   ``figures.release`` and with the one of git revision REV (the baseline), interleaved
   ``--builds`` times, and prints the CPU of each and their cells (what a change to the
   release costs, measured in one run: the machine is shared, so separate runs differ);
4. with ``--package-against REV``: the same for the whole ``figures`` package of revision REV
   (catalogue, disclosure control and all: what a round of new tables and a faster audit cost
   together), each build in a fresh process (``--builds`` rounds, interleaved), from the same
   inputs;
5. with ``--audit N``: the disclosure audit of the first N months' flow problems (the largest
   linked blocks of the release), the sparse null-space method against the dense SVD it
   replaced (the baseline, same systems, same run), and checks that both find the same cells.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import socket
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import figures.disclosure as disclosure  # noqa: E402
import figures.release as release  # noqa: E402
from figures.aggregate import read_inputs  # noqa: E402
from figures.refresh import run_refresh  # noqa: E402
from intake.crypto import ContactCipher  # noqa: E402
from intake.reference import seed_reference  # noqa: E402
from samhjelp.app import Services, create_app  # noqa: E402
from samhjelp.database import migrations_dir, upgrade_on  # noqa: E402
from samhjelp.services import utc_now  # noqa: E402
from samhjelp.settings import Settings  # noqa: E402

ADMIN = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB = "samhjelp_bench_statistics"
REFRESH_BUDGET_S = 10.0
P95_BUDGET_MS = 200.0

_ORGS = """
INSERT INTO organisation (id, slug, name, kind, region_slug)
SELECT gen_random_uuid(), 'bench-org-' || g, 'Bench organisation ' || g, 'contact_point',
       (SELECT slug FROM region ORDER BY slug OFFSET g % (SELECT count(*) FROM region) LIMIT 1)
FROM generate_series(1, 80) AS g;
INSERT INTO catchment (organisation_id, municipality_number)
SELECT o.id, m.number
FROM (SELECT number, row_number() OVER (ORDER BY number) AS rn FROM municipality) m
JOIN (SELECT id, row_number() OVER (ORDER BY slug) AS rn FROM organisation) o
  ON o.rn = 1 + (m.rn % 80)
WHERE m.rn % 5 < 3;
"""

_INTERESTS = """
WITH munis AS (SELECT array_agg(number ORDER BY number) AS a FROM municipality),
people AS (
    SELECT g, munis.a[1 + floor(random() * cardinality(munis.a))::int] AS muni,
           timestamptz '2025-01-01 00:00+01' + random() * interval '700 days' AS at,
           random() AS r
    FROM generate_series(1, :n) AS g, munis
)
INSERT INTO interest (id, receipt_hash, municipality_number, organisation_id, region_slug,
    themes, cross_problem_welcome, age_band, languages, slots, digital_welcome,
    consent_version, consented_at, source, status, waiting_since, created_at, updated_at)
SELECT gen_random_uuid(), decode(md5('bench' || p.g), 'hex'), p.muni,
       (SELECT c.organisation_id FROM catchment c WHERE c.municipality_number = p.muni LIMIT 1),
       k.region_slug,
       CASE p.g % 6 WHEN 0 THEN ARRAY['angst'] WHEN 1 THEN ARRAY['depresjon']
            WHEN 2 THEN ARRAY['sorg', 'ensomhet'] WHEN 3 THEN ARRAY['stress']
            WHEN 4 THEN ARRAY['angst', 'depresjon'] ELSE ARRAY['samlivsbrudd'] END,
       p.r < 0.5, 18 + 5 * (p.g % 13),
       CASE WHEN p.g % 17 = 0 THEN ARRAY['no', 'en'] ELSE ARRAY['no'] END,
       ARRAY['tue-evening'], false, 'bench', p.at,
       (ARRAY['self', 'self', 'staff', 'referral'])[1 + p.g % 4],
       CASE WHEN p.r < 0.55 THEN 'waiting' WHEN p.r < 0.6 THEN 'proposed'
            WHEN p.r < 0.9 THEN 'placed' ELSE 'withdrawn' END,
       p.at, p.at, p.at + (p.g % 90) * interval '1 day'
FROM people p JOIN municipality m ON m.number = p.muni JOIN county k ON k.number = m.county_number
"""

#: A fifth of the people also left tallies: half of those erased while waiting lapsed (a
#: registration that ran out; lapsed people exist only in the tallies), the others withdrew.
_TALLIES = """
WITH erased AS (
    SELECT *, CASE WHEN status = 'waiting' AND random() < 0.5 THEN 'lapsed'
                   ELSE 'withdrawn' END AS outcome
    FROM interest WHERE random() < 0.2
)
INSERT INTO interest_tally (month, municipality_number, organisation_id, dimension, value,
                            outcome, count)
SELECT date_trunc('month', created_at AT TIME ZONE 'Europe/Oslo')::date, municipality_number,
       organisation_id, d, v, outcome, count(*)
FROM erased, LATERAL (VALUES ('all', 'all'), ('theme', themes[1]), ('language', languages[1]),
                             ('age_band', CASE WHEN age_band >= 78 THEN '78+'
                                           ELSE age_band || '-' || (age_band + 4) END),
                             -- as intake.erasure writes it: a referral with its course kind
                             ('source', CASE WHEN source = 'referral' THEN 'referral:other'
                                             ELSE source END))
     AS x(d, v)
GROUP BY 1, 2, 3, 4, 5, 6
ON CONFLICT DO NOTHING
"""

#: Each group's home municipality (start_group.municipality_number, set when a group is
#: formed) is one of its organisation's municipalities in turn; an organisation the generator
#: left without a catchment (a third of them) takes its region's municipalities instead.
_GROUPS = """
INSERT INTO start_group (id, organisation_id, theme, language, slot, digital, status, rules,
                         created_at, started_at, self_running_at, municipality_number)
SELECT gen_random_uuid(), o.id, 'angst', 'no', 'tue-evening', false,
       (ARRAY['proposed', 'running', 'self_running', 'lapsed', 'closed'])[1 + g % 5], '{}',
       timestamptz '2025-01-01 00:00+01' + (g % 700) * interval '1 day',
       CASE WHEN g % 5 IN (1, 2) THEN timestamptz '2025-02-01 00:00+01' END,
       CASE WHEN g % 5 = 2 THEN timestamptz '2025-04-01 00:00+01' END,
       o.munis[1 + g % cardinality(o.munis)]
FROM generate_series(1, :n) AS g
JOIN (SELECT o.id, row_number() OVER (ORDER BY o.slug) AS rn,
             coalesce((SELECT array_agg(c.municipality_number ORDER BY c.municipality_number)
                       FROM catchment c WHERE c.organisation_id = o.id),
                      (SELECT array_agg(m.number ORDER BY m.number)
                       FROM municipality m JOIN county k ON k.number = m.county_number
                       WHERE k.region_slug = o.region_slug)) AS munis
      FROM organisation o) o
  ON o.rn = 1 + g % (SELECT count(*) FROM organisation)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def prepare(url: str, interests: int, groups: int) -> None:
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {DB}")
    await admin.close()
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(upgrade_on)
    async with async_sessionmaker(engine).begin() as session:
        await seed_reference(session, migrations_dir() / "reference" / "kommuner_2024.csv")
    raw = await asyncpg.connect(url.replace("+asyncpg", ""))
    t0 = time.perf_counter()
    await raw.execute(_ORGS)
    await raw.execute(_INTERESTS.replace(":n", str(interests)))
    await raw.execute(_TALLIES)
    await raw.execute(_GROUPS.replace(":n", str(groups)))
    await raw.execute("ANALYZE")
    counts = await raw.fetchrow(
        "SELECT (SELECT count(*) FROM interest) AS i, (SELECT count(*) FROM start_group) AS g,"
        " (SELECT count(*) FROM start_group WHERE municipality_number IS NOT NULL) AS homed,"
        " (SELECT sum(count) FROM interest_tally WHERE dimension = 'all') AS t,"
        " (SELECT sum(count) FROM interest_tally WHERE dimension = 'all'"
        "  AND outcome = 'lapsed') AS lapsed"
    )
    await raw.close()
    await engine.dispose()
    print(
        f"data: {counts['i']} interests, {counts['g']} groups ({counts['homed']} with a home "
        f"municipality), {counts['t']} erased people "
        f"in the tallies ({counts['lapsed']} of them lapsed; "
        f"{time.perf_counter() - t0:.1f} s to generate)"
    )


async def measure(client: httpx.AsyncClient, path: str, n: int) -> tuple[float, float]:
    (await client.get(path)).raise_for_status()  # warm up
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = await client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        r.raise_for_status()
    return quantile(times, 0.5), quantile(times, 0.95)


async def compare_audits(maker: async_sessionmaker[Any], months: int) -> None:
    """Old (dense SVD per component) against new (sparse elimination and null vectors) on the
    systems the release's first audits of ``months`` monthly flow problems really pose."""
    async with maker() as session:
        inputs = await read_inputs(session, now=utc_now())
    by_month: dict[str, list[Any]] = {}
    for (month, muni, cat), n in inputs.people.items():
        if cat.split(":")[0] not in ("theme", "language"):
            by_month.setdefault(month, []).append((muni, cat, n))
    systems: list[tuple[str, Any, Any, Any]] = []
    real = disclosure.audit

    def recording(eqs: Any, unknowns: Any, **kw: Any) -> Any:
        free = set(kw.get("free", ()))
        systems.append(("month's first audit", eqs, set(unknowns), free))
        # The same month with the catchments as ordinary equations of unknown cells: one
        # linked block across every county (the naive joint problem of overlapping areas).
        forms = kw.get("forms") or {}
        joint = list(eqs) + [disclosure.Equation(k, tuple(p)) for k, p in forms.items()]
        systems.append(("... catchments linked", joint, set(unknowns) | set(forms), free))
        return real(eqs, unknowns, **kw)

    disclosure.audit = recording  # type: ignore[assignment]
    try:
        for month in sorted(by_month)[:months]:
            before = len(systems)
            release._flow_problem(by_month[month], inputs.geography)
            del systems[before + 2 :]  # the first audit of the month: the largest system
    finally:
        disclosure.audit = real
    print(f"{'audit of a monthly problem':<28} {'unknowns':>8} {'new s':>7} {'old SVD s':>9}")
    for name, eqs, unknowns, free in systems:
        t0 = time.perf_counter()
        new = disclosure.determined(eqs, unknowns, free=free)
        t1 = time.perf_counter()
        old = disclosure.determined_by_svd(eqs, unknowns, free=free)
        t2 = time.perf_counter()
        same = "same cells" if new == old else f"DIFFER: {len(new ^ old)} cells"
        print(f"{name:<28} {len(unknowns):>8} {t1 - t0:7.2f} {t2 - t1:9.2f}  {same}")


def baseline_release(rev: str) -> Any:
    """``figures.release`` as it was at git revision ``rev`` (a module of its own)."""
    source = subprocess.run(
        ["git", "show", f"{rev}:src/figures/release.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    name = "figures.release_baseline"
    module = types.ModuleType(name)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    exec(compile(source, f"{rev}:src/figures/release.py", "exec"), module.__dict__)
    return module


async def compare_builds(maker: async_sessionmaker[Any], rev: str, rounds: int) -> None:
    """The release built from the same inputs by this tree and by revision ``rev``,
    interleaved: CPU seconds of each build, and the cells each makes."""
    async with maker() as session:
        inputs = await read_inputs(session, now=utc_now())
    builders = {"this tree": release, f"baseline {rev}": baseline_release(rev)}
    times: dict[str, list[float]] = {name: [] for name in builders}
    made: dict[str, tuple[int, int]] = {}
    for _ in range(rounds):
        for name, module in builders.items():
            gc.collect()
            with release.collector_paused():
                cpu0 = time.process_time()
                cells = module.build_release(inputs)
                times[name].append(time.process_time() - cpu0)
            made[name] = (len(cells), sum(1 for c in cells if c.suppressed))
            del cells
    print(f"load average {os.getloadavg()[0]:.1f}; build CPU s, {rounds} interleaved rounds:")
    for name, ts in times.items():
        runs = " ".join(f"{t:.2f}" for t in ts)
        print(
            f"  {name:<24} {runs}  (best {min(ts):.2f}); cells {made[name][0]}, "
            f"suppressed {made[name][1]}"
        )


_CHILD = """
import gc, pickle, sys, time
import figures.release as release
inputs = pickle.load(open(sys.argv[1], "rb"))
gc.collect()
cpu0 = time.process_time()
with release.collector_paused():
    try:
        cells = release.build_release(inputs)
    except (ValueError, TypeError):  # an older tree's groups key: groups are not protected
        inputs.groups = {}
        cpu0 = time.process_time()
        cells = release.build_release(inputs)
print(time.process_time() - cpu0, len(cells), sum(1 for c in cells if c.suppressed))
"""


async def compare_packages(maker: async_sessionmaker[Any], rev: str, rounds: int) -> None:
    """The release built from the same inputs by this tree's ``figures`` package and by the
    one of revision ``rev``, each in a fresh process, interleaved: CPU seconds and cells."""
    import pickle

    async with maker() as session:
        inputs = await read_inputs(session, now=utc_now())
    _package_builds(pickle.dumps(inputs), rev, rounds)


def _package_builds(inputs: bytes, rev: str, rounds: int) -> None:
    """:func:`compare_packages`' builds (blocking: the bench waits for them anyway)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "inputs.pickle"
        data.write_bytes(inputs)
        archive = subprocess.run(
            ["git", "archive", rev, "src/figures"], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        trees = {"this tree": str(ROOT / "src"), f"figures of {rev}": f"{tmp}/src:{ROOT / 'src'}"}
        times: dict[str, list[float]] = {name: [] for name in trees}
        made: dict[str, str] = {}
        for _ in range(rounds):
            for name, path in trees.items():
                out = subprocess.run(
                    [sys.executable, "-c", _CHILD, str(data)],
                    env={**os.environ, "PYTHONPATH": path},
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout.split()
                times[name].append(float(out[0]))
                made[name] = f"cells {out[1]}, suppressed {out[2]}"
    print(f"load average {os.getloadavg()[0]:.1f}; build CPU s, {rounds} interleaved rounds:")
    for name, ts in times.items():
        runs = " ".join(f"{t:.2f}" for t in ts)
        print(f"  {name:<24} {runs}  (best {min(ts):.2f}); {made[name]}")


async def main(args: argparse.Namespace) -> int:
    url = ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + DB
    await prepare(url, args.interests, args.groups)
    engine = create_async_engine(url, pool_size=5)
    maker = async_sessionmaker(engine, expire_on_commit=False)
    ok = True
    raw = await asyncpg.connect(url.replace("+asyncpg", ""))
    t0 = time.perf_counter()
    await raw.fetch("SELECT municipality_number, count(*) FROM interest GROUP BY 1")
    scan = time.perf_counter() - t0
    await raw.close()
    print(
        f"baseline: one grouped scan of interest {scan:.2f} s; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    runs = []
    for _ in range(args.refreshes):
        t0, cpu0 = time.perf_counter(), time.process_time()
        report = await run_refresh(maker, now=utc_now())
        runs.append(time.perf_counter() - t0)
        cpu = time.process_time() - cpu0
        read, build, store = report.phases
        # CPU seconds of this process: what the run costs here when it gets a core to itself
        # (wall time on a shared machine includes waiting for one).
        # The refresh stores each period while it protects the next: "protect" is until the
        # last period is protected (the periods before it stored meanwhile), "store" what is
        # left to store after that.
        print(
            f"  refresh run: read {read:.2f} s, protect {build:.2f} s, store {store:.2f} s; "
            f"CPU of the service process {cpu:.2f} s"
        )
    print(
        f"refresh: {min(runs):.2f} s best, {max(runs):.2f} s worst of {len(runs)} "
        f"(budget {REFRESH_BUDGET_S:.0f} s); {report.cells} cells stored, "
        f"{report.suppressed} suppressed"
    )
    ok &= max(runs) < REFRESH_BUDGET_S
    if args.build_against:
        await compare_builds(maker, args.build_against, args.builds)
    if args.package_against:
        await compare_packages(maker, args.package_against, args.builds)
    if args.audit:
        await compare_audits(maker, args.audit)
    if args.refresh_only:
        await engine.dispose()
        return 0 if ok else 1
    port = free_port()
    settings = Settings(
        data_dir=Path("/tmp/samhjelp-bench-statistics"),
        public_base_url=f"http://127.0.0.1:{port}",
        scheduler_enabled=False,
        link_secret="bench-link-secret-" + "x" * 32,
    )
    services = Services(
        settings=settings, engine=engine, sessionmaker=maker, cipher=ContactCipher(bytes(range(32)))
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(services), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no start event; poll its flag
        await asyncio.sleep(0.02)
    paths = [
        ("baseline /health/live", "/health/live"),
        ("/statistikk (nation)", "/statistikk"),
        ("/statistikk (county)", "/statistikk?area=county:46"),
        ("/statistikk (municipality)", "/statistikk?area=municipality:4601&lang=en"),
        ("JSON-stat signups, county level", "/api/v1/statistics/tables/signups?level=county"),
        ("/statistikk (organisation)", "/statistikk?area=catchment:bench-org-7"),
    ]
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores (others' work shares the machine)")
    print(f"{'request':<36} {'p50 ms':>7} {'p95 ms':>7}")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
        for name, path in paths:
            p50, p95 = await measure(client, path, args.requests)
            print(f"{name:<36} {p50:7.1f} {p95:7.1f}")
            if path.startswith("/statistikk"):
                ok &= p95 < P95_BUDGET_MS
    server.should_exit = True
    await task
    await engine.dispose()
    print(
        "PASS" if ok else "FAIL",
        f"(page p95 < {P95_BUDGET_MS:.0f} ms, refresh < {REFRESH_BUDGET_S:.0f} s)",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--interests", type=int, default=100_000)
    ap.add_argument("--groups", type=int, default=10_000)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--refreshes", type=int, default=3)
    ap.add_argument("--refresh-only", action="store_true")
    ap.add_argument(
        "--build-against",
        metavar="REV",
        help="compare the release build with figures/release.py of this git revision",
    )
    ap.add_argument(
        "--package-against",
        metavar="REV",
        help="compare the release build with the whole figures package of this git revision",
    )
    ap.add_argument("--builds", type=int, default=3, help="rounds of --build-against")
    ap.add_argument(
        "--audit",
        type=int,
        default=0,
        metavar="MONTHS",
        help="compare the audit with the old SVD method on this many months",
    )
    sys.exit(asyncio.run(main(ap.parse_args())))
