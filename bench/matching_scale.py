"""Scale benchmark for ``form_groups``: 10,000 and 100,000 waiting people across Norway, against
an earlier core, measured in the same run.

Run: ``.venv/bin/python bench/matching_scale.py [--sizes 10000,100000] [--repeat 3]
[--baseline 31b77cc] [--pools 300] [--compile 1]`` (``--baseline none`` skips the old core,
``--pools 0`` the comparison with the exact optimum, ``--compile 0`` the compile measurement;
``--baseline 2f63191`` is the list greedy of issue 12's third pass, ``f69c0e7`` the core
before issue 12).

The baseline is the matching core of git revision ``--baseline`` (default: the pure-Python
bitset greedy, before the compiled one), unpacked with ``git archive`` into a temporary folder.
The people are generated once per size by this tree and handed to every run as plain field
values, so an old core needs nothing of today's simulator. Every measurement runs in a fresh
child process, so peak memory (``ru_maxrss``, the whole process: Python, NumPy, Numba and LLVM,
the people and the runs) belongs to that run alone; baseline and current runs alternate,
``--repeat`` times each, and the medians and ranges are printed, because the machine is shared
and single timings are noisy. CPU seconds (``time.process_time()``) are less sensitive to other
jobs than wall seconds.

Each child runs ``form_groups`` twice on the same input: the first run in the process ("1st")
and a second one ("2nd"). The compiled greedy (Numba) loads its machine code from the cache on
disk at its first call (about 0.2 s, once per process), so the first run is what a fresh
process pays and the second what every later run of a long-lived process (the matching worker)
pays; the pure-Python cores cost the same both times. "import" is the CPU time to import the
core (with Numba: about 0.3 s for Numba and LLVM, once per process). With ``--compile``, one
more child runs with an empty ``NUMBA_CACHE_DIR``: its first run includes compiling the greedy,
which happens once after an install or a change to ``matching/greedy_pass.py``.

"form_groups" is what a run costs: the groups, and the people left waiting (their reasons are
worked out when asked for). "explain all" is the extra time to explain every waiting person
(what the old core did inside every run), "explain one" the time to explain a single person on a
fresh plan, as the status page would. The plans are compared too: the fingerprint (a hash of
``repr(plan)``: groups, reasons and suggestions, as in ``tests/unit/matching/plan_fingerprint.py``)
of the current core must equal the baseline's, and both runs in a child must agree.

People and facilitators come from ``bench/simulate.py``'s synthetic model; waiting times are
spread over the last 26 weeks. The last part compares the greedy heuristic with the exact optimum
on small pools (one catchment's local waiting list, at most 30 people).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pickle
import random
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: The core with the pure-Python bitset greedy (issue 12's fourth pass), before the compiled one.
#: ``2f63191`` is the third pass (lazy reasons, list-based greedy), ``f69c0e7`` the core before
#: issue 12's matching work (explains everyone in every run).
BASELINE_REF = "31b77cc"


def _core_path() -> Path:
    """The ``src`` folder to import the core from: ``--src DIR`` (a baseline child) or ours."""
    if "--src" in sys.argv:
        return Path(sys.argv[sys.argv.index("--src") + 1])
    return ROOT / "src"


sys.path.insert(0, str(_core_path()))
sys.path.insert(1, str(HERE))
#: CPU seconds to import the core (with Numba: loading Numba and LLVM; once per process).
_IMPORT_CPU = time.process_time()
# Imported first, so every later ``matching.…`` import resolves in this copy.
import matching  # noqa: E402, F401
from matching import exact  # noqa: E402
from matching.algorithm import form_groups  # noqa: E402
from matching.context import Context  # noqa: E402
from matching.greedy import greedy  # noqa: E402
from matching.model import Candidate, Facilitator, RuleBook, Rules  # noqa: E402

_IMPORT_CPU = time.process_time() - _IMPORT_CPU

#: ``bench/simulate.py``'s START (a Monday) plus 26 weeks; checked in :func:`population`.
NOW = datetime(2027, 1, 4, 9, 0, tzinfo=UTC) + timedelta(weeks=26)


def population(n: int, seed: int) -> tuple[list[Candidate], list[Facilitator]]:
    """``n`` waiting people in proportion to municipal population, and the facilitators."""
    import simulate as sim  # only with this tree's core (it uses today's matching modules)

    assert sim.START + timedelta(weeks=26) == NOW
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


def _fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _save(n: int, seed: int, path: Path) -> None:
    """Generate ``n`` people and the facilitators, and store them as plain field values."""
    people, facs = population(n, seed)
    # Enough capacity that most people *can* be placed, so the grouping work is measured too.
    facs = [replace(f, free_starts=max(2, n // 1000)) for f in facs]
    # Tuples of field values (names once): the child builds the people from them and drops
    # them before the run, so little of its peak memory is the hand-over.
    rows = (
        [f.name for f in fields(Candidate)],
        [tuple(getattr(p, f.name) for f in fields(p)) for p in people],
        [f.name for f in fields(Facilitator)],
        [tuple(getattr(x, f.name) for f in fields(x)) for x in facs],
    )
    path.write_bytes(pickle.dumps(rows))


def _load(path: Path) -> tuple[list[Candidate], list[Facilitator]]:
    """The stored people and facilitators, as this core's classes (fields it knows only)."""
    p_names, people, f_names, facs = pickle.loads(path.read_bytes())
    pf = {f.name for f in fields(Candidate)}
    ff = {f.name for f in fields(Facilitator)}
    p_keep = [(i, k) for i, k in enumerate(p_names) if k in pf]
    f_keep = [(i, k) for i, k in enumerate(f_names) if k in ff]
    out = (
        [Candidate(**{k: row[i] for i, k in p_keep}) for row in people],
        [Facilitator(**{k: row[i] for i, k in f_keep}) for row in facs],
    )
    del people, facs
    return out


#: The rules every run gets, spelled out so that old and new cores get the same ones: the
#: defaults as they were when the plan fingerprints were recorded (cross-problem after 21 days;
#: the default became 7 days with issue 13), so the figures compare with the earlier passes.
CROSS_DAYS = 21


def one(n: int, path: Path) -> dict[str, float | str]:
    """Time two runs of ``form_groups`` on the ``n`` people stored at ``path`` (in a child).

    The first run is the first in the process: with the compiled greedy it includes loading
    the compiled code from Numba's cache on disk (about 0.2 s, once per process); the second
    run is what every later run in a long-lived process (the matching worker) costs.
    """
    people, facs = _load(path)
    assert len(people) == n
    book = RuleBook(Rules(cross_problem_after_days=CROSS_DAYS))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0, c0 = time.perf_counter(), time.process_time()
    first = form_groups(people, book, now=NOW, facilitators=facs)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    plan = form_groups(people, book, now=NOW, facilitators=facs)
    seconds_warm, cpu_warm = time.perf_counter() - t0, time.process_time() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    lazy = hasattr(plan, "why")
    one_s = 0.0
    if lazy:
        waiting = plan.waiting
        c1 = time.process_time()
        plan.why(waiting[len(waiting) // 2])
        one_s = time.process_time() - c1
    c2 = time.process_time()
    unplaced = plan.unplaced  # the old core has them already; the new one explains everyone
    explain_all = time.process_time() - c2
    fingerprint = _fingerprint(repr(plan))
    assert _fingerprint(repr(first)) == fingerprint, "two runs in one process differ"
    return {
        "n": n,
        "seconds": seconds,
        "cpu": cpu,
        "seconds_warm": seconds_warm,
        "cpu_warm": cpu_warm,
        "import_cpu": _IMPORT_CPU,
        "peak_mb": peak / 1024,
        "input_mb": base / 1024,
        "groups": len(plan.groups),
        "placed": len(plan.placed),
        "waiting": len(unplaced),
        "explain_all": explain_all,
        "explain_one": one_s,
        "fingerprint": fingerprint,
        "lazy": int(lazy),
    }


def _baseline_src(ref: str, into: Path) -> Path | None:
    """Unpack the matching core of git revision ``ref`` into ``into``; None if not possible."""
    try:
        tar = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", ref, "src/matching"],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(into, filter="data")
    return into / "src"


def _child(
    n: int, data: Path, src: Path | None, env: dict[str, str] | None = None
) -> dict[str, float | str]:
    cmd = [sys.executable, __file__, "--one", str(n), "--input", str(data)]
    if src is not None:
        cmd += ["--src", str(src)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    row: dict[str, float | str] = json.loads(out.strip().splitlines()[-1])
    return row


def _median(rows: list[dict[str, float | str]], key: str) -> float:
    return statistics.median(float(r[key]) for r in rows)


def _range(rows: list[dict[str, float | str]], key: str) -> str:
    values = [float(r[key]) for r in rows]
    return f"{min(values):.2f}-{max(values):.2f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline", default=BASELINE_REF, help="git revision, or 'none'")
    ap.add_argument("--pools", type=int, default=300)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument(
        "--compile",
        type=int,
        default=1,
        help="times to measure compiling the greedy with no cache on disk (0: skip)",
    )
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--src", help=argparse.SUPPRESS)
    ap.add_argument("--input", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, Path(args.input))))
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    compiled: list[dict[str, float | str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        old_src = None if args.baseline == "none" else _baseline_src(args.baseline, Path(tmp))
        if args.baseline != "none" and old_src is None:
            print(f"baseline {args.baseline}: cannot unpack it with git; measuring ours only")
        runs: dict[tuple[str, int], list[dict[str, float | str]]] = {}
        for n in sizes:
            data = Path(tmp) / f"people-{n}.pickle"
            _save(n, args.seed, data)
            for _ in range(args.repeat):  # alternate, so both see the same machine load
                if old_src is not None:
                    runs.setdefault(("before", n), []).append(_child(n, data, old_src))
                runs.setdefault(("now", n), []).append(_child(n, data, None))
            if n == sizes[0]:
                # The compiled greedy with an empty cache folder: what the first run after an
                # install (or a change to matching/greedy_pass.py) costs once.
                for k in range(args.compile):
                    fresh = Path(tmp) / f"numba-cache-{k}"
                    env = {**os.environ, "NUMBA_CACHE_DIR": str(fresh)}
                    compiled.append(_child(n, data, None, env))
    print(
        f"medians of {args.repeat} runs each; 'before' = the core of {args.baseline}, "
        "'now' = this tree; CPU seconds of form_groups, the first run in a fresh process and "
        "a second run in the same process"
    )
    print(
        f"{'waiting':>8} {'core':>6} {'1st cpu s':>9} {'range':>9} {'2nd cpu s':>9} "
        f"{'range':>9} {'1st wall':>8} {'import':>6} {'peak MB':>8} {'groups':>7} {'placed':>7} "
        f"{'explain all s':>13} {'explain one ms':>14}  plan"
    )
    for (label, n), rows in runs.items():
        prints = {str(r["fingerprint"]) for r in rows}
        lazy = bool(rows[0].get("lazy", 1))
        explain_all = f"{_median(rows, 'explain_all'):.2f}" if lazy else "(inside)"
        explain_one = f"{1000 * _median(rows, 'explain_one'):.1f}" if lazy else "-"
        print(
            f"{n:>8} {label:>6} {_median(rows, 'cpu'):>9.2f} {_range(rows, 'cpu'):>9} "
            f"{_median(rows, 'cpu_warm'):>9.2f} {_range(rows, 'cpu_warm'):>9} "
            f"{_median(rows, 'seconds'):>8.2f} {_median(rows, 'import_cpu'):>6.2f} "
            f"{_median(rows, 'peak_mb'):>8.0f} {rows[0]['groups']:>7} {rows[0]['placed']:>7} "
            f"{explain_all:>13} {explain_one:>14}  {','.join(sorted(prints))}"
        )
    for row in compiled:
        extra = float(row["cpu"]) - float(row["cpu_warm"])
        print(
            f"{row['n']}: first run with no compiled code on disk (NUMBA_CACHE_DIR empty): "
            f"{float(row['cpu']):.2f} CPU s, {extra:.2f} s of it compiling (once per install)"
        )
    for n in sizes:
        before, now = runs.get(("before", n)), runs[("now", n)]
        if before is None:
            continue
        same = {r["fingerprint"] for r in before} == {r["fingerprint"] for r in now}
        first = _median(before, "cpu") / _median(now, "cpu")
        later = _median(before, "cpu_warm") / _median(now, "cpu_warm")
        print(
            f"{n}: {first:.1f}x less CPU than before (first run in a process), "
            f"{later:.1f}x (second run); same plans: {'yes' if same else 'NO'}"
        )
    if len(sizes) >= 2:
        a, b = sizes[0], sizes[-1]
        for label in ("before", "now"):
            if (label, a) in runs:
                ra, rb = runs[(label, a)], runs[(label, b)]
                cpu = _median(rb, "cpu") / _median(ra, "cpu")
                warm = _median(rb, "cpu_warm") / _median(ra, "cpu_warm")
                mem = _median(rb, "peak_mb") / _median(ra, "peak_mb")
                print(
                    f"growth {a}->{b} ({label}): cpu x{cpu:.1f} (first run), x{warm:.1f} "
                    f"(second run), peak memory x{mem:.1f}"
                )
    if args.pools <= 0:
        return
    got, full, best, pools = exact_share(args.pools, args.seed)
    print(f"form_groups (exact step on) on the same pools: {100 * full / max(1, best):.1f}%")
    print(
        f"greedy heuristic alone vs exact on {pools} small pools (8-30 people, one catchment): "
        f"{got}/{best} placements = {100 * got / max(1, best):.1f}% of the optimum"
    )


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
        ctx = Context(pool, RuleBook(Rules(cross_problem_after_days=CROSS_DAYS)), fac, NOW)
        idx = list(range(len(ctx.cands)))
        saved = list(ctx.left)
        g = greedy(ctx, idx, local=True, digital=False)
        ctx.left[:] = saved
        x = exact.solve(ctx, idx, local=True, digital=False)
        if x is None:
            continue
        got += sum(len(f.members) for f in g)
        local = [replace(p, digital_welcome=False) for p in pool]
        book = RuleBook(Rules(cross_problem_after_days=CROSS_DAYS))
        full += len(form_groups(local, book, now=NOW, facilitators=fac).placed)
        best += sum(len(f.members) for f in x)
        done += 1
    return got, full, best, done


if __name__ == "__main__":
    main()
