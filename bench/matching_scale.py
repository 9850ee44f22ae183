"""Scale benchmark for ``form_groups``: 10,000 and 100,000 waiting people across Norway.

Run: ``.venv/bin/python bench/matching_scale.py [--sizes 10000,100000] [--pools 300]``
(``--pools 0`` skips the comparison with the exact optimum).

Each size runs in a fresh child process so that peak memory (``ru_maxrss``) belongs to that size
alone. People and facilitators come from ``bench/simulate.py``'s synthetic model; waiting times
are spread over the last 26 weeks. The second part compares the greedy heuristic with the exact
optimum on small pools (one catchment's local waiting list, at most 30 people) and prints the
share of the optimum's placements the heuristic reaches.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

import simulate as sim  # noqa: E402
from matching import exact  # noqa: E402
from matching.algorithm import form_groups  # noqa: E402
from matching.context import Context  # noqa: E402
from matching.greedy import greedy  # noqa: E402
from matching.model import Candidate, Facilitator, RuleBook  # noqa: E402

NOW = sim.START + timedelta(weeks=26)


def population(n: int, seed: int) -> tuple[list[Candidate], list[Facilitator]]:
    """``n`` waiting people in proportion to municipal population, and the facilitators."""
    rng = random.Random(seed)
    munis = sim.municipalities()
    orgs = sim.catchments(munis)
    weights = [m.population for m in munis]
    picks = rng.choices(munis, weights, k=n)
    people = []
    for i, m in enumerate(picks):
        when = NOW - timedelta(hours=rng.randrange(0, 26 * 7 * 24))
        people.append(sim.person(f"p{i:06d}", m, orgs[m.number], when, rng))
    facs = sim.facilitators(munis, orgs, random.Random(seed + 1))
    return people, facs


def one(n: int, seed: int) -> dict[str, float]:
    """Time one run of ``form_groups`` on ``n`` people (called in a child process): wall
    seconds and CPU seconds of this process (``time.process_time()``, less sensitive to other
    jobs on a shared machine)."""
    people, facs = population(n, seed)
    # Enough capacity that most people *can* be placed, so the grouping work is measured too.
    facs = [replace(f, free_starts=max(2, n // 1000)) for f in facs]
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0, c0 = time.perf_counter(), time.process_time()
    plan = form_groups(people, RuleBook(), now=NOW, facilitators=facs)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "n": n,
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": peak / 1024,
        "input_mb": base / 1024,
        "groups": len(plan.groups),
        "placed": len(plan.placed),
    }


def exact_share(pools: int, seed: int) -> tuple[int, int, int, int]:
    """(greedy, form_groups, exact placements, pools) over small single-catchment pools."""
    rng = random.Random(seed)
    people, facs = population(40_000, seed)
    by_org: dict[str, list[Candidate]] = {}
    for p in people:
        by_org.setdefault(p.organisation, []).append(p)
    orgs = sorted(by_org)
    got = full = best = done = 0
    while done < pools:
        org = rng.choice(orgs)
        size = rng.randint(8, 30)
        pool = rng.sample(by_org[org], min(size, len(by_org[org])))
        fac = [f for f in facs if f.organisation == org]
        ctx = Context(pool, RuleBook(), fac, NOW)
        idx = list(range(len(ctx.cands)))
        saved = list(ctx.left)
        g = greedy(ctx, idx, local=True, digital=False)
        ctx.left[:] = saved
        x = exact.solve(ctx, idx, local=True, digital=False)
        if x is None:
            continue
        got += sum(len(f.members) for f in g)
        local = [replace(p, digital_welcome=False) for p in pool]
        full += len(form_groups(local, RuleBook(), now=NOW, facilitators=fac).placed)
        best += sum(len(f.members) for f in x)
        done += 1
    return got, full, best, done


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--pools", type=int, default=300)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.seed)))
        return
    rows = []
    for n in (int(x) for x in args.sizes.split(",")):
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--seed", str(args.seed)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    print(f"{'waiting':>9} {'seconds':>8} {'cpu s':>6} {'peak MB':>8} {'groups':>7} {'placed':>7}")
    for r in rows:
        print(
            f"{r['n']:>9} {r['seconds']:>8.2f} {r['cpu']:>6.2f} {r['peak_mb']:>8.0f} "
            f"{r['groups']:>7} {r['placed']:>7}"
        )
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        print(
            f"growth {a['n']}->{b['n']}: time x{b['seconds'] / a['seconds']:.1f}, "
            f"peak memory x{b['peak_mb'] / a['peak_mb']:.1f}"
        )
    if args.pools <= 0:
        return
    got, full, best, pools = exact_share(args.pools, args.seed)
    print(f"form_groups (exact step on) on the same pools: {100 * full / max(1, best):.1f}%")
    print(
        f"greedy heuristic alone vs exact on {pools} small pools (8-30 people, one catchment): "
        f"{got}/{best} placements = {100 * got / max(1, best):.1f}% of the optimum"
    )


if __name__ == "__main__":
    main()
