"""Load benchmark of POST /api/v1/interests against its ceiling, measured in one run.

Starts the real service (uvicorn, one worker) on a fresh PostgreSQL database, then:
  1. ceiling: the same interest row inserted straight through asyncpg, 16 connections,
     one row per transaction;
  2. throughput: 16 concurrent HTTP clients posting realistic bodies (validation,
     encryption, Idempotency-Key) as fast as the service answers;
  3. latency at a fixed arrival rate (default 200 requests/s, open loop).
Prints requests/s, p50/p99 latency and the ratio to the ceiling. Throughput is driven by
`wrk` (Debian package) with bench/intake_post.lua when installed, and by a minimal asyncio
HTTP client too; the fixed-rate run uses the asyncio client, timing each request from when it
was due.

    .venv/bin/python bench/intake_load.py [--seconds 10] [--rate 200] [--workers 1]

Needs PostgreSQL at BENCH_ADMIN_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import secrets
import shutil
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

ROOT = Path(__file__).resolve().parents[1]
ADMIN = os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
DB = "samhjelp_bench"
CONCURRENCY = 16
THEMES = ["angst", "depresjon", "sorg", "ensomhet", "samlivsbrudd", "utbrenthet", "stress"]
SLOTS = [f"{d}-{p}" for d in ("mon", "tue", "wed", "thu") for p in ("daytime", "evening")]
MUNIS = ["0301", "4601", "4627", "5001", "5501", "3405"]


def body(rng: random.Random) -> dict[str, object]:
    contact = (
        {"email": f"person{rng.randrange(10**6)}@example.no"}
        if rng.random() < 0.5
        else {"phone": f"9{rng.randrange(10**7):07d}"}
    )
    return {
        "municipality": rng.choice(MUNIS),
        "themes": rng.sample(THEMES, rng.randint(1, 3)),
        "cross_problem_welcome": rng.random() < 0.6,
        "age_band": f"{18 + 5 * (a := rng.randrange(12))}-{22 + 5 * a}",
        "gender": rng.choice(["female", "male", None, "unspecified"]),
        "languages": ["no"],
        "availability": rng.sample(SLOTS, rng.randint(1, 4)),
        "digital_welcome": rng.random() < 0.4,
        "contact": contact,
        "consent": {"given": True, "text_version": "2026-11-v1"},
    }


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


async def ceiling(url: str, seconds: float) -> float:
    """Rows/s of the same interest row inserted directly, 16 connections."""
    pool = await asyncpg.create_pool(url, min_size=CONCURRENCY, max_size=CONCURRENCY)
    org = await pool.fetchval("SELECT id FROM organisation WHERE slug = 'link-bergen'")
    contact = secrets.token_bytes(60)
    sql = (
        "INSERT INTO interest (id, receipt_hash, municipality_number, organisation_id,"
        " region_slug, themes, cross_problem_welcome, age_band, gender, same_gender, languages,"
        " slots, digital_welcome, contact_kind, contact_encrypted, contact_masked,"
        " consent_version, consented_at, source, status, waiting_since)"
        " VALUES ($1,$2,'4601',$3,'vestland',$4,true,33,'female',false,$5,$6,false,'email',$7,"
        " 'k***@e***.no','2026-11-v1',$8,'self','waiting',$8)"
    )
    count = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            async with pool.acquire() as conn:
                now = datetime.now(UTC)
                await conn.execute(
                    sql,
                    uuid.uuid4(),
                    hashlib.sha256(secrets.token_bytes(16)).digest(),
                    org,
                    ["sorg"],
                    ["no"],
                    ["tue-evening"],
                    contact,
                    now,
                )
            count += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - start
    await pool.execute("DELETE FROM interest")
    await pool.close()
    return count / elapsed


class RawClient:
    """A minimal keep-alive HTTP/1.1 client. httpx costs more CPU per request than the service
    itself, so on this machine it cannot offer 200 requests/s without becoming the bottleneck.
    JSON POSTs only; the response body is read by Content-Length."""

    def __init__(self, port: int, size: int) -> None:
        self.port, self.size = port, size
        self.idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = (
            asyncio.Queue()
        )

    async def open(self) -> None:
        for _ in range(self.size):
            self.idle.put_nowait(await asyncio.open_connection("127.0.0.1", self.port))

    async def post(self, payload: bytes) -> int:
        reader, writer = await self.idle.get()
        try:
            writer.write(
                b"POST /api/v1/interests HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\n"
                + f"Idempotency-Key: {uuid.uuid4().hex}\r\n".encode()
                + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                + payload
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            return int(head.split(b" ", 2)[1])
        finally:
            self.idle.put_nowait((reader, writer))

    async def close(self) -> None:
        while not self.idle.empty():
            self.idle.get_nowait()[1].close()


async def closed_loop(port: int, seconds: float) -> tuple[float, list[float], dict[int, int]]:
    """16 connections posting back to back."""
    client = RawClient(port, CONCURRENCY)
    await client.open()
    lat: list[float] = []
    codes: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def worker(seed: int) -> None:
        rng = random.Random(seed)
        while time.perf_counter() < deadline:
            payload = json.dumps(body(rng)).encode()
            t0 = time.perf_counter()
            code = await client.post(payload)
            lat.append((time.perf_counter() - t0) * 1000)
            codes[code] = codes.get(code, 0) + 1

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(CONCURRENCY)))
    elapsed = time.perf_counter() - start
    await client.close()
    return len(lat) / elapsed, lat, codes


async def open_loop(
    port: int, rate: float, seconds: float
) -> tuple[float, list[float], dict[int, int]]:
    """Arrivals at a fixed rate whatever the answers do. Latency counts from when a request
    was due, so queueing shows (no coordinated omission)."""
    client = RawClient(port, 64)
    await client.open()
    rng = random.Random(7)
    lat: list[float] = []
    codes: dict[int, int] = {}

    async def one(due: float, payload: bytes) -> None:
        code = await client.post(payload)
        lat.append((time.perf_counter() - due) * 1000)
        codes[code] = codes.get(code, 0) + 1

    n = int(rate * seconds)
    payloads = [json.dumps(body(rng)).encode() for _ in range(n)]
    tasks = []
    start = time.perf_counter()
    for i, payload in enumerate(payloads):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, payload)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    await client.close()
    return n / elapsed, lat, codes


_TICK = os.sysconf("SC_CLK_TCK")
#: CPU seconds per request during each wrk run, by base URL: (server processes, PostgreSQL).
CPU: dict[str, tuple[float, float]] = {}


def _cpu(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (0 for one that is gone)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


def _tree(pid: int) -> list[int]:
    """The process and its descendants (uvicorn's workers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo.extend(children.get(found[-1], []))
    return found


def _backends(url: str) -> list[int]:
    """The PostgreSQL server processes serving the bench database (on this machine)."""

    async def pids() -> list[int]:
        conn = await asyncpg.connect(ADMIN)
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1", url.rsplit("/", 1)[1]
            )
        finally:
            await conn.close()
        return [r["pid"] for r in rows]

    return asyncio.run(pids())


def wrk_closed_loop(
    base: str, seconds: float, server: int | None = None, url: str | None = None
) -> tuple[float, float, float, int] | None:
    """Throughput with wrk (far lighter than a Python client), if installed. With the server's
    pid and the database URL, the CPU per request of both is noted in :data:`CPU`."""
    if shutil.which("wrk") is None:
        return None
    processes = _tree(server) if server else []
    backends = {pid: _cpu([pid]) for pid in _backends(url)} if url else {}
    before = _cpu(processes)
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{CONCURRENCY}",
            f"-d{int(seconds)}s",
            "--latency",
            "-s",
            str(ROOT / "bench" / "intake_post.lua"),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("WRK "))
    f = dict(kv.split("=") for kv in line.split()[1:])
    rps = int(f["requests"]) / (int(f["duration_us"]) / 1e6)
    if server and url:
        n = int(f["requests"])
        # Backends that connected during the run count from zero.
        db = sum(_cpu([pid]) - backends.get(pid, 0.0) for pid in _backends(url))
        CPU[base] = ((_cpu(processes) - before) / n, db / n)
    return rps, int(f["p50_us"]) / 1000, int(f["p99_us"]) / 1000, int(f["errors"])


def minimal_litestar(url: str, seconds: float) -> tuple[float, float, float, int] | None:
    """wrk against bench/minimal_insert_app.py: the framework's floor for the same insert."""
    port = free_port()
    env = os.environ | {"BENCH_DATABASE_URL": url}
    app = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "minimal_insert_app:create",
         "--app-dir", str(ROOT / "bench"), "--port", str(port), "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        return wrk_closed_loop(f"http://127.0.0.1:{port}", seconds, app.pid, url)
    finally:
        app.terminate()
        app.wait(timeout=30)


def pct(values: list[float], p: float) -> float:
    return (
        statistics.quantiles(values, n=1000)[int(p * 10) - 1] if len(values) > 10 else max(values)
    )


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--workers", type=int, default=1, help="server processes")
    args = ap.parse_args()
    url = await recreate_db()
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": url,
        "SAMHJELP_POST_RATE_PER_MINUTE": str(10**9),
        "SAMHJELP_SCHEDULER_ENABLED": "false",
        "SAMHJELP_LOG_LEVEL": "WARNING",
        "SAMHJELP_DATA_DIR": str(ROOT / ".samhjelp" / "bench"),
        "SAMHJELP_DB_POOL_SIZE": str(max(2, 16 // args.workers)),
    }
    server = subprocess.Popen(  # noqa: ASYNC220 - a long-lived server, not awaited
        [
            sys.executable,
            "-m",
            "samhjelp.cli",
            "serve",
            "--demo",
            "--port",
            str(port),
            "--workers",
            str(args.workers),
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base) as c:
            for _ in range(300):
                try:
                    if (await c.get("/health/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        ceil = await ceiling(url, args.seconds)
        floor = await asyncio.to_thread(minimal_litestar, url, args.seconds)
        await closed_loop(port, 2)  # warm-up
        with_wrk = await asyncio.to_thread(wrk_closed_loop, base, args.seconds, server.pid, url)
        rps, lat, codes = await closed_loop(port, args.seconds)
        fixed, flat, fcodes = await open_loop(port, args.rate, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"ceiling (asyncpg insert, {CONCURRENCY} conns)     {ceil:8.0f} rows/s")
    if floor is not None:
        f_rps, f50, f99, _ = floor
        print(
            f"minimal Litestar insert (wrk, {CONCURRENCY} conns)  {f_rps:8.0f} req/s   "
            f"p50 {f50:6.1f} ms  p99 {f99:6.1f} ms   ratio {f_rps / ceil:.2f}"
        )
        print_cpu(next((v for k, v in CPU.items() if k != base), None))
    if with_wrk is not None:
        w_rps, w50, w99, errors = with_wrk
        print(
            f"service  (wrk, {CONCURRENCY} connections)              {w_rps:8.0f} req/s   "
            f"p50 {w50:6.1f} ms  p99 {w99:6.1f} ms   ratio {w_rps / ceil:.2f}   non-2xx {errors}"
        )
        print_cpu(CPU.get(base))
    print(
        f"service  (asyncio, {CONCURRENCY} connections)          {rps:8.0f} req/s   "
        f"p50 {pct(lat, 50):6.1f} ms  p99 {pct(lat, 99):6.1f} ms   ratio {rps / ceil:.2f}   {codes}"
    )
    print(
        f"service  (open loop at {args.rate:.0f}/s)              {fixed:8.0f} req/s   "
        f"p50 {pct(flat, 50):6.1f} ms  p99 {pct(flat, 99):6.1f} ms   {fcodes}"
    )


def print_cpu(per_request: tuple[float, float] | None) -> None:
    if per_request is not None:
        app, db = per_request
        print(
            f"    CPU per request under wrk: server process {app * 1000:.3f} ms, "
            f"PostgreSQL backends {db * 1000:.3f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main())
