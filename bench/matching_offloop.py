"""Does a country-wide matching run stall the web server? /health/live latency during a run.

Run: ``.venv/bin/python bench/matching_offloop.py [--people 100000] [--hz 50]``

100,000 waiting people (``bench/matching_scale.py``'s generator: synthetic Norway, facilitators
with room for most of them) are written to a throw-away PostgreSQL database (``BENCH_DATABASE_URL``
as an admin URL if set, else 127.0.0.1:5432 as postgres), which is cloned once per mode so both
runs see the same pool. For each mode the app is served by uvicorn on this process's event loop,
the real matching run (``run_matching``: lock, load, form_groups, store, commit) runs on the same
loop, and a client in a separate process asks /health/live at ``--hz`` and times each answer:

* ``on the loop``  — ``InlinePlanner``: form_groups on the event loop (the old behaviour);
* ``off the loop`` — ``OffLoopPlanner``: form_groups in the worker process (the server's path).

Latencies are reported for the whole run and for the form_groups phase alone (load and store
stay on the loop in both modes: they are I/O with short CPU stretches).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import uvicorn
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from intake.crypto import ContactCipher  # noqa: E402
from intake.reference import seed_reference  # noqa: E402
from matching.job import Computed, InlinePlanner, OffLoopPlanner, Planner, run_matching  # noqa: E402
from matching.service import Inputs  # noqa: E402
from matching_scale import NOW, population  # noqa: E402
from samhjelp.app import Services, create_app  # noqa: E402
from samhjelp.database import migrations_dir, upgrade_on  # noqa: E402
from samhjelp.settings import Settings  # noqa: E402

FACILITATOR_COLUMNS = [
    "id", "organisation_id", "name", "themes", "languages",
    "max_concurrent_starts", "digital", "active",
]  # fmt: skip
INTEREST_COLUMNS = [
    "id", "receipt_hash", "municipality_number", "organisation_id", "region_slug",
    "themes", "cross_problem_welcome", "age_band", "gender", "same_gender",
    "languages", "slots", "digital_welcome", "consent_version", "consented_at",
    "source", "status", "waiting_since",
]  # fmt: skip

_POLLER = """
import json, select, sys, time, httpx
url, period = sys.argv[1], 1.0 / float(sys.argv[2])
out = []
with httpx.Client(timeout=120) as http:
    print("ready", flush=True)
    while not select.select([sys.stdin], [], [], 0)[0]:
        t0 = time.monotonic()
        assert http.get(url).status_code == 200
        out.append((t0, time.monotonic() - t0))
        time.sleep(max(0.0, period - (time.monotonic() - t0)))
print(json.dumps(out))
"""


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


async def prepare(name: str, n: int, seed: int, free: int) -> None:
    """Create, migrate and fill database ``name`` with ``n`` waiting people."""
    await _admin(f'CREATE DATABASE "{name}"')
    engine = create_async_engine(_db_url(name).replace("postgresql://", "postgresql+asyncpg://"))
    async with engine.begin() as conn:
        await conn.run_sync(upgrade_on)
    async with async_sessionmaker(engine).begin() as session:
        await seed_reference(session, migrations_dir() / "reference" / "kommuner_2024.csv")
    await engine.dispose()
    people, facs = population(n, seed)
    conn = await asyncpg.connect(_db_url(name))
    try:
        region_of = dict(
            await conn.fetch(
                "SELECT m.number, c.region_slug FROM municipality m"
                " JOIN county c ON c.number = m.county_number"
            )
        )
        munis_of: dict[str, set[str]] = {}
        for p in people:
            munis_of.setdefault(p.organisation, set()).add(p.municipality)
        for f in facs:
            munis_of.setdefault(f.organisation, set())
        org_id = {name: uuid.uuid4() for name in sorted(munis_of)}
        await conn.copy_records_to_table(
            "organisation",
            columns=["id", "slug", "name", "kind", "region_slug"],
            records=[
                (
                    oid,
                    f"bench-{i}",
                    name,
                    "link",
                    region_of[min(munis_of[name])] if munis_of[name] else "oslo",
                )
                for i, (name, oid) in enumerate(org_id.items())
            ],
        )
        await conn.copy_records_to_table(
            "catchment",
            columns=["organisation_id", "municipality_number"],
            records=[(org_id[o], m) for o, ms in munis_of.items() for m in sorted(ms)],
        )
        await conn.copy_records_to_table(
            "facilitator",
            columns=FACILITATOR_COLUMNS,
            records=[
                (
                    uuid.uuid4(),
                    org_id[f.organisation],
                    f"Igangsetter {i}",
                    sorted(f.themes),
                    sorted(f.languages),
                    free,
                    f.digital,
                    True,
                )
                for i, f in enumerate(facs)
            ],
        )
        await conn.copy_records_to_table(
            "interest",
            columns=INTEREST_COLUMNS,
            records=[
                (
                    uuid.uuid4(),
                    secrets.token_bytes(32),
                    p.municipality,
                    org_id[p.organisation],
                    region_of[p.municipality],
                    list(p.themes),
                    p.cross_problem_welcome,
                    p.age_band,
                    p.gender,
                    p.same_gender,
                    sorted(p.languages),
                    sorted(p.slots),
                    p.digital_welcome,
                    "bench",
                    p.waiting_since,
                    "self",
                    "waiting",
                    p.waiting_since,
                )
                for p in people
            ],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


@dataclass
class Timed:
    """Wraps a planner and notes when form_groups started and ended (monotonic clock)."""

    inner: Planner
    start: float = 0.0
    end: float = 0.0

    async def compute(self, inputs: Inputs, now: datetime) -> Computed:
        self.start = time.monotonic()
        try:
            return await self.inner.compute(inputs, now)
        finally:
            self.end = time.monotonic()


@contextmanager
def poller(url: str, hz: float) -> Iterator[list[tuple[float, float]]]:
    """A client process asking ``url`` at ``hz``; yields the list it fills on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _POLLER, url, str(hz)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline().strip() == "ready"
    samples: list[tuple[float, float]] = []
    try:
        yield samples
    finally:
        proc.stdin.write("stop\n")
        proc.stdin.flush()
        out, _ = proc.communicate(timeout=300)
        samples.extend(tuple(s) for s in json.loads(out.strip().splitlines()[-1]))


def _stats(latencies: list[float]) -> dict[str, float]:
    if len(latencies) < 2:  # e.g. one request held for the whole on-loop run
        worst = max(latencies, default=0.0)
        return {"n": len(latencies), "p50": worst, "p99": worst, "max": worst}
    qs = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"n": len(latencies), "p50": qs[49], "p99": qs[98], "max": max(latencies)}


async def measure(db: str, planner: Planner, hz: float) -> dict[str, Any]:
    """One matching run on database ``db`` while a client polls /health/live."""
    engine = create_async_engine(
        _db_url(db).replace("postgresql://", "postgresql+asyncpg://"), pool_size=5
    )
    services = Services(
        settings=Settings(
            data_dir=Path("/tmp"), public_base_url="http://bench", scheduler_enabled=False
        ),
        engine=engine,
        sessionmaker=async_sessionmaker(engine, expire_on_commit=False),
        cipher=ContactCipher(bytes(range(32))),
        link_secret="bench-link-secret-" + "x" * 32,
    )
    config = uvicorn.Config(
        create_app(services), host="127.0.0.1", port=0, lifespan="off", log_config=None
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    timed = Timed(planner)
    try:
        with poller(f"http://127.0.0.1:{port}/health/live", hz) as samples:
            await asyncio.sleep(1.0)  # quiet baseline
            t0 = time.monotonic()
            report = await run_matching(services.sessionmaker, now=NOW, planner=timed)
            t1 = time.monotonic()
            await asyncio.sleep(0.5)
    finally:
        server.should_exit = True
        await serving
        await engine.dispose()

    def during(a: float, b: float) -> list[float]:
        # A request counts if it was in flight at any moment of [a, b].
        return [lat for sent, lat in samples if sent <= b and sent + lat >= a]

    return {
        "run_s": t1 - t0,
        "core_s": timed.end - timed.start,
        "placed": report.placed,
        "groups": report.groups,
        "run": _stats(during(t0, t1)),
        "core": _stats(during(timed.start, timed.end)),
        "plan": report.plan,
    }


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--people", type=int, default=100_000)
    ap.add_argument("--hz", type=float, default=50.0)
    ap.add_argument("--seed", type=int, default=11)
    # Free starts per facilitator. 20 places ~20,000 of 100,000: store_plan cannot yet store
    # more than 32,767 placed people in one run (one DELETE ... IN with a parameter each).
    ap.add_argument("--free", type=int, default=20)
    args = ap.parse_args()
    base = f"samhjelp_bench_offloop_{secrets.token_hex(4)}"
    made = [base]
    try:
        t = time.perf_counter()
        await prepare(base, args.people, args.seed, args.free)
        print(f"{args.people} waiting people loaded in {time.perf_counter() - t:.1f} s")
        results = {}
        planner = OffLoopPlanner()
        try:
            for mode, p in (("on the loop", InlinePlanner()), ("off the loop", planner)):
                clone = f"{base}_{len(made)}"
                await _admin(f'CREATE DATABASE "{clone}" TEMPLATE "{base}"')
                made.append(clone)
                results[mode] = await measure(clone, p, args.hz)
        finally:
            planner.shutdown()
    finally:
        for db in reversed(made):
            await _admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    same = results["on the loop"]["plan"] == results["off the loop"]["plan"]
    print(f"/health/live latency at {args.hz:g} Hz during one matching run (ms)")
    print(
        f"{'mode':<13} {'run s':>6} {'core s':>6} {'placed':>7} | {'phase':<10}"
        f" {'requests':>8} {'p50':>7} {'p99':>7} {'max':>7}"
    )
    for mode, r in results.items():
        for phase, label in (("core", "form_groups"), ("run", "whole run")):
            s = r[phase]
            print(
                f"{mode:<13} {r['run_s']:>6.2f} {r['core_s']:>6.2f} {r['placed']:>7} | "
                f"{label:<10} {s['n']:>8} {1000 * s['p50']:>7.1f} {1000 * s['p99']:>7.1f}"
                f" {1000 * s['max']:>7.1f}"
            )
    print(f"same plan in both modes: {same}")


if __name__ == "__main__":
    asyncio.run(main())
