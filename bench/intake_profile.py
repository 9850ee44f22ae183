"""Where the time of one registration goes: CPU by library, in-process (no network client).

    .venv/bin/python bench/intake_profile.py [--requests 500]

Runs POST /api/v1/interests through the ASGI app in this process against a fresh database,
under cProfile with a CPU clock, and prints the share of CPU per library and per request.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from intake.crypto import ContactCipher
from intake_load import body, recreate_db
from samhjelp.app import Services, create_app
from samhjelp.bootstrap import seed
from samhjelp.database import make_engine, make_sessionmaker, upgrade
from samhjelp.settings import Settings

GROUPS = (
    ("httpx (the in-process client)", ("/httpx/", "/httpcore/", "/h11/")),
    ("litestar + msgspec", ("/litestar/", "/msgspec/")),
    ("pydantic", ("/pydantic", "pydantic_core")),
    ("sqlalchemy", ("/sqlalchemy/",)),
    ("asyncpg (driver)", ("/asyncpg/",)),
    ("cryptography (AES-GCM)", ("/cryptography/",)),
    ("samhjelp code", ("/src/intake/", "/src/samhjelp/", "/src/matching/")),
    ("asyncio + socket I/O", ("asyncio", "selectors", "socket", "epoll", "select.")),
    ("greenlet (SQLAlchemy's async bridge)", ("greenlet",)),
    ("hashing, json, uuid", ("hashlib", "_json", "/json/", "uuid", "sha256", "urandom")),
)


def group_of(filename: str) -> str:
    for name, needles in GROUPS:
        if any(n in filename for n in needles):
            return name
    return "other (stdlib, builtins)"


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=500)
    args = ap.parse_args()
    url = (await recreate_db()).replace("postgresql://", "postgresql+asyncpg://")
    await asyncio.to_thread(upgrade, url)
    await seed(url, demo=True)
    engine = make_engine(url)
    settings = Settings(post_rate_per_minute=10**9, scheduler_enabled=False)
    app = create_app(
        Services(settings=settings, engine=engine, sessionmaker=make_sessionmaker(engine),
                 cipher=ContactCipher(bytes(32)))
    )  # fmt: skip
    rng = random.Random(1)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

        async def one() -> None:
            r = await client.post(
                "/api/v1/interests", json=body(rng), headers={"Idempotency-Key": uuid.uuid4().hex}
            )
            assert r.status_code == 201, r.text

        for _ in range(50):
            await one()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.requests):
            await one()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        profiler = cProfile.Profile(time.process_time)
        profiler.enable()
        for _ in range(args.requests):
            await one()
        profiler.disable()
    await engine.dispose()
    totals: dict[str, float] = defaultdict(float)
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, tottime, _, _) in stats.items():
        # Builtins have no file: their name says what they are ("method 'send' of socket").
        totals[group_of(filename if filename != "~" else function)] += tottime
    whole = sum(totals.values())
    n = args.requests
    print(f"{n} sequential registrations: {cpu / n * 1000:.2f} ms CPU and "
          f"{wall / n * 1000:.2f} ms wall each (unprofiled)")  # fmt: skip
    print("CPU by library, own time under the profiler (builtins such as isinstance: 'other'):")
    for name, t in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {name:52s} {t / n * 1000:6.2f} ms  {100 * t / whole:5.1f} %")


if __name__ == "__main__":
    asyncio.run(main())
