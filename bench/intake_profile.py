"""Where the time of one registration goes: CPU by library, in-process (no network client).

    .venv/bin/python bench/intake_profile.py [--requests 500] [--top 0] [--repeat 1] [--layers]

Runs POST /api/v1/interests through the ASGI app in this process against a fresh database,
called directly as ASGI (no HTTP client or server, whose CPU would blur the picture), under
cProfile with a CPU clock, and prints the share of CPU per library and per request, and with
``--top N`` the N functions with the most cumulative time (middleware, handler, statement).
``--repeat N`` times N unprofiled batches of ``--requests`` and prints the lowest and the
median CPU per request (on a shared machine the lowest is the least disturbed); ``--layers``
prints the profile as a table of layers (each middleware, Litestar's request handling, our
handler, the statement) in ms per request, scaled to the unprofiled CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import random
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

from litestar.types import ASGIApp

sys.path.insert(0, str(Path(__file__).parent))
from intake.crypto import ContactCipher
from intake_load import body, recreate_db
from samhjelp.app import Services, create_app
from samhjelp.bootstrap import seed
from samhjelp.database import make_engine, make_sessionmaker, upgrade
from samhjelp.settings import Settings

GROUPS = (
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


async def post(app: ASGIApp, payload: bytes, key: str) -> int:
    """One POST /api/v1/interests straight through the ASGI interface; returns the status."""
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": "POST", "scheme": "http", "path": "/api/v1/interests",
        "raw_path": b"/api/v1/interests", "query_string": b"", "root_path": "",
        "headers": [
            (b"host", b"bench"), (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()), (b"idempotency-key", key.encode()),
        ],
        "client": ("127.0.0.1", 50000), "server": ("bench", 80), "state": {},
    }  # fmt: skip
    sent = False
    status = 0

    async def receive() -> dict[str, object]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}
        await asyncio.Event().wait()  # a disconnect never comes
        raise AssertionError

    async def send(message: dict[str, object]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])  # type: ignore[call-overload]

    await app(scope, receive, send)  # type: ignore[arg-type]
    return status


def group_of(filename: str) -> str:
    for name, needles in GROUPS:
        if any(n in filename for n in needles):
            return name
    return "other (stdlib, builtins)"


def strip_middleware() -> None:
    """Make the next Litestar app without its app-wide middleware and hooks (bench only)."""
    import litestar

    original = litestar.Litestar.__init__

    def bare(self: litestar.Litestar, *args: Any, **kwargs: Any) -> None:
        kwargs.update(middleware=[], csrf_config=None, compression_config=None)
        kwargs["before_send"] = kwargs.get("before_send", [])[:1]  # the transaction's end stays
        original(self, *args, **kwargs)

    litestar.Litestar.__init__ = bare  # type: ignore[method-assign]


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--top", type=int, default=0, help="also list the N costliest functions")
    ap.add_argument("--repeat", type=int, default=1, help="unprofiled batches to time")
    ap.add_argument("--layers", action="store_true", help="the profile as a table of layers")
    ap.add_argument(
        "--bare",
        action="store_true",
        help="build the app without middleware, CSRF, compression and send hooks (what the "
        "whole stack costs, by difference; not a configuration to run)",
    )
    args = ap.parse_args()
    url = (await recreate_db()).replace("postgresql://", "postgresql+asyncpg://")
    await asyncio.to_thread(upgrade, url)
    await seed(url, demo=True)
    engine = make_engine(url)
    if args.bare:
        strip_middleware()
    settings = Settings(post_rate_per_minute=10**9, scheduler_enabled=False)
    app = create_app(
        Services(settings=settings, engine=engine, sessionmaker=make_sessionmaker(engine),
                 cipher=ContactCipher(bytes(32)))
    )  # fmt: skip
    rng = random.Random(1)
    # Bodies and keys made before anything is timed: the bench's own work is not the service's.
    ready = [
        (json.dumps(body(rng)).encode(), uuid.uuid4().hex)
        for _ in range(50 + args.requests * (args.repeat + 1))
    ]
    ready.reverse()

    async def one() -> None:
        payload, key = ready.pop()
        status = await post(app, payload, key)
        assert status == 201, status

    for _ in range(50):
        await one()
    batches: list[tuple[float, float]] = []
    for _ in range(args.repeat):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.requests):
            await one()
        batches.append((time.process_time() - cpu, time.perf_counter() - wall))
    cpu, wall = sorted(batches)[len(batches) // 2]
    lowest = min(b[0] for b in batches)
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
    if args.repeat > 1:
        print(f"  CPU per registration over {args.repeat} batches: lowest "
              f"{lowest / n * 1000:.3f} ms, median {cpu / n * 1000:.3f} ms")  # fmt: skip
    if args.layers:
        print_layers(stats, scale=cpu / whole if whole else 1.0, n=n)
    print("CPU by library, own time under the profiler (builtins such as isinstance: 'other'):")
    for name, t in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"  {name:52s} {t / n * 1000:6.2f} ms  {100 * t / whole:5.1f} %")
    if args.top:
        print(
            f"cumulative CPU per request, top {args.top} (nested: a caller includes its callees):"
        )
        rows = sorted(stats.items(), key=lambda kv: -kv[1][3])[: args.top]
        for (filename, line, function), (_, _, _, cumtime, _) in rows:
            where = filename.rsplit("site-packages/", 1)[-1].rsplit("/src/", 1)[-1]
            print(f"  {cumtime / n * 1000:6.3f} ms  {function} ({where}:{line})")


#: (label, function name, file fragment): the path of one registration from the outside in.
#: Each layer's own cost is its cumulative time minus that of the next one inside it.
LAYERS = (
    ("ASGI app entry, exception wrapper, router", "__call__", "litestar/app.py"),
    ("metrics middleware (RequestMetrics)", "__call__", "samhjelp/web.py"),
    ("metrics middleware (Litestar's)", "__call__", "prometheus/middleware.py"),
    ("rate limit (WriteRateLimit)", "__call__", "samhjelp/ratelimit.py"),
    ("request hygiene (StrictRequests)", "__call__", "samhjelp/strict.py"),
    ("compression middleware", "__call__", "compression/middleware.py"),
    ("CSRF middleware (API exempt)", "__call__", "litestar/middleware/csrf.py"),
    (
        "Litestar: route, decode body into InterestIn (pydantic), encode response",
        "handle",
        "litestar/routes/http.py",
    ),
    ("our handler: Idempotency-Key hash, answer, Response", "register", "intake/api.py"),
)
INNER = (
    ("pool checkout + checkin (hot_connection)", "hot_connection", "intake/registration.py"),
    (
        "one-trip registration (validate, place, encrypt, code)",
        "register_in_one_trip",
        "intake/registration.py",
    ),
    (
        "  of which: the statement (asyncpg: encode, send, wait, decode)",
        "fetchrow",
        "asyncpg/connection.py",
    ),
    ("  of which: the row (encryption, digest, receipt hash)", "_row", "intake/interests.py"),
    ("  of which: the receipt code", "new_code", "intake/receipt.py"),
)


def print_layers(stats: dict[Any, Any], *, scale: float, n: int) -> None:
    """The profile's cumulative times as the layers of one request, in unprofiled ms."""

    def cum(name: str, where: str) -> float:
        return sum(v[3] for (f, _, fn), v in stats.items() if fn == name and where in f)

    ms = scale / n * 1000
    total = sum(v[2] for v in stats.values())
    print(f"layers of one registration, ms CPU (profile scaled to {total * ms:.3f} ms):")
    chain = [(label, cum(fn, where)) for label, fn, where in LAYERS]
    chain = [(label, t) for label, t in chain if t > 0]
    outside = total - chain[0][1]
    print(f"  {'event loop and the ASGI call of this bench':70s} {outside * ms:6.3f}")
    for (label, t), (_, inner) in zip(chain, [*chain[1:], ("", 0.0)], strict=True):
        if label.startswith("our handler"):
            inner = sum(cum(fn, where) for _, fn, where in INNER[:2])
        print(f"  {label:70s} {(t - inner) * ms:6.3f}")
    for label, fn, where in INNER:
        print(f"  {label:70s} {cum(fn, where) * ms:6.3f}")


if __name__ == "__main__":
    asyncio.run(main())
