"""Page speed and weight: p95 time to serve each page's HTML, and total bytes per page.

Run against a running server (the demo data gives realistic lists):

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/samhjelp_dev \
        .venv/bin/samhjelp serve --demo --port 8124 &
    .venv/bin/python bench/pages.py --base http://127.0.0.1:8124 --requests 200

Weight counts the HTML plus every stylesheet and script it links, as transferred (assets are
served gzipped) and uncompressed; the QR image of the poster is left out, as the bar says.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time

import httpx

PAGES = ["/", "/meld-interesse", "/status", "/personvern", "/tilgjengelighet"]
P95_BUDGET_MS = 50.0
WEIGHT_BUDGET = 100_000


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


def measure(base: str, path: str, n: int) -> tuple[float, float, int, int]:
    with httpx.Client(base_url=base, headers={"Accept-Encoding": "gzip"}) as c:
        c.get(path)  # warm up (template compile, reference data cache)
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            r = c.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
        raw = len(r.content)
        # As transferred: the app gzips pages over 2 KiB (Content-Length is the wire size).
        sent = int(r.headers.get("content-length", raw))
        for asset in sorted(set(re.findall(r'(?:href|src)="(/static/[^"]+)"', r.text))):
            a = c.get(asset)
            sent += int(a.headers.get("content-length", len(a.content)))
            raw += len(a.content)
    return statistics.median(times), p95(times), sent, raw


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--base", default="http://127.0.0.1:8124")
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()
    ok = True
    print(f"{'page':<18} {'median ms':>9} {'p95 ms':>7} {'sent KB':>8} {'raw KB':>7}")
    for path in PAGES:
        median, p, sent, raw = measure(args.base, path, args.requests)
        ok &= p < P95_BUDGET_MS and sent < WEIGHT_BUDGET
        print(f"{path:<18} {median:9.1f} {p:7.1f} {sent / 1000:8.1f} {raw / 1000:7.1f}")
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
